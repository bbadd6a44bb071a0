// SPDX-License-Identifier: Apache-2.0
#pragma once

// Named streams (`file:name:$DATA`) and extended attributes (EAs) over the runtime's extended
// attributes (docs/streams.md): an EA NAME is the xattr `user.NAME`, a stream NAME the xattr
// `user.DosStream.NAME:$DATA`, whose value is the stream's data. Not part of the adapter's
// interface.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "core/state/open_table.h"
#include "core/types.h"
#include "core/vfs.h"
#include "smb/wire/messages.h"

namespace dittofs::smb {

// A CREATE's name split at its stream part (MS-FSCC 2.1.5.1: `path[:stream[:type]]`).
struct StreamPath {
  std::string path;          // the file's path, without the stream part
  std::string stream;        // the named stream; empty for the default data stream
  bool data_suffix = false;  // the name said "::$DATA" (or ":name:$DATA")
};

// Splits `name` (not on a POSIX tree, where ':' is an ordinary character). Errc::kInvalid
// (STATUS_OBJECT_NAME_INVALID) for ':' in a directory of the path, an empty stream name with
// no type ("file:"), a stream name holding '/', '\\', ':' or NUL, a type other than $DATA
// (compared without case), or a name too long to be kept (kMaxStreamName).
Result<StreamPath> SplitStreamPath(std::string_view name);

// The longest stream name kept, in UTF-8 bytes: what fits in an xattr name with its prefix
// and suffix.
inline constexpr size_t kMaxStreamName = core::kMaxXattrName - 21;

// The xattr that holds stream `name`, and the stream an xattr holds (nullopt: not a stream).
std::string StreamXattr(std::string_view name);
std::optional<std::string> StreamOfXattr(std::string_view xattr);

struct StreamInfo {
  std::string name;  // as created
  uint64_t size = 0;
};
// The file's named streams.
Result<std::vector<StreamInfo>> ListStreams(core::Vfs& vfs, const core::Caller& caller,
                                            core::FileId file);
// The name stream `name` has, compared without regard to case; nullopt when there is none.
Result<std::optional<std::string>> FindStream(core::Vfs& vfs, const core::Caller& caller,
                                              core::FileId file, std::string_view name);

// EA names (MS-FSCC 2.4.15): 1 to 250 bytes (what fits after "user." in an xattr name), none
// of the characters Windows refuses in them (control characters and "*+,/:;<=>?[\\]|).
bool ValidEaName(std::string_view name);
// The EA an xattr is (nullopt: not one: outside user.*, a stream, or not a valid EA name).
std::optional<std::string> EaOfXattr(std::string_view xattr);
// The file's EAs, names as stored.
Result<std::vector<wire::FullEa>> ListEas(core::Vfs& vfs, const core::Caller& caller,
                                          core::FileId file);
// FILE_EA_INFORMATION's EaSize (MS-FSA 2.1.5.12.10): the size of the EAs packed as OS/2's
// FEALIST: a 4-byte length, then per EA a 4-byte header, the name, a NUL and the value; 0 for
// none.
uint32_t EaSizeOf(const std::vector<wire::FullEa>& eas);
// Sets the EAs of `eas` on the file, in order (an empty value removes the EA; removing an
// absent one succeeds). An EA's name matches an existing one without regard to case (MS-FSCC
// 2.4.15), which it replaces. Errc::kInvalid for an invalid name (checked for all before any
// is set), Errc::kTooBig for a value over kMaxXattrValue, Errc::kNoSpace past kMaxXattrs.
Status SetEas(core::Vfs& vfs, const core::Caller& caller, core::FileId file,
              const std::vector<wire::FullEa>& eas);

// One named stream with opens: what they share. Its name changes when one renames it.
struct StreamNode {
  StreamNode(uint64_t id, uint64_t share, uint64_t inode) : id(id), share(share), inode(inode) {}
  const uint64_t id;  // its file in StreamTable's OpenTable
  const uint64_t share;
  const uint64_t inode;  // the file it is a stream of
  // Held while the stream's value is read, changed and written back (a write, a size change),
  // so that writes through different opens do not lose each other.
  Mutex mu;
  std::string name GUARDED_BY(mu);  // as stored
};

// The opens of named streams, for their share modes and deletion (MS-FSA 2.1.5.1.2: an open
// of a named stream is checked against the opens of that stream only; the runtime's OpenTable
// keeps the file's opens, which a stream open joins with no access and every share mode, to
// keep the file while it is open and to see its delete-pending state). Thread-safe.
class StreamTable {
 public:
  struct Opened {
    std::shared_ptr<StreamNode> node;
    core::OpenTable::OpenId id = 0;
  };
  // Registers an open of stream `name` (as stored) of `inode` in `share`.
  // Errc::kShareViolation, or Errc::kDeletePending when the stream is to be deleted.
  Result<Opened> Open(uint64_t share, uint64_t inode, std::string_view name, uint32_t access,
                      uint32_t share_access, bool delete_on_close);
  // Closes open `id` of `node`; true when the stream is to be deleted now (its last open
  // closed and it was marked for deletion).
  bool Close(const std::shared_ptr<StreamNode>& node, core::OpenTable::OpenId id);
  Status SetDeletePending(core::OpenTable::OpenId id, bool pending);
  // Whether the opens of every named stream of `inode` let it be deleted (FILE_SHARE_DELETE):
  // MS-FSA 2.1.5.1.2.1, an open of the default stream for DELETE.
  bool AllowsDelete(uint64_t share, uint64_t inode);
  // Whether stream `name` of `inode` has opens.
  bool HasOpens(uint64_t share, uint64_t inode, std::string_view name);
  // Gives the opens of `node` the name `to` (as stored). Errc::kShareViolation when stream
  // `to` has opens of its own.
  Status Rename(const std::shared_ptr<StreamNode>& node, std::string_view to);

 private:
  using Key = std::tuple<uint64_t, uint64_t, std::string>;  // share, inode, folded name
  static Key KeyOf(uint64_t share, uint64_t inode, std::string_view name);
  // Takes `node` out of nodes_ (under its name now).
  void ForgetLocked(const std::shared_ptr<StreamNode>& node) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Mutex mu_;
  std::map<Key, std::shared_ptr<StreamNode>> nodes_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  core::OpenTable opens_;  // by StreamNode::id
};

}  // namespace dittofs::smb
