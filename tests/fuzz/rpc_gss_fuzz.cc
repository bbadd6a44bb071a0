// SPDX-License-Identifier: Apache-2.0
// RPCSEC_GSS's decoders (rpc/gss_wire.h) over hostile bytes: the credential, the context
// creation argument and result, the integrity and privacy bodies, and the sequence window fed
// the numbers the input holds. Whatever decodes must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "base/check.h"
#include "rpc/gss_wire.h"

using namespace dittofs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView input(reinterpret_cast<const std::byte*>(data), size);
  rpc::RpcGssCred cred;
  if (rpc::DecodeRpcGssCred(input, &cred) == rpc::GssCredOutcome::kOk) {
    xdr::XdrEncoder e;
    rpc::EncodeRpcGssCred(e, cred);
    std::string back = e.ToString();
    // The same fields in as many bytes (xdr's decoder does not insist on zero padding).
    rpc::RpcGssCred again;
    CHECK(back.size() == size &&
          rpc::DecodeRpcGssCred(AsBytes(back), &again) == rpc::GssCredOutcome::kOk &&
          again.gss_proc == cred.gss_proc && again.seq_num == cred.seq_num &&
          again.service == cred.service && AsChars(again.handle) == AsChars(cred.handle))
        << "credential does not round-trip";
  }
  rpc::RpcGssInitRes res;
  if (rpc::DecodeRpcGssInitRes(input, &res)) {
    xdr::XdrEncoder e;
    rpc::EncodeRpcGssInitRes(e, res);
    CHECK(e.size() == size) << "init result does not round-trip";
  }
  ByteView token;
  if (rpc::DecodeRpcGssInitArg(input, &token))
    CHECK(token.size() <= rpc::kRpcGssMaxToken) << "token over the limit";
  rpc::RpcGssIntegData integ;
  if (rpc::DecodeRpcGssIntegData(input, &integ)) {
    uint32_t seq = 0;
    ByteView rest;
    CHECK(rpc::SplitRpcGssDatabody(integ.databody, &seq, &rest)) << "integ body without seq_num";
  }
  ByteView priv;
  (void)rpc::DecodeRpcGssPrivData(input, &priv);
  // The window against a reference: a number is accepted once, and never below the window.
  if (size >= 1) {
    uint32_t window_size = 1 + data[0] % 200;
    rpc::SeqWindow window(window_size);
    std::set<uint32_t> accepted;
    uint32_t highest = 0;
    bool any = false;
    for (size_t i = 1; i + 2 <= size; i += 2) {
      uint32_t seq = static_cast<uint32_t>(data[i]) << 8 | data[i + 1];
      bool expect =
          !accepted.contains(seq) && (!any || seq > highest || highest - seq < window_size);
      CHECK(window.Accept(seq) == expect) << "window disagrees on " << seq;
      if (expect) {
        accepted.insert(seq);
        if (!any || seq > highest) highest = seq;
        any = true;
      }
    }
  }
  return 0;
}
