// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"
#include "core/acl/acl.h"
#include "core/quota.h"
#include "core/state/share_state.h"
#include "core/types.h"
#include "stores/block/block_store.h"
#include "stores/metadata/metadata_store.h"

namespace dittofs::metrics {
class Histogram;
}

namespace dittofs::core {

// The file system of one share, as every protocol sees it: namespace, attribute and data
// operations with POSIX semantics and permission checks. Every operation takes the caller's
// identity; the share's squash rules are applied here, so adapters pass the identity the
// client presented.
//
// Mutating operations fill a Wcc for each directory (or file) they change, on success and, as
// far as the object could be read, on failure too.
//
// Thread-safe: any number of calls may run at once. The Vfs keeps no lock of its own; the
// metadata store's transactions serialize conflicting namespace changes, and the block store
// orders data access per file.
// Extended attributes: names of 1 to 255 bytes, values up to 64 KiB, at most 1024 per file.
inline constexpr size_t kMaxXattrName = 255;
inline constexpr size_t kMaxXattrValue = 64 << 10;
inline constexpr size_t kMaxXattrs = 1024;
enum class XattrSet { kAny, kCreate, kReplace };
// A range of a file holding data (Vfs::DataExtents).
using DataExtent = stores::BlockStore::Extent;

class Vfs {
 public:
  // Opens the share over its stores, creating the root directory on first use.
  // `quotas` (docs/quotas.md): the share's quota table and the counting store over `metadata`
  // that every change goes through; the server keeps them across Vfs generations, as it does
  // `state`. Without them the Vfs opens its own.
  // `metadata` and `blocks` must outlive the Vfs; so must `state`, the share's opens, locks and
  // grants, which the server keeps across Vfs generations (policy changes). Without one the
  // Vfs keeps its own.
  static Result<std::unique_ptr<Vfs>> Open(ShareId id, std::string name,
                                           stores::MetadataStore& metadata,
                                           stores::BlockStore& blocks, ShareOptions options,
                                           ShareState* state = nullptr,
                                           ShareQuotas* quotas = nullptr);
  // Finishes the cuts of file data that a crash interrupted: a shrinking SETATTR commits the
  // new size with a pending cut, which it forgets once the cut is durable. Each such file's
  // data is cut at its size (removed if the file is gone), durably, and the cuts forgotten.
  // Likewise every file whose data in the block store's RecentDataEnds reaches past its size
  // (a write whose size update the crash lost).
  // REQUIRES: nothing serves the stores yet: call it once after opening them, before the
  // first Open (a later Open, for a policy change, must not race the running share's writes).
  static Status FinishPendingCuts(std::string_view share, stores::MetadataStore& metadata,
                                  stores::BlockStore& blocks);

  ShareId id() const { return id_; }
  const std::string& name() const { return name_; }
  const ShareOptions& options() const { return options_; }
  FileId root() const { return root_; }
  // The share's opens, byte-range locks and caching grants (docs/state.md). Operations without
  // an open (all of NFSv3's) are checked against them as short anonymous opens.
  ShareState& state() { return *state_; }
  // The share's quotas (docs/quotas.md): limits and usage per share, user and group.
  QuotaTable& quotas() { return *quotas_; }
  // Checks that `file` names a live object of this share (Errc::kStale otherwise).
  Result<Attr> Resolve(FileId file);

  // Whether `caller` may mount the share: its client network is allowed and its permission is
  // not none. Errc::kAccess otherwise. Every operation below checks the same, and refuses
  // changes to callers with read permission (Errc::kAccess).
  Status CheckMount(const Caller& caller) const { return Admit(caller, false); }
  // Whether `caller` may change the share: as CheckMount, and its permission is read-write or
  // admin and the share is not read-only (Errc::kReadOnly).
  Status CheckChange(const Caller& caller) const {
    if (options_.read_only) return Errc::kReadOnly;
    return Admit(caller, true);
  }

