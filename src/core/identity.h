// SPDX-License-Identifier: Apache-2.0
#pragma once

// Who calls: the principal a protocol adapter authenticated, and the directory of the server's
// users through which every protocol's name for a user (an AUTH_SYS uid, an NTLM account name,
// a Kerberos principal) leads to the same ids.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::core {

// How a caller proved (or merely stated) who it is.
enum class AuthMethod {
  kNone,      // no identity (AUTH_NONE, an SMB anonymous or guest session): anonymous
  kSys,       // AUTH_SYS: ids the client states and nobody checks
  kNtlm,      // SMB NTLM, against the user's NT hash
  kKerberos,  // a Kerberos ticket (RPCSEC_GSS, SMB SPNEGO)
};

std::string_view AuthMethodName(AuthMethod method);

// The identity a call runs as. The Vfs checks permissions by uid, gid and groups only, whatever
// the method, so an AUTH_SYS uid and the same user logged on by NTLM or Kerberos are treated
// alike. Windows SIDs (the user's and its groups') join here when SMB ACLs arrive.
struct Principal {
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  std::vector<uint32_t> groups;  // supplementary groups
  // The control-plane user name, when the adapter knows it: NTLM and Kerberos callers are found
  // by name. AUTH_SYS callers carry ids only and leave it empty; an adapter that wants the name
  // for a log line asks UserDirectory::FindUserByUid (the data path never does).
  std::string user_name;
  AuthMethod auth = AuthMethod::kSys;

  // The caller presented no identity: it runs as the share's anonymous identity (anon_uid,
  // anon_gid), whatever uid and gid say.
  bool anonymous() const { return auth == AuthMethod::kNone; }
  bool is_root() const { return uid == 0; }
  bool InGroup(uint32_t g) const;
};

// A user of the server, as the directory holds it.
struct UserRecord {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;              // primary group
  std::vector<uint32_t> groups;  // the gids of the groups the user is a member of, ascending
  bool enabled = true;           // a disabled user may not log on
  // The NT hash SMB's NTLM checks logons against (MD4 of the UTF-16LE password, 16 bytes);
  // empty when the user has no SMB password. As secret as the password.
  std::string nt_hash;

  // The principal of a caller who logged on as this user by `how`. Errc::kAccess when the user
  // is disabled.
  Result<Principal> LogOn(AuthMethod how) const;
};

struct GroupRecord {
  std::string name;
  uint32_t gid = 0;
};

// The server's users and groups, for the adapters that authenticate by name (SMB's NTLM,
// Kerberos) and for those that map ids to names (logs, NFSv4 owner strings, SIDs later).
// Lookups find disabled users too (their files still have owners); an authenticator turns a
// record into a principal with UserRecord::LogOn, which refuses them. Every lookup answers
// Errc::kNotFound when nothing matches.
// All methods are safe to call concurrently from any thread; they take no lock a writer holds.
class UserDirectory {
 public:
  virtual ~UserDirectory() = default;

  // By the name the control plane knows the user by, compared byte for byte.
  virtual Result<UserRecord> FindUser(std::string_view name) const = 0;
  // By a Windows account name (an NTLM logon): names compare without regard to case (Unicode
  // simple case folding, base/casefold.h), as Windows compares account names. A name that matches
  // one user exactly is that user even when others differ from it only in case; a name that matches
  // several users only up to case matches none of them.
  virtual Result<UserRecord> FindWindowsUser(std::string_view name) const = 0;
  // By a Kerberos principal, "alice@EXAMPLE.COM" or "alice": a principal of one component in a
  // realm the directory accepts is the user of that name (compared byte for byte, as Kerberos
  // does). Principals with an instance ("nfs/host@REALM", "alice/admin@REALM") name no user.
  virtual Result<UserRecord> FindKerberosUser(std::string_view principal) const = 0;
  // By uid: the user an AUTH_SYS caller claims to be.
  virtual Result<UserRecord> FindUserByUid(uint32_t uid) const = 0;

  virtual Result<GroupRecord> FindGroup(std::string_view name) const = 0;
  virtual Result<GroupRecord> FindGroupByGid(uint32_t gid) const = 0;
};

}  // namespace dittofs::core
