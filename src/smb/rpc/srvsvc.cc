// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/srvsvc.h"

#include <algorithm>
#include <cstring>

#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb::rpc {
namespace {

using wire::LeReader;
using wire::LeWriter;
using Bytes = std::vector<std::byte>;

// PDU types and flags (C706 12.6).
constexpr uint8_t kRequest = 0, kResponse = 2, kFault = 3, kBind = 11, kBindAck = 12,
                  kAlterContext = 14, kAlterContextResp = 15;
constexpr uint8_t kFirstFrag = 0x01, kLastFrag = 0x02, kObjectUuid = 0x80;
constexpr size_t kHeader = 16;
constexpr size_t kMaxPdu = 65535;
constexpr size_t kMaxRequest = 1 << 20;  // a fragmented request's stub, reassembled
constexpr size_t kMaxOutput = 1 << 20;   // answers queued and not read: beyond, the pipe breaks

// Fault and result codes (C706 appendix E, MS-RPCE 2.2.2.4/2.2.2.5).
constexpr uint32_t kNcaOpRangeError = 0x1C010002, kNcaProtoError = 0x1C01000B,
                   kNcaUnknownInterface = 0x1C010003, kNcaAccessDenied = 0x00000005;
constexpr uint16_t kAccept = 0, kProviderRejection = 2, kNegotiateAck = 3;
constexpr uint16_t kAbstractNotSupported = 1, kTransferNotSupported = 2;

// Windows errors NetrShare* return (MS-ERREF 2.2).
constexpr uint32_t kErrorInvalidLevel = 124, kNerrNetNameNotFound = 2310;

struct Syntax {
  std::array<std::byte, 16> uuid{};
  uint32_t version = 0;
  friend bool operator==(const Syntax&, const Syntax&) = default;
};

// A UUID in its NDR form (the first three fields little-endian).
Syntax MakeSyntax(uint32_t a, uint16_t b, uint16_t c, std::array<uint8_t, 8> d, uint32_t version) {
  Syntax s;
  Bytes out;
  LeWriter w(out);
  w.U32(a);
  w.U16(b);
  w.U16(c);
  for (uint8_t x : d) w.U8(x);
  std::memcpy(s.uuid.data(), out.data(), 16);
  s.version = version;
  return s;
}

const Syntax kSrvsvc =
    MakeSyntax(0x4B324FC8, 0x1670, 0x01D3, {0x12, 0x78, 0x5A, 0x47, 0xBF, 0x6E, 0xE1, 0x88}, 3);
const Syntax kNdr20 =
    MakeSyntax(0x8A885D04, 0x1CEB, 0x11C9, {0x9F, 0xE8, 0x08, 0x00, 0x2B, 0x10, 0x48, 0x60}, 2);

Syntax ReadSyntax(LeReader& r) {
  Syntax s;
  ByteView u = r.Bytes(16);
  if (u.size() == 16) std::memcpy(s.uuid.data(), u.data(), 16);
  s.version = r.U32();
  return s;
}

// The bind-time feature negotiation "transfer syntax" (MS-RPCE 3.3.1.5.3): 6CB71C2C-9812-
// 4540-xxxx; its first eight bytes identify it.
bool IsFeatureNegotiation(const Syntax& s) {
  const Syntax prefix = MakeSyntax(0x6CB71C2C, 0x9812, 0x4540, {0, 0, 0, 0, 0, 0, 0, 0}, 0);
  return std::memcmp(s.uuid.data(), prefix.uuid.data(), 8) == 0;
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

// NDR20 marshalling (C706 chapter 14) of what srvsvc's answers need.
class Ndr {
 public:
  Bytes out;
  void Align(size_t n) { out.resize((out.size() + n - 1) / n * n, std::byte{0}); }
  void U32(uint32_t v) {
    Align(4);
    LeWriter(out).U32(v);
  }
  // A unique pointer's referent id (0: null).
  void Pointer(bool present) { U32(present ? next_ref_ += 4 : 0); }
  // A conformant varying wchar_t string with its NUL.
  void String(std::string_view s) {
    Bytes utf16 = wire::ToUtf16(s);
    const uint32_t count = static_cast<uint32_t>(utf16.size() / 2 + 1);
    U32(count);
    U32(0);
    U32(count);
    out.insert(out.end(), utf16.begin(), utf16.end());
    out.push_back(std::byte{0});
    out.push_back(std::byte{0});
  }

 private:
  uint32_t next_ref_ = 0x00020000;
};

// Reads a [unique, string] wchar_t* (its referent id and, when not null, the string).
bool SkipUniqueString(LeReader& r, std::string* value) {
  const uint32_t ref = r.U32();
  if (ref == 0) return r.ok();
  const uint32_t max = r.U32();
  const uint32_t offset = r.U32();
  const uint32_t actual = r.U32();
  if (!r.ok() || offset != 0 || actual > max || actual > 4096) return false;
  ByteView chars = r.Bytes(size_t{actual} * 2);
  if (!r.ok()) return false;
  if (value != nullptr) {
    Result<std::string> s = wire::Utf16ToUtf8(chars);
    if (!s.ok()) return false;
    *value = *s;
    while (!value->empty() && value->back() == '\0') value->pop_back();
  }
  r.Skip((4 - (r.offset() % 4)) % 4);
  return r.ok();
}

// The fields of one SHARE_INFO_<level> (its pointers' referents come after, see Deferred).
void ShareFields(Ndr& n, uint32_t level, const ShareInfo& s) {
  n.Pointer(true);  // netname
  if (level == 0) return;
  n.U32(s.type);
  n.Pointer(true);  // remark
  if (level == 1) return;
  if (level == 501) {
    n.U32(0);  // shi501_flags
    return;
  }
  n.U32(0);  // permissions
  n.U32(s.max_uses);
  n.U32(s.current_uses);
  n.Pointer(true);   // path
  n.Pointer(false);  // passwd
  if (level == 502) {
    n.U32(0);          // reserved
    n.Pointer(false);  // security descriptor
  }
}
void ShareDeferred(Ndr& n, uint32_t level, const ShareInfo& s) {
  n.String(s.name);
  if (level == 0) return;
  n.String(s.comment);
  if (level == 1 || level == 501) return;
  n.String(s.path);
}
bool KnownShareLevel(uint32_t level) {
  return level == 0 || level == 1 || level == 2 || level == 501 || level == 502;
}

}  // namespace

SrvsvcPipe::SrvsvcPipe(std::function<std::vector<ShareInfo>()> shares, std::string server_name)
    : shares_(std::move(shares)), server_name_(std::move(server_name)) {}

Status SrvsvcPipe::Write(ByteView data) {
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
    if (output_.size() > kMaxOutput) {
      // A client that writes requests and never reads the answers.
      broken_ = true;
      output_.clear();
      return Status(Errc::kInvalid, "answers not read");
    }
  }
  if (input_.size() > kMaxPdu) {
    broken_ = true;
    return Status(Errc::kInvalid, "PDU too large");
  }
  return Status::Ok();
}

