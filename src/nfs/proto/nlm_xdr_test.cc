// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "nfs/proto/nlm_types.h"

namespace dittofs::nfs {
namespace {

template <typename T>
T RoundTrip(const T& in, uint32_t vers) {
  xdr::XdrEncoder e;
  Encode(e, in, vers);
  const std::string bytes = e.ToString();
  xdr::XdrDecoder d(AsBytes(bytes));
  T out;
  EXPECT_TRUE(Decode(d, &out, vers));
  EXPECT_EQ(d.remaining(), 0u);
  return out;
}

nlm4_lockargs Sample() {
  nlm4_lockargs a;
  a.cookie = "cookie";
  a.block = true;
  a.exclusive = true;
  a.alock.caller_name = "client.example";
  a.alock.fh = std::string(28, '\x07');
  a.alock.oh = "1234@client";
  a.alock.svid = -5;
  a.alock.l_offset = uint64_t{1} << 40;
  a.alock.l_len = 77;
  a.reclaim = true;
  a.state = 9;
  return a;
}

TEST(NlmXdr, LockArgsRoundTripInVersion4) {
  const nlm4_lockargs in = Sample();
  const nlm4_lockargs out = RoundTrip(in, NLM4_VERS);
  EXPECT_EQ(out.cookie, in.cookie);
  EXPECT_TRUE(out.block && out.exclusive && out.reclaim);
  EXPECT_EQ(out.alock.caller_name, in.alock.caller_name);
  EXPECT_EQ(out.alock.fh, in.alock.fh);
  EXPECT_EQ(out.alock.oh, in.alock.oh);
  EXPECT_EQ(out.alock.svid, -5);
  EXPECT_EQ(out.alock.l_offset, uint64_t{1} << 40);
  EXPECT_EQ(out.alock.l_len, 77u);
  EXPECT_EQ(out.state, 9);
}

TEST(NlmXdr, Versions1And3Carry32BitRanges) {
  nlm4_lockargs in = Sample();
  xdr::XdrEncoder e4, e1;
  Encode(e4, in, NLM4_VERS);
  Encode(e1, in, NLM_VERS);
  EXPECT_EQ(e4.ToString().size(), e1.ToString().size() + 8);  // two 32-bit words less
  // An offset past 32 bits is sent as the largest one version 1 has.
  EXPECT_EQ(RoundTrip(in, NLM_VERS).alock.l_offset, 0xFFFFFFFFu);
  in.alock.l_offset = 123;
  EXPECT_EQ(RoundTrip(in, NLM_VERSX).alock.l_offset, 123u);
}

TEST(NlmXdr, StatusesVersion1LacksBecomeItsOwn) {
  const auto sent = [](nlm4_stats s, uint32_t vers) {
    xdr::XdrEncoder e;
    Encode(e, nlm4_res{"c", s}, vers);
    const std::string bytes = e.ToString();
    xdr::XdrDecoder d(AsBytes(bytes));
    nlm4_res r;
    EXPECT_TRUE(Decode(d, &r, vers));
    return r.stat;
  };
  EXPECT_EQ(sent(nlm4_stats::NLM4_DEADLCK, NLM4_VERS), nlm4_stats::NLM4_DEADLCK);
  EXPECT_EQ(sent(nlm4_stats::NLM4_DEADLCK, NLM_VERS), nlm4_stats::NLM4_DENIED);
  EXPECT_EQ(sent(nlm4_stats::NLM4_STALE_FH, NLM_VERSX), nlm4_stats::NLM4_DENIED_NOLOCKS);
  EXPECT_EQ(sent(nlm4_stats::NLM4_DENIED_GRACE_PERIOD, NLM_VERS),
            nlm4_stats::NLM4_DENIED_GRACE_PERIOD);
}

TEST(NlmXdr, TestResCarriesTheHolderOnlyWhenDenied) {
  nlm4_testres in;
  in.cookie = "t";
  in.stat = nlm4_stats::NLM4_DENIED;
  in.holder = {true, 3, "oh", 10, 20};
  nlm4_testres out = RoundTrip(in, NLM4_VERS);
  EXPECT_TRUE(out.holder.exclusive);
  EXPECT_EQ(out.holder.svid, 3);
  EXPECT_EQ(out.holder.oh, "oh");
  EXPECT_EQ(out.holder.l_offset, 10u);
  EXPECT_EQ(out.holder.l_len, 20u);
  in.stat = nlm4_stats::NLM4_GRANTED;
  xdr::XdrEncoder e;
  Encode(e, in, NLM4_VERS);
  EXPECT_EQ(e.ToString().size(), 4u + 4u + 4u);  // cookie length, "t" padded, status
}

TEST(NlmXdr, HostileInputIsRefused) {
  // A netobj over 1024 bytes.
  nlm4_lockargs big = Sample();
  big.alock.oh = std::string(1025, 'x');
  xdr::XdrEncoder e;
  Encode(e, big, NLM4_VERS);
  std::string bytes = e.ToString();
  xdr::XdrDecoder d(AsBytes(bytes));
  nlm4_lockargs out;
  EXPECT_FALSE(Decode(d, &out, NLM4_VERS));
  // Every truncation fails.
  xdr::XdrEncoder f;
  Encode(f, Sample(), NLM4_VERS);
  bytes = f.ToString();
  for (size_t n = 0; n < bytes.size(); ++n) {
    xdr::XdrDecoder t(AsBytes(std::string_view(bytes).substr(0, n)));
    EXPECT_FALSE(Decode(t, &out, NLM4_VERS)) << n;
  }
  // Out-of-range enums: a status of 10, a version 1 status of 5, a share mode of 4.
  for (auto [value, vers] : {std::pair{10u, NLM4_VERS}, std::pair{5u, NLM_VERS}}) {
    xdr::XdrEncoder g;
    g.String("c");
    g.U32(value);
    bytes = g.ToString();
    xdr::XdrDecoder t(AsBytes(bytes));
    nlm4_res r;
    EXPECT_FALSE(Decode(t, &r, vers));
  }
  nlm4_shareargs s;
  s.share.fh = "fh";
  xdr::XdrEncoder h;
  Encode(h, s, NLM4_VERS);
  bytes = h.ToString();
  bytes[bytes.size() - 12 + 3] = 4;  // mode
  xdr::XdrDecoder t(AsBytes(bytes));
  EXPECT_FALSE(Decode(t, &s, NLM4_VERS));
}

TEST(NsmXdr, MonAndNotifyRoundTrip) {
  mon m;
  m.mon_id_.mon_name = "server";
  m.mon_id_.my_id_ = {"client", 100021, 4, 16};
  m.priv = std::string(16, 'p');
  xdr::XdrEncoder e;
  Encode(e, m);
  std::string bytes = e.ToString();
  xdr::XdrDecoder d(AsBytes(bytes));
  mon out;
  ASSERT_TRUE(Decode(d, &out));
  EXPECT_EQ(out.mon_id_.mon_name, "server");
  EXPECT_EQ(out.mon_id_.my_id_.my_proc, 16);
  EXPECT_EQ(out.priv, m.priv);
  stat_chge c{"10.0.0.7", 7};
  xdr::XdrEncoder f;
  Encode(f, c);
  bytes = f.ToString();
  xdr::XdrDecoder g(AsBytes(bytes));
  stat_chge back;
  ASSERT_TRUE(Decode(g, &back));
  EXPECT_EQ(back.mon_name, "10.0.0.7");
  EXPECT_EQ(back.state, 7);
}

}  // namespace
}  // namespace dittofs::nfs