  Result<Attr> GetAttr(const Caller& caller, FileId file);
  // `guard_ctime`: when set, fails with Errc::kNotSync unless the object's ctime equals it.
  // `via`, here and below: the open the operation comes through (ShareState::Check); null
  // for NFSv3's stateless operations.
  Status SetAttr(const Caller& caller, FileId file, const SetAttrs& attrs,
                 const Timespec* guard_ctime, Wcc* wcc, const OpenContext* via = nullptr);
  // Returns the named object's attributes; `dir_attr` gets the directory's (may be null).
  Result<Attr> Lookup(const Caller& caller, FileId dir, std::string_view name,
                      std::optional<Attr>* dir_attr);
  // As Lookup, for a protocol whose names match without regard to case on every share (SMB):
  // the exact name first, else the first entry, in byte order, whose name folds equal to it
  // (two names made over NFS that differ only in case each stay reachable by their exact
  // spelling). `entry_name` (may be null) gets the name the entry has.
  Result<Attr> LookupAnyCase(const Caller& caller, FileId dir, std::string_view name,
                             std::string* entry_name);
  // Returns which of the `requested` access bits the caller has.
  Result<uint32_t> Access(const Caller& caller, FileId file, uint32_t requested, Attr* attr);
  Result<std::string> ReadLink(const Caller& caller, FileId file, Attr* attr);

  Result<ReadResult> Read(const Caller& caller, FileId file, uint64_t offset, uint32_t count,
                          const OpenContext* via = nullptr);
  Result<WriteResult> Write(const Caller& caller, FileId file, uint64_t offset, ByteView data,
                            Stability stability, Wcc* wcc, const OpenContext* via = nullptr);
  // Makes the file's written data durable.
  Status Commit(const Caller& caller, FileId file, Wcc* wcc);

  // Sparse files and copies within the share (NFSv4.2 ALLOCATE, DEALLOCATE, SEEK, READ_PLUS,
  // CLONE, COPY; SMB FSCTL_SET_ZERO_DATA, QUERY_ALLOCATED_RANGES, DUPLICATE_EXTENTS_TO_FILE,
  // SRV_COPYCHUNK). Each checks as a WRITE (or READ) of its range does: permissions, the DOS
  // read-only attribute, share modes, byte-range locks and caching grants (ShareState::Check).
  //
  // Reserves [offset, offset + length) (fallocate(2) without KEEP_SIZE): the file grows to
  // offset + length when shorter, and what it already holds is unchanged. The stores are thin
  // (chunks are deduplicated and compressed), so nothing is written: the range's bytes that hold
  // no data yet are checked against the storage's free space (Errc::kNoSpace) at the call, not
  // held for later. Errc::kTooBig past the largest file size.
  Status Allocate(const Caller& caller, FileId file, uint64_t offset, uint64_t length, Wcc* wcc,
                  const OpenContext* via = nullptr);
  // Punches a hole: [offset, offset + length), clipped to the file's size (which stays), reads
  // as zeros and its storage is freed. The file is marked sparse (kDosSparse, as Windows'
  // FSCTL_SET_ZERO_DATA would need), and from then on Attr::used counts its data extents.
  // Durable when it returns.
  Status Deallocate(const Caller& caller, FileId file, uint64_t offset, uint64_t length, Wcc* wcc,
                    const OpenContext* via = nullptr);
  // The ranges of the file holding data within [offset, offset + length), clipped to its size
  // (BlockStore::DataExtents: never a range with data reported as a hole), at most `max`;
  // `attr` (may be null) gets the file's attributes. Needs read permission; byte-range locks
  // and share modes do not matter (no data is read).
  Result<std::vector<DataExtent>> DataExtents(const Caller& caller, FileId file, uint64_t offset,
                                              uint64_t length, size_t max, Attr* attr = nullptr,
                                              const OpenContext* via = nullptr);
  // Makes [dst_offset, dst_offset + length) of `dst` hold [src_offset, src_offset + length) of
  // `src`, through BlockStore::Clone: by reference where the store shares data between files
  // (no byte read or written: a clone or copy of any size costs what its chunk map does), else
  // copied inside the server. `length` 0 copies to the source's end. `dst` grows to cover the
  // range; its times change as a write's. The source range must lie within the source
  // (Errc::kInvalid otherwise, as RFC 7862 §15.2.3 and §15.13.3 ask); both must be regular files
  // (kIsDir, kInvalid); a file onto an overlapping range of itself is Errc::kInvalid.
  // `src_via`/`dst_via`: the opens each side comes through. Returns the bytes copied. Durable
  // when it returns.
  Result<uint64_t> CopyRange(const Caller& caller, FileId src, uint64_t src_offset, FileId dst,
                             uint64_t dst_offset, uint64_t length, Wcc* dst_wcc,
                             const OpenContext* src_via = nullptr,
                             const OpenContext* dst_via = nullptr);
  // Whether CopyRange shares data instead of copying it (BlockStore::ClonesByReference).
  bool CopiesByReference() const { return blocks_.ClonesByReference(); }

