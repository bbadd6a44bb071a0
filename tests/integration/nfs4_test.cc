// SPDX-License-Identifier: Apache-2.0
// NFSv4.0 and 4.1 over the wire against a running dfs, with the project's test client
// (nfs4_client.h): sessions and the slot reply cache, the pseudo fs, open/lock/close
// lifecycles, stateid errors, share reservations and locks between clients and with NFSv3,
// lease expiry, hostile COMPOUNDs.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "base/bytes.h"
#include "dfs_process.h"
#include "nfs4_client.h"
#include "testing/status_matchers.h"
#include "xdr/xdr.h"

namespace dittofs::integration {
namespace {

using namespace nfs;  // NOLINT: one protocol's test

constexpr auto kOk = nfsstat4::NFS4_OK;

class Nfs4Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    DfsOptions options;
    options.env = {"DITTOFS_NFS_LEASE_S=3"};
    auto started = DfsProcess::Start(DFS_BINARY, options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    dfs_ = std::move(started).value().release();
  }
  static void TearDownTestSuite() {
    delete dfs_;
    dfs_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure() && dfs_ != nullptr) {
      std::string log = dfs_->Log();
      if (log.size() > 6000) log = log.substr(log.size() - 6000);
      ADD_FAILURE() << "dfs log tail:\n" << log;
    }
  }

  static std::unique_ptr<Nfs4TestClient> Client(uint32_t minor, const std::string& owner,
                                                uint32_t uid = 0) {
    auto c = Nfs4TestClient::Connect(dfs_->port(), minor, uid);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return nullptr;
    Status s = (*c)->Establish(owner);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(c).value();
  }

