// SPDX-License-Identifier: Apache-2.0
#include "smb/auth/spnego.h"

#include <gtest/gtest.h>

#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::smb::auth {
namespace {

using ::dittofs::testing::StatusIs;

std::vector<std::byte> B(std::initializer_list<int> bytes) {
  std::vector<std::byte> out;
  for (int b : bytes) out.push_back(std::byte(b));
  return out;
}

// NegTokenResp { negState accept-incomplete, responseToken "ab" }.
const std::vector<std::byte> kResp =
    B({0xa1, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x0a, 0x01, 0x01, 0xa2, 0x03, 0x04, 0x01, 0xab});

TEST(Spnego, ParsesANegTokenResp) {
  auto token = ParseNegotiationToken(kResp);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_FALSE(token->is_init);
  EXPECT_EQ(token->resp.neg_state, NegState::kAcceptIncomplete);
  ASSERT_TRUE(token->resp.response_token);
  EXPECT_EQ(token->resp.response_token->size(), 1u);
}

TEST(Spnego, EncodesWhatItParses) {
  std::vector<std::byte> inner(300, std::byte{7});  // a two-byte length
  auto encoded = EncodeNegTokenResp({.neg_state = NegState::kAcceptCompleted,
                                     .supported_mech = NtlmsspOid(),
                                     .response_token = ByteView(inner),
                                     .mech_list_mic = ByteView(inner).first(16)});
  auto token = ParseNegotiationToken(encoded);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->resp.neg_state, NegState::kAcceptCompleted);
  EXPECT_EQ(token->resp.response_token->size(), 300u);
  EXPECT_EQ(token->resp.mech_list_mic->size(), 16u);
}

TEST(Spnego, RejectsNonDer) {
  // Indefinite length.
  EXPECT_THAT(ParseNegotiationToken(B({0xa1, 0x80, 0x30, 0x00, 0x00, 0x00})),
              StatusIs(Errc::kInvalid));
  // Non-minimal long-form length.
  EXPECT_THAT(ParseNegotiationToken(B({0xa1, 0x81, 0x02, 0x30, 0x00})), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseNegotiationToken(B({0xa1, 0x82, 0x00, 0x02, 0x30, 0x00})),
              StatusIs(Errc::kInvalid));
  // Trailing bytes.
  auto trailing = kResp;
  trailing.push_back(std::byte{0});
  EXPECT_THAT(ParseNegotiationToken(trailing), StatusIs(Errc::kInvalid));
  // Fields out of order: responseToken before negState.
  EXPECT_THAT(ParseNegotiationToken(B({0xa1, 0x0c, 0x30, 0x0a, 0xa2, 0x03, 0x04, 0x01, 0xab, 0xa0,
                                       0x03, 0x0a, 0x01, 0x01})),
              StatusIs(Errc::kInvalid));
  // A bad negState.
  EXPECT_THAT(ParseNegotiationToken(B({0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x09})),
              StatusIs(Errc::kInvalid));
  // Length past the end, and a multi-byte tag.
  EXPECT_THAT(ParseNegotiationToken(B({0xa1, 0x7f, 0x30})), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ParseNegotiationToken(B({0xbf, 0x01, 0x00})), StatusIs(Errc::kInvalid));
  // Not the SPNEGO OID in the InitialContextToken.
  EXPECT_THAT(ParseNegotiationToken(B({0x60, 0x05, 0x06, 0x01, 0x2a, 0xa0, 0x00})),
              StatusIs(Errc::kInvalid));
  // Every truncation of a good token.
  for (size_t n = 0; n < kResp.size(); ++n) {
    EXPECT_THAT(ParseNegotiationToken(ByteView(kResp).first(n)), StatusIs(Errc::kInvalid));
  }
}

TEST(Spnego, RejectsOversizedTokens) {
  std::vector<std::byte> big(kMaxSpnegoToken + 1);
  EXPECT_THAT(ParseNegotiationToken(big), StatusIs(Errc::kInvalid));
}

TEST(Spnego, NegTokenInit2HasNegHints) {
  std::vector<std::byte> bytes = EncodeNegTokenInit2({MsKrb5Oid(), Krb5Oid(), NtlmsspOid()});
  auto token = ParseNegotiationToken(bytes);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ASSERT_TRUE(token->is_init);
  ASSERT_EQ(token->init.mech_types.size(), 3u);
  EXPECT_TRUE(std::ranges::equal(token->init.mech_types[0], MsKrb5Oid()));
  EXPECT_TRUE(std::ranges::equal(token->init.mech_types[1], Krb5Oid()));
  EXPECT_TRUE(std::ranges::equal(token->init.mech_types[2], NtlmsspOid()));
  EXPECT_FALSE(token->init.mech_token);
  EXPECT_FALSE(token->init.mech_list_mic);
}

}  // namespace
}  // namespace dittofs::smb::auth