  // kExclusive: `verifier` identifies the request; repeating it finds the file created the
  // first time and succeeds.
  // Every change of a directory's names (Create, Mkdir, Symlink, Mknod, Link, Remove, Rmdir,
  // Rename, a delete on close) breaks the directory's cached grants (ShareState::
  // DirectoryChanged) but those of `via`'s parent_holder, when it comes through one.
  Result<Attr> Create(const Caller& caller, FileId dir, std::string_view name, CreateMode how,
                      const SetAttrs& attrs, uint64_t verifier, Wcc* dir_wcc,
                      const OpenContext* via = nullptr);
  Result<Attr> Mkdir(const Caller& caller, FileId dir, std::string_view name, const SetAttrs& attrs,
                     Wcc* dir_wcc, const OpenContext* via = nullptr);
  Result<Attr> Symlink(const Caller& caller, FileId dir, std::string_view name,
                       std::string_view target, const SetAttrs& attrs, Wcc* dir_wcc);
  // Turns `file`, an empty regular file or an empty directory, into a symbolic link to
  // `target` in place: its id, names and opens stay (an SMB client's FSCTL_SET_REPARSE_POINT,
  // MS-FSCC 2.3.81). The caller must own the file or may write it. Errc::kNotEmpty for a file
  // holding data or a directory holding entries, Errc::kInvalid for another type or an empty
  // target, Errc::kNameTooLong for a target over the limit Symlink has. A symlink's target is
  // replaced.
  Status MakeSymlinkInPlace(const Caller& caller, FileId file, std::string_view target,
                            const OpenContext* via = nullptr);
  // Turns the symbolic link `file` into an empty regular file in place (FSCTL_DELETE_REPARSE_
  // POINT). Errc::kInvalid when `file` is no symlink.
  Status RemoveSymlinkInPlace(const Caller& caller, FileId file, const OpenContext* via = nullptr);
  // Turns `file`, an empty regular file, into a device, FIFO or socket in place: its id, names,
  // opens and permission bits stay (a POSIX SMB client's FSCTL_SET_REPARSE_POINT with an NFS or
  // WSL tag, MS-FSCC 2.1.2.6). As Mknod: devices are root's to make, Errc::kBadType for another
  // `type`. Errc::kNotEmpty for a file holding data, Errc::kInvalid for a file of another type.
  Status MakeSpecialInPlace(const Caller& caller, FileId file, FileType type, uint32_t major,
                            uint32_t minor, const OpenContext* via = nullptr);
  // Creates a device, FIFO or socket.
  Result<Attr> Mknod(const Caller& caller, FileId dir, std::string_view name, FileType type,
                     const SetAttrs& attrs, uint32_t major, uint32_t minor, Wcc* dir_wcc);
  // Adds the name `name` in `dir` for `file`; `file_attr` gets its new attributes.
  Status Link(const Caller& caller, FileId file, FileId dir, std::string_view name,
              std::optional<Attr>* file_attr, Wcc* dir_wcc, const OpenContext* via = nullptr);
  // Removes a non-directory. A file whose last name goes while opens use it stays, as an
  // orphan, readable and writable through them until the last closes (CloseFile).
  Status Remove(const Caller& caller, FileId dir, std::string_view name, Wcc* dir_wcc,
                const OpenContext* via = nullptr);

