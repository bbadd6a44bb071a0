// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "stores/state/state_store.h"

namespace dittofs::stores {

// Makes a fresh, empty store for one conformance test; `name` names the backend in test names.
struct StateStoreFactory {
  std::string name;
  std::function<std::unique_ptr<StateStore>()> make;
};

void PrintTo(const StateStoreFactory& factory, std::ostream* os);

// Test names for INSTANTIATE_TEST_SUITE_P. Always pass it: it is defined beside the tests, so
// naming it also links them in from the static library.
std::string StateStoreFactoryName(const ::testing::TestParamInfo<StateStoreFactory>& info);

// The one conformance suite every StateStore passes. A backend runs it from its own test:
//   INSTANTIATE_TEST_SUITE_P(Memory, StateStoreConformance,
//                            ::testing::Values(StateStoreFactory{"Memory", NewMemoryStateStore}),
//                            StateStoreFactoryName);
class StateStoreConformance : public ::testing::TestWithParam<StateStoreFactory> {
 protected:
  void SetUp() override;
  StateStore& store() { return *store_; }

 private:
  std::unique_ptr<StateStore> store_;
};

}  // namespace dittofs::stores
