// SPDX-License-Identifier: Apache-2.0
// XDR codecs for the MOUNT v3 types of mount3_types.h (RFC 1813 Appendix I).
#include "nfs/proto/mount3_types.h"

namespace dittofs::nfs {
namespace {

bool IsMountstat3(uint32_t v) {
  switch (static_cast<mountstat3>(v)) {
    case mountstat3::MNT3_OK:
    case mountstat3::MNT3ERR_PERM:
    case mountstat3::MNT3ERR_NOENT:
    case mountstat3::MNT3ERR_IO:
    case mountstat3::MNT3ERR_ACCES:
    case mountstat3::MNT3ERR_NOTDIR:
    case mountstat3::MNT3ERR_INVAL:
    case mountstat3::MNT3ERR_NAMETOOLONG:
    case mountstat3::MNT3ERR_NOTSUPP:
    case mountstat3::MNT3ERR_SERVERFAULT:
      return true;
  }
  return false;
}

// A linked list on the wire: TRUE before each element, FALSE at the end. Fails past
// kMaxMountListEntries elements; each element consumes input, so the loop always ends.
template <typename T, typename DecodeElement>
void DecodeList(xdr::XdrDecoder& d, std::vector<T>* out, DecodeElement decode_element) {
  out->clear();
  while (d.Bool()) {
    if (out->size() == kMaxMountListEntries) {
      d.Fail();
      return;
    }
    decode_element(&out->emplace_back());
  }
}

template <typename T, typename EncodeElement>
void EncodeList(xdr::XdrEncoder& e, const std::vector<T>& in, EncodeElement encode_element) {
  for (const T& element : in) {
    e.Bool(true);
    encode_element(element);
  }
  e.Bool(false);
}

}  // namespace

bool DecodeDirpath(xdr::XdrDecoder& d, dirpath* out) {
  *out = std::string(d.String(MNTPATHLEN));
  return d.ok();
}
void EncodeDirpath(xdr::XdrEncoder& e, std::string_view in) { e.String(in); }

bool Decode(xdr::XdrDecoder& d, mountstat3* out) {
  uint32_t v = d.U32();
  if (!IsMountstat3(v)) d.Fail();
  *out = d.ok() ? static_cast<mountstat3>(v) : mountstat3::MNT3ERR_SERVERFAULT;
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, mountstat3 in) { e.U32(static_cast<uint32_t>(in)); }

bool Decode(xdr::XdrDecoder& d, mountres3* out) {
  *out = {};
  Decode(d, &out->fhs_status);
  if (!d.ok() || out->fhs_status != mountstat3::MNT3_OK) return d.ok();
  ByteView fh = d.VarOpaque(FHSIZE3);
  if (d.ok()) out->mountinfo.fhandle = fhandle3::CopyFrom(fh);
  uint32_t n = d.ArrayLength(kMaxAuthFlavors, 4);
  out->mountinfo.auth_flavors.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out->mountinfo.auth_flavors.push_back(d.I32());
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const mountres3& in) {
  Encode(e, in.fhs_status);
  if (in.fhs_status != mountstat3::MNT3_OK) return;
  e.VarOpaque(in.mountinfo.fhandle.view());
  e.U32(static_cast<uint32_t>(in.mountinfo.auth_flavors.size()));
  for (int32_t flavor : in.mountinfo.auth_flavors) e.I32(flavor);
}

bool Decode(xdr::XdrDecoder& d, mountlist* out) {
  DecodeList(d, out, [&d](mountbody* body) {
    body->ml_hostname = std::string(d.String(MNTNAMLEN));
    body->ml_directory = std::string(d.String(MNTPATHLEN));
  });
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const mountlist& in) {
  EncodeList(e, in, [&e](const mountbody& body) {
    e.String(body.ml_hostname);
    e.String(body.ml_directory);
  });
}

bool Decode(xdr::XdrDecoder& d, groups* out) {
  DecodeList(d, out, [&d](groupnode* group) { group->gr_name = std::string(d.String(MNTNAMLEN)); });
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const groups& in) {
  EncodeList(e, in, [&e](const groupnode& group) { e.String(group.gr_name); });
}

bool Decode(xdr::XdrDecoder& d, exports* out) {
  DecodeList(d, out, [&d](exportnode* node) {
    node->ex_dir = std::string(d.String(MNTPATHLEN));
    Decode(d, &node->ex_groups);
  });
  return d.ok();
}
void Encode(xdr::XdrEncoder& e, const exports& in) {
  EncodeList(e, in, [&e](const exportnode& node) {
    e.String(node.ex_dir);
    Encode(e, node.ex_groups);
  });
}

}  // namespace dittofs::nfs
