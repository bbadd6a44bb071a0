// SPDX-License-Identifier: Apache-2.0
#pragma once

// The lsarpc named pipe of IPC$ (also opened as "lsass"): the LSA interface (UUID
// 12345778-1234-ABCD-EF00-0123456789AB v0.0) over connection-oriented DCE/RPC in NDR20, as
// far as Windows' Security tab, smbcacls and rpcclient need it to turn SIDs into names and
// back: LsarOpenPolicy/2, LsarClose, LsarQueryInformationPolicy/2 (primary domain, account
// domain and DNS domain information), LsarLookupSids/2/3, LsarLookupNames/2/3/4 (MS-LSAT) and
// LsarGetUserName. Other operations get a fault. Policy handles are per pipe instance and
// grant every lookup; the SMB session that opened the pipe is the authentication. What names
// mean is lsa_names.h's.

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "smb/rpc/lsa_names.h"
#include "smb/rpc/pipe.h"

namespace dittofs::smb::rpc {

// One open instance of the pipe. Not thread-safe: the adapter serializes its use.
// Write, Read and has_output are RpcPipe's.
class LsarpcPipe : public RpcPipe {
 public:
  // `accounts`: the server's domain and where its names come from, asked at each lookup.
  // `user_name`: the SMB session's user, what LsarGetUserName answers (in the account
  // domain, accounts.netbios_name).
  LsarpcPipe(LsaAccounts accounts, std::string user_name);
};

}  // namespace dittofs::smb::rpc
