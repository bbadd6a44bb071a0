// SPDX-License-Identifier: Apache-2.0
#include "rpc/call_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "testing/status_matchers.h"

namespace dittofs::rpc {
namespace {

using dittofs::testing::StatusIs;
using Clock = CallTable::Clock;

OutgoingCall Proc(uint32_t proc) {
  OutgoingCall c;
  c.prog = 100021;
  c.vers = 4;
  c.proc = proc;
  return c;
}

xdr::XdrEncoder U32Args(uint32_t v) {
  xdr::XdrEncoder e;
  e.U32(v);
  return e;
}

// Starts a call whose outcome lands in `*out`; returns its xid (decoded from its record).
uint32_t StartInto(CallTable& table, std::optional<Result<Reply>>* out, OutgoingCall call = Proc(5),
                   Clock::time_point deadline = Clock::now() + std::chrono::hours(1)) {
  std::optional<xdr::XdrEncoder> record = table.Start(
      call, U32Args(7), deadline, [out](Result<Reply> r) { out->emplace(std::move(r)); });
  CHECK(record.has_value()) << "the table is closed";
  std::string bytes = record->ToString();
  return LoadBe32(reinterpret_cast<const std::byte*>(bytes.data()));
}

Buffer Bytes(const xdr::XdrEncoder& e) {
  std::string s = e.ToString();
  return Buffer::Copy(AsBytes(s));
}

Buffer SuccessReply(uint32_t xid, uint32_t result) {
  xdr::XdrEncoder e;
  EncodeAcceptedReply(e, xid, AcceptStat::kSuccess);
  e.U32(result);
  return Bytes(e);
}

TEST(CallTableTest, EncodesTheCallHeaderRfc5531) {
  CallTable table;
  OutgoingCall call = Proc(5);
  call.cred.flavor = AuthFlavor::kSys;
  call.cred.uid = 1000;
  call.cred.gid = 100;
  call.cred.gids = {4, 5};
  call.cred.machine_name = "dfs";
  std::optional<xdr::XdrEncoder> record =
      table.Start(call, U32Args(42), Clock::now() + std::chrono::seconds(1), [](Result<Reply>) {});
  ASSERT_TRUE(record.has_value());
  std::string bytes = record->ToString();
  xdr::XdrDecoder d(AsBytes(bytes));
  CallHeader h;
  ASSERT_EQ(DecodeCallHeader(d, &h), HeaderOutcome::kOk);
  EXPECT_EQ(h.rpcvers, 2u);
  EXPECT_EQ(h.prog, 100021u);
  EXPECT_EQ(h.vers, 4u);
  EXPECT_EQ(h.proc, 5u);
  EXPECT_EQ(h.cred_flavor, 1u);
  Credential cred;
  ASSERT_TRUE(DecodeAuthSys(h.cred_body, &cred));
  EXPECT_EQ(cred.uid, 1000u);
  EXPECT_EQ(cred.gids, (std::vector<uint32_t>{4, 5}));
  EXPECT_EQ(cred.machine_name, "dfs");
  EXPECT_EQ(h.verf_flavor, 0u);
  EXPECT_EQ(h.verf_body.size(), 0u);
  EXPECT_EQ(d.U32(), 42u);
  EXPECT_EQ(d.remaining(), 0u);
}

// A security that "protects" by XOR with 0x5A and signs with the sequence number: enough to see
// the table hand it the call and the reply, and take its verdict.
class XorSecurity final : public CallSecurity {
 public:
  Result<uint32_t> Protect(xdr::XdrEncoder& record, xdr::XdrEncoder args) override {
    if (refuse) return Status(Errc::kAccess, "context ended");
    record.U32(6);  // flavor
    record.U32(0);  // empty credential
    record.U32(6);  // verifier flavor
    record.U32(4);  // verifier: the sequence number
    record.U32(next_seq);
    std::string a = args.ToString();
    for (char& c : a) c = static_cast<char>(c ^ 0x5A);
    record.FixedOpaque(AsBytes(a));
    return next_seq++;
  }
  Result<Reply> CheckReply(uint32_t seq, uint32_t verf_flavor, ByteView verf_body,
                           Reply reply) override {
    if (verf_flavor != 6 || verf_body.size() != 4 || LoadBe32(verf_body.data()) != seq) {
      return Status(Errc::kAccess, "bad verifier");
    }
    std::string r(AsChars(reply.results));
    for (char& c : r) c = static_cast<char>(c ^ 0x5A);
    Buffer owned = Buffer::Copy(AsBytes(r));
    ByteView view = owned.view();
    return Reply{std::move(owned), view};
  }
  bool refuse = false;
  uint32_t next_seq = 40;
};

Buffer VerifiedReply(uint32_t xid, uint32_t seq, uint32_t result) {
  std::byte verf[4];
  StoreBe32(verf, seq);
  xdr::XdrEncoder e;
  EncodeAcceptedReply(e, xid, 6, ByteView(verf, 4), AcceptStat::kSuccess);
  e.U32(result ^ 0x5A5A5A5Au);
  return Bytes(e);
}

TEST(CallTableTest, CallsUnderASecurityAreProtectedAndTheirRepliesChecked) {
  CallTable table;
  auto security = std::make_shared<XorSecurity>();
  OutgoingCall call = Proc(1);
  call.security = security;
  std::optional<Result<Reply>> out;
  std::optional<xdr::XdrEncoder> record =
      table.Start(call, U32Args(7), Clock::now() + std::chrono::hours(1),
                  [&](Result<Reply> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(record.has_value());
  std::string bytes = record->ToString();
  xdr::XdrDecoder d(AsBytes(bytes));
  CallHeader h;
  ASSERT_EQ(DecodeCallHeader(d, &h), HeaderOutcome::kOk);
  EXPECT_EQ(h.cred_flavor, 6u);
  EXPECT_EQ(h.verf_flavor, 6u);
  EXPECT_EQ(LoadBe32(h.verf_body.data()), 40u);
  EXPECT_EQ(d.U32(), 7u ^ 0x5A5A5A5Au);  // the arguments as the security left them
  // The reply is checked against the call's sequence number and unprotected.
  ASSERT_TRUE(table.Complete(VerifiedReply(h.xid, 40, 99)));
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->ok()) << out->status().ToString();
  ASSERT_EQ((*out)->results.size(), 4u);
  EXPECT_EQ(LoadBe32((*out)->results.data()), 99u);

  // A reply whose verifier does not check fails its call with kAccess.
  out.reset();
  record = table.Start(call, U32Args(7), Clock::now() + std::chrono::hours(1),
                       [&](Result<Reply> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(record.has_value());
  bytes = record->ToString();
  const uint32_t xid = LoadBe32(reinterpret_cast<const std::byte*>(bytes.data()));
  ASSERT_TRUE(table.Complete(VerifiedReply(xid, 40, 99)));  // the call went with 41
  ASSERT_TRUE(out.has_value());
  EXPECT_THAT(*out, StatusIs(Errc::kAccess));

  // A security that cannot protect the call fails it at once; nothing is sent or pending.
  security->refuse = true;
  out.reset();
  record = table.Start(call, U32Args(7), Clock::now() + std::chrono::hours(1),
                       [&](Result<Reply> r) { out.emplace(std::move(r)); });
  EXPECT_FALSE(record.has_value());
  ASSERT_TRUE(out.has_value());
  EXPECT_THAT(*out, StatusIs(Errc::kAccess));
  EXPECT_EQ(table.pending(), 0u);
}

TEST(CallTableTest, RoutesRepliesByXidInAnyOrder) {
  CallTable table;
  std::optional<Result<Reply>> a, b;
  uint32_t xa = StartInto(table, &a);
  uint32_t xb = StartInto(table, &b);
  EXPECT_NE(xa, xb);
  EXPECT_EQ(table.pending(), 2u);
  EXPECT_TRUE(table.Complete(SuccessReply(xb, 2)));
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(a.has_value());
  ASSERT_OK(*b);
  xdr::XdrDecoder results((*b)->results);
  EXPECT_EQ(results.U32(), 2u);
  EXPECT_TRUE(table.Complete(SuccessReply(xa, 1)));
  ASSERT_OK(*a);
  EXPECT_EQ(LoadBe32((*a)->results.data()), 1u);
  EXPECT_EQ(table.pending(), 0u);
  // A duplicate reply matches nothing now.
  EXPECT_FALSE(table.Complete(SuccessReply(xa, 1)));
}

TEST(CallTableTest, MalformedRepliesAreDroppedOrFailTheirCall) {
  CallTable table;
  std::optional<Result<Reply>> out;
  uint32_t xid = StartInto(table, &out);
  EXPECT_FALSE(table.Complete(Buffer::Copy(AsBytes(std::string("\x01\x02", 2)))));  // short
  EXPECT_FALSE(table.Complete(SuccessReply(xid + 1, 0)));                           // wrong xid
  EXPECT_FALSE(table.Complete(Buffer()));
  EXPECT_FALSE(out.has_value());
  // The right xid, then garbage: the call fails rather than being handed garbage.
  xdr::XdrEncoder e;
  e.U32(xid);
  e.U32(1);  // REPLY
  e.U32(7);  // no such reply_stat
  EXPECT_TRUE(table.Complete(Bytes(e)));
  ASSERT_TRUE(out.has_value());
  EXPECT_THAT(*out, StatusIs(Errc::kIo));
}

TEST(CallTableTest, RefusalsMapToDistinctErrors) {
  struct Case {
    const char* name;
    std::function<void(xdr::XdrEncoder&, uint32_t)> encode;
    Errc want;
  };
  const std::vector<Case> cases = {
      {"PROG_UNAVAIL",
       [](auto& e, uint32_t x) { EncodeAcceptedReply(e, x, AcceptStat::kProgUnavail); },
       Errc::kNotFound},
      {"PROG_MISMATCH", [](auto& e, uint32_t x) { EncodeProgMismatchReply(e, x, 1, 3); },
       Errc::kNotSupported},
      {"PROC_UNAVAIL",
       [](auto& e, uint32_t x) { EncodeAcceptedReply(e, x, AcceptStat::kProcUnavail); },
       Errc::kInvalid},
      {"GARBAGE_ARGS",
       [](auto& e, uint32_t x) { EncodeAcceptedReply(e, x, AcceptStat::kGarbageArgs); },
       Errc::kInternal},
      {"SYSTEM_ERR", [](auto& e, uint32_t x) { EncodeAcceptedReply(e, x, AcceptStat::kSystemErr); },
       Errc::kIo},
      {"AUTH_ERROR", [](auto& e, uint32_t x) { EncodeAuthErrorReply(e, x, AuthStat::kTooWeak); },
       Errc::kAccess},
      {"RPC_MISMATCH", [](auto& e, uint32_t x) { EncodeRpcMismatchReply(e, x); }, Errc::kAccess},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    CallTable table;
    std::optional<Result<Reply>> out;
    uint32_t xid = StartInto(table, &out);
    xdr::XdrEncoder e;
    c.encode(e, xid);
    ASSERT_TRUE(table.Complete(Bytes(e)));
    ASSERT_TRUE(out.has_value());
    EXPECT_THAT(*out, StatusIs(c.want));
    EXPECT_NE(out->status().message().find("prog 100021 vers 4 proc 5"), std::string::npos)
        << out->status().ToString();
  }
}

TEST(CallTableTest, ExpiresCallsAtTheirDeadline) {
  CallTable table;
  Clock::time_point t0 = Clock::now();
  std::optional<Result<Reply>> soon, late;
  StartInto(table, &soon, Proc(1), t0 + std::chrono::milliseconds(10));
  uint32_t late_xid = StartInto(table, &late, Proc(2), t0 + std::chrono::milliseconds(20));
  EXPECT_EQ(table.NextDeadline(), t0 + std::chrono::milliseconds(10));
  table.Expire(t0 + std::chrono::milliseconds(9));
  EXPECT_FALSE(soon.has_value());
  table.Expire(t0 + std::chrono::milliseconds(10));
  ASSERT_TRUE(soon.has_value());
  EXPECT_THAT(*soon, StatusIs(Errc::kTimedOut));
  EXPECT_FALSE(late.has_value());
  EXPECT_EQ(table.NextDeadline(), t0 + std::chrono::milliseconds(20));
  EXPECT_TRUE(table.IsPending(late_xid));
  EXPECT_TRUE(table.Complete(SuccessReply(late_xid, 0)));
  EXPECT_EQ(table.NextDeadline(), std::nullopt);
}

TEST(CallTableTest, FailAllKeepsTheTableOpenCloseDoesNot) {
  CallTable table;
  std::optional<Result<Reply>> a, b;
  StartInto(table, &a);
  table.FailAll(Status(Errc::kUnavailable, "connection closed"));
  ASSERT_TRUE(a.has_value());
  EXPECT_THAT(*a, StatusIs(Errc::kUnavailable));
  uint32_t xb = StartInto(table, &b);
  EXPECT_TRUE(table.IsPending(xb));
  table.Close(Status(Errc::kUnavailable, "closed"));
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(*b, StatusIs(Errc::kUnavailable));
  std::optional<Result<Reply>> c;
  EXPECT_FALSE(table
                   .Start(Proc(1), U32Args(0), Clock::now() + std::chrono::seconds(1),
                          [&c](Result<Reply> r) { c.emplace(std::move(r)); })
                   .has_value());
  ASSERT_TRUE(c.has_value());  // failed at once
  EXPECT_THAT(*c, StatusIs(Errc::kUnavailable));
}

TEST(CallTableTest, CallbacksMayStartCalls) {
  std::optional<Result<Reply>> second;  // outlives the table, which fails the call at the end
  CallTable table;
  std::optional<xdr::XdrEncoder> first =
      table.Start(Proc(1), U32Args(0), Clock::now() + std::chrono::seconds(1), [&](Result<Reply>) {
        // Runs without the table's lock held.
        StartInto(table, &second);
      });
  ASSERT_TRUE(first.has_value());
  table.FailAll(Status(Errc::kUnavailable, "gone"));
  EXPECT_EQ(table.pending(), 1u);
}

}  // namespace
}  // namespace dittofs::rpc
