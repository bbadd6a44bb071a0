// SPDX-License-Identifier: Apache-2.0
#pragma once

// impacket (smb_peer.py) as a second, independent SMB client, driven command by command: the
// tests write one command line, and read its one answer line ("ok ..." or "error NAME").

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <string>

#include "dfs_process.h"

namespace dittofs::integration {

class SmbPeer {
 public:
  // Runs `script` (smb_peer.py) logged on to `server`'s share export as admin (or as `user`
  // with `password`); null when it does not come up.
  static std::unique_ptr<SmbPeer> Start(DfsProcess& server, const char* script,
                                        const std::string& user = "",
                                        const std::string& password = "");
  ~SmbPeer();
  SmbPeer(const SmbPeer&) = delete;
  SmbPeer& operator=(const SmbPeer&) = delete;

  // Sends one command and returns its answer line ("" when the peer is gone).
  std::string Do(const std::string& command);

 private:
  SmbPeer(pid_t pid, int in, FILE* out) : pid_(pid), in_(in), out_(out) {}
  std::string Line();

  pid_t pid_;
  int in_;
  FILE* out_;
};

}  // namespace dittofs::integration
