// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "base/result.h"
#include "stores/block/block_store.h"

namespace dittofs::stores {

// Makes a fresh, empty store for one conformance test; `name` names the backend in test names.
// `make` may return null on failure (the test then fails); whatever the store needs (a scratch
// directory, say) should go away with it.
struct BlockStoreFactory {
  std::string name;
  std::function<std::unique_ptr<BlockStore>()> make;
};

// Prints the factory's name where GoogleTest shows a parameter.
void PrintTo(const BlockStoreFactory& factory, std::ostream* os);

// Test names for INSTANTIATE_TEST_SUITE_P. Always pass it: it is defined beside the tests, so
// naming it also links them in from the static library.
std::string BlockStoreFactoryName(const ::testing::TestParamInfo<BlockStoreFactory>& info);

// The one conformance suite every BlockStore passes. A backend runs it from its own test:
//   INSTANTIATE_TEST_SUITE_P(Memory, BlockStoreConformance,
//                            ::testing::Values(BlockStoreFactory{"Memory", NewMemoryBlockStore}),
//                            BlockStoreFactoryName);
class BlockStoreConformance : public ::testing::TestWithParam<BlockStoreFactory> {
 protected:
  void SetUp() override;

  BlockStore& store() { return *store_; }

 private:
  std::unique_ptr<BlockStore> store_;
};

// Helpers for block store tests, beside the suite that uses them.
namespace block_testing {

// `size` bytes that are never zero, different for each seed, so data is told apart from holes
// and from other writes.
std::string Pattern(size_t size, uint64_t seed);

// Reads into a buffer pre-filled with garbage, so bytes the store forgot to fill show.
Result<std::string> ReadString(BlockStore& store, uint64_t file, uint64_t offset, size_t size);

// What a file should hold: every write applied to a plain string that reads zeros past its end,
// and which of its bytes hold data (were written, and not punched or cut since): a store may
// report more as data, never less.
class FileModel {
 public:
  void Write(uint64_t offset, const std::string& data) {
    Grow(offset + data.size());
    bytes_.replace(offset, data.size(), data);
    written_.replace(offset, data.size(), data.size(), '\1');
  }
  void Truncate(uint64_t size) {
    if (size < bytes_.size()) {
      bytes_.resize(size);
      written_.resize(size);
    }
  }
  void Deallocate(uint64_t offset, uint64_t length) {
    if (offset >= bytes_.size()) return;
    size_t n = std::min<uint64_t>(length, bytes_.size() - offset);
    bytes_.replace(offset, n, n, '\0');
    written_.replace(offset, n, n, '\0');
  }
  // Makes [dst_offset, dst_offset + length) what `src` holds at [src_offset, ...), holes
  // included (`src` may be this model).
  void Clone(const FileModel& src, uint64_t src_offset, uint64_t dst_offset, uint64_t length) {
    const std::string bytes = src.Read(src_offset, length);
    std::string written(length, '\0');
    if (src_offset < src.written_.size()) {
      size_t n = std::min<uint64_t>(length, src.written_.size() - src_offset);
      written.replace(0, n, src.written_, src_offset, n);
    }
    Grow(dst_offset + length);
    bytes_.replace(dst_offset, length, bytes);
    written_.replace(dst_offset, length, written);
  }
  std::string Read(uint64_t offset, size_t size) const {
    std::string out(size, '\0');
    if (offset < bytes_.size()) {
      size_t n = std::min<uint64_t>(size, bytes_.size() - offset);
      out.replace(0, n, bytes_, offset, n);
    }
    return out;
  }
  // Whether the byte at `at` holds data.
  bool Written(uint64_t at) const { return at < written_.size() && written_[at] != '\0'; }
  uint64_t size() const { return bytes_.size(); }

 private:
  void Grow(uint64_t size) {
    if (bytes_.size() < size) {
      bytes_.resize(size, '\0');
      written_.resize(size, '\0');
    }
  }

  std::string bytes_;
  std::string written_;  // '\1' where a byte holds data
};

}  // namespace block_testing

}  // namespace dittofs::stores
