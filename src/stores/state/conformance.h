// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "base/result.h"
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

// Opens a store with `open`, writes entries and takes an epoch, closes it, and expects the next
// open to find the entries and hand out a larger epoch.
void ExpectReopenKeepsEntriesAndEpochsGrow(
    const std::function<Result<std::unique_ptr<StateStore>>()>& open);

// A writer killed mid-flight, for each backend's crash test: forks a child that opens a store
// with `open`, puts "h0".."h99" in kDurableHandles, deletes "h7", takes an epoch and dies of
// SIGKILL before any destructor runs. Returns the epoch the child was given.
Result<uint64_t> RunWriterKilledBySigkill(
    const std::function<Result<std::unique_ptr<StateStore>>()>& open);
// Expects in `store` what that writer was told it wrote: 99 handles, no "h7", and an epoch
// larger than `child_epoch`.
void ExpectWhatTheKilledWriterWrote(StateStore& store, uint64_t child_epoch);

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
