// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"
#include "nfs/proto/nfs4_types.h"

namespace dittofs::nfs {

// The attributes this server supports for minor version `minor` (supported_attrs).
const bitmap4& SupportedAttrs(uint32_t minor);
// Those SETATTR (and OPEN's and CREATE's createattrs) may set.
const bitmap4& SettableAttrs();
// Whether `want` asks for a file system counter (files_*, space_* but space_used).
bool WantsFsStats(const bitmap4& want);

// What one object's attribute values are made of.
struct AttrSource {
  uint32_t minor = 0;
  const core::Attr* attr = nullptr;
  const core::FsStats* fs = nullptr;  // null: the counters are left out
  nfs_fh4_owned handle;
  uint64_t fileid = 0;
  uint64_t mounted_on_fileid = 0;
  fsid4 fsid;
  uint32_t lease_seconds = 90;
  uint32_t max_io = 1u << 20;
  uint32_t max_name = 255;
  bool case_insensitive = false;
  bool xattrs = false;  // takes user.* extended attributes (a share's file, not a pseudo one)
  std::string owner;
  std::string owner_group;
  std::vector<nfsace4> acl;   // when FATTR4_ACL is wanted
  std::vector<nfsace4> dacl;  // when FATTR4_DACL is wanted: the allow/deny ACEs
  std::vector<nfsace4> sacl;  // when FATTR4_SACL is wanted: the audit/alarm ACEs
  uint32_t dacl_flag = 0;
  uint32_t sacl_flag = 0;
};

// Fills `out` with the values of `src` for the attributes `want` asks and this server
// supports; out->mask says which.
void FillFromAttr(const AttrSource& src, const bitmap4& want, Fattr4* out);

}  // namespace dittofs::nfs