std::vector<std::byte> SrvsvcPipe::Read(size_t max, bool* more) {
  const size_t n = std::min(max, output_.size());
  Bytes out(output_.begin(), output_.begin() + n);
  output_.erase(output_.begin(), output_.begin() + n);
  if (more != nullptr) *more = !output_.empty();
  return out;
}

Status SrvsvcPipe::Handle(ByteView pdu) {
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
    case kRequest: {
      if (!bound_) {
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
      if (std::find(contexts_.begin(), contexts_.end(), context) == contexts_.end()) {
        // A context the bind did not accept (NDR64, another interface).
        Fault(call_id, kNcaUnknownInterface);
        return Status::Ok();
      }
      if (flags & kFirstFrag) request_.clear();
      ByteView stub = pdu.subspan(r.offset());
      if (request_.size() + stub.size() > kMaxRequest)
        return Status(Errc::kInvalid, "request too large");
      request_.insert(request_.end(), stub.begin(), stub.end());
      if (!(flags & kLastFrag)) return Status::Ok();
      // The stub is whole: answer it. (`opnum` is the last fragment's, as every fragment's.)
      Bytes whole;
      whole.swap(request_);
      Bytes head(pdu.begin(), pdu.begin() + kHeader + 8);
      wire::StoreLe16(head.data() + 22, opnum);
      head.insert(head.end(), whole.begin(), whole.end());
      Request(head, call_id);
      return Status::Ok();
    }
    default:
      Fault(call_id, kNcaProtoError);
      return Status::Ok();
  }
}

