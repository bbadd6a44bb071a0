// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/inode_codec.h"

#include "base/record_codec.h"

namespace dittofs::stores {
namespace {

constexpr uint8_t kInodeEncoding = 2;
constexpr uint8_t kInodeEncodingV1 = 1;
// Extension tags.
constexpr uint8_t kExtFlags = 1;  // Inode::flags, u32; written only when not 0

void AppendTimespec(std::string* out, const Timespec& t) {
  AppendLe64(out, static_cast<uint64_t>(t.sec));
  AppendLe32(out, t.nsec);
}

Timespec DecodeTimespec(FieldReader& d) {
  Timespec t;
  t.sec = static_cast<int64_t>(d.Le64());
  t.nsec = d.Le32();
  return t;
}

}  // namespace

std::string EncodeInode(const Inode& inode) {
  std::string out;
  out.reserve(134 + inode.symlink_target.size() + inode.acl.size());
  AppendU8(&out, kInodeEncoding);
  AppendLe32(&out, inode.generation);
  AppendU8(&out, static_cast<uint8_t>(inode.type));
  AppendLe32(&out, inode.mode);
  AppendLe32(&out, inode.uid);
  AppendLe32(&out, inode.gid);
  AppendLe32(&out, inode.nlink);
  AppendLe64(&out, inode.size);
  AppendTimespec(&out, inode.atime);
  AppendTimespec(&out, inode.mtime);
  AppendTimespec(&out, inode.ctime);
  AppendTimespec(&out, inode.btime);
  AppendLe32(&out, inode.rdev_major);
  AppendLe32(&out, inode.rdev_minor);
  AppendLe64(&out, inode.create_verifier);
  AppendLe64(&out, inode.parent);
  AppendLe64(&out, inode.next_cookie);
  AppendLe64(&out, inode.version);
  AppendLe32(&out, inode.dos_attributes);
  AppendLe32(&out, static_cast<uint32_t>(inode.symlink_target.size()));
  out.append(inode.symlink_target);
  AppendLe32(&out, static_cast<uint32_t>(inode.acl.size()));
  out.append(inode.acl);
  if (inode.flags != 0) {
    AppendU8(&out, kExtFlags);
    AppendLe32(&out, 4);
    AppendLe32(&out, inode.flags);
  }
  return out;
}

Result<Inode> DecodeInode(InodeId id, std::string_view value) {
  FieldReader d(value);
  uint8_t encoding = d.U8();
  if (d.ok() && encoding != kInodeEncoding && encoding != kInodeEncodingV1) {
    return Status(Errc::kIo, "metadata store: inode " + std::to_string(id) +
                                 " has unknown encoding " + std::to_string(encoding));
  }
  Inode inode;
  inode.id = id;
  inode.generation = d.Le32();
  inode.type = static_cast<FileType>(d.U8());
  inode.mode = d.Le32();
  inode.uid = d.Le32();
  inode.gid = d.Le32();
  inode.nlink = d.Le32();
  inode.size = d.Le64();
  inode.atime = DecodeTimespec(d);
  inode.mtime = DecodeTimespec(d);
  inode.ctime = DecodeTimespec(d);
  inode.btime = DecodeTimespec(d);
  inode.rdev_major = d.Le32();
  inode.rdev_minor = d.Le32();
  inode.create_verifier = d.Le64();
  inode.parent = d.Le64();
  inode.next_cookie = d.Le64();
  inode.version = d.Le64();
  if (encoding == kInodeEncoding) inode.dos_attributes = d.Le32();
  uint32_t target_size = d.Le32();
  inode.symlink_target = std::string(d.Take(target_size));
  if (encoding == kInodeEncoding) {
    uint32_t acl_size = d.Le32();
    if (acl_size > kMaxAclSize) {
      return Status(Errc::kIo, "metadata store: inode " + std::to_string(id) + " has an ACL of " +
                                   std::to_string(acl_size) + " bytes");
    }
    inode.acl = std::string(d.Take(acl_size));
    while (d.ok() && d.remaining() > 0) {
      uint8_t tag = d.U8();
      uint32_t length = d.Le32();
      if (tag == kExtFlags && length == 4) {
        inode.flags = d.Le32();
      } else {
        d.Take(length);  // a tag this version does not know: skipped
      }
    }
  }
  if (!d.done()) {
    return Status(Errc::kIo, "metadata store: inode " + std::to_string(id) + " is corrupt");
  }
  return inode;
}

}  // namespace dittofs::stores
