// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "stores/remote/remote_store.h"

namespace dittofs::stores {

// Makes a fresh, empty store for one conformance test; `name` names the backend in test names.
// `make` may return null on failure (the test then fails); whatever the store needs (a scratch
// directory, a key prefix on a shared server) should go away with it or be unique to it.
struct RemoteStoreFactory {
  std::string name;
  std::function<std::unique_ptr<RemoteStore>()> make;
};

// Prints the factory's name where GoogleTest shows a parameter.
void PrintTo(const RemoteStoreFactory& factory, std::ostream* os);

// Test names for INSTANTIATE_TEST_SUITE_P. Always pass it: it is defined beside the tests, so
// naming it also links them in from the static library.
std::string RemoteStoreFactoryName(const ::testing::TestParamInfo<RemoteStoreFactory>& info);

// The one conformance suite every RemoteStore passes. A backend runs it from its own test:
//   INSTANTIATE_TEST_SUITE_P(Memory, RemoteStoreConformance,
//                            ::testing::Values(RemoteStoreFactory{"Memory", NewMemoryRemoteStore}),
//                            RemoteStoreFactoryName);
class RemoteStoreConformance : public ::testing::TestWithParam<RemoteStoreFactory> {
 protected:
  void SetUp() override;

  RemoteStore& store() { return *store_; }

 private:
  std::unique_ptr<RemoteStore> store_;
};

}  // namespace dittofs::stores
