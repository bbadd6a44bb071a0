// SPDX-License-Identifier: Apache-2.0
#pragma once

// The server side of SMB2 authentication: SPNEGO (RFC 4178, MS-SPNG) carrying Kerberos V5
// (RFC 4121, through a KerberosContext) and NTLMSSP (MS-NLMP) with NTLMv2 responses only.
// NTLMv1, LM and NTLM2-session responses are refused.
//
// Use: the SMB2 NEGOTIATE response carries NegotiateToken(). Each SESSION_SETUP (a new session
// or a re-authentication) gets a fresh Acceptor; each request's security buffer goes to
// Accept, whose Step says what to answer:
//   * ok, !done: STATUS_MORE_PROCESSING_REQUIRED with `output` as the security buffer;
//   * ok, done:  STATUS_SUCCESS with `output` (may be empty) and the session keyed by
//                result->session_key (MS-SMB2 3.3.5.5.3: Session.SessionKey is its first 16
//                bytes; signing and encryption keys derive from it);
//   * Errc::kAccess: STATUS_LOGON_FAILURE with an empty buffer (wrong password, unknown user,
//                NTLMv1/LM response, bad MIC or mechListMIC, a Kerberos ticket refused);
//   * Errc::kInvalid: STATUS_INVALID_PARAMETER (malformed token or message, or a call after
//                the exchange finished or failed);
//   * Errc::kNotSupported: the client offered no mechanism we take: answer STATUS_NOT_SUPPORTED
//   with
//                RejectToken() (a NegTokenResp with negState reject) as the security buffer;
//   * other codes come from the NtHashLookup and mean the account store failed.
// After any error the Acceptor is finished; start again with a new one.
//
// An Acceptor is not thread-safe; one SESSION_SETUP exchange uses it at a time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "smb/auth/kerberos.h"

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
  std::string user, domain, workstation;  // UTF-8, as the client sent them (Kerberos: the
                                          // principal's name and realm, no workstation)
  std::string principal;                  // Kerberos: the client's ("alice@REALM"); else empty
  bool anonymous = false;                 // NTLM anonymous (empty responses): no key, no user
  SessionKey session_key{};               // zero when anonymous
  // MS-SMB2 Session.FullSessionKey when the key is longer than 16 bytes (Kerberos with
  // AES-256 keys; AES-256 ciphers key from all of it); empty: session_key is all of it.
  std::vector<std::byte> full_session_key;
};

// The mechanisms the server takes.
struct Mechanisms {
  // Makes a context for each Kerberos exchange; empty: no Kerberos.
  std::function<std::unique_ptr<KerberosContext>()> kerberos;
  bool ntlm = true;  // NTLMSSP (NTLMv2)
};

// The token for the SMB2 NEGOTIATE response's security buffer: a GSS-API-wrapped SPNEGO
// NegTokenInit2 (MS-SPNG 2.2.1, 3.2.5.2) offering, as `mechanisms` has them, Kerberos
// (Microsoft's OID 1.2.840.48018.1.2.2 and RFC 4121's 1.2.840.113554.1.2.2, as Windows does)
// and NTLMSSP (1.3.6.1.4.1.311.2.2.10).
std::vector<std::byte> NegotiateToken(const Mechanisms& mechanisms = {});

// The SPNEGO NegTokenResp with negState reject, for Errc::kNotSupported.
std::vector<std::byte> RejectToken();

// One SESSION_SETUP exchange.
class Acceptor {
 public:
  explicit Acceptor(ServerNames names, Mechanisms mechanisms = {});

  struct Step {
    bool done = false;                    // false: STATUS_MORE_PROCESSING_REQUIRED with `output`
    std::vector<std::byte> output;        // the security buffer of the response
    std::optional<Authenticated> result;  // set when done
  };

  // Takes the client's security buffer: a SPNEGO NegTokenInit (GSS-wrapped or not) or
  // NegTokenResp wrapping Kerberos or NTLMSSP, or a bare NTLMSSP message, which is answered bare.
  //
  // Kerberos is chosen when it is the client's first choice (either OID): its AP-REQ (the
  // optimistic token, or the next one) goes to a new KerberosContext, and the answer is
  // accept-completed with the AP-REP, the supportedMech being the OID the client named first.
  // A mechListMIC the client sends with it is verified and answered with ours (RFC 4178 §5:
  // it is optional when both sides' first choice was taken). The user is the principal's
  // name, the key the context's session key.
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
  enum class State { kStart, kAwaitNegotiate, kAwaitAuthenticate, kAwaitKerberos, kFinished };

  Result<Step> AcceptSpnego(ByteView input, const NtHashLookup& lookup);
  // Gives the Kerberos context the client's next token; `first`: this answer is the first.
  Result<Step> KerberosStep(ByteView token, std::optional<ByteView> client_mic, bool first);
  // Answers a NEGOTIATE_MESSAGE with the CHALLENGE_MESSAGE (kept in challenge_).
  Result<std::vector<std::byte>> OnNegotiate(ByteView negotiate);
  Result<Authenticated> OnAuthenticate(ByteView authenticate, const NtHashLookup& lookup);

  ServerNames names_;
  Mechanisms mechanisms_;
  State state_ = State::kStart;
  std::unique_ptr<KerberosContext> kerberos_;  // once Kerberos is chosen
  std::vector<std::byte> kerberos_oid_;        // the OID the client named it with
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
