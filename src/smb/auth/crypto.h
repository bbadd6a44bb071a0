// SPDX-License-Identifier: Apache-2.0
#pragma once

// The cryptographic primitives of NTLM (MS-NLMP section 6) and the NTLMv2 computations built on
// them (MS-NLMP 3.3.2, 3.4.4.2, 3.4.5). MD4, MD5 and RC4 are broken; they exist here only
// because the protocol requires them. Every function is pure and thread-safe.

#include <nettle/arcfour.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.h"

namespace dittofs::smb::auth {

using Key16 = std::array<std::byte, 16>;

Key16 Md5(ByteView a, ByteView b = {});
Key16 HmacMd5(ByteView key, ByteView a, ByteView b = {});

// RC4 (ARCFOUR) as a stream: Crypt continues the key stream across calls, as a sealing handle
// does (MS-NLMP 3.4.3).
class Rc4 {
 public:
  // REQUIRES: 1 <= key.size() <= 256.
  explicit Rc4(ByteView key);
  void Crypt(MutableByteView data);

 private:
  arcfour_ctx ctx_;
};

// Whether a == b, in time that depends only on the sizes.
bool ConstantTimeEqual(ByteView a, ByteView b);

// NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(nt_hash, UPPERCASE(user) || domain). `user_utf16` and
// `domain_utf16` are UTF-16LE as the client sent them; only the user is uppercased.
Key16 ResponseKeyNt(ByteView nt_hash, ByteView user_utf16, ByteView domain_utf16);

// `text` (UTF-16LE) with its letters made uppercase. Windows uppercases with its own table; this
// covers ASCII, Latin-1, Latin Extended-A pairs, Greek and Cyrillic, which is what account names
// hold in practice. An odd trailing byte is kept unchanged.
std::vector<std::byte> UpperUtf16(ByteView text);

// Session keys for one direction of NTLM session security with extended session security
// (MS-NLMP 3.4.5.2 SIGNKEY, 3.4.5.3 SEALKEY). `flags` are the negotiated NegotiateFlags (they
// choose the sealing key's strength).
enum class Direction { kClientToServer, kServerToClient };
Key16 SignKey(const Key16& exported_session_key, Direction direction);
Key16 SealKey(const Key16& exported_session_key, uint32_t flags, Direction direction);

// The NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.2) of `message` with extended session security
// (3.4.4.2): Version 1, HMAC_MD5(sign_key, seq_num || message)[0..7] encrypted with `seal` when
// key exchange was negotiated (`seal` non-null; its key stream advances), then seq_num.
std::array<std::byte, 16> MessageSignature(const Key16& sign_key, Rc4* seal, uint32_t seq_num,
                                           ByteView message);

}  // namespace dittofs::smb::auth
