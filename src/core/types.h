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
#include "stores/block/block_store.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::core {

using stores::FileType;
using stores::InodeId;

using ShareId = uint32_t;

// The identity a call runs as, after the adapter has authenticated it (and before the share's
// squash rules, which the Vfs applies).
struct Caller {
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  std::vector<uint32_t> groups;  // supplementary groups
  std::string client_address;
  // The caller presented no identity (e.g. AUTH_NONE): it runs as the share's anonymous
  // identity (anon_uid/anon_gid), whatever uid and gid say.
  bool anonymous = false;

  bool is_root() const { return uid == 0; }
  bool InGroup(uint32_t g) const;
};

// What a file handle names: an inode of a share, in one incarnation.
struct FileId {
  InodeId inode = stores::kInvalidInode;
  uint32_t generation = 0;
  friend bool operator==(const FileId&, const FileId&) = default;
};

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
  Timespec atime, mtime, ctime, btime;
  uint64_t change = 0;  // changes whenever anything about the object changes
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
};

enum class TimeHow { kDontChange, kServerTime, kClientTime };

struct SetAttrs {
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  TimeHow atime_how = TimeHow::kDontChange;
  Timespec atime;
  TimeHow mtime_how = TimeHow::kDontChange;
  Timespec mtime;
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
};

}  // namespace dittofs::core
