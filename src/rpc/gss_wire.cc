// SPDX-License-Identifier: Apache-2.0
#include "rpc/gss_wire.h"

#include "base/check.h"

namespace dittofs::rpc {

GssCredOutcome DecodeRpcGssCred(ByteView body, RpcGssCred* cred) {
  xdr::XdrDecoder d(body);
  uint32_t version = d.U32();
  if (!d.ok()) return GssCredOutcome::kBadCred;
  if (version != kRpcGssVersion1) return GssCredOutcome::kBadVersion;
  uint32_t proc = d.U32();
  cred->seq_num = d.U32();
  uint32_t service = d.U32();
  cred->handle = d.VarOpaque(kRpcGssMaxHandle);
  if (!d.ok() || d.remaining() != 0) return GssCredOutcome::kBadCred;
  if (proc > static_cast<uint32_t>(RpcGssProc::kDestroy)) return GssCredOutcome::kBadCred;
  if (service < static_cast<uint32_t>(RpcGssService::kNone) ||
      service > static_cast<uint32_t>(RpcGssService::kPrivacy)) {
    return GssCredOutcome::kBadCred;
  }
  cred->gss_proc = static_cast<RpcGssProc>(proc);
  cred->service = static_cast<RpcGssService>(service);
  return GssCredOutcome::kOk;
}

void EncodeRpcGssCred(xdr::XdrEncoder& e, const RpcGssCred& cred) {
  e.U32(kRpcGssVersion1);
  e.U32(static_cast<uint32_t>(cred.gss_proc));
  e.U32(cred.seq_num);
  e.U32(static_cast<uint32_t>(cred.service));
  e.VarOpaque(cred.handle);
}

void EncodeRpcGssInitRes(xdr::XdrEncoder& e, const RpcGssInitRes& res) {
  e.VarOpaque(AsBytes(res.handle));
  e.U32(res.gss_major);
  e.U32(res.gss_minor);
  e.U32(res.seq_window);
  e.VarOpaque(AsBytes(res.gss_token));
}

bool DecodeRpcGssInitRes(ByteView body, RpcGssInitRes* res) {
  xdr::XdrDecoder d(body);
  res->handle.assign(AsChars(d.VarOpaque(kRpcGssMaxHandle)));
  res->gss_major = d.U32();
  res->gss_minor = d.U32();
  res->seq_window = d.U32();
  res->gss_token.assign(AsChars(d.VarOpaque(kRpcGssMaxToken)));
  return d.ok() && d.remaining() == 0;
}

bool DecodeRpcGssInitArg(ByteView args, ByteView* token) {
  xdr::XdrDecoder d(args);
  *token = d.VarOpaque(kRpcGssMaxToken);
  return d.ok() && d.remaining() == 0;
}

bool DecodeRpcGssIntegData(ByteView body, RpcGssIntegData* data) {
  xdr::XdrDecoder d(body);
  // The databody is as long as the record allows; the decoder's bounds keep it inside.
  data->databody = d.VarOpaque(UINT32_MAX);
  data->checksum = d.VarOpaque(kMaxAuthBytes);
  return d.ok() && d.remaining() == 0 && data->databody.size() >= 4;
}

bool DecodeRpcGssPrivData(ByteView body, ByteView* databody) {
  xdr::XdrDecoder d(body);
  *databody = d.VarOpaque(UINT32_MAX);
  return d.ok() && d.remaining() == 0;
}

bool SplitRpcGssDatabody(ByteView databody, uint32_t* seq_num, ByteView* rest) {
  xdr::XdrDecoder d(databody);
  *seq_num = d.U32();
  if (!d.ok()) return false;
  *rest = d.rest();
  return true;
}

SeqWindow::SeqWindow(uint32_t size) : size_(size) {
  CHECK(size > 0 && size <= kMaxSize) << "sequence window of " << size;
}

bool SeqWindow::Accept(uint32_t seq) {
  if (!any_) {
    any_ = true;
    highest_ = seq;
    seen_.reset();
    seen_.set(0);
    return true;
  }
  if (seq > highest_) {
    uint32_t shift = seq - highest_;
    if (shift >= size_) {
      seen_.reset();
    } else {
      seen_ <<= shift;
    }
    highest_ = seq;
    seen_.set(0);
    return true;
  }
  uint32_t behind = highest_ - seq;
  if (behind >= size_) return false;     // below the window
  if (seen_.test(behind)) return false;  // a replay
  seen_.set(behind);
  return true;
}

}  // namespace dittofs::rpc
