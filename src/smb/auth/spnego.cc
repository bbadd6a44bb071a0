// SPDX-License-Identifier: Apache-2.0
#include "smb/auth/spnego.h"

#include <algorithm>
#include <string_view>

namespace dittofs::smb::auth {
namespace {

constexpr uint8_t kNtlmsspOid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
constexpr uint8_t kSpnegoOid[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
constexpr uint8_t kKrb5Oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
constexpr uint8_t kMsKrb5Oid[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};

constexpr uint8_t kTagEnumerated = 0x0a, kTagOctetString = 0x04, kTagOid = 0x06,
                  kTagBitString = 0x03, kTagSequence = 0x30, kTagGeneralString = 0x1b,
                  kTagApplication0 = 0x60;
constexpr uint8_t Context(int n) { return uint8_t(0xa0 + n); }
constexpr size_t kMaxMechTypes = 32;

Status Malformed(std::string_view what) {
  return Status(Errc::kInvalid, std::string("spnego: ") + std::string(what));
}

struct Tlv {
  uint8_t tag = 0;
  ByteView content;
  ByteView whole;
};

// Reads one DER TLV from the front of `in`.
Result<Tlv> ReadTlv(ByteView& in) {
  if (in.size() < 2) return Malformed("truncated");
  uint8_t tag = uint8_t(in[0]);
  if ((tag & 0x1f) == 0x1f) return Malformed("multi-byte tag");
  uint8_t first = uint8_t(in[1]);
  size_t header = 2, length = 0;
  if (first < 0x80) {
    length = first;
  } else {
    size_t n = first & 0x7f;
    if (n == 0 || n > 3) return Malformed("unsupported length form");
    if (in.size() < 2 + n) return Malformed("truncated length");
    if (uint8_t(in[2]) == 0) return Malformed("non-minimal length");
    for (size_t k = 0; k < n; ++k) length = (length << 8) | uint8_t(in[2 + k]);
    if (length < 0x80) return Malformed("non-minimal length");
    header += n;
  }
  if (length > in.size() - header) return Malformed("length past the end");
  Tlv tlv{tag, in.subspan(header, length), in.first(header + length)};
  in = in.subspan(header + length);
  return tlv;
}

// Reads a TLV that must be all of `in` and have tag `tag`.
Result<ByteView> ReadOnly(ByteView in, uint8_t tag) {
  ASSIGN_OR_RETURN(Tlv tlv, ReadTlv(in));
  if (tlv.tag != tag) return Malformed("unexpected tag");
  if (!in.empty()) return Malformed("trailing bytes");
  return tlv.content;
}

// Iterates the [n] fields of a SEQUENCE, insisting on strictly increasing tags.
struct Fields {
  ByteView rest;
  int last = -1;
  Result<std::optional<Tlv>> Next() {
    if (rest.empty()) return std::optional<Tlv>();
    ASSIGN_OR_RETURN(Tlv tlv, ReadTlv(rest));
    int n = tlv.tag - 0xa0;
    if (n < 0 || n > 4 || n <= last) return Malformed("field tags out of order or unknown");
    last = n;
    return std::optional<Tlv>(tlv);
  }
};

Result<NegTokenInit> ParseInit(ByteView content) {
  ASSIGN_OR_RETURN(ByteView seq, ReadOnly(content, kTagSequence));
  NegTokenInit init;
  bool have_mechs = false;
  Fields fields{seq};
  while (true) {
    ASSIGN_OR_RETURN(std::optional<Tlv> field, fields.Next());
    if (!field) break;
    switch (field->tag) {
      case Context(0): {
        ByteView list = field->content;
        ASSIGN_OR_RETURN(Tlv mechs, ReadTlv(list));
        if (mechs.tag != kTagSequence || !list.empty()) return Malformed("bad mechTypes");
        init.mech_types_der = mechs.whole;
        ByteView rest = mechs.content;
        while (!rest.empty()) {
          ASSIGN_OR_RETURN(Tlv oid, ReadTlv(rest));
          if (oid.tag != kTagOid || oid.content.empty()) return Malformed("bad mech OID");
          if (init.mech_types.size() == kMaxMechTypes) return Malformed("too many mechs");
          init.mech_types.push_back(oid.content);
        }
        if (init.mech_types.empty()) return Malformed("empty mechTypes");
        have_mechs = true;
        break;
      }
      case Context(1):
        RETURN_IF_ERROR(ReadOnly(field->content, kTagBitString));
        break;
      case Context(2): {
        ASSIGN_OR_RETURN(ByteView token, ReadOnly(field->content, kTagOctetString));
        init.mech_token = token;
        break;
      }
      case Context(3): {
        // RFC 4178's mechListMIC, or MS-SPNG's negHints (a SEQUENCE) in NegTokenInit2.
        ByteView in = field->content;
        ASSIGN_OR_RETURN(Tlv inner, ReadTlv(in));
        if (!in.empty()) return Malformed("trailing bytes");
        if (inner.tag == kTagOctetString) {
          init.mech_list_mic = inner.content;
        } else if (inner.tag != kTagSequence) {
          return Malformed("bad field [3]");
        }
        break;
      }
      case Context(4): {
        ASSIGN_OR_RETURN(ByteView mic, ReadOnly(field->content, kTagOctetString));
        init.mech_list_mic = mic;
        break;
      }
    }
  }
  if (!have_mechs) return Malformed("NegTokenInit without mechTypes");
  return init;
}

Result<NegTokenResp> ParseResp(ByteView content) {
  ASSIGN_OR_RETURN(ByteView seq, ReadOnly(content, kTagSequence));
  NegTokenResp resp;
  Fields fields{seq};
  while (true) {
    ASSIGN_OR_RETURN(std::optional<Tlv> field, fields.Next());
    if (!field) break;
    switch (field->tag) {
      case Context(0): {
        ASSIGN_OR_RETURN(ByteView state, ReadOnly(field->content, kTagEnumerated));
        if (state.size() != 1 || uint8_t(state[0]) > 3) return Malformed("bad negState");
        resp.neg_state = NegState(uint8_t(state[0]));
        break;
      }
      case Context(1): {
        ASSIGN_OR_RETURN(ByteView oid, ReadOnly(field->content, kTagOid));
        resp.supported_mech = oid;
        break;
      }
      case Context(2): {
        ASSIGN_OR_RETURN(ByteView token, ReadOnly(field->content, kTagOctetString));
        resp.response_token = token;
        break;
      }
      case Context(3): {
        ASSIGN_OR_RETURN(ByteView mic, ReadOnly(field->content, kTagOctetString));
        resp.mech_list_mic = mic;
        break;
      }
      default:
        return Malformed("unknown NegTokenResp field");
    }
  }
  return resp;
}

void PutTlv(std::vector<std::byte>& out, uint8_t tag, ByteView content) {
  out.push_back(std::byte(tag));
  size_t n = content.size();
  if (n < 0x80) {
    out.push_back(std::byte(n));
  } else if (n < 0x100) {
    out.push_back(std::byte{0x81});
    out.push_back(std::byte(n));
  } else if (n < 0x10000) {
    out.push_back(std::byte{0x82});
    out.push_back(std::byte(n >> 8));
    out.push_back(std::byte(n));
  } else {
    out.push_back(std::byte{0x83});
    out.push_back(std::byte(n >> 16));
    out.push_back(std::byte(n >> 8));
    out.push_back(std::byte(n));
  }
  out.insert(out.end(), content.begin(), content.end());
}

std::vector<std::byte> Tlv1(uint8_t tag, ByteView content) {
  std::vector<std::byte> out;
  PutTlv(out, tag, content);
  return out;
}

}  // namespace

ByteView NtlmsspOid() {
  return ByteView(reinterpret_cast<const std::byte*>(kNtlmsspOid), sizeof(kNtlmsspOid));
}
ByteView SpnegoOid() {
  return ByteView(reinterpret_cast<const std::byte*>(kSpnegoOid), sizeof(kSpnegoOid));
}
ByteView Krb5Oid() {
  return ByteView(reinterpret_cast<const std::byte*>(kKrb5Oid), sizeof(kKrb5Oid));
}
ByteView MsKrb5Oid() {
  return ByteView(reinterpret_cast<const std::byte*>(kMsKrb5Oid), sizeof(kMsKrb5Oid));
}

Result<NegotiationToken> ParseNegotiationToken(ByteView token) {
  if (token.size() > kMaxSpnegoToken) return Malformed("token too large");
  ByteView in = token;
  ASSIGN_OR_RETURN(Tlv outer, ReadTlv(in));
  if (!in.empty()) return Malformed("trailing bytes");
  NegotiationToken result;
  if (outer.tag == kTagApplication0) {
    // InitialContextToken: thisMech, then the inner NegotiationToken (a NegTokenInit).
    ByteView body = outer.content;
    ASSIGN_OR_RETURN(Tlv mech, ReadTlv(body));
    if (mech.tag != kTagOid || !std::ranges::equal(mech.content, SpnegoOid())) {
      return Malformed("not the SPNEGO mechanism");
    }
    ASSIGN_OR_RETURN(ByteView init, ReadOnly(body, Context(0)));
    ASSIGN_OR_RETURN(result.init, ParseInit(init));
    result.is_init = true;
  } else if (outer.tag == Context(0)) {
    ASSIGN_OR_RETURN(result.init, ParseInit(outer.content));
    result.is_init = true;
  } else if (outer.tag == Context(1)) {
    ASSIGN_OR_RETURN(result.resp, ParseResp(outer.content));
  } else {
    return Malformed("not a NegotiationToken");
  }
  return result;
}

std::vector<std::byte> EncodeNegTokenResp(const NegTokenRespFields& fields) {
  std::vector<std::byte> seq;
  if (fields.neg_state) {
    std::byte state[1] = {std::byte(*fields.neg_state)};
    PutTlv(seq, Context(0), Tlv1(kTagEnumerated, state));
  }
  if (fields.supported_mech) PutTlv(seq, Context(1), Tlv1(kTagOid, *fields.supported_mech));
  if (fields.response_token) PutTlv(seq, Context(2), Tlv1(kTagOctetString, *fields.response_token));
  if (fields.mech_list_mic) PutTlv(seq, Context(3), Tlv1(kTagOctetString, *fields.mech_list_mic));
  return Tlv1(Context(1), Tlv1(kTagSequence, seq));
}

std::vector<std::byte> EncodeNegTokenInit2(const std::vector<ByteView>& mechs) {
  constexpr std::string_view kHint = "not_defined_in_RFC4178@please_ignore";
  std::vector<std::byte> list;
  for (ByteView oid : mechs) PutTlv(list, kTagOid, oid);
  std::vector<std::byte> seq;
  PutTlv(seq, Context(0), Tlv1(kTagSequence, list));
  PutTlv(seq, Context(3),
         Tlv1(kTagSequence, Tlv1(Context(0), Tlv1(kTagGeneralString, AsBytes(kHint)))));
  std::vector<std::byte> body = Tlv1(kTagOid, SpnegoOid());
  PutTlv(body, Context(0), Tlv1(kTagSequence, seq));
  return Tlv1(kTagApplication0, body);
}

}  // namespace dittofs::smb::auth
