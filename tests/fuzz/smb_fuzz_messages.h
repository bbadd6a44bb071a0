// SPDX-License-Identifier: Apache-2.0
#pragma once

// SMB2 requests built from MS-SMB2 §2.2 (and MS-NLMP 2.2.1, RFC 4178 for the anonymous logon),
// for smb_server_fuzz's seeds. A message is its 64-byte header and body, without the 4-byte
// Direct TCP prefix.
//
// The server picks session and file ids at random, so a stored input cannot name them:
// smb_server_fuzz replaces 8-byte markers with the ids its connection handed out. A marker is
// "DFSSES" or "DFSFID" and a 16-bit little-endian index: the index-th session id (in the order
// responses named them) or CREATE's file id.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace dittofs::fuzz::smbmsg {

using Bytes = std::vector<uint8_t>;

inline constexpr char kSessionMarker[] = "DFSSES";
inline constexpr char kFileMarker[] = "DFSFID";

inline uint64_t Marker(const char* prefix, uint16_t index) {
  uint8_t b[8];
  std::memcpy(b, prefix, 6);
  b[6] = static_cast<uint8_t>(index);
  b[7] = static_cast<uint8_t>(index >> 8);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}
inline uint64_t SessionMarker(uint16_t index = 0) { return Marker(kSessionMarker, index); }
inline uint64_t FileMarker(uint16_t index = 0) { return Marker(kFileMarker, index); }

