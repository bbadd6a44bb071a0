// SPDX-License-Identifier: Apache-2.0
#pragma once

// NTLMSSP messages (MS-NLMP 2.2): decoding the client's NEGOTIATE_MESSAGE and
// AUTHENTICATE_MESSAGE, encoding the server's CHALLENGE_MESSAGE, and AV_PAIR lists. Decoders
// treat their input as hostile: every field's length and offset is checked against the message,
// and a lie is Errc::kInvalid. Decoded fields are views into the decoder's input.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::smb::auth {

// NegotiateFlags (MS-NLMP 2.2.2.5).
inline constexpr uint32_t kNegotiateUnicode = 0x00000001;
inline constexpr uint32_t kNegotiateOem = 0x00000002;
inline constexpr uint32_t kRequestTarget = 0x00000004;
inline constexpr uint32_t kNegotiateSign = 0x00000010;
inline constexpr uint32_t kNegotiateSeal = 0x00000020;
inline constexpr uint32_t kNegotiateLmKey = 0x00000080;
inline constexpr uint32_t kNegotiateNtlm = 0x00000200;
inline constexpr uint32_t kNegotiateAnonymous = 0x00000800;
inline constexpr uint32_t kNegotiateAlwaysSign = 0x00008000;
inline constexpr uint32_t kTargetTypeDomain = 0x00010000;
inline constexpr uint32_t kTargetTypeServer = 0x00020000;
inline constexpr uint32_t kNegotiateExtendedSessionSecurity = 0x00080000;
inline constexpr uint32_t kNegotiateTargetInfo = 0x00800000;
inline constexpr uint32_t kNegotiateVersion = 0x02000000;
inline constexpr uint32_t kNegotiate128 = 0x20000000;
inline constexpr uint32_t kNegotiateKeyExch = 0x40000000;
inline constexpr uint32_t kNegotiate56 = 0x80000000;

// AvId values (MS-NLMP 2.2.2.1).
enum class AvId : uint16_t {
  kEol = 0,
  kNbComputerName = 1,
  kNbDomainName = 2,
  kDnsComputerName = 3,
  kDnsDomainName = 4,
  kDnsTreeName = 5,
  kFlags = 6,
  kTimestamp = 7,
  kSingleHost = 8,
  kTargetName = 9,
  kChannelBindings = 10,
};
// MsvAvFlags bit 0x2: the AUTHENTICATE_MESSAGE carries a MIC.
inline constexpr uint32_t kAvFlagMicPresent = 0x00000002;

inline constexpr size_t kMaxNtlmMessage = 64 * 1024;

// The MessageType of an NTLMSSP message (1, 2 or 3), or 0 when `msg` does not start with the
// "NTLMSSP\0" signature and a type.
uint32_t NtlmMessageType(ByteView msg);

struct NegotiateMessage {
  uint32_t flags = 0;
};
Result<NegotiateMessage> ParseNegotiate(ByteView msg);

struct ChallengeFields {
  uint32_t flags = 0;
  std::array<std::byte, 8> server_challenge{};
  std::vector<std::byte> target_name;  // encoded as `flags` say (UTF-16LE or OEM)
  std::vector<std::byte> target_info;  // an AV_PAIR list ending in MsvAvEOL
};
// The CHALLENGE_MESSAGE (2.2.1.2), with a Version field (2.2.2.10) always present.
std::vector<std::byte> BuildChallenge(const ChallengeFields& fields);

struct AuthenticateMessage {
  ByteView lm_response, nt_response, domain, user, workstation, encrypted_session_key;
  uint32_t flags = 0;
  // Whether the message has room for a MIC at kMicOffset: it is long enough and every payload
  // field starts after the MIC's end.
  bool mic_space = false;
};
Result<AuthenticateMessage> ParseAuthenticate(ByteView msg);
inline constexpr size_t kMicOffset = 72;

// Appends one AV_PAIR.
void AppendAvPair(std::vector<std::byte>& out, AvId id, ByteView value);
// The value of the first pair with `id` in an AV_PAIR list, or nullopt when the list ends (at
// MsvAvEOL or its end) without one. Errc::kInvalid when a pair runs past the list.
Result<std::optional<ByteView>> FindAvPair(ByteView pairs, AvId id);

// UTF-8 to UTF-16LE and back. Ill-formed input becomes U+FFFD.
std::vector<std::byte> Utf8ToUtf16(std::string_view text);
std::string Utf16ToUtf8(ByteView text);
// OEM strings (when Unicode was not negotiated) are taken as Latin-1.
std::vector<std::byte> Latin1ToUtf16(ByteView text);

}  // namespace dittofs::smb::auth
