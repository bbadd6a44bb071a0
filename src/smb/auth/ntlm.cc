// SPDX-License-Identifier: Apache-2.0
#include "smb/auth/ntlm.h"

#include <cstring>

namespace dittofs::smb::auth {
namespace {

constexpr std::byte kSignature[8] = {std::byte{'N'}, std::byte{'T'}, std::byte{'L'}, std::byte{'M'},
                                     std::byte{'S'}, std::byte{'S'}, std::byte{'P'}, std::byte{0}};

uint16_t Le16(ByteView b, size_t at) {
  return uint16_t(uint8_t(b[at]) | (uint8_t(b[at + 1]) << 8));
}
uint32_t Le32(ByteView b, size_t at) {
  return uint32_t(Le16(b, at)) | (uint32_t(Le16(b, at + 2)) << 16);
}
void PutLe16(std::vector<std::byte>& out, uint16_t v) {
  out.push_back(std::byte(v));
  out.push_back(std::byte(v >> 8));
}
void PutLe32(std::vector<std::byte>& out, uint32_t v) {
  PutLe16(out, uint16_t(v));
  PutLe16(out, uint16_t(v >> 16));
}
// A Len/MaxLen/Offset field triple (2.2.1.x "...Fields"); MaxLen is ignored as the spec allows.
Result<ByteView> Field(ByteView msg, size_t at, size_t* min_offset) {
  uint16_t len = Le16(msg, at);
  uint32_t offset = Le32(msg, at + 4);
  if (len == 0) return ByteView();
  if (offset > msg.size() || len > msg.size() - offset) {
    return Status(Errc::kInvalid, "ntlm: a field lies outside its message");
  }
  if (offset < *min_offset) *min_offset = offset;
  return msg.subspan(offset, len);
}

void AppendUtf16(std::vector<std::byte>& out, uint32_t c) {
  if (c >= 0x10000) {
    c -= 0x10000;
    AppendUtf16(out, 0xD800 | (c >> 10));
    AppendUtf16(out, 0xDC00 | (c & 0x3FF));
    return;
  }
  PutLe16(out, uint16_t(c));
}

void AppendUtf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

}  // namespace

uint32_t NtlmMessageType(ByteView msg) {
  if (msg.size() < 12 || std::memcmp(msg.data(), kSignature, 8) != 0) return 0;
  uint32_t type = Le32(msg, 8);
  return type >= 1 && type <= 3 ? type : 0;
}

Result<NegotiateMessage> ParseNegotiate(ByteView msg) {
  // Signature, MessageType and NegotiateFlags; the domain and workstation fields and the
  // Version that follow are not used, and old clients omit them.
  if (msg.size() < 16 || msg.size() > kMaxNtlmMessage || NtlmMessageType(msg) != 1) {
    return Status(Errc::kInvalid, "ntlm: not a NEGOTIATE_MESSAGE");
  }
  return NegotiateMessage{.flags = Le32(msg, 12)};
}

std::vector<std::byte> BuildChallenge(const ChallengeFields& fields) {
  constexpr size_t kHeader = 56;
  std::vector<std::byte> out(kSignature, kSignature + 8);
  PutLe32(out, 2);
  PutLe16(out, uint16_t(fields.target_name.size()));
  PutLe16(out, uint16_t(fields.target_name.size()));
  PutLe32(out, kHeader);
  PutLe32(out, fields.flags);
  out.insert(out.end(), fields.server_challenge.begin(), fields.server_challenge.end());
  out.resize(out.size() + 8);  // Reserved
  PutLe16(out, uint16_t(fields.target_info.size()));
  PutLe16(out, uint16_t(fields.target_info.size()));
  PutLe32(out, uint32_t(kHeader + fields.target_name.size()));
  // Version (2.2.2.10): 10.0 build 20348, NTLMSSP_REVISION_W2K3.
  const uint8_t version[8] = {10, 0, 0x7C, 0x4F, 0, 0, 0, 0x0F};
  for (uint8_t v : version) out.push_back(std::byte(v));
  out.insert(out.end(), fields.target_name.begin(), fields.target_name.end());
  out.insert(out.end(), fields.target_info.begin(), fields.target_info.end());
  return out;
}

Result<AuthenticateMessage> ParseAuthenticate(ByteView msg) {
  // The fixed part up to NegotiateFlags (offset 64); Version and MIC are optional.
  if (msg.size() < 64 || msg.size() > kMaxNtlmMessage || NtlmMessageType(msg) != 3) {
    return Status(Errc::kInvalid, "ntlm: not an AUTHENTICATE_MESSAGE");
  }
  AuthenticateMessage m;
  size_t min_offset = msg.size();
  ASSIGN_OR_RETURN(m.lm_response, Field(msg, 12, &min_offset));
  ASSIGN_OR_RETURN(m.nt_response, Field(msg, 20, &min_offset));
  ASSIGN_OR_RETURN(m.domain, Field(msg, 28, &min_offset));
  ASSIGN_OR_RETURN(m.user, Field(msg, 36, &min_offset));
  ASSIGN_OR_RETURN(m.workstation, Field(msg, 44, &min_offset));
  ASSIGN_OR_RETURN(m.encrypted_session_key, Field(msg, 52, &min_offset));
  m.flags = Le32(msg, 60);
  if (min_offset < 64) return Status(Errc::kInvalid, "ntlm: a field overlaps the header");
  m.mic_space = msg.size() >= kMicOffset + 16 && min_offset >= kMicOffset + 16;
  return m;
}

void AppendAvPair(std::vector<std::byte>& out, AvId id, ByteView value) {
  PutLe16(out, uint16_t(id));
  PutLe16(out, uint16_t(value.size()));
  out.insert(out.end(), value.begin(), value.end());
}

Result<std::optional<ByteView>> FindAvPair(ByteView pairs, AvId id) {
  size_t at = 0;
  while (at + 4 <= pairs.size()) {
    uint16_t pair_id = Le16(pairs, at);
    uint16_t len = Le16(pairs, at + 2);
    if (len > pairs.size() - at - 4)
      return Status(Errc::kInvalid, "ntlm: an AV_PAIR runs past its list");
    if (pair_id == uint16_t(AvId::kEol)) return std::optional<ByteView>();
    if (pair_id == uint16_t(id)) return std::optional<ByteView>(pairs.subspan(at + 4, len));
    at += 4 + len;
  }
  return std::optional<ByteView>();
}

std::vector<std::byte> Utf8ToUtf16(std::string_view text) {
  std::vector<std::byte> out;
  out.reserve(text.size() * 2);
  size_t k = 0;
  auto cont = [&](size_t at) { return at < text.size() && (uint8_t(text[at]) & 0xC0) == 0x80; };
  while (k < text.size()) {
    uint8_t b = uint8_t(text[k]);
    uint32_t c = 0xFFFD;
    size_t n = 1;
    if (b < 0x80) {
      c = b;
    } else if (b >= 0xC2 && b < 0xE0 && cont(k + 1)) {
      c = ((b & 0x1F) << 6) | (uint8_t(text[k + 1]) & 0x3F);
      n = 2;
    } else if (b >= 0xE0 && b < 0xF0 && cont(k + 1) && cont(k + 2)) {
      c = ((b & 0x0F) << 12) | ((uint8_t(text[k + 1]) & 0x3F) << 6) | (uint8_t(text[k + 2]) & 0x3F);
      n = 3;
      if (c < 0x800 || (c >= 0xD800 && c < 0xE000)) c = 0xFFFD;
    } else if (b >= 0xF0 && b < 0xF5 && cont(k + 1) && cont(k + 2) && cont(k + 3)) {
      c = ((b & 0x07) << 18) | ((uint8_t(text[k + 1]) & 0x3F) << 12) |
          ((uint8_t(text[k + 2]) & 0x3F) << 6) | (uint8_t(text[k + 3]) & 0x3F);
      n = 4;
      if (c < 0x10000 || c > 0x10FFFF) c = 0xFFFD;
    }
    AppendUtf16(out, c);
    k += n;
  }
  return out;
}

std::string Utf16ToUtf8(ByteView text) {
  std::string out;
  size_t k = 0;
  while (k + 1 < text.size()) {
    uint32_t c = Le16(text, k);
    k += 2;
    if (c >= 0xD800 && c < 0xDC00 && k + 1 < text.size()) {
      uint32_t low = Le16(text, k);
      if (low >= 0xDC00 && low < 0xE000) {
        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
        k += 2;
      }
    }
    if (c >= 0xD800 && c < 0xE000) c = 0xFFFD;
    AppendUtf8(out, c);
  }
  if (k < text.size()) AppendUtf8(out, 0xFFFD);
  return out;
}

std::vector<std::byte> Latin1ToUtf16(ByteView text) {
  std::vector<std::byte> out;
  out.reserve(text.size() * 2);
  for (std::byte b : text) PutLe16(out, uint8_t(b));
  return out;
}

}  // namespace dittofs::smb::auth
