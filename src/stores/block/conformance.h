// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

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

}  // namespace dittofs::stores