  // A unique file name per test.
  static std::string Name(const std::string& base) {
    return base + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  static DfsProcess* dfs_;
};

DfsProcess* Nfs4Test::dfs_ = nullptr;

// Opens (creating) /export/NAME for `access`, returning the open stateid.
stateid4 OpenFile(Nfs4TestClient& c, const std::string& name, uint32_t access, uint32_t deny,
                  const std::string& owner, nfsstat4* status = nullptr) {
  auto ops = Nfs4TestClient::Walk("/export");
  uint32_t seqid = c.minor() == 0 ? c.NextOpenSeqid(owner) : 0;
  ops.push_back(OpenByName(name, access, deny, owner, c.clientid(), true, seqid));
  ops.push_back(GetFh());
  Result<COMPOUND4res> r = c.Compound(c.InSession(ops));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  if (status != nullptr) *status = r->status;
  const auto* open = ResultOf<OPEN4res>(*r, OP_OPEN);
  if (open == nullptr || open->status != kOk) {
    if (status == nullptr) ADD_FAILURE() << "OPEN " << name << ": " << int(r->status);
    return {};
  }
  stateid4 sid = open->stateid;
  if (c.minor() == 0 && (open->rflags & OPEN4_RESULT_CONFIRM) != 0) {
    auto fh = FhOf(*r);
    OPEN_CONFIRM4args oc{sid, c.NextOpenSeqid(owner)};
    Result<COMPOUND4res> cr = c.Compound({PutFh(*fh), Op(OP_OPEN_CONFIRM, oc)});
    EXPECT_TRUE(cr.ok() && cr->status == kOk);
    if (cr.ok()) {
      const auto* ok = ResultOf<OPEN_CONFIRM4res>(*cr, OP_OPEN_CONFIRM);
      if (ok != nullptr) sid = ok->open_stateid;
    }
  }
  return sid;
}

TEST_F(Nfs4Test, PseudoRootListsTheShareAndLookupCrossesIntoIt) {
  for (uint32_t minor : {0u, 1u}) {
    auto c = Client(minor, "pseudo-" + std::to_string(minor));
    ASSERT_TRUE(c);
    READDIR4args rd;
    rd.maxcount = 8192;
    rd.dircount = 8192;
    rd.attr_request.set(FATTR4_TYPE);
    rd.attr_request.set(FATTR4_FSID);
    ASSERT_OK_AND_ASSIGN(COMPOUND4res r,
                         c->Compound(c->InSession({PutRootFh(), Op(OP_READDIR, rd)})));
    ASSERT_EQ(r.status, kOk);
    const auto* list = ResultOf<READDIR4res>(r, OP_READDIR);
    ASSERT_NE(list, nullptr);
    ASSERT_EQ(list->entries.size(), 1u);
    EXPECT_EQ(list->entries[0].name, "export");
    EXPECT_TRUE(list->eof);

    auto ops = Nfs4TestClient::Walk("/export");
    ops.push_back(GetFh());
    ops.push_back(GetAttr({FATTR4_TYPE, FATTR4_FSID, FATTR4_MODE, FATTR4_SUPPORTED_ATTRS,
                           FATTR4_LEASE_TIME, FATTR4_MAXREAD, FATTR4_MAXWRITE}));
    ASSERT_OK_AND_ASSIGN(r, c->Compound(c->InSession(ops)));
    ASSERT_EQ(r.status, kOk);
    auto attrs = AttrsOf(r);
    ASSERT_TRUE(attrs);
    EXPECT_EQ(attrs->type, nfs_ftype4::NF4DIR);
    EXPECT_NE(attrs->fsid.major, 0u);  // the share's own file system, not the pseudo fs's
    EXPECT_EQ(attrs->lease_time, 3u);
    EXPECT_GE(attrs->maxread, 1u << 20);
    EXPECT_GE(attrs->maxwrite, 1u << 20);
    EXPECT_TRUE(attrs->supported_attrs.test(FATTR4_CHANGE));
    EXPECT_EQ(attrs->supported_attrs.test(FATTR4_SUPPATTR_EXCLCREAT), minor == 1);

    // LOOKUPP from the share's root leads back to the pseudo root.
    auto fh = FhOf(r);
    ASSERT_TRUE(fh);
    ASSERT_OK_AND_ASSIGN(
        r, c->Compound(c->InSession({PutFh(*fh), Op(OP_LOOKUPP), GetAttr({FATTR4_FSID})})));
    ASSERT_EQ(r.status, kOk);
    EXPECT_EQ(AttrsOf(r)->fsid.major, 0u);
    ASSERT_OK_AND_ASSIGN(r, c->Compound(c->InSession({PutRootFh(), Lookup("nope")})));
    EXPECT_EQ(r.status, nfsstat4::NFS4ERR_NOENT);
  }
}

TEST_F(Nfs4Test, OpenWriteReadCloseInBothMinorVersions) {
  for (uint32_t minor : {0u, 1u}) {
    auto c = Client(minor, "rw-" + std::to_string(minor));
    ASSERT_TRUE(c);
    const std::string name = Name("file") + std::to_string(minor);
    stateid4 sid = OpenFile(*c, name, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_NONE, "owner");
    auto ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(GetAttr({FATTR4_CHANGE}));
    ops.push_back(Write(sid, 0, "hello, nfsv4"));
    ops.push_back(GetAttr({FATTR4_CHANGE, FATTR4_SIZE}));
    ops.push_back(Read(sid, 7, 100));
    ASSERT_OK_AND_ASSIGN(COMPOUND4res r, c->Compound(c->InSession(ops)));
    ASSERT_EQ(r.status, kOk);
    const auto* w = ResultOf<WRITE4res>(r, OP_WRITE);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->count, 12u);
    const auto* rd = ResultOf<READ4res>(r, OP_READ);
    ASSERT_NE(rd, nullptr);
    EXPECT_EQ(rd->DataString(), "nfsv4");
    EXPECT_TRUE(rd->eof);
    // The two GETATTRs: the change attribute grew with the write.
    std::vector<Fattr4> seen;
    for (const auto& res : r.resarray) {
      if (res.op != OP_GETATTR) continue;
      Fattr4 f;
      ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(res.res).obj_attributes, &f), kOk);
      seen.push_back(f);
    }
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_GT(seen[1].change, seen[0].change);
    EXPECT_EQ(seen[1].size, 12u);

    auto close_ops = Nfs4TestClient::Walk("/export/" + name);
    close_ops.push_back(Close(sid, minor == 0 ? c->NextOpenSeqid("owner") : 0));
    ASSERT_OK_AND_ASSIGN(r, c->Compound(c->InSession(close_ops)));
    EXPECT_EQ(r.status, kOk);
    // The stateid is gone: a READ with it is refused.
    auto read_ops = Nfs4TestClient::Walk("/export/" + name);
    read_ops.push_back(Read(sid, 0, 10));
    ASSERT_OK_AND_ASSIGN(r, c->Compound(c->InSession(read_ops)));
    EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BAD_STATEID);
  }
}

