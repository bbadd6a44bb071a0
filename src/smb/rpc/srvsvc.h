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

namespace dittofs::smb::rpc {

struct ShareInfo {
  std::string name;   // UTF-8, e.g. "export" or "IPC$"
  uint32_t type = 0;  // STYPE_DISKTREE 0, STYPE_IPC 3, | STYPE_SPECIAL 0x80000000 (MS-SRVS 2.2.2.4)
  std::string comment;
  std::string path;
  uint32_t max_uses = 0xFFFFFFFF;
  uint32_t current_uses = 0;
};

// One open instance of the pipe. Not thread-safe: the adapter serializes its use.
class SrvsvcPipe {
 public:
  // `shares` lists the shares the caller may see, each time they are asked for.
  SrvsvcPipe(std::function<std::vector<ShareInfo>()> shares, std::string server_name);

  // Bytes the client wrote (a WRITE to the pipe, or FSCTL_PIPE_TRANSCEIVE's input). Complete
  // PDUs are answered at once; a partial one waits for the rest. Errc::kInvalid for a stream
  // that is not DCE/RPC (the pipe is then unusable); a well-formed request this pipe does not
  // serve is answered with a fault PDU instead.
  Status Write(ByteView data);
  // Up to `max` bytes of the queued answer; `*more` (may be null): bytes remain
  // (STATUS_BUFFER_OVERFLOW).
  std::vector<std::byte> Read(size_t max, bool* more);
  bool has_output() const { return !output_.empty(); }

 private:
  Status Handle(ByteView pdu);
  void Bind(ByteView pdu, uint8_t type, uint32_t call_id);
  void Request(ByteView pdu, uint32_t call_id);
  void Fault(uint32_t call_id, uint32_t status);
  void Respond(uint32_t call_id, const std::vector<std::byte>& stub);

  std::function<std::vector<ShareInfo>()> shares_;
  std::string server_name_;
  std::vector<std::byte> input_;    // a partial PDU
  std::vector<std::byte> request_;  // the stub of a fragmented request so far
  std::vector<std::byte> output_;
  uint16_t max_xmit_ = 4280;        // the largest fragment we send: the client's max_recv_frag
  std::vector<uint16_t> contexts_;  // presentation contexts accepted (srvsvc in NDR20)
  bool bound_ = false;
  bool broken_ = false;
};

}  // namespace dittofs::smb::rpc
