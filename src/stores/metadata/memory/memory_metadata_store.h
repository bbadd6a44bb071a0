// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "stores/metadata/metadata_store.h"

namespace dittofs::stores {

// A MetadataStore held in process memory, for tests and scratch shares; everything is lost with
// the process. Inodes are spread over independently locked shards, so transactions on unrelated
// objects commit in parallel. Ids are never reused.
std::unique_ptr<MetadataStore> NewMemoryMetadataStore();

}  // namespace dittofs::stores
