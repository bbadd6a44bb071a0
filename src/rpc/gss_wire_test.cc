// SPDX-License-Identifier: Apache-2.0
// RPCSEC_GSS's wire forms (RFC 2203 §5) against golden bytes written from the spec's XDR, their
// refusal of every truncation and of lying lengths, and the sequence window (§5.3.3.1).
#include "rpc/gss_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace dittofs::rpc {
namespace {

std::string Words(std::initializer_list<uint32_t> words) {
  std::string s;
  for (uint32_t w : words) {
    std::byte b[4];
    StoreBe32(b, w);
    s.append(reinterpret_cast<const char*>(b), 4);
  }
  return s;
}

// rpc_gss_cred_t { version 1; gss_proc DATA; seq_num 7; service integrity; handle "abcd" }
const std::string kDataCred = Words({1, 0, 7, 2, 4}) + "abcd";

TEST(RpcGssCred, DecodesGoldenBytes) {
  RpcGssCred cred;
  ASSERT_EQ(DecodeRpcGssCred(AsBytes(kDataCred), &cred), GssCredOutcome::kOk);
  EXPECT_EQ(cred.gss_proc, RpcGssProc::kData);
  EXPECT_EQ(cred.seq_num, 7u);
  EXPECT_EQ(cred.service, RpcGssService::kIntegrity);
  EXPECT_EQ(AsChars(cred.handle), "abcd");
}

TEST(RpcGssCred, RoundTrips) {
  RpcGssCred cred;
  cred.gss_proc = RpcGssProc::kDestroy;
  cred.seq_num = 0x7fffffff;
  cred.service = RpcGssService::kPrivacy;
  std::string handle = "hello";
  cred.handle = AsBytes(handle);
  xdr::XdrEncoder e;
  EncodeRpcGssCred(e, cred);
  std::string bytes = e.ToString();
  EXPECT_EQ(bytes, Words({1, 3, 0x7fffffff, 3, 5}) + "hello" + std::string(3, '\0'));
  RpcGssCred back;
  ASSERT_EQ(DecodeRpcGssCred(AsBytes(bytes), &back), GssCredOutcome::kOk);
  EXPECT_EQ(back.gss_proc, RpcGssProc::kDestroy);
  EXPECT_EQ(AsChars(back.handle), "hello");
}

TEST(RpcGssCred, RefusesEveryTruncation) {
  for (size_t n = 0; n < kDataCred.size(); ++n) {
    RpcGssCred cred;
    EXPECT_NE(DecodeRpcGssCred(AsBytes(std::string_view(kDataCred).substr(0, n)), &cred),
              GssCredOutcome::kOk)
        << n;
  }
}

TEST(RpcGssCred, RefusesHostileFields) {
  RpcGssCred cred;
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(Words({2, 0, 7, 1, 0})), &cred), GssCredOutcome::kBadVersion);
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(Words({1, 4, 7, 1, 0})), &cred), GssCredOutcome::kBadCred);
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(Words({1, 0, 7, 0, 0})), &cred), GssCredOutcome::kBadCred);
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(Words({1, 0, 7, 4, 0})), &cred), GssCredOutcome::kBadCred);
  // A handle length that lies (past the body), one over the limit, and trailing bytes.
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(Words({1, 0, 7, 1, 8}) + "abcd"), &cred),
            GssCredOutcome::kBadCred);
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(Words({1, 0, 7, 1, 0xffffffff})), &cred),
            GssCredOutcome::kBadCred);
  std::string big =
      Words({1, 0, 7, 1, kRpcGssMaxHandle + 4}) + std::string(kRpcGssMaxHandle + 4, 'x');
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(big), &cred), GssCredOutcome::kBadCred);
  EXPECT_EQ(DecodeRpcGssCred(AsBytes(kDataCred + Words({0})), &cred), GssCredOutcome::kBadCred);
}

TEST(RpcGssInitRes, RoundTripsAndGoldenBytes) {
  RpcGssInitRes res;
  res.handle = "hd";
  res.gss_major = 0;
  res.gss_minor = 0;
  res.seq_window = 128;
  res.gss_token = "tok";
  xdr::XdrEncoder e;
  EncodeRpcGssInitRes(e, res);
  std::string bytes = e.ToString();
  EXPECT_EQ(bytes, Words({2}) + "hd" + std::string(2, '\0') + Words({0, 0, 128, 3}) + "tok" +
                       std::string(1, '\0'));
  RpcGssInitRes back;
  ASSERT_TRUE(DecodeRpcGssInitRes(AsBytes(bytes), &back));
  EXPECT_EQ(back.handle, "hd");
  EXPECT_EQ(back.seq_window, 128u);
  EXPECT_EQ(back.gss_token, "tok");
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeRpcGssInitRes(AsBytes(std::string_view(bytes).substr(0, n)), &back)) << n;
  }
}

