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

// What a file should hold: every write applied to a plain string that reads zeros past its end.
class FileModel {
 public:
  void Write(uint64_t offset, const std::string& data) {
    if (bytes_.size() < offset + data.size()) bytes_.resize(offset + data.size(), '\0');
    bytes_.replace(offset, data.size(), data);
  }
  void Truncate(uint64_t size) {
    if (size < bytes_.size()) bytes_.resize(size);
  }
  std::string Read(uint64_t offset, size_t size) const {
    std::string out(size, '\0');
    if (offset < bytes_.size()) {
      size_t n = std::min<uint64_t>(size, bytes_.size() - offset);
      out.replace(0, n, bytes_, offset, n);
    }
    return out;
  }
  uint64_t size() const { return bytes_.size(); }

 private:
  std::string bytes_;
};

}  // namespace block_testing

}  // namespace dittofs::stores
