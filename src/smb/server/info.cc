// SPDX-License-Identifier: Apache-2.0
// QUERY_DIRECTORY, QUERY_INFO and SET_INFO (MS-SMB2 §3.3.5.18, §3.3.5.20, §3.3.5.21; the
// structures of MS-FSCC 2.4 and 2.5).

#include <algorithm>
#include <cstring>

#include "base/casefold.h"
#include "base/log.h"
#include "smb/security/descriptor.h"
#include "smb/server/aapl.h"
#include "smb/server/connection.h"
#include "smb/server/file_info.h"
#include "smb/server/notify.h"
#include "smb/server/persistent.h"
#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {
namespace {

constexpr uint32_t kStatusNoEasOnFile = 0xC0000052;
constexpr uint32_t kStatusEaListInconsistent = 0x80000014;
// QUERY_INFO's Flags for FileFullEaInformation (MS-SMB2 2.2.37).
constexpr uint32_t kSlRestartScan = 0x1, kSlReturnSingleEntry = 0x2, kSlIndexSpecified = 0x4;
constexpr uint32_t kStatusInvalidOwner = 0xC000005A;
constexpr uint32_t kStatusInvalidPrimaryGroup = 0xC000005B;
constexpr uint32_t kStatusInvalidSid = 0xC0000078;
constexpr uint32_t kStatusInvalidSecurityDescr = 0xC0000079;

void PutTimes(wire::LeWriter& w, const core::Attr& a) {
  const Timespec& birth = a.btime.sec != 0 || a.btime.nsec != 0 ? a.btime : a.mtime;
  w.U64(wire::ToFiletime(birth.sec, birth.nsec));
  w.U64(wire::ToFiletime(a.atime.sec, a.atime.nsec));
  w.U64(wire::ToFiletime(a.mtime.sec, a.mtime.nsec));
  w.U64(wire::ToFiletime(a.ctime.sec, a.ctime.nsec));
}

uint64_t EndOfFile(const core::Attr& a) {
  return a.type == core::FileType::kDirectory ? 0 : a.size;
}

void PutStandard(wire::LeWriter& w, const core::Attr& a, bool delete_pending) {
  w.U64(a.used);
  w.U64(EndOfFile(a));
  // A link to be deleted no longer counts (MS-FSCC 2.4.41: links not marked for deletion).
  w.U32(delete_pending && a.nlink > 0 ? a.nlink - 1 : a.nlink);
  w.U8(delete_pending ? 1 : 0);
  w.U8(a.type == core::FileType::kDirectory ? 1 : 0);
  w.U16(0);
}

// FILE_STREAM_INFORMATION (MS-FSCC 2.4.44): the default data stream of a file (not of a
// directory, which has none) and each named stream, entries 8-byte aligned.
void PutStreams(const core::Attr& a, const std::vector<StreamInfo>& streams, Bytes& out) {
  std::vector<std::pair<std::string, uint64_t>> all;
  if (a.type != core::FileType::kDirectory) all.emplace_back("::$DATA", a.size);
  for (const StreamInfo& s : streams) all.emplace_back(":" + s.name + ":$DATA", s.size);
  for (size_t i = 0; i < all.size(); ++i) {
    wire::LeWriter w(out);
    const size_t start = out.size();
    w.U32(0);  // NextEntryOffset, set below
    w.U32(static_cast<uint32_t>(wire::Utf16Size(all[i].first)));
    w.U64(all[i].second);
    w.U64(i == 0 && a.type != core::FileType::kDirectory ? a.used : all[i].second);
    wire::AppendUtf16(all[i].first, out);
    if (i + 1 < all.size()) {
      w.Align(8);
      wire::StoreLe32(out.data() + start, static_cast<uint32_t>(out.size() - start));
    }
  }
}

// Renames the named stream `open` is of to `to` (":name" or ":name:$DATA"; MS-FSA
// 2.1.5.15.11.1): a present target is replaced only when asked, and only when it is empty and
// not open. Returns the NTSTATUS.
uint32_t RenameStream(StreamTable& streams, core::Vfs& vfs, const core::Caller& caller, Open& open,
                      std::string_view to, bool replace) {
  // A malformed target (a trailing ':', a type other than $DATA, ...) is
  // STATUS_INVALID_PARAMETER here, not a name error.
  Result<StreamPath> target = SplitStreamPath(to);
  if (!target.ok() || !target->path.empty()) return wire::kStatusInvalidParameter;
  // The default stream's data cannot be replaced by a stream's here, nor a file's data be
  // made a stream.
  if (!open.stream || target->stream.empty()) return wire::kStatusNotSupported;
  if (!(open.access & core::kDeleteAccess)) return wire::kStatusAccessDenied;
  {
    MutexLock lock(&open.stream->mu);
    const std::string from = open.stream->name;
    if (from == target->stream) return wire::kStatusSuccess;
    Result<std::optional<std::string>> there = FindStream(vfs, caller, open.file, target->stream);
    if (!there.ok()) return ToNtStatus(there.status());
    if (*there && **there == from) there->reset();  // the same stream, in another case
    if (*there) {
      if (!replace) return wire::kStatusObjectNameCollision;
      Result<std::string> v = vfs.GetXattr(caller, open.file, StreamXattr(**there));
      if (!v.ok()) return ToNtStatus(v.status());
      if (!v->empty()) return wire::kStatusInvalidParameter;
      if (streams.HasOpens(open.tree->share, open.file.inode, **there)) {
        return wire::kStatusSharingViolation;
      }
    }
    Result<std::string> value = vfs.GetXattr(caller, open.file, StreamXattr(from));
    if (!value.ok()) return ToNtStatus(value.status());
    if (*there) {
      Status s = vfs.RemoveXattr(caller, open.file, StreamXattr(**there));
      if (!s.ok()) return ToNtStatus(s);
    }
    // Removed first: a rename that changes only the case names the same xattr key nowhere
    // else, and the count of xattrs stays within bounds.
    Status s = vfs.RemoveXattr(caller, open.file, StreamXattr(from));
    if (!s.ok()) return ToNtStatus(s);
    s = vfs.SetXattr(caller, open.file, StreamXattr(target->stream), *value,
                     core::XattrSet::kCreate);
    if (!s.ok()) {
      (void)vfs.SetXattr(caller, open.file, StreamXattr(from), *value, core::XattrSet::kAny);
      return ToNtStatus(s);
    }
  }
  // Rename takes the table's lock, then the node's: the node's is given up first.
  Status s = streams.Rename(open.stream, target->stream);
  if (!s.ok()) return ToNtStatus(s);
  MutexLock lock(&open.mu);
  open.path = open.path.substr(0, open.path.find(':')) + ":" + target->stream;
  return wire::kStatusSuccess;
}

size_t FixedInfoSize(uint8_t type, uint8_t info_class, size_t whole) {
  if (type == wire::kInfoFile) {
    switch (info_class) {
      case wire::kFileAllInformation:
        return 104;
      case wire::kFileAlternateNameInformation:
        return 8;
      case wire::kFileNormalizedNameInformation:
        return 8;
      case wire::kFileStreamInformation:
        return whole == 0 ? 0 : 32;
      default:
        return whole;
    }
  }
  if (type == wire::kInfoFilesystem) {
    switch (info_class) {
      case wire::kFileFsVolumeInformation:
        return 24;
      case wire::kFileFsAttributeInformation:
        return 16;
      default:
        return whole;
    }
  }
  return whole;
}

}  // namespace

