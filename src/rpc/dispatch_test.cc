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
    v1.procedures.resize(4);
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
    // proc 3: bumps the counter by its argument; looked up in the cache when the argument is
    // odd, and its reply kept when it bumped.
    v1.procedures[3] = {
        "MAYBE",
        [this](const CallContext& c, xdr::XdrDecoder& a, xdr::XdrEncoder& r) {
          uint32_t v = a.U32();
          bumps_ += v;
          if (v != 1 && c.keep_reply != nullptr) *c.keep_reply = true;
          r.U32(bumps_);
          return AcceptStat::kSuccess;
        },
        false, false,
        [](ByteView args) { return args.size() >= 4 && (LoadBe32(args.data()) & 1) != 0; }};
    dispatcher_.Add(v1);
    ProgramVersion v3{kProg, 3, {}};
    dispatcher_.Add(v3);
    dispatcher_.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
    dispatcher_.AddAuthFlavor(AuthFlavor::kSys, AuthSys);
  }

  // Sends a call; returns the decoded reply words.
  std::vector<uint32_t> Call(uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                             const Credential& cred, std::vector<uint32_t> args = {},
                             std::string peer = "127.0.0.1", uint16_t port = 700) {
    xdr::XdrEncoder e;
    EncodeCallHeader(e, xid, prog, vers, proc, cred);
    for (uint32_t a : args) e.U32(a);
    return Send(e.ToString(), peer, port);
  }
  std::vector<uint32_t> Send(const std::string& record, std::string peer = "127.0.0.1",
                             uint16_t port = 700) {
    xdr::XdrEncoder reply;
    ConnectionInfo conn{peer, port};
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

TEST_F(DispatchTest, DisabledVersionsAreAnsweredAsNotRegistered) {
  ASSERT_TRUE(dispatcher_.SetEnabled(kProg, 3, false));
  EXPECT_FALSE(dispatcher_.SetEnabled(kProg, 7, false));
  auto mismatch = Call(1, kProg, 3, 0, Sys(0));
  ASSERT_EQ(mismatch.size(), 8u);
  EXPECT_EQ(mismatch[5], uint32_t(AcceptStat::kProgMismatch));
  EXPECT_EQ(mismatch[6], 1u);  // low
  EXPECT_EQ(mismatch[7], 1u);  // high: 3 is not served now
  ASSERT_TRUE(dispatcher_.SetEnabled(kProg, 1, false));
  EXPECT_EQ(Call(1, kProg, 1, 0, Sys(0))[5], uint32_t(AcceptStat::kProgUnavail));
  ASSERT_TRUE(dispatcher_.SetEnabled(kProg, 1, true));
  EXPECT_EQ(Call(1, kProg, 1, 0, Sys(0))[5], uint32_t(AcceptStat::kSuccess));
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

// The whole AUTH_ERROR reply, byte for byte (RFC 5531 §9: reply_body MSG_DENIED, rejected_reply
// AUTH_ERROR, auth_stat).
TEST_F(DispatchTest, AuthErrorReplyBytes) {
  xdr::XdrEncoder e;
  EncodeAuthErrorReply(e, 0x01020304, AuthStat::kTooWeak);
  EXPECT_EQ(e.ToString(), std::string("\x01\x02\x03\x04"  // xid
                                      "\0\0\0\x01"        // REPLY
                                      "\0\0\0\x01"        // MSG_DENIED
                                      "\0\0\0\x01"        // AUTH_ERROR
                                      "\0\0\0\x05",       // AUTH_TOOWEAK
                                      20));
}

// Flavors are a table the server fills: a flavor without a handler is too weak, whatever the
// program, and a registered handler decides alone what its calls run as or why they are denied.
TEST_F(DispatchTest, AuthFlavorTable) {
  constexpr auto kTest = static_cast<AuthFlavor>(390099);
  auto call = [&](AuthFlavor flavor, std::string body, uint32_t prog = kProg) {
    xdr::XdrEncoder e;
    e.U32(11);  // xid
    e.U32(0);   // CALL
    e.U32(2);
    e.U32(prog);
    e.U32(1);
    e.U32(1);  // ECHO
    e.U32(static_cast<uint32_t>(flavor));
    e.String(body);
    e.U32(0);  // AUTH_NONE verifier
    e.U32(0);
    e.U32(77);  // the argument
    return Send(e.ToString());
  };
  auto denied = [](const std::vector<uint32_t>& w) {
    return w.size() == 5 && w[2] == 1 && w[3] == 1 ? static_cast<int>(w[4]) : -1;
  };
  EXPECT_EQ(denied(call(kTest, "")), int(AuthStat::kTooWeak));
  EXPECT_EQ(denied(call(kTest, "", 999)), int(AuthStat::kTooWeak))
      << "the flavor is checked before the program";

  // The handler sees the credential body and makes the identity.
  std::atomic<int> seen{0};
  dispatcher_.AddAuthFlavor(kTest, [&](const CallHeader& h, Credential* cred) {
    ++seen;
    if (AsChars(h.cred_body) == "stale") return AuthStat::kRejectedCred;
    if (AsChars(h.cred_body) != "user4242") return AuthStat::kBadCred;
    cred->flavor = kTest;
    cred->uid = 4242;
    return AuthStat::kOk;
  });
  auto ok = call(kTest, "user4242");
  ASSERT_EQ(ok.size(), 8u);
  EXPECT_EQ(ok[5], uint32_t(AcceptStat::kSuccess));
  EXPECT_EQ(ok[6], 4242u);
  EXPECT_EQ(ok[7], 77u);
  EXPECT_EQ(denied(call(kTest, "stale")), int(AuthStat::kRejectedCred));
  EXPECT_EQ(denied(call(kTest, "junk")), int(AuthStat::kBadCred));
  EXPECT_EQ(seen.load(), 3);

  // A later registration replaces the flavor's handler.
  dispatcher_.AddAuthFlavor(kTest,
                            [](const CallHeader&, Credential*) { return AuthStat::kTooWeak; });
  EXPECT_EQ(denied(call(kTest, "user4242")), int(AuthStat::kTooWeak));
  EXPECT_EQ(seen.load(), 3);
}

TEST(DispatchFlavorTest, FlavorsListsTheRegisteredOnesStrongestFirst) {
  Dispatcher dispatcher;
  EXPECT_TRUE(dispatcher.Flavors().empty());
  dispatcher.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
  dispatcher.AddAuthFlavor(AuthFlavor::kSys, AuthSys);
  dispatcher.AddAuthFlavor(AuthFlavor::kSys, AuthSys);  // replaced, not listed twice
  EXPECT_EQ(dispatcher.Flavors(), (std::vector<uint32_t>{1, 0}));
  dispatcher.AddAuthFlavor(AuthFlavor::kGss,
                           [](const CallHeader&, Credential*) { return AuthStat::kTooWeak; });
  EXPECT_EQ(dispatcher.Flavors(), (std::vector<uint32_t>{6, 1, 0}));
}

// A dispatcher that registered no AUTH_SYS handler refuses AUTH_SYS calls as too weak.
TEST(DispatchFlavorTest, NoFlavorIsAcceptedUnlessRegistered) {
  Dispatcher dispatcher;
  ProgramVersion v{kProg, 1, {}};
  v.procedures.push_back({"NULL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                            return AcceptStat::kSuccess;
                          }});
  dispatcher.Add(v);
  auto send = [&](const Credential& cred) {
    xdr::XdrEncoder e;
    EncodeCallHeader(e, 9, kProg, 1, 0, cred);
    std::string record = e.ToString();
    xdr::XdrEncoder reply;
    EXPECT_TRUE(dispatcher.Handle(ConnectionInfo{"127.0.0.1", 700}, AsBytes(record), &reply));
    std::string flat = reply.ToString();
    return flat.size() >= 12 ? LoadBe32(reinterpret_cast<const std::byte*>(flat.data() + 8)) : ~0u;
  };
  Credential sys = Sys(1);
  EXPECT_EQ(send(Credential{}), 1u);  // MSG_DENIED
  EXPECT_EQ(send(sys), 1u);
  dispatcher.AddAuthFlavor(AuthFlavor::kSys, AuthSys);
  EXPECT_EQ(send(sys), 0u);  // MSG_ACCEPTED
  EXPECT_EQ(send(Credential{}), 1u);
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
  // Another client with the same xid is another call, also one on another port of the host
  // (two programs that count xids alike).
  Call(42, kProg, 1, 2, Sys(0), {}, "10.0.0.9");
  EXPECT_EQ(bumps_.load(), 2u);
  Call(42, kProg, 1, 2, Sys(0), {}, "127.0.0.1", 701);
  EXPECT_EQ(bumps_.load(), 3u);
  Call(43, kProg, 1, 2, Sys(0));
  EXPECT_EQ(bumps_.load(), 4u);
  EXPECT_EQ(dispatcher_.reply_cache().hits(), 1u);
}

TEST_F(DispatchTest, ReplyCacheKeepsWhatTheHandlerAsksFor) {
  // Odd and kept (3 bumps): a retransmission gets the first reply.
  auto first = Call(50, kProg, 1, 3, Sys(0), {3});
  EXPECT_EQ(Call(50, kProg, 1, 3, Sys(0), {3}), first);
  EXPECT_EQ(bumps_.load(), 3u);
  // Odd but not kept (1): runs again.
  Call(51, kProg, 1, 3, Sys(0), {1});
  Call(51, kProg, 1, 3, Sys(0), {1});
  EXPECT_EQ(bumps_.load(), 5u);
  // Even: never looked up, and the handler is not asked.
  Call(52, kProg, 1, 3, Sys(0), {2});
  Call(52, kProg, 1, 3, Sys(0), {2});
  EXPECT_EQ(bumps_.load(), 9u);
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

namespace dittofs::rpc {
namespace {

// A stand-in for RPCSEC_GSS that decides by the credential body's one word, to test the
// dispatcher's part: running the procedure on the arguments it hands back, answering for it,
// sending nothing, denying, and protecting the reply through it.
class FakeGss final : public GssAuthenticator {
 public:
  GssVerdict Accept(const CallHeader& h, ByteView signed_header, ByteView args, Credential* cred,
                    GssCall* call, xdr::XdrEncoder* reply) override {
    signed_bytes = signed_header.size();
    switch (LoadBe32(h.cred_body.data())) {
      case 0:
        cred->flavor = AuthFlavor::kGss;
        cred->uid = 77;
        call->args = args;
        call->seq_num = 5;
        return GssVerdict::kProceed;
      case 1:
        return GssVerdict::kDrop;
      case 2:
        call->denied = AuthStat::kGssCredProblem;
        return GssVerdict::kDenied;
      case 3:
        EncodeAcceptedReply(*reply, h.xid, AcceptStat::kSuccess);
        reply->U32(0xAA);
        return GssVerdict::kAnswered;
      default:
        return GssVerdict::kGarbage;
    }
  }
  std::shared_ptr<CallSecurity> BackchannelSecurity(ByteView, ByteView, RpcGssService) override {
    return nullptr;
  }
  bool EncodeReply(const GssCall& call, uint32_t xid, AcceptStat stat,
                   const xdr::XdrEncoder& results, xdr::XdrEncoder* reply) override {
    std::byte seq[4];
    StoreBe32(seq, call.seq_num);
    EncodeAcceptedReply(*reply, xid, 6, ByteView(seq, 4), stat);
    if (stat == AcceptStat::kSuccess) {
      reply->U32(0xBB);  // "protection"
      reply->FixedOpaque(AsBytes(results.ToString()));
    }
    return true;
  }
  size_t signed_bytes = 0;
};

class DispatchGssTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProgramVersion v1{kProg, 1, {}};
    v1.procedures.resize(2);
    v1.procedures[1] = {"ECHO", [](const CallContext& c, xdr::XdrDecoder& a, xdr::XdrEncoder& r) {
                          uint32_t v = a.U32();
                          if (!a.ok()) return AcceptStat::kGarbageArgs;
                          r.U32(c.cred.uid);
                          r.U32(v);
                          return AcceptStat::kSuccess;
                        }};
    dispatcher_.Add(v1);
    dispatcher_.AddAuthFlavor(AuthFlavor::kSys, AuthSys);
    dispatcher_.SetGss(&gss_);
  }
  // Returns the reply words; empty when nothing is sent.
  std::vector<uint32_t> Call(uint32_t verdict, uint32_t proc, std::vector<uint32_t> args) {
    xdr::XdrEncoder e;
    for (uint32_t w : {1u, 0u, 2u, kProg, 1u, proc, 6u, 4u, verdict, 0u, 0u}) e.U32(w);
    for (uint32_t a : args) e.U32(a);
    std::string record = e.ToString();
    xdr::XdrEncoder reply;
    if (!dispatcher_.Handle(ConnectionInfo{"127.0.0.1", 700}, AsBytes(record), &reply)) return {};
    std::string flat = reply.ToString();
    std::vector<uint32_t> words;
    for (size_t i = 0; i + 4 <= flat.size(); i += 4) {
      words.push_back(LoadBe32(reinterpret_cast<const std::byte*>(flat.data() + i)));
    }
    return words;
  }
  FakeGss gss_;
  Dispatcher dispatcher_;
};

TEST_F(DispatchGssTest, ProceedRunsTheProcedureAndProtectsItsReply) {
  // xid, REPLY, ACCEPTED, verifier 6 <seq 5>, SUCCESS, protection, uid 77, echoed 9
  EXPECT_EQ(Call(0, 1, {9}), (std::vector<uint32_t>{1, 1, 0, 6, 4, 5, 0, 0xBB, 77, 9}));
  // The verifier signs the header through the credential: nine words here.
  EXPECT_EQ(gss_.signed_bytes, 36u);
  // Errors carry the verifier too, without results.
  EXPECT_EQ(Call(0, 1, {}), (std::vector<uint32_t>{1, 1, 0, 6, 4, 5, 4}));
  EXPECT_EQ(Call(0, 7, {}), (std::vector<uint32_t>{1, 1, 0, 6, 4, 5, 3}));
}

TEST_F(DispatchGssTest, DropDenyAnswerAndGarbage) {
  EXPECT_TRUE(Call(1, 1, {9}).empty());
  EXPECT_EQ(Call(2, 1, {9}), (std::vector<uint32_t>{1, 1, 1, 1, 13}));
  EXPECT_EQ(Call(3, 0, {}), (std::vector<uint32_t>{1, 1, 0, 0, 0, 0, 0xAA}));
  EXPECT_EQ(Call(4, 1, {9}), (std::vector<uint32_t>{1, 1, 0, 0, 0, 4}));
}

}  // namespace
}  // namespace dittofs::rpc
