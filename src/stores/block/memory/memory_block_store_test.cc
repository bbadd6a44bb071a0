// SPDX-License-Identifier: Apache-2.0
#include "stores/block/memory/memory_block_store.h"

#include "stores/block/conformance.h"

namespace dittofs::stores {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, BlockStoreConformance,
                         ::testing::Values(BlockStoreFactory{"Memory", NewMemoryBlockStore}),
                         BlockStoreFactoryName);

}  // namespace
}  // namespace dittofs::stores