TEST_F(Nfs4Test, SlotRetransmissionIsAnsweredFromTheCache) {
  auto c = Client(1, "slots");
  ASSERT_TRUE(c);
  const std::string name = Name("f");
  // A non-idempotent call: CREATE of a directory. Sent again on the same slot and sequence,
  // it is answered from the cache, identically, and not run twice (which would be EXIST).
  CREATE4args mk;
  mk.objtype = nfs_ftype4::NF4DIR;
  mk.objname = name;
  auto ops = Nfs4TestClient::Walk("/export");
  ops.push_back(Op(OP_CREATE, mk));
  ASSERT_OK_AND_ASSIGN(COMPOUND4res first, c->Compound(c->InSession(ops)));
  ASSERT_EQ(first.status, kOk);
  const std::string call = c->last_call();
  ASSERT_OK_AND_ASSIGN(std::string again, c->Resend(call));
  xdr::XdrEncoder e;
  xdr::XdrDecoder d(AsBytes(again));
  COMPOUND4res replay;
  ASSERT_TRUE(Decode(d, &replay));
  EXPECT_EQ(replay.status, kOk);
  EXPECT_EQ(replay.resarray.size(), first.resarray.size());
  // A sequence id that skips one is misordered; the next one in order works.
  ASSERT_OK_AND_ASSIGN(COMPOUND4res r,
                       c->Compound({c->SequenceAt(0, c->slot_seqid(0) + 2), PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_SEQ_MISORDERED);
  ASSERT_OK_AND_ASSIGN(r, c->Compound({c->Sequence(0), PutRootFh()}));
  EXPECT_EQ(r.status, kOk);
  // A slot past the table is BADSLOT; an unknown session BADSESSION.
  ASSERT_OK_AND_ASSIGN(r, c->Compound({c->SequenceAt(1000, 1), PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BADSLOT);
  SEQUENCE4args bogus;
  bogus.sequenceid = 1;
  ASSERT_OK_AND_ASSIGN(r, c->Compound({Op(OP_SEQUENCE, bogus), PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BADSESSION);
  // Without SEQUENCE, 4.1 refuses.
  ASSERT_OK_AND_ASSIGN(r, c->Compound({PutRootFh()}));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_OP_NOT_IN_SESSION);
  // A retransmission on a new connection (a reconnect) is answered from the cache too.
  auto other = Nfs4TestClient::Connect(dfs_->port(), 1);
  ASSERT_TRUE(other.ok());
  ASSERT_OK_AND_ASSIGN(std::string again2, (*other)->Resend(call));
  EXPECT_EQ(again2, again);
}

TEST_F(Nfs4Test, StateidErrors) {
  auto c = Client(1, "stateids");
  auto intruder = Client(1, "intruder");
  ASSERT_TRUE(c && intruder);
  const std::string name = Name("f");
  stateid4 sid = OpenFile(*c, name, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_NONE, "o");
  auto write_with = [&](Nfs4TestClient& who, stateid4 s) {
    auto ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(Write(s, 0, "x"));
    Result<COMPOUND4res> r = who.Compound(who.InSession(ops));
    return r.ok() ? r->status : nfsstat4::NFS4ERR_IO;
  };
  EXPECT_EQ(write_with(*c, sid), kOk);
  stateid4 future = sid;
  future.seqid += 5;
  EXPECT_EQ(write_with(*c, future), nfsstat4::NFS4ERR_BAD_STATEID);
  // Upgrading the open bumps the seqid: the old one is OLD_STATEID.
  stateid4 upgraded = OpenFile(*c, name, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE, "o");
  EXPECT_EQ(upgraded.other, sid.other);
  EXPECT_EQ(upgraded.seqid, sid.seqid + 1);
  EXPECT_EQ(write_with(*c, sid), nfsstat4::NFS4ERR_OLD_STATEID);
  stateid4 zero_seq = upgraded;
  zero_seq.seqid = 0;  // 4.1: "the current seqid"
  EXPECT_EQ(write_with(*c, zero_seq), kOk);
  stateid4 forged = upgraded;
  forged.other[11] ^= std::byte{0x5a};
  EXPECT_EQ(write_with(*c, forged), nfsstat4::NFS4ERR_BAD_STATEID);
  stateid4 stale = upgraded;
  stale.other[0] ^= std::byte{0xff};  // another server instance's
  EXPECT_EQ(write_with(*c, stale), nfsstat4::NFS4ERR_STALE_STATEID);
  // Another client's stateid names nothing of the intruder's.
  EXPECT_EQ(write_with(*intruder, upgraded), nfsstat4::NFS4ERR_BAD_STATEID);
  // TEST_STATEID tells them apart.
  TEST_STATEID4args t;
  t.stateids = {upgraded, sid, forged};
  ASSERT_OK_AND_ASSIGN(COMPOUND4res r, c->Compound(c->InSession({Op(OP_TEST_STATEID, t)})));
  const auto* tr = ResultOf<TEST_STATEID4res>(r, OP_TEST_STATEID);
  ASSERT_NE(tr, nullptr);
  ASSERT_EQ(tr->status_codes.size(), 3u);
  EXPECT_EQ(tr->status_codes[0], kOk);
  EXPECT_EQ(tr->status_codes[1], nfsstat4::NFS4ERR_OLD_STATEID);
  EXPECT_EQ(tr->status_codes[2], nfsstat4::NFS4ERR_BAD_STATEID);
  // The current stateid (seqid 1, other zero) is the one OPEN just set.
  auto ops = Nfs4TestClient::Walk("/export");
  ops.push_back(OpenByName(name, OPEN4_SHARE_ACCESS_READ, 0, "o", c->clientid(), false));
  stateid4 current;
  current.seqid = 1;
  ops.push_back(Read(current, 0, 1));
  ASSERT_OK_AND_ASSIGN(r, c->Compound(c->InSession(ops)));
  EXPECT_EQ(r.status, kOk);
}

TEST_F(Nfs4Test, ShareReservationsAndLocksBetweenClients) {
  for (uint32_t minor : {0u, 1u}) {
    auto a = Client(minor, "a" + std::to_string(minor));
    auto b = Client(minor, "b" + std::to_string(minor));
    ASSERT_TRUE(a && b);
    const std::string name = Name("f") + std::to_string(minor);
    stateid4 sa = OpenFile(*a, name, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_WRITE, "oa");
    nfsstat4 st = kOk;
    OpenFile(*b, name, OPEN4_SHARE_ACCESS_WRITE, OPEN4_SHARE_DENY_NONE, "ob", &st);
    EXPECT_EQ(st, nfsstat4::NFS4ERR_SHARE_DENIED);
    stateid4 sb = OpenFile(*b, name, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE, "ob");

    // A write lock of a's on [0, 100); b's read lock overlapping is denied, naming a's owner.
    auto ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(
        LockNew(sa, minor == 0 ? a->NextOpenSeqid("oa") : 0, "la", a->clientid(), true, 0, 100));
    ASSERT_OK_AND_ASSIGN(COMPOUND4res r, a->Compound(a->InSession(ops)));
    ASSERT_EQ(r.status, kOk);
    stateid4 la = ResultOf<LOCK4res>(r, OP_LOCK)->lock_stateid;

    ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(
        LockNew(sb, minor == 0 ? b->NextOpenSeqid("ob") : 0, "lb", b->clientid(), false, 50, 10));
    ASSERT_OK_AND_ASSIGN(r, b->Compound(b->InSession(ops)));
    ASSERT_EQ(r.status, nfsstat4::NFS4ERR_DENIED);
    const auto* denied = ResultOf<LOCK4res>(r, OP_LOCK);
    ASSERT_NE(denied, nullptr);
    EXPECT_EQ(denied->denied.offset, 0u);
    EXPECT_EQ(denied->denied.length, 100u);
    EXPECT_EQ(denied->denied.locktype, nfs_lock_type4::WRITE_LT);
    EXPECT_EQ(denied->denied.owner.clientid, a->clientid());
    EXPECT_EQ(AsChars(denied->denied.owner.bytes()), "la");

    // LOCKT sees the same; after LOCKU, b's lock is granted.
    LOCKT4args t;
    t.locktype = nfs_lock_type4::READ_LT;
    t.offset = 0;
    t.length = UINT64_MAX;
    t.owner.clientid = b->clientid();
    t.owner.owned = "lb";
    ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(Op(OP_LOCKT, t));
    ASSERT_OK_AND_ASSIGN(r, b->Compound(b->InSession(ops)));
    EXPECT_EQ(r.status, nfsstat4::NFS4ERR_DENIED);

    ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(LockU(la, minor == 0 ? 1 : 0, 0, 100));
    ASSERT_OK_AND_ASSIGN(r, a->Compound(a->InSession(ops)));
    ASSERT_EQ(r.status, kOk);
    ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(
        LockNew(sb, minor == 0 ? b->NextOpenSeqid("ob") : 0, "lb", b->clientid(), false, 50, 10));
    ASSERT_OK_AND_ASSIGN(r, b->Compound(b->InSession(ops)));
    EXPECT_EQ(r.status, kOk);
    // A write lock through a read-only open is OPENMODE.
    ops = Nfs4TestClient::Walk("/export/" + name);
    ops.push_back(
        LockNew(sb, minor == 0 ? b->NextOpenSeqid("ob") : 0, "lb2", b->clientid(), true, 500, 10));
    ASSERT_OK_AND_ASSIGN(r, b->Compound(b->InSession(ops)));
    EXPECT_EQ(r.status, nfsstat4::NFS4ERR_OPENMODE);
  }
}

TEST_F(Nfs4Test, Nfs40SeqidReplayAndMisorder) {
  auto c = Client(0, "seqid40");
  ASSERT_TRUE(c);
  const std::string name = Name("f");
  stateid4 sid = OpenFile(*c, name, OPEN4_SHARE_ACCESS_BOTH, 0, "o");
  // The owner's next request, sent twice: the second is a replay with the same answer.
  auto ops = Nfs4TestClient::Walk("/export/" + name);
  OPEN_DOWNGRADE4args dg{sid, c->NextOpenSeqid("o"), OPEN4_SHARE_ACCESS_READ, 0};
  ops.push_back(Op(OP_OPEN_DOWNGRADE, dg));
  ASSERT_OK_AND_ASSIGN(COMPOUND4res r, c->Compound(ops));
  ASSERT_EQ(r.status, nfsstat4::NFS4ERR_INVAL);  // READ alone was never opened
  ASSERT_OK_AND_ASSIGN(COMPOUND4res again, c->Compound(ops));
  EXPECT_EQ(again.status, nfsstat4::NFS4ERR_INVAL);
  // A seqid from the future is BAD_SEQID.
  dg.seqid += 5;
  ops.back() = Op(OP_OPEN_DOWNGRADE, dg);
  ASSERT_OK_AND_ASSIGN(r, c->Compound(ops));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BAD_SEQID);
  // An unknown client id is STALE_CLIENTID; RENEW of ours works.
  ASSERT_OK_AND_ASSIGN(r, c->Compound({Op(OP_RENEW, RENEW4args{c->clientid()})}));
  EXPECT_EQ(r.status, kOk);
  ASSERT_OK_AND_ASSIGN(r, c->Compound({Op(OP_RENEW, RENEW4args{12345})}));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_STALE_CLIENTID);
}

TEST_F(Nfs4Test, AnExpiredClientKeepsItsStateUntilAnotherConflicts) {
  auto a = Client(1, "courteous-a");
  auto b = Client(1, "courteous-b");
  ASSERT_TRUE(a && b);
  const std::string name = Name("f");
  OpenFile(*a, name, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_BOTH, "oa");
  // a stops renewing; its lease (3 s) runs out, but its open stays while nobody needs it.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  // b needs it: a's state goes (courtesy ends at the conflict) and b's open succeeds.
  nfsstat4 st = kOk;
  OpenFile(*b, name, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE, "ob", &st);
  EXPECT_EQ(st, kOk);
  // a finds its session gone.
  ASSERT_OK_AND_ASSIGN(COMPOUND4res r, a->Compound(a->InSession({PutRootFh()})));
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BADSESSION);
}

TEST_F(Nfs4Test, HostileCompounds) {
  auto c = Client(1, "hostile");
  ASSERT_TRUE(c);
  // 10,000 operations: refused at once, without running them.
  std::vector<nfs_argop4> many{c->Sequence()};
  for (int i = 0; i < 10000; ++i) many.push_back(PutRootFh());
  Result<COMPOUND4res> r = c->Compound(many);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->status == nfsstat4::NFS4ERR_TOO_MANY_OPS ||
              r->status == nfsstat4::NFS4ERR_RESOURCE || r->status == nfsstat4::NFS4ERR_BADXDR)
      << int(r->status);
  EXPECT_LE(r->resarray.size(), 1u);
  // An unknown operation is OP_ILLEGAL; the operations before it ran.
  ASSERT_OK_AND_ASSIGN(COMPOUND4res ill,
                       c->Compound({c->Sequence(), PutRootFh(), GetFh(), Op(9999)}));
  EXPECT_EQ(ill.status, nfsstat4::NFS4ERR_OP_ILLEGAL);
  ASSERT_EQ(ill.resarray.size(), 4u);
  EXPECT_EQ(ill.resarray[3].op, OP_ILLEGAL);
  // Arguments cut short: BADXDR for that operation, after the ones before it.
  xdr::XdrEncoder e;
  EncodeCompound(e, "", 1, {c->Sequence(), PutRootFh()});
  std::string args = e.ToString();
  // Patch the count to 3 and append a LOOKUP whose name is cut off.
  StoreBe32(reinterpret_cast<std::byte*>(args.data()) + 8, 3);
  args += std::string(
      "\0\0\0\x0f\0\0\0\x40"
      "abc",
      11);
  ASSERT_OK_AND_ASSIGN(std::string raw, c->CallRaw(args));
  xdr::XdrDecoder d(AsBytes(raw));
  COMPOUND4res cut;
  ASSERT_TRUE(Decode(d, &cut));
  EXPECT_EQ(cut.status, nfsstat4::NFS4ERR_BADXDR);
  EXPECT_EQ(cut.resarray.size(), 3u);
  // A minor version past 1: MINOR_VERS_MISMATCH, no results.
  xdr::XdrEncoder e2;
  EncodeCompound(e2, "t", 7, {PutRootFh()});
  ASSERT_OK_AND_ASSIGN(raw, c->CallRaw(e2.ToString()));
  xdr::XdrDecoder d2(AsBytes(raw));
  COMPOUND4res mm;
  ASSERT_TRUE(Decode(d2, &mm));
  EXPECT_EQ(mm.status, nfsstat4::NFS4ERR_MINOR_VERS_MISMATCH);
  EXPECT_TRUE(mm.resarray.empty());
  // An attribute bitmap of 1,000 words does not decode.
  xdr::XdrEncoder e3;
  EncodeCompound(e3, "", 1, {c->Sequence(), PutRootFh()});
  std::string a3 = e3.ToString();
  StoreBe32(reinterpret_cast<std::byte*>(a3.data()) + 8, 3);
  xdr::XdrEncoder ga;
  ga.U32(OP_GETATTR);
  ga.U32(1000);
  for (int i = 0; i < 1000; ++i) ga.U32(0xffffffff);
  ASSERT_OK_AND_ASSIGN(raw, c->CallRaw(a3 + ga.ToString()));
  xdr::XdrDecoder d3(AsBytes(raw));
  COMPOUND4res big;
  ASSERT_TRUE(Decode(d3, &big));
  EXPECT_EQ(big.status, nfsstat4::NFS4ERR_BADXDR);
}

}  // namespace
}  // namespace dittofs::integration
