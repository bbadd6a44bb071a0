// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/pipe.h"

#include <algorithm>
#include <cstring>

#include "smb/wire/le.h"

namespace dittofs::smb::rpc {
namespace {

using wire::LeReader;
using wire::LeWriter;
using Bytes = std::vector<std::byte>;

// PDU types and flags (C706 12.6).
constexpr uint8_t kRequest = 0, kResponse = 2, kFaultPdu = 3, kBind = 11, kBindAck = 12,
                  kAlterContext = 14, kAlterContextResp = 15;
constexpr uint8_t kFirstFrag = 0x01, kLastFrag = 0x02, kObjectUuid = 0x80;
constexpr size_t kHeader = 16;
constexpr size_t kRequestHeader = kHeader + 8;  // alloc_hint, context id, opnum
constexpr size_t kMaxPdu = 65535;
constexpr size_t kMaxRequest = 1 << 20;  // a fragmented request's stub, reassembled
constexpr size_t kMaxOutput = 4 << 20;   // answers queued and not read: beyond, the pipe breaks

// Fault and result codes (C706 appendix E, MS-RPCE 2.2.2.4/2.2.2.5).
constexpr uint32_t kNcaUnknownInterface = 0x1C010003, kNcaAccessDenied = 0x00000005;
constexpr uint16_t kAccept = 0, kProviderRejection = 2, kNegotiateAck = 3;
constexpr uint16_t kAbstractNotSupported = 1, kTransferNotSupported = 2;

const SyntaxId kNdr20 = MakeSyntaxId(0x8A885D04, 0x1CEB, 0x11C9,
                                     {0x9F, 0xE8, 0x08, 0x00, 0x2B, 0x10, 0x48, 0x60}, 2, 0);

SyntaxId ReadSyntax(LeReader& r) {
  SyntaxId s;
  ByteView u = r.Bytes(16);
  if (u.size() == 16) std::memcpy(s.uuid.data(), u.data(), 16);
  s.major = r.U16();
  s.minor = r.U16();
  return s;
}

// The bind-time feature negotiation "transfer syntax" (MS-RPCE 3.3.1.5.3): 6CB71C2C-9812-
// 4540-xxxx; its first eight bytes identify it.
bool IsFeatureNegotiation(const SyntaxId& s) {
  const SyntaxId prefix = MakeSyntaxId(0x6CB71C2C, 0x9812, 0x4540, {}, 0, 0);
  return std::memcmp(s.uuid.data(), prefix.uuid.data(), 8) == 0;
}

// C706 12.6.3.1: a server supports a client's interface version when the major versions are
// equal and the client's minor version is not above its own.
bool Supports(const SyntaxId& ours, const SyntaxId& asked) {
  return ours.uuid == asked.uuid && ours.major == asked.major && asked.minor <= ours.minor;
}

void PutHeader(Bytes& out, uint8_t type, uint8_t flags, uint32_t call_id) {
  LeWriter w(out);
  w.U8(5);
  w.U8(0);
  w.U8(type);
  w.U8(flags);
  w.U8(0x10);  // little-endian integers, ASCII, IEEE floats
  w.U8(0);
  w.U8(0);
  w.U8(0);
  w.U16(0);  // frag_length, set when done
  w.U16(0);  // auth_length
  w.U32(call_id);
}
void SetFragLength(Bytes& pdu) {
  wire::StoreLe16(pdu.data() + 8, static_cast<uint16_t>(pdu.size()));
}

}  // namespace

SyntaxId MakeSyntaxId(uint32_t a, uint16_t b, uint16_t c, std::array<uint8_t, 8> d, uint16_t major,
                      uint16_t minor) {
  Bytes out;
  LeWriter w(out);
  w.U32(a);
  w.U16(b);
  w.U16(c);
  for (uint8_t x : d) w.U8(x);
  SyntaxId s;
  std::memcpy(s.uuid.data(), out.data(), 16);
  s.major = major;
  s.minor = minor;
  return s;
}

RpcPipe::RpcPipe(std::string port, std::vector<std::unique_ptr<RpcInterface>> interfaces)
    : port_(std::move(port)), interfaces_(std::move(interfaces)) {}

RpcPipe::RpcPipe(std::string port, std::unique_ptr<RpcInterface> interface)
    : port_(std::move(port)) {
  interfaces_.push_back(std::move(interface));
}

Status RpcPipe::Write(ByteView data) {
  if (broken_) return Status(Errc::kInvalid, "the pipe's stream is broken");
  input_.insert(input_.end(), data.begin(), data.end());
  while (input_.size() >= kHeader) {
    const size_t frag = wire::LoadLe16(input_.data() + 8);
    if (input_[0] != std::byte{5} || input_[1] != std::byte{0} || frag < kHeader) {
      broken_ = true;
      return Status(Errc::kInvalid, "not a DCE/RPC PDU");
    }
    if (input_.size() < frag) break;
    Bytes pdu(input_.begin(), input_.begin() + frag);
    input_.erase(input_.begin(), input_.begin() + frag);
    Status s = Handle(pdu);
    if (!s.ok()) {
      broken_ = true;
      return s;
    }
    if (output_.size() - read_at_ > kMaxOutput) {
      // A client that writes requests and never reads the answers.
      broken_ = true;
      output_.clear();
      read_at_ = 0;
      return Status(Errc::kInvalid, "answers not read");
    }
  }
  if (input_.size() > kMaxPdu) {
    broken_ = true;
    return Status(Errc::kInvalid, "PDU too large");
  }
  return Status::Ok();
}

std::vector<std::byte> RpcPipe::Read(size_t max, bool* more) {
  const size_t n = std::min(max, output_.size() - read_at_);
  Bytes out(output_.begin() + read_at_, output_.begin() + read_at_ + n);
  read_at_ += n;
  // Drop what was read once it is most of the buffer: a large answer read in small pieces
  // costs linear time, not quadratic.
  if (read_at_ == output_.size()) {
    output_.clear();
    read_at_ = 0;
  } else if (read_at_ > output_.size() / 2) {
    output_.erase(output_.begin(), output_.begin() + read_at_);
    read_at_ = 0;
  }
  if (more != nullptr) *more = has_output();
  return out;
}

Status RpcPipe::Handle(ByteView pdu) {
  const uint8_t type = static_cast<uint8_t>(pdu[2]);
  const uint8_t flags = static_cast<uint8_t>(pdu[3]);
  const uint32_t call_id = wire::LoadLe32(pdu.data() + 12);
  // Little-endian integers only (NDR's "drep"): what every client of SMB sends.
  if (pdu[4] != std::byte{0x10}) return Status(Errc::kInvalid, "big-endian DCE/RPC");
  if (wire::LoadLe16(pdu.data() + 10) != 0) {
    // We run no DCE/RPC authentication: the pipe is reached through the SMB session's.
    Fault(call_id, kNcaAccessDenied);
    return Status::Ok();
  }
  switch (type) {
    case kBind:
    case kAlterContext:
      Bind(pdu, type, call_id);
      return Status::Ok();
    case kRequest:
      return Request(pdu, flags, call_id);
    default:
      Fault(call_id, kNcaProtoError);
      return Status::Ok();
  }
}

RpcInterface* RpcPipe::InterfaceOf(uint16_t context) const {
  for (const Context& c : contexts_) {
    if (c.id == context) return c.interface;
  }
  return nullptr;
}

Status RpcPipe::Request(ByteView pdu, uint8_t flags, uint32_t call_id) {
  if (contexts_.empty()) {
    Fault(call_id, kNcaProtoError);
    return Status::Ok();
  }
  LeReader r(pdu);
  r.Seek(kHeader);
  r.U32();  // alloc_hint
  const uint16_t context = r.U16();
  const uint16_t opnum = r.U16();
  if (flags & kObjectUuid) r.Skip(16);
  if (!r.ok()) return Status(Errc::kInvalid, "short request PDU");
  RpcInterface* interface = InterfaceOf(context);
  if (interface == nullptr) {
    // A context the bind did not accept (NDR64, another interface).
    Fault(call_id, kNcaUnknownInterface);
    return Status::Ok();
  }
  if (flags & kFirstFrag) request_.clear();
  ByteView stub = pdu.subspan(r.offset());
  if (request_.size() + stub.size() > kMaxRequest) {
    return Status(Errc::kInvalid, "request too large");
  }
  request_.insert(request_.end(), stub.begin(), stub.end());
  if (!(flags & kLastFrag)) return Status::Ok();
  // The stub is whole: answer it. (`opnum` is the last fragment's, as every fragment's.)
  Bytes whole;
  whole.swap(request_);
  RpcAnswer answer = interface->Call(opnum, whole);
  if (answer.fault != 0) {
    Fault(call_id, answer.fault);
  } else {
    Respond(call_id, context, answer.stub);
  }
  return Status::Ok();
}

void RpcPipe::Bind(ByteView pdu, uint8_t type, uint32_t call_id) {
  LeReader r(pdu);
  r.Seek(kHeader);
  r.U16();  // the client's max_xmit_frag: what it sends us, up to kMaxPdu
  const uint16_t max_recv = r.U16();
  const uint32_t group = r.U32();
  const uint8_t n = r.U8();
  r.U8();
  r.U16();
  struct BindResult {
    uint16_t result, reason;
    SyntaxId syntax;
  };
  std::vector<BindResult> results;
  std::vector<Context> accepted_contexts;
  for (uint8_t i = 0; i < n && r.ok(); ++i) {
    const uint16_t context = r.U16();
    const uint8_t n_transfer = r.U8();
    r.U8();
    const SyntaxId abstract = ReadSyntax(r);
    RpcInterface* interface = nullptr;
    for (const std::unique_ptr<RpcInterface>& candidate : interfaces_) {
      if (Supports(candidate->syntax(), abstract)) interface = candidate.get();
    }
    BindResult res{kProviderRejection, kTransferNotSupported, {}};
    bool accepted = false;
    for (uint8_t t = 0; t < n_transfer && r.ok(); ++t) {
      const SyntaxId transfer = ReadSyntax(r);
      if (accepted) continue;
      if (IsFeatureNegotiation(transfer)) {
        res = {kNegotiateAck, 0, {}};  // no optional features
        accepted = true;
      } else if (interface == nullptr) {
        res = {kProviderRejection, kAbstractNotSupported, {}};
      } else if (transfer == kNdr20) {
        res = {kAccept, 0, kNdr20};
        accepted = true;
        accepted_contexts.push_back({context, interface});
      }
    }
    results.push_back(res);
  }
  if (!r.ok() || n == 0) {
    Fault(call_id, kNcaProtoError);
    return;
  }
  // A context id names one presentation context: a later bind of the same id replaces it,
  // which also bounds the list by the 65536 ids.
  for (const Context& c : accepted_contexts) {
    std::erase_if(contexts_, [&](const Context& old) { return old.id == c.id; });
    contexts_.push_back(c);
  }
  // What we send fits what the client receives (C706 12.6.3.1), within 1432..4280 as Windows.
  max_xmit_ = std::clamp<uint16_t>(max_recv, 1432, 4280);
  Bytes out;
  PutHeader(out, type == kBind ? kBindAck : kAlterContextResp, kFirstFrag | kLastFrag, call_id);
  LeWriter w(out);
  w.U16(max_xmit_);  // max_xmit_frag: what we send
  w.U16(4280);       // max_recv_frag: what we take
  w.U32(group != 0 ? group : 0x12345);
  if (type == kBind) {
    w.U16(static_cast<uint16_t>(port_.size() + 1));
    w.Bytes(AsBytes(port_));
    w.U8(0);
  } else {
    w.U16(0);
  }
  w.Align(4);
  w.U8(static_cast<uint8_t>(results.size()));
  w.U8(0);
  w.U16(0);
  for (const BindResult& res : results) {
    w.U16(res.result);
    w.U16(res.reason);
    w.Bytes(res.syntax.uuid);
    w.U16(res.syntax.major);
    w.U16(res.syntax.minor);
  }
  SetFragLength(out);
  output_.insert(output_.end(), out.begin(), out.end());
}

void RpcPipe::Respond(uint32_t call_id, uint16_t context, const std::vector<std::byte>& stub) {
  // Fragments of at most max_xmit_ bytes each (C706 12.6.4.2), 24-byte header each.
  const size_t room = max_xmit_ - kRequestHeader;
  size_t at = 0;
  do {
    const size_t n = std::min(room, stub.size() - at);
    uint8_t flags = 0;
    if (at == 0) flags |= kFirstFrag;
    if (at + n == stub.size()) flags |= kLastFrag;
    Bytes pdu;
    PutHeader(pdu, kResponse, flags, call_id);
    LeWriter w(pdu);
    w.U32(static_cast<uint32_t>(stub.size() - at));  // alloc_hint
    w.U16(context);
    w.U8(0);  // cancel count
    w.U8(0);
    pdu.insert(pdu.end(), stub.begin() + at, stub.begin() + at + n);
    SetFragLength(pdu);
    output_.insert(output_.end(), pdu.begin(), pdu.end());
    at += n;
  } while (at < stub.size());
}

void RpcPipe::Fault(uint32_t call_id, uint32_t status) {
  Bytes pdu;
  PutHeader(pdu, kFaultPdu, kFirstFrag | kLastFrag, call_id);
  LeWriter w(pdu);
  w.U32(0);
  w.U16(0);
  w.U8(0);
  w.U8(0);
  w.U32(status);
  w.U32(0);
  SetFragLength(pdu);
  output_.insert(output_.end(), pdu.begin(), pdu.end());
}

}  // namespace dittofs::smb::rpc
