// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the NFSv4 codecs (src/nfs/proto/nfs4_xdr.cc). The input is read as
// COMPOUND arguments, the way the server reads them: the header, then one operation at a time
// until one fails; every attribute list an operation carries (SETATTR, VERIFY, NVERIFY,
// CREATE, OPEN) goes through DecodeAttrs. The same bytes are also read as a callback reply
// (CB_COMPOUND4res), as callback arguments and as a COMPOUND reply (the client sides).
//
// Decoders must fail cleanly. What decodes is encoded again (which reads every view it holds,
// so ASan sees a view that strays out of the input), and that encoding must decode and encode
// to the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "nfs/proto/nfs4_types.h"

namespace {

using namespace dittofs;
using namespace dittofs::nfs;

void Require(bool condition) {
  if (!condition) std::abort();
}

// DecodeAttrs's contract on one attribute list: values in range when it succeeds, and the
// values it gives encode to bytes that decode to the same values.
void CheckAttrs(const fattr4& in) {
  Fattr4 values;
  const nfsstat4 status = DecodeAttrs(in, &values);
  if (status != nfsstat4::NFS4_OK) {
    Require(status == nfsstat4::NFS4ERR_ATTRNOTSUPP || status == nfsstat4::NFS4ERR_BADXDR ||
            status == nfsstat4::NFS4ERR_INVAL);
    return;
  }
  if (values.mask.test(FATTR4_MODE)) Require(values.mode <= 07777);
  if (values.mask.test(FATTR4_TIME_MODIFY)) Require(values.time_modify.nseconds < 1000000000);
  fattr4 encoded;
  EncodeAttrs(values.mask, values, &encoded);
  Fattr4 again;
  Require(DecodeAttrs(encoded, &again) == nfsstat4::NFS4_OK);
  fattr4 reencoded;
  EncodeAttrs(again.mask, again, &reencoded);
  Require(reencoded.attrmask == encoded.attrmask);
  Require(reencoded.owned_vals == encoded.owned_vals);
}

// The attribute lists among an operation's arguments.
void CheckArgsAttrs(const nfs_argop4& op) {
  if (const auto* a = std::get_if<SETATTR4args>(&op.args)) CheckAttrs(a->obj_attributes);
  if (const auto* a = std::get_if<VERIFY4args>(&op.args)) CheckAttrs(a->obj_attributes);
  if (const auto* a = std::get_if<NVERIFY4args>(&op.args)) CheckAttrs(a->obj_attributes);
  if (const auto* a = std::get_if<CREATE4args>(&op.args)) CheckAttrs(a->createattrs);
  if (const auto* a = std::get_if<OPEN4args>(&op.args)) CheckAttrs(a->createattrs);
}

// Encode, decode, encode: the two encodings are the same bytes.
template <typename T, typename EncodeFn>
void CheckStable(const T& value, EncodeFn encode) {
  xdr::XdrEncoder e;
  encode(e, value);
  const std::string first = e.ToString();
  xdr::XdrDecoder d(AsBytes(first));
  T decoded;
  Require(Decode(d, &decoded));
  Require(d.remaining() == 0);
  xdr::XdrEncoder f;
  encode(f, decoded);
  Require(f.ToString() == first);
}

void FuzzCompoundArgs(ByteView input) {
  xdr::XdrDecoder d(input);
  COMPOUND4args_header header;
  if (!DecodeCompoundHeader(d, &header)) return;
  Require(header.tag.size() <= kMaxNfs4Tag);
  for (uint32_t i = 0; i < header.numops; ++i) {
    nfs_argop4 op;
    const bool decoded = Decode(d, &op);
    Require(decoded == d.ok());
    if (!decoded) return;
    CheckStable(op, [](xdr::XdrEncoder& e, const nfs_argop4& v) { Encode(e, v); });
    CheckArgsAttrs(op);
    (void)OpName(op.op);
  }
}

void FuzzCallbackReply(ByteView input) {
  xdr::XdrDecoder d(input);
  CB_COMPOUND4res res;
  if (!Decode(d, &res)) return;
  CheckStable(res, [](xdr::XdrEncoder& e, const CB_COMPOUND4res& v) { Encode(e, v); });
}

void FuzzCallbackArgs(ByteView input) {
  xdr::XdrDecoder d(input);
  CB_COMPOUND4args args;
  if (!Decode(d, &args)) return;
  CheckStable(args, [](xdr::XdrEncoder& e, const CB_COMPOUND4args& v) { Encode(e, v); });
}

void EncodeCompoundRes(xdr::XdrEncoder& e, const COMPOUND4res& res) {
  e.U32(static_cast<uint32_t>(res.status));
  e.String(res.tag);
  e.U32(static_cast<uint32_t>(res.resarray.size()));
  for (const nfs_resop4& r : res.resarray) EncodeResop(e, r);
}

void FuzzCompoundReply(ByteView input) {
  xdr::XdrDecoder d(input);
  COMPOUND4res res;
  if (!Decode(d, &res)) return;
  for (const nfs_resop4& r : res.resarray) {
    (void)r.status();
    if (const auto* g = std::get_if<GETATTR4res>(&r.res)) CheckAttrs(g->obj_attributes);
  }
  CheckStable(res, EncodeCompoundRes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(reinterpret_cast<const std::byte*>(data), size);
  FuzzCompoundArgs(input);
  FuzzCallbackReply(input);
  FuzzCallbackArgs(input);
  FuzzCompoundReply(input);
  return 0;
}
