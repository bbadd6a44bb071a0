// SPDX-License-Identifier: Apache-2.0
#include "smb/auth/acceptor.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "base/random.h"
#include "smb/auth/crypto.h"
#include "smb/auth/ntlm.h"
#include "smb/auth/spnego.h"

namespace dittofs::smb::auth {
namespace {

// NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7): RespType, HiRespType, reserved, TimeStamp,
// ChallengeFromClient, reserved, then the AV pairs.
constexpr size_t kNtProofSize = 16;
constexpr size_t kClientChallengeHeader = 28;

// The flags we may grant when the client asks for them (MS-NLMP 3.2.5.1.1). LM_KEY,
// DATAGRAM and IDENTIFY are never granted.
constexpr uint32_t kGrantable = kNegotiateSign | kNegotiateSeal | kNegotiateAlwaysSign |
                                kNegotiateExtendedSessionSecurity | kNegotiateVersion |
                                kNegotiate128 | kNegotiate56 | kNegotiateKeyExch | kRequestTarget;

// Windows FILETIME: 100 ns ticks since 1601-01-01 UTC.
uint64_t FileTimeNow() {
  using namespace std::chrono;
  auto since_unix = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  return uint64_t(since_unix / 100) + 116444736000000000ULL;
}

std::vector<std::byte> EncodeName(std::string_view name, bool unicode) {
  if (unicode) return Utf8ToUtf16(name);
  ByteView b = AsBytes(name);
  return {b.begin(), b.end()};
}

std::vector<std::byte> TargetInfo(const ServerNames& names) {
  std::vector<std::byte> nb_domain = Utf8ToUtf16(names.netbios_domain);
  std::vector<std::byte> nb_computer = Utf8ToUtf16(names.netbios_computer);
  std::vector<std::byte> dns_domain =
      names.dns_domain.empty() ? nb_domain : Utf8ToUtf16(names.dns_domain);
  std::vector<std::byte> dns_computer =
      names.dns_computer.empty() ? nb_computer : Utf8ToUtf16(names.dns_computer);
  std::vector<std::byte> out;
  AppendAvPair(out, AvId::kNbDomainName, nb_domain);
  AppendAvPair(out, AvId::kNbComputerName, nb_computer);
  AppendAvPair(out, AvId::kDnsDomainName, dns_domain);
  AppendAvPair(out, AvId::kDnsComputerName, dns_computer);
  uint64_t now = FileTimeNow();
  std::byte stamp[8];
  for (int k = 0; k < 8; ++k) stamp[k] = std::byte(now >> (8 * k));
  AppendAvPair(out, AvId::kTimestamp, stamp);
  AppendAvPair(out, AvId::kEol, {});
  return out;
}

// The mechListMIC of the MechTypeList in one direction (MS-SPNG 3.2.5.1, MS-NLMP 3.4.4.2 with
// sequence number 0 and a fresh sealing handle).
std::array<std::byte, 16> MechListMic(const SessionKey& key, uint32_t flags, Direction direction,
                                      ByteView mech_types) {
  Key16 sign = SignKey(key, direction);
  if (flags & kNegotiateKeyExch) {
    Rc4 seal(SealKey(key, flags, direction));
    return MessageSignature(sign, &seal, 0, mech_types);
  }
  return MessageSignature(sign, nullptr, 0, mech_types);
}

}  // namespace

std::vector<std::byte> NegotiateToken(const Mechanisms& mechanisms) {
  std::vector<ByteView> mechs;
  if (mechanisms.kerberos) mechs = {MsKrb5Oid(), Krb5Oid()};
  if (mechanisms.ntlm) mechs.push_back(NtlmsspOid());
  return EncodeNegTokenInit2(mechs);
}

std::vector<std::byte> RejectToken() {
  return EncodeNegTokenResp({.neg_state = NegState::kReject});
}

Acceptor::Acceptor(ServerNames names, Mechanisms mechanisms)
    : names_(std::move(names)), mechanisms_(std::move(mechanisms)) {}

Result<Acceptor::Step> Acceptor::Accept(ByteView input, const NtHashLookup& lookup) {
  if (state_ == State::kFinished) {
    return Status(Errc::kInvalid, "ntlm: the authentication exchange is over");
  }
  if (input.size() > kMaxSpnegoToken) return Status(Errc::kInvalid, "ntlm: token too large");
  if (state_ == State::kStart) spnego_ = NtlmMessageType(input) == 0;
  if (!spnego_ && !mechanisms_.ntlm) {
    return Status(Errc::kNotSupported, "ntlm: NTLMSSP is not taken here");
  }

  Result<Step> step = [&]() -> Result<Step> {
    if (spnego_) return AcceptSpnego(input, lookup);
    uint32_t type = NtlmMessageType(input);
    if (state_ == State::kStart && type == 1) {
      ASSIGN_OR_RETURN(std::vector<std::byte> challenge, OnNegotiate(input));
      state_ = State::kAwaitAuthenticate;
      return Step{.output = std::move(challenge)};
    }
    if (state_ == State::kAwaitAuthenticate && type == 3) {
      ASSIGN_OR_RETURN(Authenticated who, OnAuthenticate(input, lookup));
      return Step{.done = true, .result = std::move(who)};
    }
    return Status(Errc::kInvalid, "ntlm: unexpected message");
  }();
  if (!step.ok() || step->done) state_ = State::kFinished;
  return step;
}

Result<Acceptor::Step> Acceptor::AcceptSpnego(ByteView input, const NtHashLookup& lookup) {
  ASSIGN_OR_RETURN(NegotiationToken token, ParseNegotiationToken(input));
  if (state_ == State::kStart) {
    if (!token.is_init) return Status(Errc::kInvalid, "spnego: expected a NegTokenInit");
    const NegTokenInit& init = token.init;
    mech_types_.assign(init.mech_types_der.begin(), init.mech_types_der.end());
    const ByteView first = init.mech_types.front();
    if (mechanisms_.kerberos &&
        (std::ranges::equal(first, MsKrb5Oid()) || std::ranges::equal(first, Krb5Oid()))) {
      kerberos_ = mechanisms_.kerberos();
      kerberos_oid_.assign(first.begin(), first.end());
      if (init.mech_token) return KerberosStep(*init.mech_token, init.mech_list_mic, true);
      state_ = State::kAwaitKerberos;
      return Step{.output = EncodeNegTokenResp({.neg_state = NegState::kAcceptIncomplete,
                                                .supported_mech = ByteView(kerberos_oid_)})};
    }
    auto is_ntlmssp = [](ByteView oid) { return std::ranges::equal(oid, NtlmsspOid()); };
    if (!mechanisms_.ntlm || std::ranges::none_of(init.mech_types, is_ntlmssp)) {
      return Status(Errc::kNotSupported, "spnego: no mechanism in common with the client");
    }
    if (!is_ntlmssp(init.mech_types.front())) {
      // RFC 4178 §5: we pick a mechanism other than the client's first choice, so its
      // optimistic token is dropped and both sides must send a mechListMIC.
      mic_required_ = true;
      state_ = State::kAwaitNegotiate;
      return Step{.output = EncodeNegTokenResp(
                      {.neg_state = NegState::kRequestMic, .supported_mech = NtlmsspOid()})};
    }
    if (!init.mech_token) {
      state_ = State::kAwaitNegotiate;
      return Step{.output = EncodeNegTokenResp(
                      {.neg_state = NegState::kAcceptIncomplete, .supported_mech = NtlmsspOid()})};
    }
    ASSIGN_OR_RETURN(std::vector<std::byte> challenge, OnNegotiate(*init.mech_token));
    state_ = State::kAwaitAuthenticate;
    return Step{.output = EncodeNegTokenResp({.neg_state = NegState::kAcceptIncomplete,
                                              .supported_mech = NtlmsspOid(),
                                              .response_token = challenge})};
  }

  if (token.is_init || !token.resp.response_token) {
    return Status(Errc::kInvalid, "spnego: expected a NegTokenResp with a token");
  }
  const NegTokenResp& resp = token.resp;
  if (state_ == State::kAwaitKerberos) {
    if (resp.supported_mech && !std::ranges::equal(*resp.supported_mech, kerberos_oid_)) {
      return Status(Errc::kInvalid, "spnego: the client switched mechanisms");
    }
    return KerberosStep(*resp.response_token, resp.mech_list_mic, false);
  }
  if (resp.supported_mech && !std::ranges::equal(*resp.supported_mech, NtlmsspOid())) {
    return Status(Errc::kInvalid, "spnego: the client switched mechanisms");
  }
  if (state_ == State::kAwaitNegotiate) {
    ASSIGN_OR_RETURN(std::vector<std::byte> challenge, OnNegotiate(*resp.response_token));
    state_ = State::kAwaitAuthenticate;
    return Step{.output = EncodeNegTokenResp(
                    {.neg_state = NegState::kAcceptIncomplete, .response_token = challenge})};
  }

  ASSIGN_OR_RETURN(Authenticated who, OnAuthenticate(*resp.response_token, lookup));
  std::optional<std::array<std::byte, 16>> server_mic;
  if (!who.anonymous && (resp.mech_list_mic || mic_required_)) {
    // The client's mechListMIC proves the mechanism list we saw is the one it sent. The
    // NTLMSSP signature format used here needs extended session security.
    if (!resp.mech_list_mic || !(auth_flags_ & kNegotiateExtendedSessionSecurity)) {
      return Status(Errc::kAccess, "spnego: missing or unverifiable mechListMIC");
    }
    std::array<std::byte, 16> expected =
        MechListMic(who.session_key, auth_flags_, Direction::kClientToServer, mech_types_);
    if (!ConstantTimeEqual(expected, *resp.mech_list_mic)) {
      return Status(Errc::kAccess, "spnego: mechListMIC does not verify");
    }
    server_mic = MechListMic(who.session_key, auth_flags_, Direction::kServerToClient, mech_types_);
  }
  NegTokenRespFields out{.neg_state = NegState::kAcceptCompleted};
  if (server_mic) out.mech_list_mic = ByteView(*server_mic);
  return Step{.done = true, .output = EncodeNegTokenResp(out), .result = std::move(who)};
}

Result<Acceptor::Step> Acceptor::KerberosStep(ByteView token, std::optional<ByteView> client_mic,
                                              bool first) {
  ASSIGN_OR_RETURN(KerberosContext::Step step, kerberos_->Accept(token));
  NegTokenRespFields out;
  if (first) out.supported_mech = ByteView(kerberos_oid_);
  if (!step.output.empty()) out.response_token = ByteView(step.output);
  if (!step.done) {
    state_ = State::kAwaitKerberos;
    out.neg_state = NegState::kAcceptIncomplete;
    return Step{.output = EncodeNegTokenResp(out)};
  }
  Authenticated who;
  who.principal = kerberos_->principal();
  const size_t at = who.principal.rfind('@');
  who.user = who.principal.substr(0, at);
  if (at != std::string::npos) who.domain = who.principal.substr(at + 1);
  ASSIGN_OR_RETURN(std::vector<std::byte> key, kerberos_->SessionKey());
  if (key.size() < 16) return Status(Errc::kAccess, "kerberos: a session key under 16 bytes");
  std::copy_n(key.begin(), 16, who.session_key.begin());
  if (key.size() > 16) who.full_session_key = std::move(key);
  std::vector<std::byte> server_mic;
  if (client_mic) {
    RETURN_IF_ERROR(kerberos_->VerifyMic(mech_types_, *client_mic));
    ASSIGN_OR_RETURN(server_mic, kerberos_->GetMic(mech_types_));
    out.mech_list_mic = ByteView(server_mic);
  }
  out.neg_state = NegState::kAcceptCompleted;
  return Step{.done = true, .output = EncodeNegTokenResp(out), .result = std::move(who)};
}

Result<std::vector<std::byte>> Acceptor::OnNegotiate(ByteView negotiate) {
  ASSIGN_OR_RETURN(NegotiateMessage message, ParseNegotiate(negotiate));
  const uint32_t client = message.flags;
  uint32_t flags =
      kNegotiateNtlm | kNegotiateTargetInfo | kTargetTypeDomain | (client & kGrantable);
  // MS-NLMP 3.2.5.1.1: Unicode when the client offers it, else OEM.
  flags |=
      (client & kNegotiateUnicode) || !(client & kNegotiateOem) ? kNegotiateUnicode : kNegotiateOem;
  ChallengeFields fields;
  fields.flags = flags;
  uint64_t random = RandomU64();
  for (int k = 0; k < 8; ++k) fields.server_challenge[k] = std::byte(random >> (8 * k));
  fields.target_name = EncodeName(names_.netbios_domain, flags & kNegotiateUnicode);
  fields.target_info = TargetInfo(names_);

  negotiate_.assign(negotiate.begin(), negotiate.end());
  challenge_ = BuildChallenge(fields);
  server_challenge_ = fields.server_challenge;
  challenge_flags_ = flags;
  return challenge_;
}

Result<Authenticated> Acceptor::OnAuthenticate(ByteView authenticate, const NtHashLookup& lookup) {
  ASSIGN_OR_RETURN(AuthenticateMessage m, ParseAuthenticate(authenticate));
  auth_flags_ = m.flags;
  const bool unicode = (m.flags & kNegotiateUnicode) ||
                       (!(m.flags & kNegotiateOem) && (challenge_flags_ & kNegotiateUnicode));
  auto to_utf16 = [&](ByteView s) -> Result<std::vector<std::byte>> {
    if (!unicode) return Latin1ToUtf16(s);
    if (s.size() % 2 != 0) return Status(Errc::kInvalid, "ntlm: odd-length UTF-16 string");
    return std::vector<std::byte>(s.begin(), s.end());
  };
  ASSIGN_OR_RETURN(std::vector<std::byte> user16, to_utf16(m.user));
  ASSIGN_OR_RETURN(std::vector<std::byte> domain16, to_utf16(m.domain));
  ASSIGN_OR_RETURN(std::vector<std::byte> workstation16, to_utf16(m.workstation));
  Authenticated who{.user = Utf16ToUtf8(user16),
                    .domain = Utf16ToUtf8(domain16),
                    .workstation = Utf16ToUtf8(workstation16)};

  // MS-NLMP 3.2.5.1.2: an empty user with an empty NT response and an empty (or single zero
  // byte) LM response is anonymous.
  if (m.nt_response.empty()) {
    bool lm_empty =
        m.lm_response.empty() || (m.lm_response.size() == 1 && m.lm_response[0] == std::byte{0});
    if (m.user.empty() && lm_empty) {
      who.anonymous = true;
      return who;
    }
    return Status(Errc::kAccess, "ntlm: no NT response");
  }
  if (m.nt_response.size() == 24) {
    return Status(Errc::kAccess, "ntlm: NTLMv1 responses are refused");
  }
  if (m.nt_response.size() < kNtProofSize + kClientChallengeHeader) {
    return Status(Errc::kInvalid, "ntlm: NT response too short");
  }
  ByteView proof = m.nt_response.first(kNtProofSize);
  ByteView temp = m.nt_response.subspan(kNtProofSize);
  if (temp[0] != std::byte{1}) return Status(Errc::kInvalid, "ntlm: unknown NTLMv2 RespType");

  Result<NtHash> hash = lookup(who.user, who.domain);
  if (!hash.ok()) {
    if (hash.status().code() == Errc::kNotFound) {
      return Status(Errc::kAccess, "ntlm: unknown user or no SMB password");
    }
    return hash.status();
  }

  // NTOWFv2 keys on the domain the client used; Windows also accepts local accounts
  // authenticated against the empty domain, so try both.
  std::optional<Key16> response_key;
  const std::vector<std::byte> no_domain;
  const std::vector<std::byte>* domains[] = {&domain16, &no_domain};
  for (const std::vector<std::byte>* domain : domains) {
    if (domain == &no_domain && domain16.empty()) break;
    Key16 key = ResponseKeyNt(*hash, user16, *domain);
    Key16 expected = HmacMd5(key, server_challenge_, temp);
    if (ConstantTimeEqual(expected, proof)) {
      response_key = key;
      break;
    }
  }
  if (!response_key) return Status(Errc::kAccess, "ntlm: wrong password");

  // MS-NLMP 3.3.2 and 3.4.5.1: for NTLMv2, KeyExchangeKey = SessionBaseKey.
  Key16 key_exchange_key = HmacMd5(*response_key, proof);
  SessionKey exported = key_exchange_key;
  if (m.flags & kNegotiateKeyExch) {
    if (m.encrypted_session_key.size() != 16) {
      return Status(Errc::kInvalid, "ntlm: key exchange without a 16-byte session key");
    }
    std::memcpy(exported.data(), m.encrypted_session_key.data(), 16);
    Rc4(key_exchange_key).Crypt(exported);
  }

  // MS-NLMP 3.2.5.1.2: MsvAvFlags bit 0x2 says the message has a MIC over all three messages.
  ASSIGN_OR_RETURN(std::optional<ByteView> av_flags,
                   FindAvPair(temp.subspan(kClientChallengeHeader), AvId::kFlags));
  if (av_flags && av_flags->size() == 4 && (uint8_t((*av_flags)[0]) & kAvFlagMicPresent)) {
    if (!m.mic_space) return Status(Errc::kInvalid, "ntlm: MIC announced but absent");
    std::vector<std::byte> zeroed(authenticate.begin(), authenticate.end());
    std::fill_n(zeroed.begin() + kMicOffset, 16, std::byte{0});
    std::vector<std::byte> all(negotiate_);
    all.insert(all.end(), challenge_.begin(), challenge_.end());
    all.insert(all.end(), zeroed.begin(), zeroed.end());
    Key16 mic = HmacMd5(exported, all);
    if (!ConstantTimeEqual(mic, authenticate.subspan(kMicOffset, 16))) {
      return Status(Errc::kAccess, "ntlm: MIC does not verify");
    }
  }
  who.session_key = exported;
  return who;
}

}  // namespace dittofs::smb::auth
