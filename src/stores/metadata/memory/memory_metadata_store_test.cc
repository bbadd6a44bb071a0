// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/memory/memory_metadata_store.h"

#include "stores/metadata/conformance.h"

namespace dittofs::stores {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, MetadataStoreConformance,
                         ::testing::Values(MetadataStoreFactory{"Memory", NewMemoryMetadataStore}),
                         MetadataStoreFactoryName);

}  // namespace
}  // namespace dittofs::stores