inline void Le(Bytes& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(i < 8 ? static_cast<uint8_t>(v >> (8 * i)) : 0);
}
inline void Put16(Bytes& out, size_t at, uint16_t v) {
  out[at] = static_cast<uint8_t>(v);
  out[at + 1] = static_cast<uint8_t>(v >> 8);
}
inline void Put32(Bytes& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void Pad8(Bytes& out) {
  while (out.size() % 8 != 0) out.push_back(0);
}
inline Bytes Utf16(std::string_view ascii) {
  Bytes out;
  for (char c : ascii) Le(out, static_cast<uint8_t>(c), 2);
  return out;
}

struct Hdr {
  uint16_t command = 0;
  uint64_t message_id = 0;
  uint64_t session_id = 0;
  uint32_t tree_id = 0;
  uint32_t flags = 0;
  uint16_t credit_charge = 1;
  uint16_t credits = 64;
};

// The header (§2.2.1.2, the sync form).
inline Bytes Header(const Hdr& h) {
  Bytes out = {0xFE, 'S', 'M', 'B'};
  Le(out, 64, 2);
  Le(out, h.credit_charge, 2);
  Le(out, 0, 4);  // ChannelSequence / Reserved
  Le(out, h.command, 2);
  Le(out, h.credits, 2);
  Le(out, h.flags, 4);
  Le(out, 0, 4);  // NextCommand
  Le(out, h.message_id, 8);
  Le(out, 0xFEFF, 4);  // Reserved
  Le(out, h.tree_id, 4);
  Le(out, h.session_id, 8);
  Le(out, 0, 16);  // Signature
  return out;
}

inline Bytes Message(const Hdr& h, const Bytes& body) {
  Bytes m = Header(h);
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

// Joins messages into a compound chain: NextCommand of each but the last, padded to 8.
inline Bytes Chain(const std::vector<Bytes>& parts) {
  Bytes out;
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t start = out.size();
    out.insert(out.end(), parts[i].begin(), parts[i].end());
    if (i + 1 < parts.size()) {
      Pad8(out);
      Put32(out, start + 20, static_cast<uint32_t>(out.size() - start));
    }
  }
  return out;
}

// The SMB3 POSIX extensions' GUID: the POSIX negotiate context's data, the create context's tag.
inline const Bytes kPosixGuid = {0x93, 0xAD, 0x25, 0x50, 0x9C, 0xB4, 0x11, 0xE7,
                                 0xB4, 0x23, 0x83, 0xDE, 0x96, 0x8B, 0xCD, 0x7C};

// NEGOTIATE (§2.2.3). 3.1.1 adds the preauth integrity, encryption and signing contexts, and
// with `posix` the SMB3 POSIX extensions' (0x100).
inline Bytes NegotiateBody(const std::vector<uint16_t>& dialects, uint16_t security_mode = 1,
                           bool posix = false) {
  const bool smb311 = std::find(dialects.begin(), dialects.end(), 0x0311) != dialects.end();
  Bytes b;
  Le(b, 36, 2);
  Le(b, dialects.size(), 2);
  Le(b, security_mode, 2);
  Le(b, 0, 2);
  Le(b, 0x7F, 4);  // capabilities: DFS, leasing, large MTU, multichannel, ..., encryption
  for (int i = 0; i < 16; ++i) b.push_back(static_cast<uint8_t>(0xA0 + i));  // ClientGuid
  const size_t context_fields = b.size();
  Le(b, 0, 8);  // NegotiateContextOffset/Count/Reserved2, or ClientStartTime
  for (uint16_t d : dialects) Le(b, d, 2);
  if (smb311) {
    // Offsets count from the header's first byte (64 bytes before the body).
    while ((b.size() + 64) % 8 != 0) b.push_back(0);
    Put32(b, context_fields, static_cast<uint32_t>(b.size() + 64));
    Put16(b, context_fields + 4, posix ? 4 : 3);
    auto context = [&](uint16_t type, const Bytes& data, bool last) {
      Le(b, type, 2);
      Le(b, data.size(), 2);
      Le(b, 0, 4);
      b.insert(b.end(), data.begin(), data.end());
      if (!last) Pad8(b);
    };
    Bytes preauth;
    Le(preauth, 1, 2);   // HashAlgorithmCount
    Le(preauth, 32, 2);  // SaltLength
    Le(preauth, 1, 2);   // SHA-512
    for (int i = 0; i < 32; ++i) preauth.push_back(static_cast<uint8_t>(i));
    context(1, preauth, false);
    Bytes encryption;
    Le(encryption, 2, 2);
    Le(encryption, 2, 2);  // AES-128-GCM
    Le(encryption, 1, 2);  // AES-128-CCM
    context(2, encryption, false);
    Bytes signing;
    Le(signing, 2, 2);
    Le(signing, 2, 2);  // AES-GMAC
    Le(signing, 1, 2);  // AES-CMAC
    context(8, signing, !posix);
    if (posix) context(0x100, kPosixGuid, true);
  }
  return b;
}

// DER TLV with a definite, minimal length.
inline Bytes Tlv(uint8_t tag, const Bytes& content) {
  Bytes out = {tag};
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}
inline Bytes Cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// MS-NLMP 2.2.1.1 NEGOTIATE_MESSAGE without Version: no domain, no workstation.
inline Bytes NtlmNegotiate() {
  Bytes m = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
  Le(m, 1, 4);
  // UNICODE, REQUEST_TARGET, NTLM, ALWAYS_SIGN, EXTENDED_SESSIONSECURITY, 128, KEY_EXCH, 56.
  Le(m, 0x00000001 | 0x4 | 0x200 | 0x8000 | 0x80000 | 0x20000000 | 0x40000000 | 0x80000000, 4);
  for (int i = 0; i < 2; ++i) {  // DomainNameFields, WorkstationFields: empty at offset 32
    Le(m, 0, 2);
    Le(m, 0, 2);
    Le(m, 32, 4);
  }
  return m;
}

// MS-NLMP 2.2.1.3 AUTHENTICATE_MESSAGE for an anonymous logon (3.2.5.1.2): every field empty.
inline Bytes NtlmAnonymousAuthenticate() {
  Bytes m = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
  Le(m, 3, 4);
  for (int i = 0; i < 6; ++i) {  // Lm, Nt, Domain, User, Workstation, EncryptedRandomSessionKey
    Le(m, 0, 2);
    Le(m, 0, 2);
    Le(m, 64, 4);
  }
  Le(m, 0x00000001 | 0x200 | 0x800 | 0x8000 | 0x80000 | 0x20000000 | 0x80000000, 4);  // +ANONYMOUS
  return m;
}

// RFC 4178 / RFC 2743 §3.1: the GSS-API wrapped NegTokenInit offering NTLMSSP with its token.
inline Bytes SpnegoInit(const Bytes& ntlm) {
  const Bytes spnego_oid = {0x2B, 0x06, 0x01, 0x05, 0x05, 0x02};
  const Bytes ntlm_oid = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0A};
  Bytes mech_types = Tlv(0xA0, Tlv(0x30, Tlv(0x06, ntlm_oid)));
  Bytes mech_token = Tlv(0xA2, Tlv(0x04, ntlm));
  Bytes init = Tlv(0xA0, Tlv(0x30, Cat(mech_types, mech_token)));
  return Tlv(0x60, Cat(Tlv(0x06, spnego_oid), init));
}