  // The file's access control list (docs/acl.md); empty when it has none and its mode bits
  // decide. Reading it takes READ_ACL, which the owner always has, and anyone when the file has
  // no ACL (its mode shows as much).
  Result<Acl> GetAcl(const Caller& caller, FileId file);
  // Gives the file `acl` (an empty one removes it); its permission bits become those the ACL
  // reflects (RFC 8881 §6.4.1.2). Takes WRITE_ACL: the owner, root, or whom the file's ACL
  // grants it. Errc::kInvalid or kTooBig for an ACL ValidateAcl refuses, kNotSupported for a
  // symlink.
  Status SetAcl(const Caller& caller, FileId file, const Acl& acl, Wcc* wcc = nullptr);
  // Every access bit (kAce*, the bits of SMB's access masks) the file's ACL allows `caller`
  // (everything for root); nullopt when the file has no ACL and its mode decides.
  Result<std::optional<uint32_t>> AclAccess(const Caller& caller, FileId file);

  // Extended attributes of `file` (kept in the metadata store with it, deleted with it).
  // Reading and listing need read permission, changing needs write permission (or
  // ownership). Errc::kNotFound for an absent name (ENODATA), Errc::kExists for kCreate of a
  // present one, Errc::kTooBig for a value over kMaxXattrValue, Errc::kNoSpace past kMaxXattrs,
  // Errc::kNameTooLong / kInvalid for a bad name.
  Result<std::string> GetXattr(const Caller& caller, FileId file, std::string_view name);
  Result<std::vector<std::string>> ListXattrs(const Caller& caller, FileId file);
  Status SetXattr(const Caller& caller, FileId file, std::string_view name, std::string_view value,
                  XattrSet how);
  Status RemoveXattr(const Caller& caller, FileId file, std::string_view name);

  // The runtime's open, for the stateful protocols: checks `caller`'s permission for
  // `access` (OpenAccessBits) and the share modes of the file's other opens. Errc::kStale for a
  // file without a name left.
  // `delete_on_close`: the file goes when this open closes (needs kDeleteAccess).
  // `created`: `caller` has just created `file` with this open, which then gets what it asks
  // for whatever the new file's mode or inherited ACL say (as POSIX's open(O_CREAT) and a
  // Windows create do); share modes still count.
  Result<OpenTable::OpenId> OpenFile(const Caller& caller, FileId file, uint32_t access,
                                     uint32_t share, bool delete_on_close = false,
                                     bool created = false);
  // Changes open `id` of `file` to `access` and `share` (an NFSv4 OPEN upgrade or
  // OPEN_DOWNGRADE), checking `caller`'s permission for the access it adds as OpenFile does.
  // Errc::kShareViolation when the file's other opens refuse it (the open is then unchanged).
  Status ChangeOpen(const Caller& caller, FileId file, OpenTable::OpenId id, uint32_t access,
                    uint32_t share, uint32_t old_access);
  // Where an open's file is named, for the deletion its close may bring.
  struct NamedAt {
    const Caller* caller = nullptr;  // who removes the name
    FileId dir;
    std::string_view name;
    // The closing open's grant holder: a cached grant it still holds does not hold up its own
    // delete.
    uint64_t holder = kAnonymousOwner;
    uint64_t parent_holder = kAnonymousOwner;  // its OpenContext::parent_holder
  };
  // Closes an open. The last close of an orphan deletes it, data included. When the file is
  // marked for deletion (delete on close, a disposition) and this was its last open, its name
  // `at` is removed (Remove or Rmdir) as at.caller.
  Status CloseFile(OpenTable::OpenId id, const NamedAt* at = nullptr);
  // Takes back an open OpenFile just made that served nothing: its share modes go, and its
  // delete_on_close marks nothing (OpenTable::Withdraw).
  Status WithdrawOpen(OpenTable::OpenId id) { return state_->opens.Withdraw(id); }
  // Deletes the orphans that a stop or crash left (their opens died with the process).
  // REQUIRES: as FinishPendingCuts: before anything is served.
  static Status DeleteOrphans(std::string_view share, stores::MetadataStore& metadata,
                              stores::BlockStore& blocks);
  Status Rmdir(const Caller& caller, FileId dir, std::string_view name, Wcc* dir_wcc,
               const OpenContext* via = nullptr);
  // Atomically moves `from_name` to `to_name`, replacing a file or an empty directory there.
  // `no_replace`: fail with Errc::kExists when `to_name` exists (SMB without ReplaceIfExists).
  // Through an open (`via` names one), the source's directory must also admit a DELETE open
  // sharing read and write (Errc::kShareViolation otherwise), as Windows checks.
  Status Rename(const Caller& caller, FileId from_dir, std::string_view from_name, FileId to_dir,
                std::string_view to_name, Wcc* from_wcc, Wcc* to_wcc,
                const OpenContext* via = nullptr, bool no_replace = false);