void SrvsvcPipe::Bind(ByteView pdu, uint8_t type, uint32_t call_id) {
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
    Syntax syntax;
  };
  std::vector<BindResult> results;
  for (uint8_t i = 0; i < n && r.ok(); ++i) {
    const uint16_t context = r.U16();
    const uint8_t n_transfer = r.U8();
    r.U8();
    const Syntax abstract = ReadSyntax(r);
    BindResult res{kProviderRejection, kTransferNotSupported, {}};
    bool accepted = false;
    for (uint8_t t = 0; t < n_transfer && r.ok(); ++t) {
      const Syntax transfer = ReadSyntax(r);
      if (accepted) continue;
      if (IsFeatureNegotiation(transfer)) {
        res = {kNegotiateAck, 0, {}};  // no optional features
        accepted = true;
      } else if (!(abstract == kSrvsvc)) {
        res = {kProviderRejection, kAbstractNotSupported, {}};
      } else if (transfer == kNdr20) {
        res = {kAccept, 0, kNdr20};
        accepted = true;
        bound_ = true;
        contexts_.push_back(context);
      }
    }
    results.push_back(res);
  }
  if (!r.ok() || n == 0) {
    Fault(call_id, kNcaProtoError);
    return;
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
    const std::string port = "\\PIPE\\srvsvc";
    w.U16(static_cast<uint16_t>(port.size() + 1));
    w.Bytes(AsBytes(port));
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
    w.U32(res.syntax.version);
  }
  SetFragLength(out);
  output_.insert(output_.end(), out.begin(), out.end());
}

