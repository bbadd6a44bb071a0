// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "stores/remote/remote_store.h"

namespace dittofs::stores {

// A RemoteStore held in process memory; never durable. For tests and as a stand-in remote.
std::unique_ptr<RemoteStore> NewMemoryRemoteStore();

}  // namespace dittofs::stores