  // Change notification (ShareState::changes): each change of a name made above (Create,
  // Mkdir, Symlink, Mknod, Link, Remove, Rmdir, Rename, a delete on close) is published to the
  // watches of its directory and to the tree watches of the directories above it, whichever
  // protocol made it. A file's data or attributes are changed by id, which names no directory:
  // an adapter that knows the name it changed them through (an SMB open's) tells it here.
  void NoteChanged(FileId dir, std::string_view name, ChangeAction action, uint32_t what);
  // The same for a change of `file`'s data or attributes (`what`: changed:: bits) made by id
  // alone (an NFS WRITE or SETATTR): published as modified under each name the file has in a
  // watched directory, found by a scan of those directories (at most kMaxScannedDirs, once per
  // ChangeFeed::kNamesFor for a stream of changes). A tree watch sees the change only when the
  // file is in the watched directory itself. One atomic load while nothing is watched.
  void NoteFileChanged(FileId file, uint32_t what);
  // What a SetAttr of `attrs` changes, as changed:: bits.
  static uint32_t ChangesOf(const SetAttrs& attrs);
  static constexpr size_t kMaxScannedDirs = 256;

  // The recycle bin (ShareOptions::recycle, docs/recycle.md). With it enabled, Remove moves a
  // regular file with one name to kRecycleDir/<its directory's path>/<its name> (" (2)" and so
  // on before the extension when that name is taken) instead of removing it, unless the file
  // lies in the bin already, an exclude glob matches it, or it is larger than the cap. Its
  // directories in the bin are made with the modes, owners and ACLs of the originals, so the
  // bin shows each user what the share did. What the bin holds is indexed (RecordTable::
  // kTrash) with where it came from, its size and when it was removed; a file moved out of the
  // bin through the mount (a restore by hand) or removed there leaves the index.
  struct TrashItem {
    uint64_t id = 0;       // the file's inode: what RestoreTrash takes
    std::string path;      // where it was, from the share's root: "/a/b/c.txt"
    std::string bin_path;  // where it is now: "/#recycle/a/b/c.txt"
    uint64_t size = 0;
    Timespec removed;
    uint32_t uid = 0;  // the file's owner
  };
  // What the bin holds, oldest first (at most `max`). Administrative: no caller.
  Result<std::vector<TrashItem>> ListTrash(size_t max = 100000);
  // Moves the bin's file `id` back to its path (`to`, from the share's root, when not empty),
  // making the directories on the way that are gone again (as the bin's copies of them are).
  // Errc::kExists when something has that name, kNotFound when the bin holds no file `id`.
  // Returns where it went.
  Result<std::string> RestoreTrash(uint64_t id, std::string_view to = {});
  // Removes everything the bin holds for good; returns how many files went.
  Result<uint64_t> EmptyTrash();
  // Removes for good what the bin keeps past its retention (removed before now minus
  // retention_days) and, oldest first, what goes over max_bytes. Remove calls it when the bin
  // grew; the server calls it hourly. Returns how many files went.
  Result<uint64_t> PurgeTrash();
  // The bin's size as its index counts it.
  Result<uint64_t> TrashBytes();

