// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "stores/block/block_store.h"

namespace dittofs::stores {

// A BlockStore held in process memory, in 64 KiB blocks allocated as they are first written;
// never durable. For tests and scratch shares.
std::unique_ptr<BlockStore> NewMemoryBlockStore();

}  // namespace dittofs::stores
