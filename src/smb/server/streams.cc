// SPDX-License-Identifier: Apache-2.0
#include "smb/server/streams.h"

#include <algorithm>

#include "base/casefold.h"
#include "base/log.h"
#include "smb/server/connection.h"

namespace dittofs::smb {
namespace {

constexpr std::string_view kStreamPrefix = "user.DosStream.";
constexpr std::string_view kStreamSuffix = ":$DATA";
constexpr std::string_view kEaPrefix = "user.";

bool EqualAscii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

Result<StreamPath> SplitStreamPath(std::string_view name) {
  StreamPath out;
  const size_t colon = name.find(':');
  if (colon == std::string_view::npos) {
    out.path = std::string(name);
    return out;
  }
  out.path = std::string(name.substr(0, colon));
  std::string_view rest = name.substr(colon + 1);
  // The stream part belongs to the last component: no separator may follow it.
  if (rest.find_first_of("\\/") != std::string_view::npos) {
    return Status(Errc::kInvalid, "':' in a directory of the path");
  }
  std::string_view stream = rest, type;
  if (const size_t second = rest.find(':'); second != std::string_view::npos) {
    stream = rest.substr(0, second);
    type = rest.substr(second + 1);
    // MS-FSCC 2.1.5.1: the type names the stream's kind; only data streams exist here ($DATA).
    // "name:" (an empty type) and "a:b:c" (a ':' in the type) are not names.
    if (!EqualAscii(type, "$DATA")) return Status(Errc::kInvalid, "stream type");
    out.data_suffix = true;
  } else if (stream.empty()) {
    return Status(Errc::kInvalid, "empty stream name");  // "file:"
  }
  if (stream.find('\0') != std::string_view::npos) return Status(Errc::kInvalid, "NUL in stream");
  if (stream.size() > kMaxStreamName) return Status(Errc::kInvalid, "stream name too long");
  out.stream = std::string(stream);
  return out;
}

std::string StreamXattr(std::string_view name) {
  std::string x(kStreamPrefix);
  x.append(name);
  x.append(kStreamSuffix);
  return x;
}

std::optional<std::string> StreamOfXattr(std::string_view xattr) {
  if (!xattr.starts_with(kStreamPrefix) || !xattr.ends_with(kStreamSuffix)) return std::nullopt;
  if (xattr.size() <= kStreamPrefix.size() + kStreamSuffix.size()) return std::nullopt;
  return std::string(xattr.substr(kStreamPrefix.size(),
                                  xattr.size() - kStreamPrefix.size() - kStreamSuffix.size()));
}

Result<std::vector<StreamInfo>> ListStreams(core::Vfs& vfs, const core::Caller& caller,
                                            core::FileId file) {
  ASSIGN_OR_RETURN(std::vector<std::string> xattrs, vfs.ListXattrs(caller, file));
  std::vector<StreamInfo> out;
  for (const std::string& x : xattrs) {
    std::optional<std::string> name = StreamOfXattr(x);
    if (!name) continue;
    Result<std::string> value = vfs.GetXattr(caller, file, x);
    if (!value.ok()) {
      if (value.status().code() == Errc::kNotFound) continue;  // removed meanwhile
      return value.status();
    }
    out.push_back({std::move(*name), value->size()});
  }
  return out;
}

Result<std::optional<std::string>> FindStream(core::Vfs& vfs, const core::Caller& caller,
                                              core::FileId file, std::string_view name) {
  ASSIGN_OR_RETURN(std::vector<std::string> xattrs, vfs.ListXattrs(caller, file));
  for (const std::string& x : xattrs) {
    std::optional<std::string> stream = StreamOfXattr(x);
    if (stream && EqualFolded(*stream, name)) return stream;
  }
  return std::optional<std::string>();
}

bool ValidEaName(std::string_view name) {
  if (name.empty() || name.size() > core::kMaxXattrName - kEaPrefix.size()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || std::string_view("\"*+,/:;<=>?[\\]|").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> EaOfXattr(std::string_view xattr) {
  if (!xattr.starts_with(kEaPrefix)) return std::nullopt;
  std::string_view name = xattr.substr(kEaPrefix.size());
  // A stream's xattr ends in ":$DATA", and ':' is no EA name's.
  if (!ValidEaName(name)) return std::nullopt;
  return std::string(name);
}

Result<std::vector<wire::FullEa>> ListEas(core::Vfs& vfs, const core::Caller& caller,
                                          core::FileId file) {
  ASSIGN_OR_RETURN(std::vector<std::string> xattrs, vfs.ListXattrs(caller, file));
  std::vector<wire::FullEa> out;
  for (const std::string& x : xattrs) {
    std::optional<std::string> name = EaOfXattr(x);
    if (!name) continue;
    Result<std::string> value = vfs.GetXattr(caller, file, x);
    if (!value.ok()) {
      if (value.status().code() == Errc::kNotFound) continue;
      return value.status();
    }
    // An xattr set over NFS may be longer than an EA value can be: it is not an EA.
    if (value->size() > UINT16_MAX) continue;
    wire::FullEa ea;
    ea.name = std::move(*name);
    const auto* p = reinterpret_cast<const std::byte*>(value->data());
    ea.value.assign(p, p + value->size());
    out.push_back(std::move(ea));
  }
  return out;
}

uint32_t EaSizeOf(const std::vector<wire::FullEa>& eas) {
  if (eas.empty()) return 0;
  size_t size = 4;  // the list's length
  for (const wire::FullEa& ea : eas) size += 4 + ea.name.size() + 1 + ea.value.size();
  return static_cast<uint32_t>(size);
}

Status SetEas(core::Vfs& vfs, const core::Caller& caller, core::FileId file,
              const std::vector<wire::FullEa>& eas) {
  for (const wire::FullEa& ea : eas) {
    if (!ValidEaName(ea.name)) return Status(Errc::kInvalid, "EA name");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> xattrs, vfs.ListXattrs(caller, file));
  for (const wire::FullEa& ea : eas) {
    // The name it has now, in whatever case, goes; the new one comes as the client spelt it.
    for (auto it = xattrs.begin(); it != xattrs.end();) {
      std::optional<std::string> present = EaOfXattr(*it);
      if (present && EqualAscii(*present, ea.name)) {
        if (ea.value.empty() || *present != ea.name) {
          Status s = vfs.RemoveXattr(caller, file, *it);
          if (!s.ok() && s.code() != Errc::kNotFound) return s;
          it = xattrs.erase(it);
          continue;
        }
      }
      ++it;
    }
    if (ea.value.empty()) continue;
    const std::string x = std::string(kEaPrefix) + ea.name;
    RETURN_IF_ERROR(vfs.SetXattr(
        caller, file, x,
        std::string_view(reinterpret_cast<const char*>(ea.value.data()), ea.value.size()),
        core::XattrSet::kAny));
    if (std::find(xattrs.begin(), xattrs.end(), x) == xattrs.end()) xattrs.push_back(x);
  }
  return Status::Ok();
}

StreamTable::Key StreamTable::KeyOf(uint64_t share, uint64_t inode, std::string_view name) {
  return {share, inode, FoldCase(name)};
}

Result<StreamTable::Opened> StreamTable::Open(uint64_t share, uint64_t inode, std::string_view name,
                                              uint32_t access, uint32_t share_access,
                                              bool delete_on_close) {
  MutexLock lock(&mu_);
  const Key key = KeyOf(share, inode, name);
  std::shared_ptr<StreamNode>& node = nodes_[key];
  const bool made = node == nullptr;
  if (made) {
    node = std::make_shared<StreamNode>(next_id_++, share, inode);
    MutexLock node_lock(&node->mu);
    node->name = std::string(name);
  }
  Result<core::OpenTable::OpenId> id =
      opens_.Open({node->id, access, share_access, delete_on_close});
  if (!id.ok()) {
    if (made) nodes_.erase(key);
    return id.status();
  }
  return Opened{node, *id};
}

void StreamTable::ForgetLocked(const std::shared_ptr<StreamNode>& node) {
  std::string name;
  {
    MutexLock node_lock(&node->mu);
    name = node->name;
  }
  auto it = nodes_.find(KeyOf(node->share, node->inode, name));
  if (it != nodes_.end() && it->second == node) nodes_.erase(it);
}

bool StreamTable::Close(const std::shared_ptr<StreamNode>& node, core::OpenTable::OpenId id) {
  MutexLock lock(&mu_);
  Result<core::CloseResult> closed = opens_.Close(id);
  if (!closed.ok() || !closed->last) return false;
  ForgetLocked(node);
  return closed->delete_file;
}

Status StreamTable::SetDeletePending(core::OpenTable::OpenId id, bool pending) {
  return opens_.SetDeletePending(id, pending);
}

bool StreamTable::AllowsDelete(uint64_t share, uint64_t inode) {
  MutexLock lock(&mu_);
  for (auto it = nodes_.lower_bound(Key{share, inode, std::string()});
       it != nodes_.end() && std::get<0>(it->first) == share && std::get<1>(it->first) == inode;
       ++it) {
    if (!opens_.CheckAccess(it->second->id, core::kDeleteAccess).ok()) return false;
  }
  return true;
}

bool StreamTable::HasOpens(uint64_t share, uint64_t inode, std::string_view name) {
  MutexLock lock(&mu_);
  return nodes_.contains(KeyOf(share, inode, name));
}

Status StreamTable::Rename(const std::shared_ptr<StreamNode>& node, std::string_view to) {
  MutexLock lock(&mu_);
  const Key target = KeyOf(node->share, node->inode, to);
  auto there = nodes_.find(target);
  if (there != nodes_.end() && there->second != node) return Errc::kShareViolation;
  ForgetLocked(node);
  nodes_[target] = node;
  MutexLock node_lock(&node->mu);
  node->name = std::string(to);
  return Status::Ok();
}

void CloseStreamOpen(StreamTable& streams, core::Vfs& vfs, const core::Caller& caller, Open& open) {
  if (!streams.Close(open.stream, open.stream_open)) return;
  std::string name;
  {
    MutexLock lock(&open.stream->mu);
    name = open.stream->name;
  }
  Status s = vfs.RemoveXattr(caller, open.file, StreamXattr(name));
  if (!s.ok() && s.code() != Errc::kNotFound) {
    LOG_DEBUG("smb: delete of stream {}: {}", name, s.ToString());
  }
}

Status RemoveStreams(core::Vfs& vfs, const core::Caller& caller, StreamTable& streams,
                     uint64_t share, core::FileId file) {
  ASSIGN_OR_RETURN(std::vector<std::string> xattrs, vfs.ListXattrs(caller, file));
  for (const std::string& x : xattrs) {
    std::optional<std::string> name = StreamOfXattr(x);
    if (!name || streams.HasOpens(share, file.inode, *name)) continue;
    Status s = vfs.RemoveXattr(caller, file, x);
    if (!s.ok() && s.code() != Errc::kNotFound) return s;
  }
  return Status::Ok();
}

uint32_t EaStatus(const Status& s) {
  constexpr uint32_t kStatusInvalidEaName = 0x80000013;
  constexpr uint32_t kStatusEaTooLarge = 0xC0000050;
  switch (s.code()) {
    case Errc::kInvalid:
    case Errc::kNameTooLong:
      return kStatusInvalidEaName;
    case Errc::kTooBig:
    case Errc::kNoSpace:
      return kStatusEaTooLarge;
    default:
      return ToNtStatus(s);
  }
}

}  // namespace dittofs::smb
