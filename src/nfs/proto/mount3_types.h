// SPDX-License-Identifier: Apache-2.0
#pragma once

// MOUNT version 3 protocol types (RFC 1813 Appendix I) and their XDR codecs.
//
// MOUNT traffic is rare and small, so every string here is an owned std::string and the
// spec's linked lists (mountlist, groups, exports) are std::vectors; on the wire each element
// is preceded by TRUE and the list ends with FALSE. Codecs follow nfs3_types.h:
//   bool Decode(xdr::XdrDecoder& d, T* out);  void Encode(xdr::XdrEncoder& e, const T& in);

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nfs/proto/nfs3_types.h"
#include "xdr/xdr.h"

namespace dittofs::nfs {

inline constexpr uint32_t MOUNT_PROGRAM = 100005;
inline constexpr uint32_t MOUNT_V3 = 3;
inline constexpr uint32_t MOUNTPROC3_NULL = 0;
inline constexpr uint32_t MOUNTPROC3_MNT = 1;
inline constexpr uint32_t MOUNTPROC3_DUMP = 2;
inline constexpr uint32_t MOUNTPROC3_UMNT = 3;
inline constexpr uint32_t MOUNTPROC3_UMNTALL = 4;
inline constexpr uint32_t MOUNTPROC3_EXPORT = 5;

inline constexpr size_t MNTPATHLEN = 1024;  // maximum bytes in a path name
inline constexpr size_t MNTNAMLEN = 255;    // maximum bytes in a name
inline constexpr size_t FHSIZE3 = 64;       // maximum bytes in a V3 file handle
static_assert(FHSIZE3 == NFS3_FHSIZE);

// Decoder bounds on the lists (the spec leaves them unbounded).
inline constexpr uint32_t kMaxMountListEntries = 10000;  // mountlist, exports, each groups
inline constexpr uint32_t kMaxAuthFlavors = 64;

enum class mountstat3 : uint32_t {
  MNT3_OK = 0,
  MNT3ERR_PERM = 1,
  MNT3ERR_NOENT = 2,
  MNT3ERR_IO = 5,
  MNT3ERR_ACCES = 13,
  MNT3ERR_NOTDIR = 20,
  MNT3ERR_INVAL = 22,
  MNT3ERR_NAMETOOLONG = 63,
  MNT3ERR_NOTSUPP = 10004,
  MNT3ERR_SERVERFAULT = 10006,
};

// opaque fhandle3<FHSIZE3>: the server issues it, so it owns its bytes like nfs_fh3_owned.
using fhandle3 = nfs_fh3_owned;
using dirpath = std::string;  // string dirpath<MNTPATHLEN>
using name = std::string;     // string name<MNTNAMLEN>

struct mountres3_ok {
  fhandle3 fhandle;
  std::vector<int32_t> auth_flavors;  // RPC auth flavors, at most kMaxAuthFlavors
  friend bool operator==(const mountres3_ok&, const mountres3_ok&) = default;
};

// union mountres3 switch (mountstat3 fhs_status): mountinfo is encoded only for MNT3_OK.
struct mountres3 {
  mountstat3 fhs_status = mountstat3::MNT3_OK;
  mountres3_ok mountinfo;
  friend bool operator==(const mountres3&, const mountres3&) = default;
};

struct mountbody {
  name ml_hostname;
  dirpath ml_directory;
  friend bool operator==(const mountbody&, const mountbody&) = default;
};
using mountlist = std::vector<mountbody>;

struct groupnode {
  name gr_name;
  friend bool operator==(const groupnode&, const groupnode&) = default;
};
using groups = std::vector<groupnode>;

struct exportnode {
  dirpath ex_dir;
  groups ex_groups;
  friend bool operator==(const exportnode&, const exportnode&) = default;
};
using exports = std::vector<exportnode>;

// The argument of MNT and UMNT. Decode fails on a path longer than MNTPATHLEN.
bool DecodeDirpath(xdr::XdrDecoder& d, dirpath* out);
void EncodeDirpath(xdr::XdrEncoder& e, std::string_view in);

bool Decode(xdr::XdrDecoder& d, mountstat3* out);
void Encode(xdr::XdrEncoder& e, mountstat3 in);
bool Decode(xdr::XdrDecoder& d, mountres3* out);
void Encode(xdr::XdrEncoder& e, const mountres3& in);
bool Decode(xdr::XdrDecoder& d, mountlist* out);  // the DUMP result
void Encode(xdr::XdrEncoder& e, const mountlist& in);
bool Decode(xdr::XdrDecoder& d, groups* out);
void Encode(xdr::XdrEncoder& e, const groups& in);
bool Decode(xdr::XdrDecoder& d, exports* out);  // the EXPORT result
void Encode(xdr::XdrEncoder& e, const exports& in);

}  // namespace dittofs::nfs