  // Lists up to `max_entries` entries after `cookie` (0 = from the start) in a stable order;
  // cookies stay valid while the directory changes. "." and ".." are not listed.
  Result<DirListing> ReadDir(const Caller& caller, FileId dir, uint64_t cookie, size_t max_entries,
                             bool with_attrs);
  // The directory holding `dir` (the root's parent is the root).
  Result<Attr> Parent(const Caller& caller, FileId dir);

  // A ready snapshot of the share (core/snapshot.h) and its root, read-only like all of it:
  // SMB's previous versions, which name snapshots by time.
  struct SnapshotView {
    std::string name;
    Timespec created;
    FileId root;
  };
  // The share's ready snapshots, oldest first.
  Result<std::vector<SnapshotView>> Snapshots(const Caller& caller);
  Result<FsStats> StatFs(const Caller& caller, FileId file);

 private:
  // Whether `caller` may turn `inode` into another kind of file in place (`what`, for the
  // message): the share writable, the owner or a writer, not DOS read-only, and no open or
  // grant of another in the way.
  Status MayChangeInPlace(const Caller& caller, const stores::Inode& inode, std::string_view what,
                          const OpenContext* via);
  // Whether `caller` (effective ids) may write [offset, offset + length) of the regular file
  // `inode`: the share writable, not DOS read-only (`what` names the refused operation), write
  // permission or ownership, the range within the largest file size, and the share state's
  // check of a write through `via`.
  Status MayWriteRange(const Caller& caller, const stores::Inode& inode, uint64_t offset,
                       uint64_t length, const OpenContext* via, std::string_view what);
  Vfs(ShareId id, std::string name, stores::MetadataStore& metadata, stores::BlockStore& blocks,
      ShareOptions options);