// The NegTokenResp carrying the client's next NTLMSSP message.
inline Bytes SpnegoResp(const Bytes& ntlm) {
  return Tlv(0xA1, Tlv(0x30, Tlv(0xA2, Tlv(0x04, ntlm))));
}

// SESSION_SETUP (§2.2.5).
inline Bytes SessionSetupBody(const Bytes& token, uint8_t security_mode = 1) {
  Bytes b;
  Le(b, 25, 2);
  b.push_back(0);  // Flags
  b.push_back(security_mode);
  Le(b, 1, 4);   // Capabilities: DFS
  Le(b, 0, 4);   // Channel
  Le(b, 88, 2);  // SecurityBufferOffset
  Le(b, token.size(), 2);
  Le(b, 0, 8);  // PreviousSessionId
  b.insert(b.end(), token.begin(), token.end());
  return b;
}

// TREE_CONNECT (§2.2.9).
inline Bytes TreeConnectBody(std::string_view path) {
  Bytes name = Utf16(path);
  Bytes b;
  Le(b, 9, 2);
  Le(b, 0, 2);
  Le(b, 72, 2);
  Le(b, name.size(), 2);
  return Cat(b, name);
}

inline Bytes EmptyBody() {
  Bytes b;
  Le(b, 4, 2);
  Le(b, 0, 2);
  return b;
}

inline void Handle(Bytes& b, uint64_t id) {
  Le(b, id, 8);
  Le(b, id, 8);
}

// CREATE (§2.2.13) of `name`, no contexts.
inline Bytes CreateBody(std::string_view name, uint32_t disposition = 3 /* open-if */,
                        uint32_t options = 0x40 /* non-directory */,
                        uint32_t access = 0x0012019F /* read, write, attributes, delete */,
                        uint32_t share_access = 7 /* read, write, delete */) {
  Bytes n = Utf16(name);
  Bytes b;
  Le(b, 57, 2);
  b.push_back(0);  // SecurityFlags
  b.push_back(0);  // RequestedOplockLevel
  Le(b, 2, 4);     // ImpersonationLevel: impersonation
  Le(b, 0, 8);     // SmbCreateFlags
  Le(b, 0, 8);     // Reserved
  Le(b, access | 0x10000 /* DELETE */, 4);
  Le(b, 0x80, 4);  // FILE_ATTRIBUTE_NORMAL
  Le(b, share_access, 4);
  Le(b, disposition, 4);
  Le(b, options, 4);
  Le(b, 120, 2);  // NameOffset
  Le(b, n.size(), 2);
  Le(b, 0, 4);  // CreateContextsOffset
  Le(b, 0, 4);  // CreateContextsLength
  b.insert(b.end(), n.begin(), n.end());
  if (n.empty()) b.push_back(0);  // the one byte of the variable part
  return b;
}

// A CREATE body (CreateBody's) with one create context `name` (4 bytes, or the 16-byte POSIX
// GUID) holding `data` appended.
inline Bytes WithCreateContext(Bytes body, const Bytes& name, const Bytes& data) {
  while ((64 + body.size()) % 8 != 0) body.push_back(0);
  Put32(body, 48, static_cast<uint32_t>(64 + body.size()));  // CreateContextsOffset
  Bytes ctx;
  const size_t data_at = (16 + name.size() + 7) & ~size_t{7};
  Le(ctx, 0, 4);  // Next
  Le(ctx, 16, 2);
  Le(ctx, name.size(), 2);
  Le(ctx, 0, 2);
  Le(ctx, data_at, 2);
  Le(ctx, data.size(), 4);
  ctx.insert(ctx.end(), name.begin(), name.end());
  while (ctx.size() < data_at) ctx.push_back(0);
  ctx.insert(ctx.end(), data.begin(), data.end());
  Put32(body, 52, static_cast<uint32_t>(ctx.size()));
  return Cat(body, ctx);
}