Reply Connection::QueryDirectory(Exchange& x) {
  Result<wire::QueryDirectoryRequest> req = wire::DecodeQueryDirectory(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  Open& open = **found;
  if (!open.directory) return Fail(wire::kStatusInvalidParameter);
  if (!(open.access & core::kReadData)) return Fail(wire::kStatusAccessDenied);
  const bool posix = open.tree->posix.load();
  if (!IsDirectoryInfoClass(req->info_class, posix)) return Fail(wire::kStatusInvalidInfoClass);
  Result<core::ShareUse> use = UseShare(server_, open.tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  core::Vfs& vfs = use->vfs();
  const core::Caller caller = CallerOf(*x.session);
  const size_t limit = std::min<size_t>(req->output_length, server_.options.max_io);
  const bool single = (req->flags & wire::kReturnSingleEntry) != 0;

  MutexLock lock(&open.mu);
  Enumeration& e = open.enumeration;
  const bool first = !e.started || (req->flags & (wire::kRestartScans | wire::kReopen));
  if (first) {
    e = Enumeration();
    e.started = true;
    e.pattern = req->pattern.empty() ? "*" : req->pattern;
  }
  Bytes out;
  size_t last_entry = 0;
  bool any = false;
  bool overflow = false;
  // A Mac that negotiated Apple's directory attributes gets them in this class's entries.
  const uint64_t apple_caps = aapl_caps_.load();
  const bool apple = (apple_caps & kAaplSupportsReadDirAttr) &&
                     req->info_class == wire::kFileIdBothDirectoryInformation;
  AppleEntryFields fields;
  fields.unix_mode = (apple_caps & kAaplUnixBased) != 0;
  // Access-based enumeration: entries the caller may not read (list, for a directory) are
  // left out, as if they were not there.
  const bool abe = vfs.options().smb.access_based_enumeration && !caller.is_root();
  const auto hidden = [&](const core::Attr& a) {
    return abe && (MaximalAccess(vfs, caller, a, open.tree->writable) & core::kReadData) == 0;
  };
  const auto emit = [&](std::string_view name, const core::Attr& a) -> bool {
    size_t start = 0;
    if (apple) fields.max_access = MaximalAccess(vfs, caller, a, open.tree->writable);
    if (!AppendDirectoryEntry(req->info_class, name, a, limit, out, &start,
                              apple ? &fields : nullptr)) {
      if (!any) overflow = true;
      return false;
    }
    if (any) wire::StoreLe32(out.data() + last_entry, static_cast<uint32_t>(start - last_entry));
    last_entry = start;
    any = true;
    return true;
  };

  if (!HasWildcards(e.pattern)) {
    // One name: a lookup, not a scan.
    if (!e.done) {
      std::string entry_name = e.pattern;
      Result<core::Attr> a = posix ? vfs.Lookup(caller, open.file, e.pattern, nullptr)
                                   : vfs.LookupAnyCase(caller, open.file, e.pattern, &entry_name);
      if (a.ok() && hidden(*a)) {
        e.done = true;
        return Fail(wire::kStatusNoSuchFile);
      }
      if (a.ok() && emit(entry_name, *a)) {
        e.done = true;
      } else if (!a.ok()) {
        e.done = true;
        return Fail(a.status().code() == Errc::kNotFound ? wire::kStatusNoSuchFile
                                                         : ToNtStatus(a.status()));
      }
    }
  } else {
    for (;;) {
      if (single && any) break;
      std::string name;
      core::Attr attr;
      if (e.dots < 2) {
        Result<core::Attr> a =
            e.dots == 0 ? vfs.GetAttr(caller, open.file) : vfs.Parent(caller, open.file);
        if (!a.ok()) return Fail(a.status());
        name = e.dots == 0 ? "." : "..";
        attr = *a;
        if (!MatchesPattern(e.pattern, name, posix)) {
          ++e.dots;
          continue;
        }
        if (!emit(name, attr)) break;
        ++e.dots;
        continue;
      }
      if (e.pending.empty()) {
        if (e.done) break;
        Result<core::DirListing> page = vfs.ReadDir(caller, open.file, e.cookie, 512, true);
        if (!page.ok()) return Fail(page.status());
        e.done = page->eof;
        std::reverse(page->entries.begin(), page->entries.end());  // taken from the back
        e.pending = std::move(page->entries);
        if (!e.pending.empty()) e.cookie = e.pending.front().cookie;
        continue;
      }
      core::DirListEntry& entry = e.pending.back();
      if (!entry.attr || !MatchesPattern(e.pattern, entry.name, posix) || hidden(*entry.attr)) {
        e.pending.pop_back();
        continue;
      }
      if (!emit(entry.name, *entry.attr)) break;
      e.pending.pop_back();
    }
  }
  if (!any) {
    if (overflow) return Fail(wire::kStatusInfoLengthMismatch);
    return Fail(first ? wire::kStatusNoSuchFile : wire::kStatusNoMoreFiles);
  }
  Reply reply;
  wire::EncodeOutputBufferResponse(out, reply.body);
  return reply;
}

Reply Connection::QueryInfo(Exchange& x) {
  Result<wire::QueryInfoRequest> req = wire::DecodeQueryInfo(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(wire::kStatusFileClosed);
  Open& open = **found;
  Bytes out;
  wire::LeWriter w(out);
  if (open.pipe) {
    if (req->info_type == wire::kInfoFile && req->info_class == wire::kFileStandardInformation) {
      w.U64(4096);
      w.U64(0);
      w.U32(1);
      w.U8(0);
      w.U8(0);
      w.U16(0);
    } else {
      return Fail(wire::kStatusNotSupported);
    }
  } else {
    Result<core::ShareUse> use = UseShare(server_, open.tree->share);
    if (!use.ok()) return Fail(ShareUseStatus(use.status()));
    core::Vfs& vfs = use->vfs();
    const core::Caller caller = CallerOf(*x.session);
    Result<core::Attr> attr = vfs.GetAttr(caller, open.file);
    if (!attr.ok()) return Fail(attr.status());
    core::Attr a = *attr;
    if (open.stream) {
      // A stream's sizes are its own; the rest (times, attributes) is the file's.
      std::string name;
      {
        MutexLock lock(&open.stream->mu);
        name = open.stream->name;
      }
      Result<std::string> value = vfs.GetXattr(caller, open.file, StreamXattr(name));
      a.size = value.ok() ? value->size() : 0;
      a.used = a.size;
    }
    const bool delete_pending = vfs.state().opens.delete_pending(open.file.inode);
    std::string path;
    uint64_t position;
    {
      MutexLock lock(&open.mu);
      path = "\\" + open.path;
      position = open.position;
    }
    if (req->info_type == wire::kInfoFile) {
      // MS-FSA 2.1.5.12: only these classes need FILE_READ_ATTRIBUTES.
      const uint8_t c = req->info_class;
      const bool needs_read_attributes =
          c == wire::kFileBasicInformation || c == wire::kFileAllInformation ||
          c == wire::kFileNetworkOpenInformation || c == wire::kFileAttributeTagInformation;
      if (needs_read_attributes && !(open.access & core::kReadAttributes)) {
        return Fail(wire::kStatusAccessDenied);
      }
      switch (req->info_class) {
        case wire::kFileBasicInformation:
          PutTimes(w, a);
          w.U32(DosAttributesOf(a));
          w.U32(0);
          break;
        case wire::kFileStandardInformation:
          PutStandard(w, a, delete_pending);
          break;
        case wire::kFileInternalInformation:
          w.U64(a.id.inode);
          break;
        case wire::kFileEaInformation: {
          Result<std::vector<wire::FullEa>> eas = ListEas(vfs, caller, open.file);
          if (!eas.ok()) return Fail(eas.status());
          w.U32(EaSizeOf(*eas));
          break;
        }
        case wire::kFileAccessInformation:
          w.U32(open.access);
          break;
        case wire::kFilePositionInformation:
          w.U64(position);
          break;
        case wire::kFileModeInformation:
          w.U32(0);
          break;
        case wire::kFileAlignmentInformation:
          w.U32(0);
          break;
        case wire::kFileAllInformation:
          PutTimes(w, a);
          w.U32(DosAttributesOf(a));
          w.U32(0);
          PutStandard(w, a, delete_pending);
          w.U64(a.id.inode);
          {
            Result<std::vector<wire::FullEa>> eas = ListEas(vfs, caller, open.file);
            w.U32(eas.ok() ? EaSizeOf(*eas) : 0);  // EaSize
          }
          w.U32(open.access);  // AccessFlags
          w.U64(position);
          w.U32(0);  // Mode
          w.U32(0);  // Alignment
          w.U32(static_cast<uint32_t>(wire::Utf16Size(path)));
          wire::AppendUtf16(path, out);
          break;
        case wire::kFileNetworkOpenInformation:
          PutTimes(w, a);
          w.U64(a.used);
          w.U64(EndOfFile(a));
          w.U32(DosAttributesOf(a));
          w.U32(0);
          break;
        case wire::kFileAttributeTagInformation:
          w.U32(DosAttributesOf(a));
          w.U32(ReparseTagOf(a));
          break;
        case wire::kFileStreamInformation: {
          std::vector<StreamInfo> streams;
          if (!open.tree->posix.load()) {
            Result<std::vector<StreamInfo>> listed = ListStreams(vfs, caller, open.file);
            if (!listed.ok()) return Fail(listed.status());
            streams = std::move(*listed);
          }
          PutStreams(*attr, streams, out);
          break;
        }
        case wire::kFileCompressionInformation:
          w.U64(a.size);
          w.U16(0);
          w.U8(0);
          w.U8(0);
          w.U8(0);
          w.Zeros(3);
          break;
        case wire::kFileNormalizedNameInformation:
          w.U32(static_cast<uint32_t>(wire::Utf16Size(open.path)));
          wire::AppendUtf16(open.path, out);
          break;
        case wire::kFileFullEaInformation: {
          // MS-FSA 2.1.5.12.12: the EAs a FILE_GET_EA_INFORMATION list in the input names (an
          // absent one with an empty value), or the file's EAs from the open's position on
          // (Open.NextEaEntry, back to the first with SL_RESTART_SCAN or SL_INDEX_SPECIFIED):
          // as many whole entries as fit, and the position moves past them.
          if (!(open.access & core::kReadEa)) return Fail(wire::kStatusAccessDenied);
          Result<std::vector<wire::FullEa>> eas = ListEas(vfs, caller, open.file);
          if (!eas.ok()) return Fail(eas.status());
          std::vector<wire::FullEa> answer;
          const bool listed = !req->input.empty();
          size_t start = 0;
          if (listed) {
            Result<std::vector<std::string>> names = wire::DecodeGetEaList(req->input);
            if (!names.ok()) return Fail(kStatusEaListInconsistent);
            for (const std::string& n : *names) {
              auto it = std::find_if(eas->begin(), eas->end(), [&](const wire::FullEa& ea) {
                return EqualFolded(ea.name, n);
              });
              wire::FullEa ea;
              ea.name = it != eas->end() ? it->name : n;
              if (it != eas->end()) ea.value = it->value;
              answer.push_back(std::move(ea));
            }
          } else {
            if (!(req->flags & (kSlRestartScan | kSlIndexSpecified))) {
              MutexLock lock(&open.mu);
              start = open.next_ea;
            }
            if (start >= eas->size()) return Fail(kStatusNoEasOnFile);
            answer.assign(std::make_move_iterator(eas->begin() + start),
                          std::make_move_iterator(eas->end()));
          }
          if (req->flags & kSlReturnSingleEntry) answer.resize(std::min<size_t>(answer.size(), 1));
          size_t fit = 0, used = 0;
          for (const wire::FullEa& ea : answer) {
            const size_t at = (used + 3) & ~size_t{3};
            if (at + wire::FullEaSize(ea) > req->output_length) break;
            used = at + wire::FullEaSize(ea);
            ++fit;
          }
          if (fit == 0) return Fail(wire::kStatusBufferTooSmall);
          const bool partial = fit < answer.size();
          answer.resize(fit);
          if (!listed) {
            MutexLock lock(&open.mu);
            open.next_ea = start + fit;
          }
          wire::EncodeFullEaList(answer, out);
          if (partial) {
            Reply r;
            r.status = wire::kStatusBufferOverflow;
            wire::EncodeOutputBufferResponse(out, r.body);
            return r;
          }
          break;
        }
        case kFilePosixInformation:
          if (!open.tree->posix.load()) return Fail(wire::kStatusInvalidInfoClass);
          if (!(open.access & core::kReadAttributes)) return Fail(wire::kStatusAccessDenied);
          AppendPosixInformation(a, out);
          break;
        case wire::kFileAlternateNameInformation: {
          std::string leaf;
          {
            MutexLock lock(&open.mu);
            leaf = open.leaf;
          }
          const std::string short_name = ShortNameOf(leaf);
          if (short_name.empty()) return Fail(wire::kStatusObjectNameNotFound);
          w.U32(static_cast<uint32_t>(wire::Utf16Size(short_name)));
          wire::AppendUtf16(short_name, out);
          break;
        }
        default:
          return Fail(wire::kStatusInvalidInfoClass);
      }
    } else if (req->info_type == wire::kInfoFilesystem) {
      Result<core::FsStats> fs = vfs.StatFs(caller, vfs.root());
      if (!fs.ok()) return Fail(fs.status());
      constexpr uint64_t kUnit = 4096;
      switch (req->info_class) {
        case wire::kFileFsVolumeInformation: {
          Result<core::Attr> root = vfs.GetAttr(caller, vfs.root());
          const Timespec t = root.ok() ? root->btime : Timespec{};
          w.U64(wire::ToFiletime(t.sec, t.nsec));
          w.U32(static_cast<uint32_t>(open.tree->share * 2654435761u));  // serial number
          const std::string label = open.tree->name;
          w.U32(static_cast<uint32_t>(wire::Utf16Size(label)));
          w.U8(0);
          w.U8(0);
          wire::AppendUtf16(label, out);
          break;
        }
        case wire::kFileFsSizeInformation:
          w.U64(fs->total_bytes / kUnit);
          w.U64(fs->avail_bytes / kUnit);
          w.U32(8);
          w.U32(512);
          break;
        case wire::kFileFsFullSizeInformation:
          w.U64(fs->total_bytes / kUnit);
          w.U64(fs->avail_bytes / kUnit);
          w.U64(fs->free_bytes / kUnit);
          w.U32(8);
          w.U32(512);
          break;
        case wire::kFileFsDeviceInformation:
          w.U32(0x07);  // FILE_DEVICE_DISK
          w.U32(0x20);  // FILE_DEVICE_IS_MOUNTED
          break;
        case wire::kFileFsAttributeInformation: {
          // Case preserved, unicode, quotas, sparse, hard links.
          uint32_t flags = 0x2 | 0x4 | 0x20 | 0x40 | 0x00400000;
          // Block cloning (FSCTL_DUPLICATE_EXTENTS_TO_FILE) where the store shares data.
          if (vfs.CopiesByReference()) flags |= 0x08000000;  // FILE_SUPPORTS_BLOCK_REFCOUNTING
          // Named streams and EAs (docs/streams.md); a POSIX tree's ':' is an ordinary character.
          if (!open.tree->posix.load()) flags |= 0x00040000 | 0x00800000;
          // Case-sensitive search: a share whose names match exactly, or a POSIX tree.
          if (!vfs.options().names.case_insensitive || open.tree->posix.load()) flags |= 0x1;
          w.U32(flags);
          w.U32(255);
          w.U32(static_cast<uint32_t>(wire::Utf16Size("NTFS")));
          wire::AppendUtf16("NTFS", out);
          break;
        }
        case wire::kFileFsSectorSizeInformation:
          w.U32(512);
          w.U32(4096);
          w.U32(4096);
          w.U32(4096);
          w.U32(0x3);  // aligned device, partition aligned on device
          w.U32(0);
          w.U32(0);
          break;
        case wire::kFileFsControlInformation:
          // MS-FSCC 2.5.2: no free-space filtering, no default threshold or limit (a user or
          // group without limits has none), and quotas tracked and enforced: the share counts
          // every change and holds whatever limits are set (docs/quotas.md).
          w.U64(0);
          w.U64(0);
          w.U64(0);
          w.U64(wire::kQuotaNone);
          w.U64(wire::kQuotaNone);
          w.U32(0x1 | 0x2);  // FILE_VC_QUOTA_TRACK | FILE_VC_QUOTA_ENFORCE
          w.U32(0);
          break;
        case wire::kFileFsObjectIdInformation:
          w.U64(open.tree->share);
          w.Zeros(56);
          break;
        case kFileFsPosixInformation:
          // FILE_FS_POSIX_INFORMATION: OptimalTransferSize, BlockSize, TotalBlocks,
          // BlocksAvail (free), UserBlocksAvail, TotalFileNodes, FreeFileNodes,
          // FileSysIdentifier (statvfs's fields).
          if (!open.tree->posix.load()) return Fail(wire::kStatusInvalidInfoClass);
          w.U32(static_cast<uint32_t>(std::min<uint64_t>(server_.options.max_io, 1u << 20)));
          w.U32(kUnit);
          w.U64(fs->total_bytes / kUnit);
          w.U64(fs->free_bytes / kUnit);
          w.U64(fs->avail_bytes / kUnit);
          w.U64(fs->total_files);
          w.U64(fs->free_files);
          w.U64(open.tree->share);
          break;
        default:
          return Fail(wire::kStatusInvalidInfoClass);
      }
    } else if (req->info_type == wire::kInfoQuota) {
      return QueryQuota(open, vfs, caller, req->input, req->output_length);
    } else if (req->info_type == wire::kInfoSecurity) {
      // The file's owner, group and ACL (the runtime's one model, docs/acl.md) as a
      // self-relative security descriptor (MS-DTYP 2.4.6). Owner, group and DACL need
      // READ_CONTROL; the SACL ACCESS_SYSTEM_SECURITY (MS-SMB2 3.3.5.20.3).
      const uint32_t sections = req->additional_information;
      if ((sections & (security::kOwnerSecurityInformation | security::kGroupSecurityInformation |
                       security::kDaclSecurityInformation)) &&
          !(open.access & core::kReadControl)) {
        return Fail(wire::kStatusAccessDenied);
      }
      if ((sections & security::kSaclSecurityInformation) &&
          !(open.access & wire::kAccessSystemSecurity)) {
        return Fail(wire::kStatusAccessDenied);
      }
      security::FileSecurity file;
      file.uid = a.uid;
      file.gid = a.gid;
      file.mode = a.mode;
      file.directory = a.type == core::FileType::kDirectory;
      if (sections & (security::kDaclSecurityInformation | security::kSaclSecurityInformation)) {
        Result<core::Acl> acl = vfs.GetAcl(caller, open.file);
        if (!acl.ok()) return Fail(acl.status());
        file.acl = std::move(*acl);
      }
      out = security::EncodeSecurityDescriptor(
          file, sections, security::SidStyle{&server_.sids, open.tree->posix.load()});
    } else {
      return Fail(wire::kStatusNotSupported);
    }
  }
  // Each structure's fixed part (its C size, names counted as one character, rounded as
  // Windows rounds it): a smaller buffer gets INFO_LENGTH_MISMATCH, a larger one that cannot
  // hold the whole answer gets what fits and BUFFER_OVERFLOW (§3.3.5.20.1, MS-FSA 2.1.5.12).
  const size_t fixed = FixedInfoSize(req->info_type, req->info_class, out.size());
  if (out.size() < fixed) out.resize(fixed, std::byte{0});
  Reply reply;
  if (out.size() > req->output_length) {
    const bool variable = fixed < out.size();
    if (req->info_type == wire::kInfoSecurity) {
      // The client learns the size it needs from a BUFFER_TOO_SMALL with the length.
      Reply r;
      r.status = wire::kStatusBufferTooSmall;
      Bytes body;
      wire::LeWriter bw(body);
      bw.U16(9);
      bw.U8(0);
      bw.U8(0);
      bw.U32(4);
      bw.U32(static_cast<uint32_t>(out.size()));
      r.body = std::move(body);
      return r;
    }
    if (!variable || req->output_length < fixed) return Fail(wire::kStatusInfoLengthMismatch);
    out.resize(req->output_length);
    reply.status = wire::kStatusBufferOverflow;
  }
  wire::EncodeOutputBufferResponse(out, reply.body);
  return reply;
}

Reply Connection::BreaksFirstOr(Exchange& x, Open& open, core::CacheOp op, const Status& failed,
                                uint64_t inode) {
  if (failed.code() == Errc::kLocked) {
    Exchange again = x;
    if (std::optional<Reply> pending =
            BreaksFirst(open.tree->share, inode != 0 ? inode : open.file.inode, open.via.holder, op,
                        [this, again]() mutable -> Reply { return SetInfo(again); })) {
      return std::move(*pending);
    }
  }
  return Fail(failed);
}

Reply Connection::SetSecurity(Open& open, core::Vfs& vfs, const core::Caller& caller, ByteView sd,
                              uint32_t sections) {
  // MS-SMB2 3.3.5.21.3: owner and group need WRITE_OWNER, the DACL WRITE_DAC, the SACL
  // ACCESS_SYSTEM_SECURITY; the runtime then decides who may chown (docs/acl.md).
  using namespace security;
  if ((sections & (kOwnerSecurityInformation | kGroupSecurityInformation)) &&
      !(open.access & core::kWriteOwner)) {
    return Fail(wire::kStatusAccessDenied);
  }
  if ((sections & kDaclSecurityInformation) && !(open.access & core::kWriteDac)) {
    return Fail(wire::kStatusAccessDenied);
  }
  if ((sections & kSaclSecurityInformation) && !(open.access & wire::kAccessSystemSecurity)) {
    return Fail(wire::kStatusAccessDenied);
  }
  Reply reply;
  wire::EncodeSetInfoResponse(reply.body);
  if (open.tree->posix.load() && CarriesPosixMode(sd)) {
    // A Linux client's chmod and chown on a POSIX tree: Unix owners and a mode ACE.
    int bad_sid = 0;
    Result<PosixOwnership> own = PosixOwnershipOf(sd, sections, &bad_sid);
    if (!own.ok()) {
      if (bad_sid == 1) return Fail(kStatusInvalidOwner);
      if (bad_sid == 2) return Fail(kStatusInvalidPrimaryGroup);
      return Fail(wire::kStatusInvalidParameter);
    }
    core::SetAttrs set;
    if (own->uid) set.set_uid(*own->uid);
    if (own->gid) set.set_gid(*own->gid);
    if (own->mode) set.set_mode(*own->mode);
    if (set.mask == 0) return reply;
    Status s = vfs.SetAttr(caller, open.file, set, nullptr, nullptr, &open.via);
    if (!s.ok()) return Fail(s);
    NoteModified(vfs, open, core::changed::kSecurity);
    return reply;
  }
  Result<core::Attr> attr = vfs.GetAttr(caller, open.file);
  if (!attr.ok()) return Fail(attr.status());
  FileSecurity current;
  current.uid = attr->uid;
  current.gid = attr->gid;
  current.mode = attr->mode;
  current.directory = attr->type == core::FileType::kDirectory;
  if (sections & (kDaclSecurityInformation | kSaclSecurityInformation)) {
    Result<core::Acl> acl = vfs.GetAcl(caller, open.file);
    if (!acl.ok()) return Fail(acl.status());
    current.acl = std::move(*acl);
  }
  DecodedChange decoded = DecodeSecurityDescriptor(sd, sections, current, server_.sids);
  if (!decoded.change) {
    switch (decoded.error) {
      case DescriptorError::kInvalidOwner:
        return Fail(kStatusInvalidOwner);
      case DescriptorError::kInvalidGroup:
        return Fail(kStatusInvalidPrimaryGroup);
      case DescriptorError::kInvalidSid:
        return Fail(kStatusInvalidSid);
      case DescriptorError::kTooBig:
        return Fail(wire::kStatusInvalidParameter);
      case DescriptorError::kMalformed:
        break;
    }
    return Fail(kStatusInvalidSecurityDescr);
  }
  const SecurityChange& change = *decoded.change;
  // Owner and group first: the ACL's OWNER@ and GROUP@ then stand for the new ones.
  core::SetAttrs set;
  if (change.uid && *change.uid != current.uid) set.set_uid(*change.uid);
  if (change.gid && *change.gid != current.gid) set.set_gid(*change.gid);
  if (set.mask != 0) {
    Status s = vfs.SetAttr(caller, open.file, set, nullptr, nullptr, &open.via);
    if (!s.ok()) return Fail(s);
  }
  if (change.acl) {
    Status s = vfs.SetAcl(caller, open.file, *change.acl);
    if (!s.ok()) return Fail(s);
  }
  NoteModified(vfs, open, core::changed::kSecurity);
  return reply;
}

Reply Connection::SetInfo(Exchange& x) {
  Result<wire::SetInfoRequest> req = wire::DecodeSetInfo(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  Result<std::shared_ptr<Open>> found = FindOpen(x, req->handle);
  if (!found.ok()) return Fail(OpenLookupStatus(found.status()));
  Open& open = **found;
  const bool posix = open.tree->posix.load();
  if (open.pipe) return Fail(wire::kStatusNotSupported);
  if (req->info_type != wire::kInfoFile && req->info_type != wire::kInfoSecurity &&
      req->info_type != wire::kInfoQuota) {
    return Fail(wire::kStatusNotSupported);
  }
  Result<core::ShareUse> use = UseShare(server_, open.tree->share);
  if (!use.ok()) return Fail(ShareUseStatus(use.status()));
  core::Vfs& vfs = use->vfs();
  const core::Caller caller = CallerOf(*x.session);
  if (req->info_type == wire::kInfoQuota) return SetQuota(vfs, caller, req->buffer);
  if (req->info_type == wire::kInfoSecurity) {
    return SetSecurity(open, vfs, caller, req->buffer, req->additional_information);
  }
  wire::LeReader r(req->buffer);
  Reply reply;
  wire::EncodeSetInfoResponse(reply.body);
  const auto need = [&](size_t n) { return req->buffer.size() >= n; };
  switch (req->info_class) {
    case wire::kFileBasicInformation: {
      if (!need(36)) return Fail(wire::kStatusInfoLengthMismatch);
      if (!(open.access & core::kWriteAttributes)) return Fail(wire::kStatusAccessDenied);
      uint64_t times[4];
      for (uint64_t& t : times) t = r.U64();
      const uint32_t dos = r.U32();
      core::SetAttrs set;
      // 0: leave as is; -1 and -2 (stop or resume automatic updates) change nothing now.
      const auto when = [](uint64_t ft, Timespec* out) {
        if (ft == 0 || ft >= 0xFFFFFFFFFFFFFFFEull) return false;
        wire::FromFiletime(ft, &out->sec, &out->nsec);
        return true;
      };
      Timespec t;
      if (when(times[0], &t)) set.set_btime(t);
      if (when(times[1], &t)) set.set_atime(t);
      if (when(times[2], &t)) set.set_mtime(t);
      if (when(times[3], &t)) set.set_ctime(t);
      bool keep_change_time;
      {
        MutexLock lock(&open.mu);
        if (set.has(core::kSetCtime)) open.user_set_change_time = true;
        keep_change_time = open.user_set_change_time && !set.has(core::kSetCtime);
      }
      if (dos != 0) {
        if ((dos & 0x10) && !open.directory) return Fail(wire::kStatusInvalidParameter);
        if ((dos & 0x100) && open.directory) return Fail(wire::kStatusInvalidParameter);
        set.set_dos_attributes(dos & ~uint32_t{0x10 | 0x80});
      }
      if (set.mask == 0) return reply;
      if (keep_change_time) {
        Result<core::Attr> now = vfs.GetAttr(caller, open.file);
        if (now.ok()) set.set_ctime(now->ctime);
      }
      Status s = vfs.SetAttr(caller, open.file, set, nullptr, nullptr, &open.via);
      if (!s.ok()) return Fail(s);
      uint32_t what = 0;
      if (set.has(core::kSetBtime)) what |= core::changed::kCreation;
      if (set.has(core::kSetAtime)) what |= core::changed::kLastAccess;
      if (set.has(core::kSetMtime)) what |= core::changed::kLastWrite;
      if (set.has(core::kSetDosAttributes)) what |= core::changed::kAttributes;
      if (what != 0) NoteModified(vfs, open, what);
      return reply;
    }
    case wire::kFileRenameInformationEx:
      if (!posix) return Fail(wire::kStatusInvalidInfoClass);
      [[fallthrough]];
    case wire::kFileRenameInformation:
    case wire::kFileLinkInformation: {
      // The SMB2 form (MS-FSCC 2.4.37.2): ReplaceIfExists, 7 reserved, RootDirectory (0),
      // FileNameLength, FileName: a path from the share root. FILE_RENAME_INFORMATION_EX
      // (2.4.37.3) has Flags where ReplaceIfExists is: FILE_RENAME_REPLACE_IF_EXISTS is bit 0.
      if (!need(20)) return Fail(wire::kStatusInfoLengthMismatch);
      const uint8_t first = r.U8();
      const bool replace =
          req->info_class == wire::kFileRenameInformationEx ? (first & 1) != 0 : first != 0;
      r.Skip(7);
      const uint64_t root = r.U64();
      const uint32_t len = r.U32();
      ByteView name16 = r.Bytes(len);
      if (!r.ok() || root != 0 || len == 0) return Fail(wire::kStatusInvalidParameter);
      Result<std::string> target = wire::Utf16ToUtf8(name16);
      if (!target.ok()) return Fail(wire::kStatusObjectNameInvalid);
      std::string to = *target;
      if (!posix && req->info_class == wire::kFileRenameInformation &&
          (open.stream || to.starts_with(':'))) {
        // A stream's rename names the stream only (":name"); the file keeps its name.
        if (!to.starts_with(':')) return Fail(wire::kStatusInvalidParameter);
        const uint32_t status = RenameStream(server_.streams, vfs, caller, open, to, replace);
        if (status != wire::kStatusSuccess) return Fail(status);
        return reply;
      }
      // On a POSIX tree '/' separates as well (the Linux client's POSIX paths).
      const char* separators = posix ? "/\\" : "\\";
      while (!to.empty() && std::strchr(separators, to.front()) != nullptr) to.erase(0, 1);
      if (to.empty()) return Fail(wire::kStatusObjectNameInvalid);
      // The target's directory must exist; its last component is the new name.
      const size_t slash = to.find_last_of(separators);
      core::FileId to_dir = vfs.root();
      const std::string leaf = slash == std::string::npos ? to : to.substr(slash + 1);
      if (leaf.empty() || (!posix && leaf.find_first_of(":*?\"<>|/") != std::string::npos)) {
        return Fail(wire::kStatusObjectNameInvalid);
      }
      if (slash != std::string::npos) {
        std::string_view dir_path(to.data(), slash);
        size_t start = 0;
        while (start <= dir_path.size()) {
          const size_t end = dir_path.find_first_of(separators, start);
          const std::string_view c = dir_path.substr(
              start, end == std::string_view::npos ? std::string_view::npos : end - start);
          Result<core::Attr> a = posix ? vfs.Lookup(caller, to_dir, c, nullptr)
                                       : vfs.LookupAnyCase(caller, to_dir, c, nullptr);
          if (!a.ok() || a->type != core::FileType::kDirectory) {
            return Fail(wire::kStatusObjectPathNotFound);
          }
          to_dir = a->id;
          if (end == std::string_view::npos) break;
          start = end + 1;
        }
      }
      core::FileId from_dir;
      std::string from_leaf;
      {
        MutexLock lock(&open.mu);
        from_dir = open.parent;
        from_leaf = open.leaf;
      }
      if (from_leaf.empty()) return Fail(wire::kStatusAccessDenied);  // the root
      if (req->info_class == wire::kFileLinkInformation) {
        if (open.directory) return Fail(wire::kStatusFileIsADirectory);
        if (replace) {
          Result<core::Attr> there = posix ? vfs.Lookup(caller, to_dir, leaf, nullptr)
                                           : vfs.LookupAnyCase(caller, to_dir, leaf, nullptr);
          if (there.ok()) {
            if (there->type == core::FileType::kDirectory) return Fail(wire::kStatusAccessDenied);
            Status removed = vfs.Remove(caller, to_dir, leaf, nullptr);
            if (!removed.ok()) return Fail(removed);
          }
        }
        Status s = vfs.Link(caller, open.file, to_dir, leaf, nullptr, nullptr, &open.via);
        if (!s.ok()) return Fail(s);
        return reply;
      }
      if (!(open.access & core::kDeleteAccess)) return Fail(wire::kStatusAccessDenied);
      Status s = vfs.Rename(caller, from_dir, from_leaf, to_dir, leaf, nullptr, nullptr, &open.via,
                            !replace);
      if (!s.ok() && s.code() == Errc::kLocked) {
        // A cached grant of the file, or of the file the rename replaces, is being broken.
        Result<core::Attr> there = vfs.LookupAnyCase(caller, to_dir, leaf, nullptr);
        if (there.ok() && there->id.inode != open.file.inode) {
          Reply r = BreaksFirstOr(x, open, core::CacheOp::kRemove, s, there->id.inode);
          if (r.wait) return r;
        }
        return BreaksFirstOr(x, open, core::CacheOp::kRename, s);
      }
      if (!s.ok()) {
        if (s.code() == Errc::kExists) return Fail(wire::kStatusObjectNameCollision);
        if (s.code() == Errc::kIsDir || s.code() == Errc::kNotDir) {
          return Fail(wire::kStatusAccessDenied);
        }
        return Fail(s);
      }
      {
        MutexLock lock(&open.mu);
        open.parent = to_dir;
        open.leaf = leaf;
        open.path = to;
      }
      // Its new name, when persistent (a failure is logged; the record keeps the old name).
      (void)PersistOpen(server_, open, caller, client_guid());
      return reply;
    }
    case wire::kFileDispositionInformationEx:
      if (!posix) return Fail(wire::kStatusInvalidInfoClass);
      [[fallthrough]];
    case wire::kFileDispositionInformation: {
      // FILE_DISPOSITION_INFORMATION_EX (MS-FSCC 2.4.12): Flags, FILE_DISPOSITION_DELETE bit 0.
      const bool ex = req->info_class == wire::kFileDispositionInformationEx;
      if (!need(ex ? 4 : 1)) return Fail(wire::kStatusInfoLengthMismatch);
      const bool pending = ex ? (r.U32() & 1) != 0 : r.U8() != 0;
      if (!(open.access & core::kDeleteAccess)) return Fail(wire::kStatusAccessDenied);
      if (open.stream) {  // the stream goes, not the file
        Status s = server_.streams.SetDeletePending(open.stream_open, pending);
        if (!s.ok()) return Fail(s);
        return reply;
      }
      if (pending) {
        Result<core::Attr> a = vfs.GetAttr(caller, open.file);
        if (!a.ok()) return Fail(a.status());
        if (a->dos_attributes & core::kDosReadOnly) return Fail(wire::kStatusCannotDelete);
        {
          MutexLock lock(&open.mu);
          if (open.leaf.empty()) return Fail(wire::kStatusCannotDelete);  // the root
        }
        if (open.directory) {
          Result<core::DirListing> l = vfs.ReadDir(caller, open.file, 0, 1, false);
          if (l.ok() && !l->entries.empty()) return Fail(wire::kStatusDirectoryNotEmpty);
        }
      }
      if (posix && pending) {
        // POSIX unlink: the name goes when this open closes, whatever the other opens cache:
        // their handle caching is broken now, while the client can wait (a close cannot).
        Exchange again = x;
        std::optional<Reply> waiting =
            BreaksFirst(open.tree->share, open.file.inode, open.via.holder, core::CacheOp::kRemove,
                        [this, again]() mutable -> Reply { return SetInfo(again); });
        if (waiting) return std::move(*waiting);
      }
      Status s = vfs.state().opens.SetDeletePending(open.state_open, pending);
      if (!s.ok()) return Fail(s);
      if (posix) {
        MutexLock lock(&open.mu);
        open.posix_delete = pending;
      }
      return reply;
    }
    case wire::kFilePositionInformation: {
      if (!need(8)) return Fail(wire::kStatusInfoLengthMismatch);
      MutexLock lock(&open.mu);
      open.position = r.U64();
      return reply;
    }
    case wire::kFileModeInformation:
      if (!need(4)) return Fail(wire::kStatusInfoLengthMismatch);
      return reply;
    case wire::kFileEndOfFileInformation:
    case wire::kFileAllocationInformation: {
      if (!need(8)) return Fail(wire::kStatusInfoLengthMismatch);
      if (!(open.access & core::kWriteData)) return Fail(wire::kStatusAccessDenied);
      if (open.directory) return Fail(wire::kStatusInvalidParameter);
      const uint64_t size = r.U64();
      if (open.stream) {
        if (req->info_class == wire::kFileAllocationInformation) {
          // Only a cut counts, as for a file.
          std::string name;
          {
            MutexLock lock(&open.stream->mu);
            name = open.stream->name;
          }
          Result<std::string> v = vfs.GetXattr(caller, open.file, StreamXattr(name));
          if (!v.ok() || size >= v->size()) return reply;
        }
        const uint32_t status = ChangeStream(vfs, caller, open, 0, nullptr, size);
        if (status != wire::kStatusSuccess) return Fail(status);
        return reply;
      }
      if (req->info_class == wire::kFileAllocationInformation) {
        // Allocation below the end of file cuts the file; more is reserved by nothing here.
        Result<core::Attr> a = vfs.GetAttr(caller, open.file);
        if (!a.ok()) return Fail(a.status());
        if (size >= a->size) return reply;
      }
      core::SetAttrs set;
      set.set_size(size);
      Status s = vfs.SetAttr(caller, open.file, set, nullptr, nullptr, &open.via);
      if (!s.ok()) return BreaksFirstOr(x, open, core::CacheOp::kSetSize, s);
      open.modified.store(true);
      NoteModified(vfs, open, core::changed::kSize | core::changed::kLastWrite);
      return reply;
    }
    case wire::kFileFullEaInformation: {
      // MS-FSA 2.1.5.15.4: the EAs of the list, set (an empty value removes one).
      if (!(open.access & core::kWriteEa)) return Fail(wire::kStatusAccessDenied);
      Result<std::vector<wire::FullEa>> eas = wire::DecodeFullEaList(req->buffer);
      if (!eas.ok() || eas->empty()) return Fail(kStatusEaListInconsistent);
      Status s = SetEas(vfs, caller, open.file, *eas);
      if (!s.ok()) return Fail(EaStatus(s));
      return reply;
    }
    default:
      return Fail(wire::kStatusInvalidInfoClass);
  }
}

}  // namespace dittofs::smb
