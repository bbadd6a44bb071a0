// SPDX-License-Identifier: Apache-2.0
//
// The acceptor against a test-only NTLMv2 client written here from MS-NLMP 3.1.5 (and, where
// python3-impacket is installed, against impacket's client).

#include "smb/auth/acceptor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nettle/md4.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "smb/auth/crypto.h"
#include "smb/auth/ntlm.h"
#include "smb/auth/spnego.h"
#include "testing/status_matchers.h"

namespace dittofs::smb::auth {
namespace {

using ::dittofs::testing::StatusIs;
using Bytes = std::vector<std::byte>;

NtHash NtHashOf(std::string_view password) {
  Bytes utf16 = Utf8ToUtf16(password);
  md4_ctx ctx;
  md4_init(&ctx);
  md4_update(&ctx, utf16.size(), reinterpret_cast<const uint8_t*>(utf16.data()));
  NtHash out;
  md4_digest(&ctx, out.size(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

uint16_t Le16(ByteView b, size_t at) {
  return uint16_t(uint8_t(b[at]) | (uint8_t(b[at + 1]) << 8));
}
uint32_t Le32(ByteView b, size_t at) { return Le16(b, at) | (uint32_t(Le16(b, at + 2)) << 16); }
void PutLe16(Bytes& out, size_t at, uint16_t v) {
  out[at] = std::byte(v);
  out[at + 1] = std::byte(v >> 8);
}
void PutLe32(Bytes& out, size_t at, uint32_t v) {
  PutLe16(out, at, uint16_t(v));
  PutLe16(out, at + 2, uint16_t(v >> 16));
}

// DER for the client's tokens.
Bytes Tlv(uint8_t tag, ByteView content) {
  Bytes out{std::byte(tag)};
  size_t n = content.size();
  if (n < 0x80) {
    out.push_back(std::byte(n));
  } else if (n < 0x100) {
    out.push_back(std::byte{0x81});
    out.push_back(std::byte(n));
  } else {
    out.push_back(std::byte{0x82});
    out.push_back(std::byte(n >> 8));
    out.push_back(std::byte(n));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
const Bytes kKrb5Oid = {std::byte{0x2a}, std::byte{0x86}, std::byte{0x48},
                        std::byte{0x86}, std::byte{0xf7}, std::byte{0x12},
                        std::byte{0x01}, std::byte{0x02}, std::byte{0x02}};
Bytes OidTlv(ByteView oid) { return Tlv(0x06, oid); }
Bytes MechTypes(bool kerberos_first) {
  Bytes list =
      kerberos_first ? Cat({OidTlv(kKrb5Oid), OidTlv(NtlmsspOid())}) : OidTlv(NtlmsspOid());
  return Tlv(0x30, list);
}
Bytes InitToken(const Bytes& mech_types, const Bytes& mech_token) {
  Bytes seq = Tlv(0xa0, mech_types);
  if (!mech_token.empty()) seq = Cat({seq, Tlv(0xa2, Tlv(0x04, mech_token))});
  return Tlv(0x60, Cat({OidTlv(SpnegoOid()), Tlv(0xa0, Tlv(0x30, seq))}));
}
Bytes RespToken(const Bytes& token, const Bytes& mic) {
  Bytes seq = Tlv(0xa2, Tlv(0x04, token));
  if (!mic.empty()) seq = Cat({seq, Tlv(0xa3, Tlv(0x04, mic))});
  return Tlv(0xa1, Tlv(0x30, seq));
}

// A test-only NTLMv2 client (MS-NLMP 3.1.5).
struct Client {
  std::string user = "alice", domain = "DOM", workstation = "WS1", password = "s3cret!";
  // The domain the response key is computed with (normally `domain`).
  bool key_on_no_domain = false;
  uint32_t flags = kNegotiateUnicode | kRequestTarget | kNegotiateNtlm | kNegotiateSign |
                   kNegotiateSeal | kNegotiateAlwaysSign | kNegotiateExtendedSessionSecurity |
                   kNegotiateTargetInfo | kNegotiateVersion | kNegotiate128 | kNegotiate56 |
                   kNegotiateKeyExch;
  bool mic = true;
  bool ntlmv1 = false;
  bool anonymous = false;
  bool corrupt_mic = false;

  Bytes negotiate;
  Bytes challenge;
  SessionKey exported{};

  Bytes Negotiate() {
    negotiate = Bytes(40);
    std::memcpy(negotiate.data(), "NTLMSSP\0", 8);
    PutLe32(negotiate, 8, 1);
    PutLe32(negotiate, 12, flags);
    negotiate[32] = std::byte{10};  // a Version
    negotiate[39] = std::byte{15};
    return negotiate;
  }

  Bytes Authenticate(ByteView challenge_message) {
    challenge.assign(challenge_message.begin(), challenge_message.end());
    EXPECT_EQ(NtlmMessageType(challenge), 2u);
    ByteView server_challenge = ByteView(challenge).subspan(24, 8);
    ByteView target_info = ByteView(challenge).subspan(Le32(challenge, 44), Le16(challenge, 40));
    uint32_t server_flags = Le32(challenge, 20);

    Bytes lm(24), nt, esk;
    if (anonymous) {
      lm.clear();
    } else if (ntlmv1) {
      nt = Bytes(24, std::byte{0x42});
    } else {
      // temp (3.3.2): header, timestamp, client challenge, reserved, AV pairs, reserved.
      Bytes temp = {std::byte{1}, std::byte{1}};
      temp.resize(8 + 8);
      temp[10] = std::byte{0x11};  // any time
      temp.insert(temp.end(), 8, std::byte{0xcc});
      temp.insert(temp.end(), 4, std::byte{0});
      size_t at = 0;  // copy the server's pairs but its EOL
      while (at + 4 <= target_info.size() && Le16(target_info, at) != 0) {
        size_t len = 4 + Le16(target_info, at + 2);
        temp.insert(temp.end(), target_info.begin() + at, target_info.begin() + at + len);
        at += len;
      }
      if (mic) {
        Bytes flag_value = {std::byte{2}, std::byte{0}, std::byte{0}, std::byte{0}};
        AppendAvPair(temp, AvId::kFlags, flag_value);
      }
      AppendAvPair(temp, AvId::kEol, {});
      temp.insert(temp.end(), 4, std::byte{0});
      Key16 key = ResponseKeyNt(NtHashOf(password), Utf8ToUtf16(user),
                                Utf8ToUtf16(key_on_no_domain ? "" : domain));
      Key16 proof = HmacMd5(key, server_challenge, temp);
      nt = Cat({Bytes(proof.begin(), proof.end()), temp});
      Key16 base = HmacMd5(key, proof);
      if (server_flags & kNegotiateKeyExch) {
        exported.fill(std::byte{0x5a});
        esk.assign(exported.begin(), exported.end());
        Rc4(base).Crypt(esk);
      } else {
        exported = base;
      }
    }
    Bytes d = Utf8ToUtf16(domain), u = Utf8ToUtf16(anonymous ? "" : user),
          w = Utf8ToUtf16(workstation);
    Bytes msg(88);
    std::memcpy(msg.data(), "NTLMSSP\0", 8);
    PutLe32(msg, 8, 3);
    auto add = [&](size_t field, const Bytes& value) {
      PutLe16(msg, field, uint16_t(value.size()));
      PutLe16(msg, field + 2, uint16_t(value.size()));
      PutLe32(msg, field + 4, uint32_t(msg.size()));
      msg.insert(msg.end(), value.begin(), value.end());
    };
    add(12, lm);
    add(20, nt);
    add(28, d);
    add(36, u);
    add(44, w);
    add(52, esk);
    PutLe32(msg, 60, server_flags);
    if (mic && !anonymous && !ntlmv1) {
      Key16 m = HmacMd5(exported, Cat({negotiate, challenge}), msg);
      std::memcpy(msg.data() + 72, m.data(), 16);
      if (corrupt_mic) msg[80] ^= std::byte{1};
    }
    return msg;
  }

  std::array<std::byte, 16> MechListMic(ByteView mech_types, Direction direction) const {
    uint32_t server_flags = Le32(challenge, 20);
    Key16 sign = SignKey(exported, direction);
    Rc4 seal(SealKey(exported, server_flags, direction));
    return MessageSignature(sign, (server_flags & kNegotiateKeyExch) ? &seal : nullptr, 0,
                            mech_types);
  }
};

NtHashLookup LookupFor(const Client& client) {
  return [hash = NtHashOf(client.password), user = client.user](
             std::string_view u, std::string_view d) -> Result<NtHash> {
    if (u != user) return Errc::kNotFound;
    return hash;
  };
}

Result<Authenticated> RunRaw(Client& client, const NtHashLookup& lookup) {
  Acceptor acceptor(ServerNames{});
  ASSIGN_OR_RETURN(Acceptor::Step first, acceptor.Accept(client.Negotiate(), lookup));
  EXPECT_FALSE(first.done);
  ASSIGN_OR_RETURN(Acceptor::Step last, acceptor.Accept(client.Authenticate(first.output), lookup));
  EXPECT_TRUE(last.done);
  EXPECT_TRUE(last.output.empty());
  return *last.result;
}

TEST(Acceptor, RawNtlmWithKeyExchangeAndMic) {
  Client client;
  ASSERT_OK_AND_ASSIGN(Authenticated who, RunRaw(client, LookupFor(client)));
  EXPECT_EQ(who.user, "alice");
  EXPECT_EQ(who.domain, "DOM");
  EXPECT_EQ(who.workstation, "WS1");
  EXPECT_FALSE(who.anonymous);
  EXPECT_EQ(who.session_key, client.exported);
}

TEST(Acceptor, WithoutKeyExchangeTheSessionBaseKeyIsExported) {
  Client client;
  client.flags &= ~kNegotiateKeyExch;
  client.mic = false;
  ASSERT_OK_AND_ASSIGN(Authenticated who, RunRaw(client, LookupFor(client)));
  EXPECT_EQ(who.session_key, client.exported);
}

TEST(Acceptor, ChallengeCarriesTargetInfo) {
  Client client;
  Acceptor acceptor(ServerNames{.netbios_domain = "CORP",
                                .netbios_computer = "FS1",
                                .dns_domain = "corp.example",
                                .dns_computer = "fs1.corp.example"});
  ASSERT_OK_AND_ASSIGN(Acceptor::Step step, acceptor.Accept(client.Negotiate(), LookupFor(client)));
  const Bytes& c = step.output;
  ASSERT_EQ(NtlmMessageType(c), 2u);
  uint32_t flags = Le32(c, 20);
  EXPECT_EQ(flags & client.flags, client.flags);
  EXPECT_TRUE(flags & kNegotiateTargetInfo);
  EXPECT_EQ(ByteView(c).subspan(Le32(c, 16), Le16(c, 12)).size(), Utf8ToUtf16("CORP").size());
  ByteView info = ByteView(c).subspan(Le32(c, 44), Le16(c, 40));
  auto pair = [&](AvId id) {
    auto v = FindAvPair(info, id);
    EXPECT_TRUE(v.ok() && v->has_value());
    return v.ok() && v->has_value() ? Utf16ToUtf8(**v) : std::string();
  };
  EXPECT_EQ(pair(AvId::kNbDomainName), "CORP");
  EXPECT_EQ(pair(AvId::kNbComputerName), "FS1");
  EXPECT_EQ(pair(AvId::kDnsDomainName), "corp.example");
  EXPECT_EQ(pair(AvId::kDnsComputerName), "fs1.corp.example");
  auto stamp = FindAvPair(info, AvId::kTimestamp);
  ASSERT_TRUE(stamp.ok() && stamp->has_value());
  EXPECT_EQ((*stamp)->size(), 8u);
}

TEST(Acceptor, WrongPasswordUnknownUserAndNtlmv1AreRefused) {
  Client client;
  NtHashLookup lookup = LookupFor(client);
  client.password = "wrong";
  EXPECT_THAT(RunRaw(client, lookup), StatusIs(Errc::kAccess));
  Client stranger;
  stranger.user = "mallory";
  EXPECT_THAT(RunRaw(stranger, lookup), StatusIs(Errc::kAccess));
  Client v1;
  v1.ntlmv1 = true;
  EXPECT_THAT(RunRaw(v1, LookupFor(v1)), StatusIs(Errc::kAccess));
}

TEST(Acceptor, UserNameIsCaseInsensitiveAndTheEmptyDomainIsTried) {
  Client client;
  client.key_on_no_domain = true;  // a client keying a local account on no domain
  ASSERT_OK_AND_ASSIGN(Authenticated who, RunRaw(client, LookupFor(client)));
  EXPECT_EQ(who.session_key, client.exported);
}

TEST(Acceptor, LookupFailuresOtherThanNotFoundPassThrough) {
  Client client;
  NtHashLookup broken = [](std::string_view, std::string_view) -> Result<NtHash> {
    return Errc::kUnavailable;
  };
  EXPECT_THAT(RunRaw(client, broken), StatusIs(Errc::kUnavailable));
}

TEST(Acceptor, BadMicIsRefused) {
  Client client;
  client.corrupt_mic = true;
  EXPECT_THAT(RunRaw(client, LookupFor(client)), StatusIs(Errc::kAccess));
}

TEST(Acceptor, Anonymous) {
  Client client;
  client.anonymous = true;
  ASSERT_OK_AND_ASSIGN(Authenticated who, RunRaw(client, LookupFor(client)));
  EXPECT_TRUE(who.anonymous);
  EXPECT_EQ(who.user, "");
  EXPECT_EQ(who.session_key, SessionKey{});
}

TEST(Acceptor, SpnegoWithMechListMic) {
  Client client;
  NtHashLookup lookup = LookupFor(client);
  Acceptor acceptor(ServerNames{});
  Bytes mech_types = MechTypes(false);
  ASSERT_OK_AND_ASSIGN(Acceptor::Step first,
                       acceptor.Accept(InitToken(mech_types, client.Negotiate()), lookup));
  ASSERT_FALSE(first.done);
  ASSERT_OK_AND_ASSIGN(NegotiationToken answer, ParseNegotiationToken(first.output));
  ASSERT_FALSE(answer.is_init);
  EXPECT_EQ(answer.resp.neg_state, NegState::kAcceptIncomplete);
  ASSERT_TRUE(answer.resp.supported_mech);
  EXPECT_TRUE(std::ranges::equal(*answer.resp.supported_mech, NtlmsspOid()));
  ASSERT_TRUE(answer.resp.response_token);

  Bytes auth = client.Authenticate(*answer.resp.response_token);
  auto mic = client.MechListMic(mech_types, Direction::kClientToServer);
  ASSERT_OK_AND_ASSIGN(Acceptor::Step last,
                       acceptor.Accept(RespToken(auth, Bytes(mic.begin(), mic.end())), lookup));
  ASSERT_TRUE(last.done);
  EXPECT_EQ(last.result->session_key, client.exported);
  ASSERT_OK_AND_ASSIGN(NegotiationToken final_answer, ParseNegotiationToken(last.output));
  EXPECT_EQ(final_answer.resp.neg_state, NegState::kAcceptCompleted);
  ASSERT_TRUE(final_answer.resp.mech_list_mic);
  auto server_mic = client.MechListMic(mech_types, Direction::kServerToClient);
  EXPECT_TRUE(std::ranges::equal(*final_answer.resp.mech_list_mic, server_mic));

  // The exchange is over.
  EXPECT_THAT(acceptor.Accept(RespToken(auth, {}), lookup), StatusIs(Errc::kInvalid));
}

TEST(Acceptor, SpnegoWithoutMechListMicAnswersWithout) {
  Client client;
  client.flags &= ~kNegotiateKeyExch;
  NtHashLookup lookup = LookupFor(client);
  Acceptor acceptor(ServerNames{});
  ASSERT_OK_AND_ASSIGN(Acceptor::Step first,
                       acceptor.Accept(InitToken(MechTypes(false), client.Negotiate()), lookup));
  ASSERT_OK_AND_ASSIGN(NegotiationToken answer, ParseNegotiationToken(first.output));
  ASSERT_OK_AND_ASSIGN(
      Acceptor::Step last,
      acceptor.Accept(RespToken(client.Authenticate(*answer.resp.response_token), {}), lookup));
  ASSERT_TRUE(last.done);
  ASSERT_OK_AND_ASSIGN(NegotiationToken final_answer, ParseNegotiationToken(last.output));
  EXPECT_EQ(final_answer.resp.neg_state, NegState::kAcceptCompleted);
  EXPECT_FALSE(final_answer.resp.mech_list_mic);
}

TEST(Acceptor, SpnegoBadMechListMicIsRefused) {
  Client client;
  NtHashLookup lookup = LookupFor(client);
  Acceptor acceptor(ServerNames{});
  Bytes mech_types = MechTypes(false);
  ASSERT_OK_AND_ASSIGN(Acceptor::Step first,
                       acceptor.Accept(InitToken(mech_types, client.Negotiate()), lookup));
  ASSERT_OK_AND_ASSIGN(NegotiationToken answer, ParseNegotiationToken(first.output));
  Bytes auth = client.Authenticate(*answer.resp.response_token);
  auto mic = client.MechListMic(mech_types, Direction::kServerToClient);  // wrong direction
  EXPECT_THAT(acceptor.Accept(RespToken(auth, Bytes(mic.begin(), mic.end())), lookup),
              StatusIs(Errc::kAccess));
}

TEST(Acceptor, SpnegoPreferringKerberosSelectsNtlmsspAndRequiresMic) {
  for (bool send_mic : {false, true}) {
    Client client;
    NtHashLookup lookup = LookupFor(client);
    Acceptor acceptor(ServerNames{});
    Bytes mech_types = MechTypes(true);
    Bytes krb_token(40, std::byte{0x6e});
    ASSERT_OK_AND_ASSIGN(Acceptor::Step first,
                         acceptor.Accept(InitToken(mech_types, krb_token), lookup));
    ASSERT_OK_AND_ASSIGN(NegotiationToken answer, ParseNegotiationToken(first.output));
    EXPECT_EQ(answer.resp.neg_state, NegState::kRequestMic);
    ASSERT_TRUE(answer.resp.supported_mech);
    EXPECT_TRUE(std::ranges::equal(*answer.resp.supported_mech, NtlmsspOid()));
    EXPECT_FALSE(answer.resp.response_token);

    ASSERT_OK_AND_ASSIGN(Acceptor::Step second,
                         acceptor.Accept(RespToken(client.Negotiate(), {}), lookup));
    ASSERT_OK_AND_ASSIGN(NegotiationToken challenge, ParseNegotiationToken(second.output));
    ASSERT_TRUE(challenge.resp.response_token);
    Bytes auth = client.Authenticate(*challenge.resp.response_token);
    Bytes mic;
    if (send_mic) {
      auto m = client.MechListMic(mech_types, Direction::kClientToServer);
      mic.assign(m.begin(), m.end());
    }
    auto last = acceptor.Accept(RespToken(auth, mic), lookup);
    if (!send_mic) {
      EXPECT_THAT(last, StatusIs(Errc::kAccess));
      continue;
    }
    ASSERT_OK(last);
    ASSERT_OK_AND_ASSIGN(NegotiationToken final_answer, ParseNegotiationToken(last->output));
    ASSERT_TRUE(final_answer.resp.mech_list_mic);
    auto server_mic = client.MechListMic(mech_types, Direction::kServerToClient);
    EXPECT_TRUE(std::ranges::equal(*final_answer.resp.mech_list_mic, server_mic));
  }
}

TEST(Acceptor, SpnegoWithoutNtlmsspIsNotSupported) {
  Acceptor acceptor(ServerNames{});
  Bytes only_krb = Tlv(0x30, OidTlv(kKrb5Oid));
  EXPECT_THAT(acceptor.Accept(InitToken(only_krb, {}), LookupFor(Client{})),
              StatusIs(Errc::kNotSupported));
  Bytes reject_bytes = RejectToken();
  ASSERT_OK_AND_ASSIGN(NegotiationToken reject, ParseNegotiationToken(reject_bytes));
  EXPECT_EQ(reject.resp.neg_state, NegState::kReject);
}

TEST(Acceptor, NegotiateTokenOffersNtlmssp) {
  Bytes bytes = NegotiateToken();  // the parse keeps views into it
  ASSERT_OK_AND_ASSIGN(NegotiationToken token, ParseNegotiationToken(bytes));
  ASSERT_TRUE(token.is_init);
  ASSERT_EQ(token.init.mech_types.size(), 1u);
  EXPECT_TRUE(std::ranges::equal(token.init.mech_types[0], NtlmsspOid()));
}

// A Kerberos context that takes the token "AP-REQ" from alice@DFS.TEST and answers "AP-REP",
// with a 32-byte key; its MICs are "mic:" and the message.
class FakeKerberos : public KerberosContext {
 public:
  explicit FakeKerberos(int* made) { ++*made; }
  Result<Step> Accept(ByteView token) override {
    if (!std::ranges::equal(token, AsBytes(std::string_view("AP-REQ")))) {
      return Status(Errc::kAccess, "kerberos: not our ticket");
    }
    ByteView rep = AsBytes(std::string_view("AP-REP"));
    return Step{.done = true, .output = Bytes(rep.begin(), rep.end())};
  }
  const std::string& principal() const override { return principal_; }
  Result<Bytes> SessionKey() const override {
    Bytes key(32);
    for (size_t k = 0; k < key.size(); ++k) key[k] = std::byte(k + 1);
    return key;
  }
  Result<Bytes> GetMic(ByteView message) const override {
    Bytes out = Cat({Bytes{std::byte{'m'}, std::byte{'i'}, std::byte{'c'}, std::byte{':'}}});
    out.insert(out.end(), message.begin(), message.end());
    return out;
  }
  Status VerifyMic(ByteView message, ByteView mic) const override {
    ASSIGN_OR_RETURN(Bytes expected, GetMic(message));
    if (!std::ranges::equal(expected, mic)) return Status(Errc::kAccess, "bad mic");
    return Status::Ok();
  }

 private:
  std::string principal_ = "alice@DFS.TEST";
};

const Bytes kMsKrb5Oid(MsKrb5Oid().begin(), MsKrb5Oid().end());
Bytes AsVector(std::string_view s) { return Bytes(AsBytes(s).begin(), AsBytes(s).end()); }

TEST(Acceptor, NegotiateTokenOffersKerberosFirstWhenItHasIt) {
  int made = 0;
  Mechanisms both{.kerberos = [&made] { return std::make_unique<FakeKerberos>(&made); }};
  Bytes bytes = NegotiateToken(both);
  ASSERT_OK_AND_ASSIGN(NegotiationToken token, ParseNegotiationToken(bytes));
  ASSERT_EQ(token.init.mech_types.size(), 3u);
  EXPECT_TRUE(std::ranges::equal(token.init.mech_types[0], MsKrb5Oid()));
  EXPECT_TRUE(std::ranges::equal(token.init.mech_types[1], Krb5Oid()));
  EXPECT_TRUE(std::ranges::equal(token.init.mech_types[2], NtlmsspOid()));
  both.ntlm = false;
  Bytes krb_only = NegotiateToken(both);
  ASSERT_OK_AND_ASSIGN(token, ParseNegotiationToken(krb_only));
  EXPECT_EQ(token.init.mech_types.size(), 2u);
  EXPECT_EQ(made, 0);
}

// The client's first choice is Kerberos (Microsoft's OID, as Windows and Samba send it) with
// the AP-REQ as its optimistic token: one round, the AP-REP back under the OID it named, the
// user and realm from the principal, the 32-byte key as FullSessionKey.
TEST(Acceptor, KerberosInOneRound) {
  int made = 0;
  Mechanisms mechs{.kerberos = [&made] { return std::make_unique<FakeKerberos>(&made); }};
  Acceptor acceptor(ServerNames{}, mechs);
  Bytes types = Tlv(0x30, Cat({OidTlv(kMsKrb5Oid), OidTlv(kKrb5Oid), OidTlv(NtlmsspOid())}));
  ASSERT_OK_AND_ASSIGN(Acceptor::Step step,
                       acceptor.Accept(InitToken(types, AsVector("AP-REQ")), LookupFor(Client{})));
  EXPECT_EQ(made, 1);
  ASSERT_TRUE(step.done);
  ASSERT_TRUE(step.result);
  EXPECT_EQ(step.result->principal, "alice@DFS.TEST");
  EXPECT_EQ(step.result->user, "alice");
  EXPECT_EQ(step.result->domain, "DFS.TEST");
  ASSERT_EQ(step.result->full_session_key.size(), 32u);
  EXPECT_EQ(step.result->session_key[0], std::byte{1});
  EXPECT_EQ(step.result->session_key[15], std::byte{16});
  ASSERT_OK_AND_ASSIGN(NegotiationToken answer, ParseNegotiationToken(step.output));
  EXPECT_FALSE(answer.is_init);
  EXPECT_EQ(answer.resp.neg_state, NegState::kAcceptCompleted);
  ASSERT_TRUE(answer.resp.supported_mech);
  EXPECT_TRUE(std::ranges::equal(*answer.resp.supported_mech, kMsKrb5Oid));
  ASSERT_TRUE(answer.resp.response_token);
  EXPECT_TRUE(std::ranges::equal(*answer.resp.response_token, AsVector("AP-REP")));
  EXPECT_FALSE(answer.resp.mech_list_mic);
  // The exchange is over.
  EXPECT_THAT(acceptor.Accept(RespToken(AsVector("AP-REQ"), {}), LookupFor(Client{})),
              StatusIs(Errc::kInvalid));
}

// Without an optimistic token the server selects Kerberos and waits for the AP-REQ; a
// mechListMIC sent with it is verified and answered with the server's.
TEST(Acceptor, KerberosInTwoRoundsWithMechListMics) {
  int made = 0;
  Mechanisms mechs{.kerberos = [&made] { return std::make_unique<FakeKerberos>(&made); }};
  Acceptor acceptor(ServerNames{}, mechs);
  Bytes types = Tlv(0x30, Cat({OidTlv(kKrb5Oid), OidTlv(NtlmsspOid())}));
  ASSERT_OK_AND_ASSIGN(Acceptor::Step first,
                       acceptor.Accept(InitToken(types, {}), LookupFor(Client{})));
  ASSERT_FALSE(first.done);
  ASSERT_OK_AND_ASSIGN(NegotiationToken select, ParseNegotiationToken(first.output));
  EXPECT_EQ(select.resp.neg_state, NegState::kAcceptIncomplete);
  EXPECT_TRUE(std::ranges::equal(*select.resp.supported_mech, kKrb5Oid));
  Bytes mic = Cat({AsVector("mic:"), types});
  ASSERT_OK_AND_ASSIGN(Acceptor::Step last,
                       acceptor.Accept(RespToken(AsVector("AP-REQ"), mic), LookupFor(Client{})));
  ASSERT_TRUE(last.done);
  ASSERT_OK_AND_ASSIGN(NegotiationToken answer, ParseNegotiationToken(last.output));
  EXPECT_EQ(answer.resp.neg_state, NegState::kAcceptCompleted);
  EXPECT_FALSE(answer.resp.supported_mech);  // said in the first answer
  ASSERT_TRUE(answer.resp.mech_list_mic);
  EXPECT_TRUE(std::ranges::equal(*answer.resp.mech_list_mic, mic));

  Acceptor wrong_mic(ServerNames{}, mechs);
  ASSERT_OK(wrong_mic.Accept(InitToken(types, {}), LookupFor(Client{})).status());
  EXPECT_THAT(
      wrong_mic.Accept(RespToken(AsVector("AP-REQ"), AsVector("mic:other")), LookupFor(Client{})),
      StatusIs(Errc::kAccess));
}

TEST(Acceptor, RefusedTicketsAndMechanismsNotTaken) {
  int made = 0;
  Mechanisms mechs{.kerberos = [&made] { return std::make_unique<FakeKerberos>(&made); }};
  Bytes types = Tlv(0x30, Cat({OidTlv(kKrb5Oid), OidTlv(NtlmsspOid())}));
  Acceptor refused(ServerNames{}, mechs);
  EXPECT_THAT(refused.Accept(InitToken(types, AsVector("forged")), LookupFor(Client{})),
              StatusIs(Errc::kAccess));
  // NTLM off: a client offering NTLMSSP only, in SPNEGO or bare, finds nothing in common.
  mechs.ntlm = false;
  Client client;
  Acceptor spnego(ServerNames{}, mechs);
  EXPECT_THAT(spnego.Accept(InitToken(MechTypes(false), client.Negotiate()), LookupFor(client)),
              StatusIs(Errc::kNotSupported));
  Acceptor bare(ServerNames{}, mechs);
  EXPECT_THAT(bare.Accept(client.Negotiate(), LookupFor(client)), StatusIs(Errc::kNotSupported));
}

TEST(Acceptor, LyingOffsetsAndLengthsAreInvalid) {
  Client client;
  NtHashLookup lookup = LookupFor(client);
  for (size_t field : {12, 20, 28, 36, 44, 52}) {
    for (int lie = 0; lie < 3; ++lie) {
      Client c;
      Acceptor acceptor(ServerNames{});
      ASSERT_OK_AND_ASSIGN(Acceptor::Step first, acceptor.Accept(c.Negotiate(), lookup));
      Bytes auth = c.Authenticate(first.output);
      if (lie == 0) PutLe32(auth, field + 4, 0xfffffff0);         // offset past the end
      if (lie == 1) PutLe16(auth, field, uint16_t(auth.size()));  // length past the end
      if (lie == 2) PutLe32(auth, field + 4, 8);                  // inside the header
      if (Le16(auth, field) == 0 && lie != 1) continue;           // an empty field
      EXPECT_THAT(acceptor.Accept(auth, lookup), StatusIs(Errc::kInvalid))
          << "field " << field << " lie " << lie;
    }
  }
}

TEST(Acceptor, EveryTruncationFailsCleanly) {
  Client client;
  NtHashLookup lookup = LookupFor(client);
  Bytes mech_types = MechTypes(false);
  // The first message, bare and wrapped.
  for (const Bytes& whole : {client.Negotiate(), InitToken(mech_types, client.Negotiate())}) {
    for (size_t n = 0; n < whole.size(); ++n) {
      Acceptor acceptor(ServerNames{});
      auto step = acceptor.Accept(ByteView(whole).first(n), lookup);
      if (step.ok()) {
        EXPECT_FALSE(step->done);
      }
    }
  }
  // The last message, bare and wrapped, each prefix answering its own acceptor's challenge.
  for (bool spnego : {false, true}) {
    for (size_t n = 0;; ++n) {
      Client c;
      Acceptor acceptor(ServerNames{});
      Bytes first_in = spnego ? InitToken(mech_types, c.Negotiate()) : c.Negotiate();
      ASSERT_OK_AND_ASSIGN(Acceptor::Step first, acceptor.Accept(first_in, lookup));
      Bytes challenge = first.output;
      if (spnego) {
        ASSERT_OK_AND_ASSIGN(NegotiationToken t, ParseNegotiationToken(first.output));
        challenge.assign(t.resp.response_token->begin(), t.resp.response_token->end());
      }
      Bytes auth = c.Authenticate(challenge);
      auto mic = c.MechListMic(mech_types, Direction::kClientToServer);
      Bytes whole = spnego ? RespToken(auth, Bytes(mic.begin(), mic.end())) : auth;
      auto step = acceptor.Accept(ByteView(whole).first(std::min(n, whole.size())), lookup);
      if (n >= whole.size()) {
        ASSERT_OK(step);  // the whole message authenticates
        EXPECT_EQ(step->result->session_key, c.exported);
        break;
      }
      EXPECT_FALSE(step.ok()) << "prefix " << n << " of " << whole.size();
    }
  }
}

// python3-impacket as an independent client: its NEGOTIATE, our CHALLENGE, its AUTHENTICATE.
// The script rebuilds the same deterministic NEGOTIATE in its second run.
constexpr const char* kImpacketClient = R"py(
import sys
from impacket import ntlm
from impacket.spnego import SPNEGO_NegTokenInit, SPNEGO_NegTokenResp, TypesMech
if sys.argv[1] == "parse":
    from impacket.spnego import MechTypes
    init = SPNEGO_NegTokenInit(bytes.fromhex(sys.argv[2]))
    print(",".join(MechTypes.get(m, m.hex()) for m in init["MechTypes"]))
    print(SPNEGO_NegTokenResp(bytes.fromhex(sys.argv[3]))["NegState"].hex())
    sys.exit(0)
spnego = sys.argv[1] == "spnego"
t1 = ntlm.getNTLMSSPType1("WS9", "DOM", signingRequired=True, use_ntlmv2=True)
if sys.argv[2] == "1":
    if spnego:
        blob = SPNEGO_NegTokenInit()
        blob["MechTypes"] = [TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]]
        blob["MechToken"] = t1.getData()
        print(blob.getData().hex())
    else:
        print(t1.getData().hex())
else:
    challenge = bytes.fromhex(sys.argv[3])
    if spnego:
        challenge = SPNEGO_NegTokenResp(challenge)["ResponseToken"]
    t3, key = ntlm.getNTLMSSPType3(t1, challenge, sys.argv[4], sys.argv[5], "DOM",
                                   use_ntlmv2=True)
    if spnego:
        resp = SPNEGO_NegTokenResp()
        resp["ResponseToken"] = t3.getData()
        print(resp.getData().hex())
    else:
        print(t3.getData().hex())
    print(key.hex())
)py";

std::optional<std::vector<std::string>> RunImpacket(const std::vector<std::string>& args) {
  std::string command = "/usr/bin/python3 -c \"import impacket\" 2>/dev/null";
  if (std::system(command.c_str()) != 0) return std::nullopt;
  command = "/usr/bin/python3 -c '" + std::string(kImpacketClient) + "'";
  for (const std::string& a : args) command += " '" + a + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::vector<std::string> lines;
  char buffer[8192];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    std::string line(buffer);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    lines.push_back(line);
  }
  if (pclose(pipe) != 0) return std::vector<std::string>();
  return lines;
}

std::string ToHex(ByteView b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (std::byte x : b) {
    out.push_back(kDigits[uint8_t(x) >> 4]);
    out.push_back(kDigits[uint8_t(x) & 15]);
  }
  return out;
}
Bytes FromHex(std::string_view hex) {
  Bytes out;
  for (size_t k = 0; k + 1 < hex.size(); k += 2) {
    out.push_back(std::byte(std::stoi(std::string(hex.substr(k, 2)), nullptr, 16)));
  }
  return out;
}

TEST(Acceptor, ImpacketParsesOurTokens) {
  auto parsed = RunImpacket({"parse", ToHex(NegotiateToken()), ToHex(RejectToken())});
  if (!parsed) GTEST_SKIP() << "python3-impacket is not installed";
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0], "NTLMSSP - Microsoft NTLM Security Support Provider");
  EXPECT_EQ((*parsed)[1], "02");  // reject
}

TEST(Acceptor, ImpacketClientInterop) {
  for (std::string mode : {"raw", "spnego"}) {
    auto first = RunImpacket({mode, "1"});
    if (!first) GTEST_SKIP() << "python3-impacket is not installed";
    ASSERT_EQ(first->size(), 1u);
    for (std::string password : {"Pa55-word", "wrong"}) {
      SCOPED_TRACE(mode + " " + password);
      Acceptor acceptor(ServerNames{});
      NtHashLookup lookup = [](std::string_view user, std::string_view domain) -> Result<NtHash> {
        EXPECT_EQ(domain, "DOM");
        if (user != "bob") return Errc::kNotFound;
        return NtHashOf("Pa55-word");
      };
      ASSERT_OK_AND_ASSIGN(Acceptor::Step challenge, acceptor.Accept(FromHex((*first)[0]), lookup));
      auto third = RunImpacket({mode, "3", ToHex(challenge.output), "bob", password});
      ASSERT_TRUE(third);
      ASSERT_EQ(third->size(), 2u);
      auto last = acceptor.Accept(FromHex((*third)[0]), lookup);
      if (password != "Pa55-word") {
        EXPECT_THAT(last, StatusIs(Errc::kAccess));
        continue;
      }
      ASSERT_OK(last);
      ASSERT_TRUE(last->done);
      EXPECT_EQ(last->result->user, "bob");
      EXPECT_EQ(last->result->workstation, "WS9");
      EXPECT_EQ(ToHex(last->result->session_key), (*third)[1]);
      if (mode == "spnego") {
        ASSERT_OK_AND_ASSIGN(NegotiationToken answer, ParseNegotiationToken(last->output));
        EXPECT_EQ(answer.resp.neg_state, NegState::kAcceptCompleted);
      }
    }
  }
}

}  // namespace
}  // namespace dittofs::smb::auth
