// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/types.h"
#include "rpc/dispatch.h"

namespace dittofs::nfs {

// The runtime identity of an RPC call: its AUTH_SYS (or anonymous) credential and client address.
core::Caller CallerOf(const rpc::CallContext& call);

}  // namespace dittofs::nfs
