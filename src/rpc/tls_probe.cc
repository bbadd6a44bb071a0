// SPDX-License-Identifier: Apache-2.0
#include "rpc/tls_probe.h"

#include "rpc/message.h"

namespace dittofs::rpc {

bool IsTlsProbe(ByteView record, uint32_t* xid) {
  // xid, msg_type, rpcvers, prog, vers, proc, cred flavor: most records are no probe, and say
  // so in their sixth or seventh word.
  if (record.size() < 40 || LoadBe32(record.data() + 20) != 0 ||
      LoadBe32(record.data() + 24) != static_cast<uint32_t>(AuthFlavor::kTls)) {
    return false;
  }
  xdr::XdrDecoder d(record);
  CallHeader h;
  if (DecodeCallHeader(d, &h) != HeaderOutcome::kOk) return false;
  if (h.proc != 0 || h.cred_flavor != static_cast<uint32_t>(AuthFlavor::kTls)) return false;
  // RFC 9289 §4.1: the AUTH_TLS credential has no body, and the verifier is AUTH_NONE.
  if (!h.cred_body.empty() || h.verf_flavor != static_cast<uint32_t>(AuthFlavor::kNone)) {
    return false;
  }
  *xid = h.xid;
  return true;
}

void EncodeStartTlsReply(xdr::XdrEncoder& e, uint32_t xid) {
  e.U32(xid);
  e.U32(static_cast<uint32_t>(MsgType::kReply));
  e.U32(0);  // MSG_ACCEPTED
  e.U32(static_cast<uint32_t>(AuthFlavor::kNone));
  e.String("STARTTLS");
  e.U32(static_cast<uint32_t>(AcceptStat::kSuccess));
}

}  // namespace dittofs::rpc
