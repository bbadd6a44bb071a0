// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "stores/metadata/metadata_store.h"

namespace dittofs::stores {

// Makes a fresh, empty store for one conformance test; `name` names the backend in test names.
struct MetadataStoreFactory {
  std::string name;
  std::function<std::unique_ptr<MetadataStore>()> make;
};

// Prints the factory's name where GoogleTest shows a parameter.
void PrintTo(const MetadataStoreFactory& factory, std::ostream* os);

// Test names for INSTANTIATE_TEST_SUITE_P. Always pass it: it is defined beside the tests, so
// naming it also links them in from the static library.
std::string MetadataStoreFactoryName(const ::testing::TestParamInfo<MetadataStoreFactory>& info);

// Links `child` into `dir` as `name` in one durable transaction, taking the cookie from the
// directory's next_cookie as the Vfs does; returns the entry committed. (Also for backends'
// own tests.)
Result<DirEntry> AddEntry(MetadataStore& store, InodeId dir, const std::string& name,
                          InodeId child);

// The one conformance suite every MetadataStore passes. A backend runs it from its own test:
//   INSTANTIATE_TEST_SUITE_P(
//       Memory, MetadataStoreConformance,
//       ::testing::Values(MetadataStoreFactory{"Memory", NewMemoryMetadataStore}),
//       MetadataStoreFactoryName);
class MetadataStoreConformance : public ::testing::TestWithParam<MetadataStoreFactory> {
 protected:
  void SetUp() override;

  MetadataStore& store() { return *store_; }

 private:
  std::unique_ptr<MetadataStore> store_;
};

}  // namespace dittofs::stores