void SrvsvcPipe::Request(ByteView pdu, uint32_t call_id) {
  const uint16_t opnum = wire::LoadLe16(pdu.data() + 22);
  LeReader r(pdu.subspan(kHeader + 8));
  Ndr n;
  switch (opnum) {
    case 15: {  // NetrShareEnum (MS-SRVS 3.1.4.8)
      if (!SkipUniqueString(r, nullptr)) return Fault(call_id, kNcaProtoError);
      const uint32_t level = r.U32();
      if (!r.ok()) return Fault(call_id, kNcaProtoError);
      if (!KnownShareLevel(level)) {
        n.U32(level);
        n.U32(level);
        n.Pointer(false);
        n.U32(0);          // TotalEntries
        n.Pointer(false);  // ResumeHandle
        n.U32(kErrorInvalidLevel);
        break;
      }
      const std::vector<ShareInfo> shares = shares_();
      n.U32(level);                                 // SHARE_ENUM_STRUCT.Level
      n.U32(level);                                 // the union's discriminant
      n.Pointer(true);                              // the container
      n.U32(static_cast<uint32_t>(shares.size()));  // EntriesRead
      n.Pointer(!shares.empty());                   // Buffer
      if (!shares.empty()) {
        n.U32(static_cast<uint32_t>(shares.size()));  // the array's conformance
        for (const ShareInfo& s : shares) ShareFields(n, level, s);
        for (const ShareInfo& s : shares) ShareDeferred(n, level, s);
      }
      n.U32(static_cast<uint32_t>(shares.size()));  // TotalEntries
      n.Pointer(true);                              // ResumeHandle
      n.U32(0);
      n.U32(0);  // WERR_OK
      break;
    }
    case 16: {  // NetrShareGetInfo (MS-SRVS 3.1.4.10)
      if (!SkipUniqueString(r, nullptr)) return Fault(call_id, kNcaProtoError);
      // NetName: a [ref, string] pointer: the string itself, no referent id.
      const uint32_t max = r.U32();
      r.U32();
      const uint32_t actual = r.U32();
      if (!r.ok() || actual > max || actual > 4096) return Fault(call_id, kNcaProtoError);
      Result<std::string> name = wire::Utf16ToUtf8(r.Bytes(size_t{actual} * 2));
      r.Skip((4 - (r.offset() % 4)) % 4);
      const uint32_t level = r.U32();
      if (!r.ok() || !name.ok()) return Fault(call_id, kNcaProtoError);
      std::string want = *name;
      while (!want.empty() && want.back() == '\0') want.pop_back();
      const auto fold = [](std::string s) {
        for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        return s;
      };
      const ShareInfo* found = nullptr;
      const std::vector<ShareInfo> shares = shares_();
      for (const ShareInfo& s : shares) {
        if (fold(s.name) == fold(want)) found = &s;
      }
      n.U32(level);
      if (!KnownShareLevel(level) && level != 1005) {
        n.Pointer(false);
        n.U32(kErrorInvalidLevel);
      } else if (found == nullptr) {
        n.Pointer(false);
        n.U32(kNerrNetNameNotFound);
      } else if (level == 1005) {
        n.Pointer(true);
        n.U32(0);  // shi1005_flags: manual caching
        n.U32(0);
      } else {
        n.Pointer(true);
        ShareFields(n, level, *found);
        ShareDeferred(n, level, *found);
        n.U32(0);
      }
      break;
    }
    case 21: {  // NetrServerGetInfo (MS-SRVS 3.1.4.17)
      if (!SkipUniqueString(r, nullptr)) return Fault(call_id, kNcaProtoError);
      const uint32_t level = r.U32();
      if (!r.ok()) return Fault(call_id, kNcaProtoError);
      n.U32(level);
      if (level != 100 && level != 101 && level != 102) {
        n.Pointer(false);
        n.U32(kErrorInvalidLevel);
        break;
      }
      n.Pointer(true);
      n.U32(500);       // PLATFORM_ID_NT
      n.Pointer(true);  // name
      if (level >= 101) {
        n.U32(10);          // version major
        n.U32(0);           // minor
        n.U32(0x00009003);  // SV_TYPE_WORKSTATION | SERVER | SERVER_NT | SERVER_UNIX
        n.Pointer(true);    // comment
      }
      if (level == 102) {
        n.U32(0xFFFFFFFF);  // users
        n.U32(0);           // disc
        n.U32(0);           // hidden
        n.U32(240);         // announce
        n.U32(3000);        // anndelta
        n.U32(0);           // licenses
        n.Pointer(true);    // userpath
      }
      n.String(server_name_);
      if (level >= 101) n.String("DittoFS");
      if (level == 102) n.String("C:\\");
      n.U32(0);
      break;
    }
    default:
      return Fault(call_id, kNcaOpRangeError);
  }
  Respond(call_id, n.out);
}

void SrvsvcPipe::Respond(uint32_t call_id, const std::vector<std::byte>& stub) {
  // Fragments of at most max_xmit_ bytes each (C706 12.6.4.2), 24-byte header each.
  const size_t room = max_xmit_ - kHeader - 8;
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
    w.U16(0);                                        // context id
    w.U8(0);                                         // cancel count
    w.U8(0);
    pdu.insert(pdu.end(), stub.begin() + at, stub.begin() + at + n);
    SetFragLength(pdu);
    output_.insert(output_.end(), pdu.begin(), pdu.end());
    at += n;
  } while (at < stub.size());
}

void SrvsvcPipe::Fault(uint32_t call_id, uint32_t status) {
  Bytes pdu;
  PutHeader(pdu, kFault, kFirstFrag | kLastFrag, call_id);
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
