// SPDX-License-Identifier: Apache-2.0
#pragma once

// SPNEGO (RFC 4178, with MS-SPNG's NegTokenInit2) in DER: decoding the client's
// NegotiationToken, with or without the GSS-API InitialContextToken wrapper
// ([APPLICATION 0] with the SPNEGO OID, RFC 2743 §3.1), and encoding the server's tokens.
// The decoder is strict: definite minimal lengths only, single-byte tags, fields in order,
// nothing trailing, at most kMaxSpnegoToken bytes. Its structure is fixed, so nesting is
// bounded by the grammar itself. Decoded fields are views into the decoder's input.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::smb::auth {

inline constexpr size_t kMaxSpnegoToken = 64 * 1024;

// The DER contents (no tag, no length) of the OIDs we name.
ByteView NtlmsspOid();  // 1.3.6.1.4.1.311.2.2.10
ByteView SpnegoOid();   // 1.3.6.1.5.5.2
ByteView Krb5Oid();     // 1.2.840.113554.1.2.2 (RFC 4121)
ByteView MsKrb5Oid();   // 1.2.840.48018.1.2.2 (Microsoft's, MS-SPNG 3.3.5.1)

enum class NegState : uint8_t {
  kAcceptCompleted = 0,
  kAcceptIncomplete = 1,
  kReject = 2,
  kRequestMic = 3,
};

struct NegTokenInit {
  std::vector<ByteView> mech_types;  // OID contents, the client's preference first
  ByteView mech_types_der;           // the whole MechTypeList SEQUENCE, for mechListMIC
  std::optional<ByteView> mech_token;
  std::optional<ByteView> mech_list_mic;
};

struct NegTokenResp {
  std::optional<NegState> neg_state;
  std::optional<ByteView> supported_mech;  // OID contents
  std::optional<ByteView> response_token;
  std::optional<ByteView> mech_list_mic;
};

// A NegTokenInit (`is_init`, in `init`) or a NegTokenResp (in `resp`).
struct NegotiationToken {
  bool is_init = false;
  NegTokenInit init;
  NegTokenResp resp;
};

// Errc::kInvalid when `token` is not a well-formed NegotiationToken.
Result<NegotiationToken> ParseNegotiationToken(ByteView token);

// A NegTokenResp ([1]); each field is present when given.
struct NegTokenRespFields {
  std::optional<NegState> neg_state;
  std::optional<ByteView> supported_mech;  // OID contents
  std::optional<ByteView> response_token;
  std::optional<ByteView> mech_list_mic;
};
std::vector<std::byte> EncodeNegTokenResp(const NegTokenRespFields& fields);

// The GSS-API-wrapped NegTokenInit2 (MS-SPNG 2.2.1) offering `mechs` (OID contents, the
// server's preference first), with the negHints hintName
// "not_defined_in_RFC4178@please_ignore" (MS-SPNG 3.2.5.2).
std::vector<std::byte> EncodeNegTokenInit2(const std::vector<ByteView>& mechs);

}  // namespace dittofs::smb::auth
