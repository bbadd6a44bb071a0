// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "base/status.h"
#include "nfs/proto/nfs4_types.h"

namespace dittofs::nfs {

// The NFSv4 status of a runtime error: the one place the NFSv4 adapter maps Errc.
nfsstat4 ToNfs4(const Status& status);

}  // namespace dittofs::nfs
