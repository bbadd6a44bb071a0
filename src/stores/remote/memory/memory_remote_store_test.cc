// SPDX-License-Identifier: Apache-2.0
#include "stores/remote/memory/memory_remote_store.h"

#include "stores/remote/conformance.h"

namespace dittofs::stores {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, RemoteStoreConformance,
                         ::testing::Values(RemoteStoreFactory{"Memory", NewMemoryRemoteStore}),
                         RemoteStoreFactoryName);

}  // namespace
}  // namespace dittofs::stores