TEST(RpcGssInitArg, TokenBoundsChecked) {
  ByteView token;
  std::string arg = Words({3}) + "abc" + std::string(1, '\0');
  ASSERT_TRUE(DecodeRpcGssInitArg(AsBytes(arg), &token));
  EXPECT_EQ(AsChars(token), "abc");
  for (size_t n = 0; n < arg.size(); ++n) {
    EXPECT_FALSE(DecodeRpcGssInitArg(AsBytes(std::string_view(arg).substr(0, n)), &token)) << n;
  }
  EXPECT_FALSE(DecodeRpcGssInitArg(AsBytes(Words({kRpcGssMaxToken + 4})), &token));
}

TEST(RpcGssIntegData, SplitsBodyAndChecksum) {
  // databody_integ = seq_num 9 + args (one word 0x55); checksum "mic!"
  std::string body = Words({8, 9, 0x55, 4}) + "mic!";
  RpcGssIntegData data;
  ASSERT_TRUE(DecodeRpcGssIntegData(AsBytes(body), &data));
  EXPECT_EQ(AsChars(data.checksum), "mic!");
  uint32_t seq = 0;
  ByteView rest;
  ASSERT_TRUE(SplitRpcGssDatabody(data.databody, &seq, &rest));
  EXPECT_EQ(seq, 9u);
  EXPECT_EQ(AsChars(rest), Words({0x55}));
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_FALSE(DecodeRpcGssIntegData(AsBytes(std::string_view(body).substr(0, n)), &data)) << n;
  }
  // A databody too short to hold a seq_num, and one whose length lies.
  EXPECT_FALSE(DecodeRpcGssIntegData(AsBytes(Words({0, 0})), &data));
  EXPECT_FALSE(DecodeRpcGssIntegData(AsBytes(Words({0x7ffffff0, 9})), &data));
}

TEST(RpcGssPrivData, RefusesLyingLength) {
  ByteView databody;
  std::string body = Words({4}) + "wrap";
  ASSERT_TRUE(DecodeRpcGssPrivData(AsBytes(body), &databody));
  EXPECT_EQ(AsChars(databody), "wrap");
  EXPECT_FALSE(DecodeRpcGssPrivData(AsBytes(Words({5}) + "wrap"), &databody));
  EXPECT_FALSE(DecodeRpcGssPrivData(AsBytes(body + Words({0})), &databody));
}

TEST(SeqWindow, ReplaysAreRefused) {
  SeqWindow w(128);
  EXPECT_TRUE(w.Accept(1));
  EXPECT_FALSE(w.Accept(1));
  EXPECT_TRUE(w.Accept(3));
  EXPECT_TRUE(w.Accept(2));  // late but inside the window, once
  EXPECT_FALSE(w.Accept(2));
  EXPECT_FALSE(w.Accept(3));
}

TEST(SeqWindow, BelowTheWindowIsRefused) {
  SeqWindow w(128);
  EXPECT_TRUE(w.Accept(1000));
  EXPECT_TRUE(w.Accept(1000 - 127));  // the oldest number still inside
  EXPECT_FALSE(w.Accept(1000 - 128));
  EXPECT_FALSE(w.Accept(0));
}

TEST(SeqWindow, SlidesForward) {
  SeqWindow w(4);
  for (uint32_t s = 10; s < 14; ++s) EXPECT_TRUE(w.Accept(s));
  EXPECT_TRUE(w.Accept(15));   // window now 12..15; 14 unseen
  EXPECT_FALSE(w.Accept(11));  // slid out
  EXPECT_FALSE(w.Accept(12));  // seen, still inside
  EXPECT_TRUE(w.Accept(14));
  EXPECT_TRUE(w.Accept(100));  // a jump clears everything
  EXPECT_FALSE(w.Accept(15));
  EXPECT_TRUE(w.Accept(99));
}

}  // namespace
}  // namespace dittofs::rpc
