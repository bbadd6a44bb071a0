// SPDX-License-Identifier: Apache-2.0
#pragma once

// The runtime's protocol-neutral vocabulary: who calls, what they name, what they get back.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "core/access.h"
#include "core/identity.h"
#include "stores/block/block_store.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::core {

using stores::FileType;
using stores::InodeId;

using ShareId = uint32_t;

// A call's identity, after the adapter has authenticated it (and before the share's squash
// rules, which the Vfs applies): the principal it runs as and the client it came from.
struct Caller : Principal {
  std::string client_address;
};

// What a file handle names: an inode of a share, in one incarnation.
struct FileId {
  InodeId inode = stores::kInvalidInode;
  uint32_t generation = 0;
  friend bool operator==(const FileId&, const FileId&) = default;
};

// DOS attributes: the MS-FSCC 2.6 FILE_ATTRIBUTE_* bits. The runtime keeps kDosKept; the others
// are not stored (an adapter reports kDosDirectory and kDosNormal from the type and the rest).
inline constexpr uint32_t kDosReadOnly = 0x00000001;
inline constexpr uint32_t kDosHidden = 0x00000002;
inline constexpr uint32_t kDosSystem = 0x00000004;
inline constexpr uint32_t kDosDirectory = 0x00000010;
inline constexpr uint32_t kDosArchive = 0x00000020;
inline constexpr uint32_t kDosNormal = 0x00000080;
inline constexpr uint32_t kDosSparse = 0x00000200;
inline constexpr uint32_t kDosKept =
    kDosReadOnly | kDosHidden | kDosSystem | kDosArchive | kDosSparse;

// Attributes as every protocol reports them.
struct Attr {
  FileId id;
  ShareId share = 0;
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // permission bits plus suid/sgid/sticky
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t used = 0;  // bytes of storage, rounded up to 4 KiB blocks
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  Timespec atime, mtime, ctime, btime;  // btime: birth (creation) time
  // The change counter (NFSv4 change attribute): grows with every change of the object's data
  // or metadata (a directory's: of its entries too), but not with an access time update alone.
  // Never given twice to different states: after a crash that lost commits (a power loss), an
  // object's value may be older than one a client saw, but later changes get values above any
  // given before (the metadata store's change epoch).
  uint64_t change = 0;
  uint32_t dos_attributes = 0;  // kDosKept bits
};

// A directory's change counter just before and just after an operation changed it (NFSv4
// change_info4). `atomic`: nothing else changed the directory in between.
struct ChangeInfo {
  uint64_t before = 0;
  uint64_t after = 0;
  bool atomic = false;
  friend bool operator==(const ChangeInfo&, const ChangeInfo&) = default;
};

// The attributes of an object just before an operation changed it (NFSv3 wcc_attr).
struct PreAttr {
  uint64_t size = 0;
  Timespec mtime, ctime;
};

// Weak cache consistency: the object's attributes before and after an operation. Either may be
// absent when it could not be had (e.g. the object could not be read).
struct Wcc {
  std::optional<PreAttr> before;
  std::optional<Attr> after;
  // Set by a namespace operation (create, mkdir, symlink, mknod, link, remove, rmdir, rename)
  // that changed this directory.
  std::optional<ChangeInfo> change;
};

// Which attributes a SetAttrs sets: a mask of these bits.
enum SetMask : uint32_t {
  kSetMode = 1u << 0,
  kSetUid = 1u << 1,
  kSetGid = 1u << 2,
  kSetSize = 1u << 3,
  kSetAtime = 1u << 4,     // to SetAttrs::atime
  kSetAtimeNow = 1u << 5,  // to the server's time (wins over kSetAtime)
  kSetMtime = 1u << 6,
  kSetMtimeNow = 1u << 7,
  kSetCtime = 1u << 8,  // NFS cannot set it; SMB can (ChangeTime)
  kSetBtime = 1u << 9,
  kSetDosAttributes = 1u << 10,
};

// Attributes to set: the fields whose bits are in `mask`; the others are ignored.
struct SetAttrs {
  uint32_t mask = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timespec atime, mtime, ctime, btime;
  uint32_t dos_attributes = 0;

  bool has(uint32_t bits) const { return (mask & bits) != 0; }
  SetAttrs& set_mode(uint32_t v) { return Set(kSetMode, mode, v); }
  SetAttrs& set_uid(uint32_t v) { return Set(kSetUid, uid, v); }
  SetAttrs& set_gid(uint32_t v) { return Set(kSetGid, gid, v); }
  SetAttrs& set_size(uint64_t v) { return Set(kSetSize, size, v); }
  SetAttrs& set_atime(Timespec v) { return Set(kSetAtime, atime, v); }
  SetAttrs& set_mtime(Timespec v) { return Set(kSetMtime, mtime, v); }
  SetAttrs& set_ctime(Timespec v) { return Set(kSetCtime, ctime, v); }
  SetAttrs& set_btime(Timespec v) { return Set(kSetBtime, btime, v); }
  SetAttrs& set_dos_attributes(uint32_t v) { return Set(kSetDosAttributes, dos_attributes, v); }

 private:
  template <typename T>
  SetAttrs& Set(uint32_t bit, T& field, T value) {
    field = value;
    mask |= bit;
    return *this;
  }
};

enum class CreateMode { kUnchecked, kGuarded, kExclusive };

// Access bits, as NFSv3 ACCESS and NFSv4 ACCESS define them.
enum AccessBits : uint32_t {
  kAccessRead = 0x01,
  kAccessLookup = 0x02,
  kAccessModify = 0x04,
  kAccessExtend = 0x08,
  kAccessDelete = 0x10,
  kAccessExecute = 0x20,
};

