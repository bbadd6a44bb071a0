// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "base/status.h"
#include "nfs/proto/nfs3_types.h"

namespace dittofs::nfs {

// The one place where runtime errors become NFSv3 status codes.
nfsstat3 ToNfs3(const Status& status);

}  // namespace dittofs::nfs