  // The ids the share's squash rule makes of the caller's; permission checks use nothing else
  // of the result (neither the principal's name nor its method count there).
  Caller Effective(const Caller& caller) const;
  // Applies the share policy to the identity the client presented.
  Status Admit(const Caller& caller, bool mutating) const;
  Result<stores::Inode> Load(FileId file);
  Result<stores::Inode> LoadIn(stores::MetadataTxn& txn, FileId file);
  // The root's `.snapshot` (core/snapshot.h); Errc::kNotFound while the share has none.
  Result<Attr> SnapshotDirAttr(stores::MetadataTxn& txn);
  // The entry `name` names in `dir`: the exact name, else, when the share's names are
  // case-insensitive, the first (in byte order) that folds equal to it. kNotFound when none.
  Result<stores::DirEntry> FindEntry(stores::MetadataTxn& txn, stores::InodeId dir,
                                     std::string_view name) const;
  Result<stores::DirEntry> FindEntry(stores::MetadataTxn& txn, stores::InodeId dir,
                                     std::string_view name, bool any_case) const;
  Attr ToAttr(const stores::Inode& inode) const;
  Result<Attr> MakeNode(const Caller& caller, FileId dir, std::string_view name, FileType type,
                        const SetAttrs& attrs, std::string_view target, uint32_t major,
                        uint32_t minor, Wcc* dir_wcc, const OpenContext* via = nullptr,
                        uint64_t create_verifier = 0);
  // The parent_holder of `via` (none: kAnonymousOwner).
  static uint64_t ParentHolder(const OpenContext* via) {
    return via != nullptr ? via->parent_holder : kAnonymousOwner;
  }
  void FillWcc(FileId file, const std::optional<PreAttr>& before, Wcc* wcc);
  // Publishes a change of `name` in `dir` (NoteChanged) once it committed.
  void Publish(stores::InodeId dir, ChangeAction action, uint32_t what, std::string_view name);
  // The name of directory `child` in its parent `dir` (a scan of `dir`'s entries).
  Result<std::string> NameIn(stores::InodeId dir, stores::InodeId child);
  class RemoveGuard;
  // Remove with `caller`'s effective ids (Admit done); `recycle`: a file may go to the bin.
  Status RemoveAs(const Caller& caller, FileId dir, std::string_view name, Wcc* dir_wcc,
                  const OpenContext* via, bool recycle);
  // Recycle bin (recycle.cc). Inside Remove's transaction: moves `victim`, named `e` in `d`, to
  // the bin and indexes it, unless it is not for the bin (nullopt: then nothing was written).
  struct Recycled {
    InodeId bin_dir = stores::kInvalidInode;
    std::string name;        // its name there
    uint64_t bin_bytes = 0;  // the bin's size with it
  };
  Result<std::optional<Recycled>> RecycleIn(stores::MetadataTxn& txn, stores::Inode& d,
                                            const stores::DirEntry& e, stores::Inode& victim,
                                            Timespec now);
  // Drops `file` from the bin's index, if it is there (it left the bin or went for good).
  Status ForgetTrash(stores::MetadataTxn& txn, InodeId file);
  // `file` was renamed to `name` in `dir`: the index follows it within the bin, or forgets it.
  Status TrashRenamed(stores::MetadataTxn& txn, InodeId file, const stores::Inode& dir,
                      std::string_view name);
  // The bin's directory at the root; kInvalidInode when there is none.
  Result<InodeId> BinDir(stores::MetadataTxn& txn);
  // Whether the bin's file `id` is still where its index entry says (`bin_name` in `bin_dir`)
  // and that directory still lies in the bin.
  Result<bool> StillInBin(stores::MetadataTxn& txn, InodeId id, InodeId bin_dir,
                          std::string_view bin_name);
  // Whether directory `dir` is the bin or lies in it.
  Result<bool> InBin(stores::MetadataTxn& txn, const stores::Inode& dir);
  // The name of directory `child` in `parent`, remembered (checked by a lookup at each use).
  Result<std::string> DirName(stores::MetadataTxn& txn, InodeId parent, InodeId child);
  // Makes directory `name` in `parent` (which the caller writes back) like `like`.
  Result<stores::Inode> MakeDirIn(stores::MetadataTxn& txn, stores::Inode& parent,
                                  std::string_view name, const stores::Inode& like, Timespec now);
  // Removes the bin's file `id` for good (as PurgeTrash and EmptyTrash do); false when the bin
  // holds no such file any more (the index entry is dropped).
  Result<bool> DropTrash(uint64_t id);
  // Purges at most once a minute on Remove's account (the retention), or when over the cap.
  void MaybePurge(uint64_t bin_bytes);
  ShareId id_;
  std::string name_;
  // How long the share's block store took to read and write file data (Prometheus).
  metrics::Histogram* block_read_;
  metrics::Histogram* block_write_;
  stores::MetadataStore& metadata_;
  stores::BlockStore& blocks_;
  ShareOptions options_;
  FileId root_;
  Mutex dir_names_mu_;  // a cache: directory -> (parent, name), for the bin's paths
  std::unordered_map<InodeId, std::pair<InodeId, std::string>> dir_names_ GUARDED_BY(dir_names_mu_);
  std::atomic<int64_t> last_purge_{0};       // MonotonicNanos of the last purge Remove started
  std::atomic<uint64_t> next_cut_{0};        // tells this run's pending cuts of one file apart
  std::unique_ptr<ShareState> own_state_;    // when Open was given none
  std::unique_ptr<ShareQuotas> own_quotas_;  // when Open was given none
  QuotaTable* quotas_ = nullptr;             // never null once opened
  ShareState* state_ = nullptr;              // never null once opened
};

// Permission test: may `caller` do what `want` (a mask of 4 = read, 2 = write, 1 = execute)
// stands for on `inode`? By its ACL when it has one (docs/acl.md: the ACL bits `acl_mask`, or,
// when 0, READ_DATA, WRITE_DATA and EXECUTE for r, w and x), else by its owner and mode. Root
// may read and write anything, and execute anything that has an execute bit or an ACL
// (directories: always).
bool MayAccess(const Caller& caller, const stores::Inode& inode, uint32_t want,
               uint32_t acl_mask = 0);

// Checks a name for a new or looked-up entry: kNameTooLong over the rules' length, kInvalid
// for an empty name or one holding '/', NUL or a character the rules refuse.
Status CheckName(std::string_view name, const NameRules& rules = NameRules::Posix());

}  // namespace dittofs::core
