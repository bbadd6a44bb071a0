// SPDX-License-Identifier: Apache-2.0
#include "rpc/dispatch.h"

#include <gtest/gtest.h>

#include <atomic>

namespace dittofs::rpc {
namespace {

constexpr uint32_t kProg = 200000;

class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProgramVersion v1{kProg, 1, {}};
    v1.procedures.resize(3);
    v1.procedures[0] = {"NULL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                          return AcceptStat::kSuccess;
                        }};
    // proc 1: echoes the uid and the first u32 argument; garbage when absent
    v1.procedures[1] = {"ECHO", [](const CallContext& c, xdr::XdrDecoder& a, xdr::XdrEncoder& r) {
                          uint32_t v = a.U32();
                          if (!a.ok()) return AcceptStat::kGarbageArgs;
                          r.U32(c.cred.uid);
                          r.U32(v);
                          return AcceptStat::kSuccess;
                        }};
    // proc 2: a non-idempotent counter, cached
    v1.procedures[2] = {"BUMP",
                        [this](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder& r) {
                          r.U32(++bumps_);
                          return AcceptStat::kSuccess;
                        },
                        true};
    dispatcher_.Add(v1);
    ProgramVersion v3{kProg, 3, {}};
    dispatcher_.Add(v3);
  }

  // Sends a call; returns the decoded reply words.
  std::vector<uint32_t> Call(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                             const Credential& cred, std::vector<uint32_t> args = {},
                             std::string peer = "127.0.0.1") {
    xdr::XdrEncoder e;
    EncodeCallHeader(e, xid, prog, vers, proc, cred);
    for (uint32_t a : args) e.U32(a);
    return Send(e.ToString(), peer);
  }
  std::vector<uint32_t> Send(const std::string& record, std::string peer = "127.0.0.1") {
    xdr::XdrEncoder reply;
    ConnectionInfo conn{peer, 700};
    if (!dispatcher_.Handle(conn, AsBytes(record), &reply)) return {};
    std::string flat = reply.ToString();
    std::vector<uint32_t> words;
    for (size_t i = 0; i + 4 <= flat.size(); i += 4) {
      words.push_back(LoadBe32(reinterpret_cast<const std::byte*>(flat.data() + i)));
    }
    return words;
  }

  Dispatcher dispatcher_;
  std::atomic<uint32_t> bumps_{0};
};

Credential Sys(uint32_t uid) {
  Credential c;
  c.flavor = AuthFlavor::kSys;
  c.uid = uid;
  c.gid = 100;
  c.gids = {1, 2, 3};
  c.machine_name = "client";
  return c;
}

// Accepted reply: xid, REPLY(1), MSG_ACCEPTED(0), verf flavor, verf len, accept_stat, ...
TEST_F(DispatchTest, SuccessCarriesResults) {
  auto w = Call(7, kProg, 1, 1, Sys(1234), {99});
  ASSERT_EQ(w.size(), 8u);
  EXPECT_EQ(w[0], 7u);
  EXPECT_EQ(w[1], 1u);
  EXPECT_EQ(w[2], 0u);
  EXPECT_EQ(w[5], 0u);
  EXPECT_EQ(w[6], 1234u);
  EXPECT_EQ(w[7], 99u);
}

TEST_F(DispatchTest, RpcErrors) {
  EXPECT_EQ(Call(1, 999, 1, 0, Sys(0))[5], uint32_t(AcceptStat::kProgUnavail));
  auto mismatch = Call(1, kProg, 2, 0, Sys(0));
  ASSERT_EQ(mismatch.size(), 8u);
  EXPECT_EQ(mismatch[5], uint32_t(AcceptStat::kProgMismatch));
  EXPECT_EQ(mismatch[6], 1u);  // low
  EXPECT_EQ(mismatch[7], 3u);  // high
  EXPECT_EQ(Call(1, kProg, 1, 9, Sys(0))[5], uint32_t(AcceptStat::kProcUnavail));
  EXPECT_EQ(Call(1, kProg, 3, 0, Sys(0))[5], uint32_t(AcceptStat::kProcUnavail));
  EXPECT_EQ(Call(1, kProg, 1, 1, Sys(0), {})[5], uint32_t(AcceptStat::kGarbageArgs));
}

