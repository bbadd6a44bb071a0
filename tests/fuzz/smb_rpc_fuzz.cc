// SPDX-License-Identifier: Apache-2.0
// The srvsvc pipe (DCE/RPC PDUs, NDR requests) over hostile bytes: the input, cut into writes
// of the sizes its first bytes say, after a valid bind so that requests reach the NDR decoders.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "smb/rpc/srvsvc.h"

namespace {

// A bind of srvsvc v3.0 in NDR20 (C706 12.6.4.3), call id 1.
const uint8_t kBind[] = {
    5,    0,    11,   3,    0x10, 0,    0,    0,    72,   0,
    0,    0,    1,    0,    0,    0,              // header, frag_length 72
    0xB8, 0x10, 0xB8, 0x10, 0,    0,    0,    0,  // max frags, assoc group
    1,    0,    0,    0,                          // one context
    0,    0,    1,    0,                          // id 0, one transfer syntax
    0xC8, 0x4F, 0x32, 0x4B, 0x70, 0x16, 0xD3, 0x01, 0x12, 0x78,
    0x5A, 0x47, 0xBF, 0x6E, 0xE1, 0x88, 3,    0,    0,    0,  // srvsvc v3.0
    0x04, 0x5D, 0x88, 0x8A, 0xEB, 0x1C, 0xC9, 0x11, 0x9F, 0xE8,
    0x08, 0x00, 0x2B, 0x10, 0x48, 0x60, 2,    0,    0,    0,  // NDR v2
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using dittofs::smb::rpc::ShareInfo;
  dittofs::smb::rpc::SrvsvcPipe pipe(
      [] {
        return std::vector<ShareInfo>{{"export", 0, "a share", "", 0xFFFFFFFF, 0},
                                      {"IPC$", 0x80000003, "IPC", "", 0xFFFFFFFF, 0}};
      },
      "FUZZ");
  (void)pipe.Write({reinterpret_cast<const std::byte*>(kBind), sizeof kBind});
  bool more = false;
  (void)pipe.Read(1 << 20, &more);
  size_t at = 0;
  while (at < size) {
    const size_t chunk = std::min<size_t>(size - at, 1 + data[at] * 4);
    (void)pipe.Write({reinterpret_cast<const std::byte*>(data + at), chunk});
    (void)pipe.Read(1 + (data[at] * 37) % 8192, &more);
    at += chunk;
  }
  return 0;
}