inline Bytes CloseBody(uint64_t fid, uint16_t flags = 1) {
  Bytes b;
  Le(b, 24, 2);
  Le(b, flags, 2);
  Le(b, 0, 4);
  Handle(b, fid);
  return b;
}

inline Bytes WriteBody(uint64_t fid, uint64_t offset, const Bytes& data) {
  Bytes b;
  Le(b, 49, 2);
  Le(b, 112, 2);  // DataOffset
  Le(b, data.size(), 4);
  Le(b, offset, 8);
  Handle(b, fid);
  Le(b, 0, 4);  // Channel
  Le(b, 0, 4);  // RemainingBytes
  Le(b, 0, 2);  // WriteChannelInfoOffset
  Le(b, 0, 2);
  Le(b, 0, 4);  // Flags
  return Cat(b, data);
}

inline Bytes ReadBody(uint64_t fid, uint64_t offset, uint32_t length) {
  Bytes b;
  Le(b, 49, 2);
  b.push_back(0x50);  // Padding
  b.push_back(0);     // Flags
  Le(b, length, 4);
  Le(b, offset, 8);
  Handle(b, fid);
  Le(b, 0, 4);  // MinimumCount
  Le(b, 0, 4);  // Channel
  Le(b, 0, 4);  // RemainingBytes
  Le(b, 0, 2);  // ReadChannelInfoOffset
  Le(b, 0, 2);
  b.push_back(0);
  return b;
}

inline Bytes QueryInfoBody(uint64_t fid, uint8_t type, uint8_t cls, uint32_t output = 4096,
                           const Bytes& input = {}) {
  Bytes b;
  Le(b, 41, 2);
  b.push_back(type);
  b.push_back(cls);
  Le(b, output, 4);
  Le(b, input.empty() ? 0 : 64 + 40, 2);  // InputBufferOffset: the buffer, after the header
  Le(b, 0, 2);
  Le(b, input.size(), 4);  // InputBufferLength
  Le(b, 0, 4);             // AdditionalInformation
  Le(b, 0, 4);             // Flags
  Handle(b, fid);
  if (input.empty()) b.push_back(0);
  b.insert(b.end(), input.begin(), input.end());
  return b;
}

inline Bytes QueryDirectoryBody(uint64_t fid, uint8_t cls, std::string_view pattern,
                                uint8_t flags = 1 /* restart */) {
  Bytes p = Utf16(pattern);
  Bytes b;
  Le(b, 33, 2);
  b.push_back(cls);
  b.push_back(flags);
  Le(b, 0, 4);  // FileIndex
  Handle(b, fid);
  Le(b, 96, 2);
  Le(b, p.size(), 2);
  Le(b, 65536, 4);
  return Cat(b, p);
}

inline Bytes SetInfoBody(uint64_t fid, uint8_t type, uint8_t cls, const Bytes& buffer) {
  Bytes b;
  Le(b, 33, 2);
  b.push_back(type);
  b.push_back(cls);
  Le(b, buffer.size(), 4);
  Le(b, 96, 2);  // BufferOffset
  Le(b, 0, 2);
  Le(b, 0, 4);  // AdditionalInformation
  Handle(b, fid);
  return Cat(b, buffer);
}

// LOCK (§2.2.26) of one range; `flags` as SMB2_LOCK_ELEMENT's (2 exclusive, 4 unlock,
// 0x10 fail immediately).
inline Bytes LockBody(uint64_t fid, uint64_t offset, uint64_t length, uint32_t flags) {
  Bytes b;
  Le(b, 48, 2);
  Le(b, 1, 2);  // LockCount
  Le(b, 0, 4);  // LockSequenceNumber / Index
  Handle(b, fid);
  Le(b, offset, 8);
  Le(b, length, 8);
  Le(b, flags, 4);
  Le(b, 0, 4);  // Reserved
  return b;
}

// FILE_RENAME_INFORMATION (MS-FSCC 2.4.37.2, the SMB2 form).
inline Bytes RenameInfo(std::string_view new_name, bool replace = true) {
  Bytes n = Utf16(new_name);
  Bytes b;
  b.push_back(replace ? 1 : 0);
  Le(b, 0, 7);
  Le(b, 0, 8);  // RootDirectory
  Le(b, n.size(), 4);
  return Cat(b, n);
}

}  // namespace dittofs::fuzz::smbmsg