enum class Stability { kUnstable = 0, kDataSync = 1, kFileSync = 2 };

struct ReadResult {
  stores::BlockRead data;  // may view the store's memory; holds keep it alive
  bool eof = false;
  Attr attr;
};

struct WriteResult {
  uint32_t count = 0;
  Stability committed = Stability::kUnstable;
};

struct DirListEntry {
  std::string name;
  InodeId inode = stores::kInvalidInode;
  uint64_t cookie = 0;
  std::optional<Attr> attr;  // filled when asked for (READDIRPLUS)
};

struct DirListing {
  std::vector<DirListEntry> entries;
  bool eof = false;
  Attr dir_attr;
};

struct FsStats {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t avail_bytes = 0;
  uint64_t total_files = 0;
  uint64_t free_files = 0;
  uint64_t avail_files = 0;
  // The caller's quota (docs/quotas.md; NFSv4's quota attributes): the bytes it may still
  // take before a hard limit refuses them, and before a soft one starts its grace (the
  // storage's avail_bytes when no limit applies), and the bytes its files hold.
  uint64_t quota_avail_hard = 0;
  uint64_t quota_avail_soft = 0;
  uint64_t quota_used = 0;
};

// How a share maps the identities clients present. "Admin" is the superuser (uid 0, gid 0);
// "guest" is the share's anonymous identity (anon_uid/anon_gid).
enum class Squash {
  kNone,         // identities as presented
  kRootToGuest,  // root becomes the guest (the usual root_squash)
  kRootToAdmin,  // root keeps its privileges (no_root_squash)
  kAllToGuest,   // everyone becomes the guest
  kAllToAdmin,   // everyone acts as root
};

// How a share checks the names callers give and finds them. Whatever the rules, a name is 1 to
// `max_bytes` bytes and holds neither '/' nor NUL.
struct NameRules {
  size_t max_bytes = 255;
  // Characters refused in new and looked-up names beyond '/' and NUL.
  std::string_view refused_chars;
  bool refuse_control_chars = false;  // U+0001 to U+001F
  // Names are found whatever their case (Unicode simple case folding, base/casefold.h) and
  // kept as created; a new name that folds equal to another entry's is taken (kExists).
  bool case_insensitive = false;

  // POSIX: any bytes but '/' and NUL, case-sensitive. The default.
  static NameRules Posix() { return {}; }
  // Windows (MS-FSCC 2.1.5.2, as NTFS): no \ / : * ? " < > | nor control characters, and
  // case-insensitive, case-preserving lookups.
  static NameRules Windows() { return {255, "\\:*?\"<>|", true, true}; }
};

// What the SMB adapter enforces on a share's tree connects (MS-SMB2 3.3.5.7); the runtime only
// carries it.
struct SmbShareOptions {
  bool encrypt = false;          // Share.EncryptData: 3.x sessions encrypt, 2.x are refused
  bool require_signing = false;  // sessions that connect sign every message
  bool guest_ok = false;         // guest and anonymous sessions may connect
  // Access-based enumeration (MS-SRVS SHI1005_FLAGS_ACCESS_BASED_DIRECTORY_ENUM): directory
  // listings show only the entries the caller may open.
  bool access_based_enumeration = false;
  // Continuous availability (SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY): opens may be persistent
  // handles, whose state is kept in the server's state store and outlives a restart.
  bool continuously_available = false;
};

// Whether NFS clients must reach a share over TLS (RFC 9289). The runtime only keeps the
// setting: the adapters, which know how a call arrived, enforce it.
enum class TlsPolicy {
  kOff,            // TLS not asked for (clients may still use it)
  kOpportunistic,  // the same, with TLS welcome: the server offers it
  kRequired,       // calls that did not come over TLS are refused
};

// The NFS security flavors a share accepts (RFC 2623 §2.7): AUTH_SYS, and RPCSEC_GSS with
// Kerberos V5 at each of its services. The runtime only keeps them: the NFS adapter, which knows
// how a call was authenticated, enforces them.
struct NfsSecurity {
  bool sys = true;     // AUTH_SYS (and AUTH_NONE)
  bool krb5 = false;   // authentication
  bool krb5i = false;  // and integrity
  bool krb5p = false;  // and privacy
};

// The share's recycle bin (docs/recycle.md): files removed over any protocol move to
// kRecycleDir at the root, under the path they had, instead of going.
inline constexpr std::string_view kRecycleDir = "#recycle";
struct RecycleOptions {
  bool enabled = false;
  uint32_t retention_days = 0;  // removed files older than this go for good; 0: no limit
  uint64_t max_bytes = 0;       // the bin's size cap, oldest evicted first; 0: no cap
  // fnmatch(3) globs: a removed file whose name, or path from the share's root ("a/b/c.tmp"),
  // one of them matches is removed for good.
  std::vector<std::string> exclude;
  friend bool operator==(const RecycleOptions&, const RecycleOptions&) = default;
};

struct ShareOptions {
  bool read_only = false;
  Squash squash = Squash::kRootToGuest;
  uint32_t anon_uid = 65534;
  uint32_t anon_gid = 65534;
  uint32_t root_mode = 01777;  // mode of the root directory when the share is first created
  uint32_t root_uid = 0;
  uint32_t root_gid = 0;
  SharePolicy policy;  // client networks and per-user permission levels
  NameRules names;
  SmbShareOptions smb;
  TlsPolicy tls = TlsPolicy::kOff;
  NfsSecurity security;
  RecycleOptions recycle;
};

}  // namespace dittofs::core