TEST_F(DispatchTest, AuthErrors) {
  Credential gss;
  gss.flavor = AuthFlavor::kGss;
  auto w = Call(5, kProg, 1, 0, gss);
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(w[2], 1u);  // MSG_DENIED
  EXPECT_EQ(w[3], 1u);  // AUTH_ERROR
  EXPECT_EQ(w[4], uint32_t(AuthStat::kTooWeak));

  // AUTH_SYS with 17 gids: a bad credential.
  Credential many = Sys(1);
  many.gids.assign(17, 5);
  auto b = Call(6, kProg, 1, 0, many);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[4], uint32_t(AuthStat::kBadCred));

  // AUTH_NONE is anonymous.
  auto anon = Call(8, kProg, 1, 1, Credential{}, {1});
  EXPECT_EQ(anon[6], 65534u);
}

TEST_F(DispatchTest, RpcVersionMismatchAndNonCalls) {
  xdr::XdrEncoder e;
  e.U32(3);  // xid
  e.U32(0);  // CALL
  e.U32(3);  // rpcvers 3
  auto w = Send(e.ToString());
  ASSERT_EQ(w.size(), 6u);
  EXPECT_EQ(w[2], 1u);  // MSG_DENIED
  EXPECT_EQ(w[3], 0u);  // RPC_MISMATCH
  EXPECT_EQ(w[4], 2u);
  EXPECT_EQ(w[5], 2u);

  xdr::XdrEncoder r;
  r.U32(3);
  r.U32(1);  // a REPLY sent to a server: ignored
  EXPECT_TRUE(Send(r.ToString()).empty());
  EXPECT_TRUE(Send("ab").empty());  // too short to hold an xid

  xdr::XdrEncoder t;  // truncated header: GARBAGE_ARGS
  t.U32(4);
  t.U32(0);
  t.U32(2);
  t.U32(kProg);
  auto g = Send(t.ToString());
  ASSERT_GE(g.size(), 6u);
  EXPECT_EQ(g[5], uint32_t(AcceptStat::kGarbageArgs));
}

TEST_F(DispatchTest, ReplyCacheAnswersRetransmissions) {
  auto first = Call(42, kProg, 1, 2, Sys(0));
  auto again = Call(42, kProg, 1, 2, Sys(0));
  EXPECT_EQ(first, again);
  EXPECT_EQ(bumps_.load(), 1u);
  // Another client with the same xid is another call.
  Call(42, kProg, 1, 2, Sys(0), {}, "10.0.0.9");
  EXPECT_EQ(bumps_.load(), 2u);
  Call(43, kProg, 1, 2, Sys(0));
  EXPECT_EQ(bumps_.load(), 3u);
  EXPECT_EQ(dispatcher_.reply_cache().hits(), 1u);
}

TEST(ReplyCacheTest, InProgressAndEviction) {
  ReplyCache cache(16);  // one entry per shard
  ReplyCache::Key k{"c", 1, 1, 1, 1, 0};
  std::string r;
  EXPECT_EQ(cache.Begin(k, &r), ReplyCache::State::kNew);
  EXPECT_EQ(cache.Begin(k, &r), ReplyCache::State::kInProgress);
  cache.Finish(k, "reply");
  EXPECT_EQ(cache.Begin(k, &r), ReplyCache::State::kDone);
  EXPECT_EQ(r, "reply");
  for (uint32_t x = 100; x < 1000; ++x) {
    ReplyCache::Key o{"c", x, 1, 1, 1, 0};
    if (cache.Begin(o, &r) == ReplyCache::State::kNew) cache.Finish(o, "x");
  }
  EXPECT_EQ(cache.Begin(k, &r), ReplyCache::State::kNew);  // evicted
}

}  // namespace
}  // namespace dittofs::rpc
