// SPDX-License-Identifier: Apache-2.0
#pragma once

// The state of one COMPOUND (RFC 8881 §16.2.3): current and saved file handles and stateids,
// the 4.1 session and slot it runs in. Shared by the operation files of nfs/v4.

#include <memory>
#include <optional>
#include <string>

#include "core/identity.h"
#include "core/share.h"
#include "nfs/v4/pseudo_fs.h"
#include "nfs/v4/service.h"

namespace dittofs::nfs {

// A file handle as the COMPOUND holds it: none, a pseudo directory, or a share's file.
struct Nfs4Fh {
  enum class Kind : uint8_t { kNone, kPseudo, kShare };
  Kind kind = Kind::kNone;
  uint64_t pseudo = 0;
  core::ShareId share = 0;
  core::FileId file;

  bool none() const { return kind == Kind::kNone; }
  bool is_pseudo() const { return kind == Kind::kPseudo; }
  Nfs4File as_file() const { return {share, file}; }
};

struct Nfs4Service::Ctx {
  explicit Ctx(const rpc::CallContext& c) : call(c) {}

  const rpc::CallContext& call;
  core::Caller caller;
  uint32_t minor = 0;
  Nfs4Fh current;
  Nfs4Fh saved;
  // 4.1's current stateid (RFC 8881 §16.2.3.1.2).
  std::optional<stateid4> current_stateid;
  std::optional<stateid4> saved_stateid;
  // 4.1: the session and slot of the COMPOUND's SEQUENCE.
  std::shared_ptr<Nfs4Session> session;
  slotid4 slot = 0;
  bool cachethis = false;
  // Set by SEQUENCE when the call is a retransmission answered from the slot's cache.
  std::optional<std::string> replay;
  // Built when an operation first needs it.
  std::optional<PseudoFs> pseudo;
  size_t index = 0;  // of the operation running
  size_t numops = 0;
  size_t request_size = 0;        // of the COMPOUND's arguments
  size_t reply_limit = SIZE_MAX;  // the session's maxresponsesize
  // SECINFO's own lookup: it crosses into a share whatever the call's flavor, to tell it.
  bool secinfo = false;

  const PseudoFs& Pseudo(const core::ShareTable& shares) {
    if (!pseudo) pseudo = PseudoFs::Of(shares);
    return *pseudo;
  }
  void SetCurrent(const Nfs4Fh& fh) {
    current = fh;
    current_stateid.reset();
  }
};

// The share file `fh` names, or why there is none: NOFILEHANDLE, or for a pseudo directory
// `pseudo_status` (ROFS for changes, ISDIR for data).
nfsstat4 NeedShareFile(const Nfs4Fh& fh, nfsstat4 pseudo_status);
inline nfsstat4 NeedShareFile(const Nfs4Service::Ctx& c, nfsstat4 pseudo_status) {
  return NeedShareFile(c.current, pseudo_status);
}

// The share a share file handle is of, held for one operation.
Result<core::ShareUse> UseShare(const core::ShareTable& shares, const Nfs4Fh& fh);

// The stateid an operation means: 4.1's "current stateid" (seqid 1, other all zero) resolves
// to the COMPOUND's (NFS4ERR_BAD_STATEID when it has none).
nfsstat4 ResolveStateid(const Nfs4Service::Ctx& c, const stateid4& in, stateid4* out);

bool IsAnonymousStateid(const stateid4& s);
bool IsBypassStateid(const stateid4& s);

core::FileType FileTypeOf(nfs_ftype4 t);
nfs_ftype4 Ftype4Of(core::FileType t);

}  // namespace dittofs::nfs
