// SPDX-License-Identifier: Apache-2.0
#pragma once

// The srvsvc named pipe of IPC$ (MS-SRVS) over connection-oriented DCE/RPC (MS-RPCE, C706
// chapter 12), in NDR20: what lets `smbclient -L`, Windows Explorer and macOS Finder list a
// server's shares. Only what those ask is served: NetrShareEnum (levels 0, 1, 2, 501, 502),
// NetrShareGetInfo (0, 1, 2, 501, 502, 1005) and NetrServerGetInfo (100, 101, 102); other
// operations get a fault. Every PDU is bounds-checked; bytes that cannot be DCE/RPC are an
// error.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "smb/rpc/pipe.h"

namespace dittofs::smb::rpc {

struct ShareInfo {
  std::string name;   // UTF-8, e.g. "export" or "IPC$"
  uint32_t type = 0;  // STYPE_DISKTREE 0, STYPE_IPC 3, | STYPE_SPECIAL 0x80000000 (MS-SRVS 2.2.2.4)
  std::string comment;
  std::string path;
  uint32_t max_uses = 0xFFFFFFFF;
  uint32_t current_uses = 0;
  uint32_t flags = 0;  // shi1005_flags: SHI1005_FLAGS_ACCESS_BASED_DIRECTORY_ENUM 0x800, ...
};

// One open instance of the pipe. Not thread-safe: the adapter serializes its use.
// Write, Read and has_output are RpcPipe's.
class SrvsvcPipe : public RpcPipe {
 public:
  // `shares` lists the shares the caller may see, each time they are asked for.
  SrvsvcPipe(std::function<std::vector<ShareInfo>()> shares, std::string server_name);
};

}  // namespace dittofs::smb::rpc
