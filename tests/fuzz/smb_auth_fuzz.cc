// SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for SMB2 authentication: the client's security buffer is hostile input.
// The first byte picks what the rest feeds: the SPNEGO decoder, the NTLMSSP decoders, an
// Acceptor's first step, or an Acceptor's later steps after a well-formed start (bare NTLMSSP,
// SPNEGO with NTLMSSP preferred, and SPNEGO with another mechanism preferred), and the same with
// an Acceptor that takes Kerberos (a stand-in context that accepts tokens starting "AP-REQ").
// Everything must fail cleanly or succeed; nothing may crash, leak or read out of bounds.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "smb/auth/acceptor.h"
#include "smb/auth/ntlm.h"
#include "smb/auth/spnego.h"

namespace {

using namespace dittofs::smb::auth;
using dittofs::ByteView;
using Bytes = std::vector<std::byte>;

Bytes Tlv(uint8_t tag, ByteView content) {
  Bytes out{std::byte(tag)};
  if (content.size() < 0x80) {
    out.push_back(std::byte(content.size()));
  } else {
    out.push_back(std::byte{0x82});
    out.push_back(std::byte(content.size() >> 8));
    out.push_back(std::byte(content.size()));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}

Bytes Negotiate() {
  Bytes m(32);
  std::memcpy(m.data(), "NTLMSSP\0", 8);
  m[8] = std::byte{1};
  const uint8_t flags[4] = {0x35, 0x82, 0x88, 0xe2};
  std::memcpy(m.data() + 12, flags, 4);
  return m;
}

Bytes Init(bool ntlm_first, bool with_token) {
  const uint8_t krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
  Bytes krb = Tlv(0x06, ByteView(reinterpret_cast<const std::byte*>(krb5), sizeof(krb5)));
  Bytes ntlm = Tlv(0x06, NtlmsspOid());
  Bytes list = ntlm_first ? ntlm : krb;
  Bytes second = ntlm_first ? krb : ntlm;
  list.insert(list.end(), second.begin(), second.end());
  Bytes seq = Tlv(0xa0, Tlv(0x30, list));
  if (with_token) {
    Bytes token = Tlv(0xa2, Tlv(0x04, Negotiate()));
    seq.insert(seq.end(), token.begin(), token.end());
  }
  Bytes body = Tlv(0x06, SpnegoOid());
  Bytes inner = Tlv(0xa0, Tlv(0x30, seq));
  body.insert(body.end(), inner.begin(), inner.end());
  return Tlv(0x60, body);
}

// Accepts a token that starts with "AP-REQ" (and needs one more token when it is just that).
class FakeKerberos : public KerberosContext {
 public:
  dittofs::Result<Step> Accept(ByteView token) override {
    const std::string_view text = dittofs::AsChars(token);
    if (!text.starts_with("AP-REQ")) return dittofs::Errc::kAccess;
    Step step;
    step.done = text.size() > 6 || calls_++ > 0;
    step.output.assign(token.begin(), token.begin() + std::min<size_t>(token.size(), 64));
    return step;
  }
  const std::string& principal() const override { return principal_; }
  dittofs::Result<Bytes> SessionKey() const override { return Bytes(32, std::byte{7}); }
  dittofs::Result<Bytes> GetMic(ByteView message) const override {
    return Bytes(message.begin(), message.begin() + std::min<size_t>(message.size(), 16));
  }
  dittofs::Status VerifyMic(ByteView message, ByteView mic) const override {
    if (mic.size() != std::min<size_t>(message.size(), 16)) return dittofs::Errc::kAccess;
    return dittofs::Status::Ok();
  }

 private:
  int calls_ = 0;
  std::string principal_ = "alice@EXAMPLE.COM";
};

Mechanisms WithKerberos() {
  return Mechanisms{.kerberos = [] { return std::make_unique<FakeKerberos>(); }};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  ByteView input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  NtHashLookup lookup = [](std::string_view user, std::string_view) -> dittofs::Result<NtHash> {
    if (user.empty()) return dittofs::Errc::kNotFound;
    return NtHash{};
  };
  switch (mode % 8) {
    case 0:
      (void)ParseNegotiationToken(input);
      break;
    case 1: {
      (void)ParseNegotiate(input);
      (void)ParseAuthenticate(input);
      (void)FindAvPair(input, AvId::kFlags);
      (void)Utf16ToUtf8(input);
      (void)Utf8ToUtf16(dittofs::AsChars(input));
      break;
    }
    case 2: {
      Acceptor acceptor(ServerNames{});
      auto step = acceptor.Accept(input, lookup);
      if (step.ok() && !step->done) (void)acceptor.Accept(input, lookup);
      break;
    }
    case 6: {
      // A server that takes Kerberos: the first step, and a second with the same bytes.
      Acceptor acceptor(ServerNames{}, WithKerberos());
      auto step = acceptor.Accept(input, lookup);
      if (step.ok() && !step->done) (void)acceptor.Accept(input, lookup);
      break;
    }
    case 7: {
      // Kerberos chosen without an optimistic token: the input as the next token, wrapped in a
      // NegTokenResp (with the input's head as a mechListMIC too) and bare.
      Bytes first = Init(/*ntlm_first=*/false, /*with_token=*/false);
      Acceptor acceptor(ServerNames{}, WithKerberos());
      if (!acceptor.Accept(first, lookup).ok()) __builtin_trap();
      (void)acceptor.Accept(input, lookup);
      if (input.size() < 30000) {
        Acceptor wrapped(ServerNames{}, WithKerberos());
        if (!wrapped.Accept(first, lookup).ok()) __builtin_trap();
        Bytes body = Tlv(0xa2, Tlv(0x04, input));
        Bytes mic = Tlv(0xa3, Tlv(0x04, input.first(std::min<size_t>(input.size(), 16))));
        body.insert(body.end(), mic.begin(), mic.end());
        auto step = wrapped.Accept(Tlv(0xa1, Tlv(0x30, body)), lookup);
        if (step.ok() && !step->done) (void)wrapped.Accept(Tlv(0xa1, Tlv(0x30, body)), lookup);
      }
      break;
    }
    default: {
      Acceptor acceptor(ServerNames{});
      int start = mode % 8 - 3;  // 0: bare, 1: SPNEGO NTLM first, 2: SPNEGO Kerberos first
      Bytes first = start == 0 ? Negotiate() : Init(start == 1, start == 1);
      if (!acceptor.Accept(first, lookup).ok()) __builtin_trap();
      auto step = acceptor.Accept(input, lookup);
      if (step.ok() && !step->done) (void)acceptor.Accept(input, lookup);
      // The same bytes as the token inside a NegTokenResp.
      if (start != 0 && input.size() < 60000) {
        Acceptor wrapped(ServerNames{});
        if (!wrapped.Accept(first, lookup).ok()) __builtin_trap();
        (void)wrapped.Accept(Tlv(0xa1, Tlv(0x30, Tlv(0xa2, Tlv(0x04, input)))), lookup);
      }
      break;
    }
  }
  return 0;
}
