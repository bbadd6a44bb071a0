// SPDX-License-Identifier: Apache-2.0
#pragma once

// The server side of SMB2 authentication: SPNEGO (RFC 4178, MS-SPNG) carrying NTLMSSP
// (MS-NLMP) with NTLMv2 responses only. NTLMv1, LM and NTLM2-session responses are refused.
//
// Use: the SMB2 NEGOTIATE response carries NegotiateToken(). Each SESSION_SETUP (a new session
// or a re-authentication) gets a fresh Acceptor; each request's security buffer goes to
// Accept, whose Step says what to answer:
//   * ok, !done: STATUS_MORE_PROCESSING_REQUIRED with `output` as the security buffer;
//   * ok, done:  STATUS_SUCCESS with `output` (may be empty) and the session keyed by
//                result->session_key (MS-SMB2 3.3.5.5.3: Session.SessionKey is its first 16
//                bytes; signing and encryption keys derive from it);
//   * Errc::kAccess: STATUS_LOGON_FAILURE with an empty buffer (wrong password, unknown user,
//                NTLMv1/LM response, bad MIC or mechListMIC);
//   * Errc::kInvalid: STATUS_INVALID_PARAMETER (malformed token or message, or a call after
//                the exchange finished or failed);
//   * Errc::kNotSupported: the client offered no NTLMSSP: answer STATUS_NOT_SUPPORTED with
//                RejectToken() (a NegTokenResp with negState reject) as the security buffer;
//   * other codes come from the NtHashLookup and mean the account store failed.
// After any error the Acceptor is finished; start again with a new one.
//
// An Acceptor is not thread-safe; one SESSION_SETUP exchange uses it at a time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::smb::auth {

using NtHash = std::array<std::byte, 16>;      // MD4(UTF-16LE(password))
using SessionKey = std::array<std::byte, 16>;  // the exported session key (MS-NLMP 3.2.5.1.2)

// What the CHALLENGE_MESSAGE's TargetInfo carries (MS-NLMP 2.2.1.2).
struct ServerNames {
  std::string netbios_domain = "WORKGROUP";
  std::string netbios_computer = "DITTOFS";
  std::string dns_domain;  // empty: send the NetBIOS names in the DNS fields
  std::string dns_computer;
};

// Finds an account's NT hash: Errc::kNotFound when the user does not exist or has no SMB
// password. `user` and `domain` are UTF-8, as the client sent them (the domain may be empty;
// clients send the server's name, the workgroup, or anything): match the user name
// case-insensitively, as Windows does. NTLMv2 proves the password for exactly this name.
using NtHashLookup = std::function<Result<NtHash>(std::string_view user, std::string_view domain)>;

struct Authenticated {
  std::string user, domain, workstation;  // UTF-8, as the client sent them
  bool anonymous = false;                 // NTLM anonymous (empty responses): no key, no user
  SessionKey session_key{};               // zero when anonymous
};

// The token for the SMB2 NEGOTIATE response's security buffer: a GSS-API-wrapped SPNEGO
// NegTokenInit2 (MS-SPNG 2.2.1, 3.2.5.2) offering NTLMSSP (1.3.6.1.4.1.311.2.2.10).
std::vector<std::byte> NegotiateToken();

// The SPNEGO NegTokenResp with negState reject, for Errc::kNotSupported.
std::vector<std::byte> RejectToken();

// One SESSION_SETUP exchange.
class Acceptor {
 public:
  explicit Acceptor(ServerNames names);

  struct Step {
    bool done = false;                    // false: STATUS_MORE_PROCESSING_REQUIRED with `output`
    std::vector<std::byte> output;        // the security buffer of the response
    std::optional<Authenticated> result;  // set when done
  };

  // Takes the client's security buffer: a SPNEGO NegTokenInit (GSS-wrapped or not) or
  // NegTokenResp wrapping NTLMSSP, or a bare NTLMSSP message, which is answered bare.
  //
  // SPNEGO details: when the client's preferred mechanism is not NTLMSSP but NTLMSSP is on its
  // list, the optimistic token is dropped and the answer selects NTLMSSP with negState
  // request-mic; the client must then send a mechListMIC (RFC 4178 §5). A client's mechListMIC
  // is always verified, and the final answer carries the server's mechListMIC whenever the
  // client sent one or one was requested. Both are NTLMSSP signatures (MS-NLMP 3.4.4.2, sequence
  // number 0) over the DER of the client's MechTypeList. Anonymous logons exchange no
  // mechListMIC: there is no key.
  Result<Step> Accept(ByteView input, const NtHashLookup& lookup);

 private:
  enum class State { kStart, kAwaitNegotiate, kAwaitAuthenticate, kFinished };

  Result<Step> AcceptSpnego(ByteView input, const NtHashLookup& lookup);
  // Answers a NEGOTIATE_MESSAGE with the CHALLENGE_MESSAGE (kept in challenge_).
  Result<std::vector<std::byte>> OnNegotiate(ByteView negotiate);
  Result<Authenticated> OnAuthenticate(ByteView authenticate, const NtHashLookup& lookup);

  ServerNames names_;
  State state_ = State::kStart;
  bool spnego_ = false;
  bool mic_required_ = false;          // the client's preferred mechanism was not NTLMSSP
  std::vector<std::byte> mech_types_;  // the client's MechTypeList, DER
  std::vector<std::byte> negotiate_;   // the messages so far, for the MIC
  std::vector<std::byte> challenge_;
  std::array<std::byte, 8> server_challenge_{};
  uint32_t challenge_flags_ = 0;
  uint32_t auth_flags_ = 0;  // the AUTHENTICATE_MESSAGE's flags
};

}  // namespace dittofs::smb::auth
