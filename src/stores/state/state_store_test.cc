// SPDX-License-Identifier: Apache-2.0
#include "stores/state/state_store.h"

#include "stores/state/conformance.h"

namespace dittofs::stores {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, StateStoreConformance,
                         ::testing::Values(StateStoreFactory{"Memory", NewMemoryStateStore}),
                         StateStoreFactoryName);

}  // namespace
}  // namespace dittofs::stores
