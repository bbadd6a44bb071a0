// SPDX-License-Identifier: Apache-2.0
// The NFSv4 service in process, over a memory share: COMPOUND processing, the slot table and
// its reply cache, state transitions of both minor versions, courteous expiry, idmapping.
#include "nfs/v4/service.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <thread>

#include "base/clock.h"
#include "core/shares.h"
#include "nfs/v4/compound.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/status_matchers.h"

namespace dittofs::nfs {
namespace {

using ::dittofs::testing::StatusIs;

constexpr auto kOk = nfsstat4::NFS4_OK;

// Users and groups for owner strings: alice (1000), group staff (50).
class FakeUsers final : public core::UserDirectory {
 public:
  Result<core::UserRecord> FindUser(std::string_view name) const override {
    if (name == "alice") return core::UserRecord{"alice", 1000, 50, {50}, true, ""};
    return Errc::kNotFound;
  }
  Result<core::UserRecord> FindWindowsUser(std::string_view name) const override {
    return FindUser(name);
  }
  Result<core::UserRecord> FindKerberosUser(std::string_view) const override {
    return Errc::kNotFound;
  }
  Result<core::UserRecord> FindUserByUid(uint32_t uid) const override {
    if (uid == 1000) return FindUser("alice");
    return Errc::kNotFound;
  }
  Result<core::GroupRecord> FindGroup(std::string_view name) const override {
    if (name == "staff") return core::GroupRecord{"staff", 50};
    return Errc::kNotFound;
  }
  Result<core::GroupRecord> FindGroupByGid(uint32_t gid) const override {
    if (gid == 50) return core::GroupRecord{"staff", 50};
    return Errc::kNotFound;
  }
};

class Nfs4ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Make({}); }

  void Make(Nfs4Options options) {
    service_.reset();
    core::ShareOptions so;
    so.squash = core::Squash::kNone;
    so.root_mode = 01777;
    so.security = security_;
    auto share = core::Share::Open(1, "/export", stores::NewMemoryMetadataStore(),
                                   stores::NewMemoryBlockStore(), so);
    ASSERT_TRUE(share.ok());
    shares_ = std::make_unique<core::ShareTable>();
    shares_->Add(std::move(share).value());
    service_ = std::make_unique<Nfs4Service>(*shares_, handles_, &users_, options);
  }
  core::NfsSecurity security_;  // of the share Make opens

  // Runs a COMPOUND as uid 0; returns the reply's bytes.
  std::string Raw(uint32_t minor, const std::vector<nfs_argop4>& ops, uint32_t uid = 0) {
    xdr::XdrEncoder args;
    EncodeCompound(args, "t", minor, ops);
    std::string bytes = args.ToString();
    xdr::XdrDecoder d(AsBytes(bytes));
    rpc::CallContext call;
    call.prog = NFS4_PROGRAM;
    call.vers = NFS_V4;
    call.proc = NFSPROC4_COMPOUND;
    call.cred.flavor = rpc::AuthFlavor::kSys;
    call.cred.uid = uid;
    call.cred.gid = uid;
    call.client_address = "127.0.0.1";
    xdr::XdrEncoder out;
    EXPECT_TRUE(service_->Compound(call, d, out));
    return out.ToString();
  }
  COMPOUND4res Run(uint32_t minor, const std::vector<nfs_argop4>& ops, uint32_t uid = 0) {
    std::string reply = Raw(minor, ops, uid);
    xdr::XdrDecoder d(AsBytes(reply));
    COMPOUND4res res;
    EXPECT_TRUE(Decode(d, &res));
    return res;
  }

  // A 4.1 client with a session: returns its client id; `session` and `seq` follow.
  struct Session41 {
    clientid4 clientid = 0;
    sessionid4 id{};
    uint32_t seq = 0;
  };
  // A 4.1 client with a session; it says RECLAIM_COMPLETE at once, as real ones do, unless
  // `reclaim` (it is about to reclaim after a restart).
  Session41 Establish41(const std::string& owner, bool reclaim = false, uint32_t max_cached = 8192,
                        uint32_t minor = 1) {
    Session41 s;
    EXCHANGE_ID4args x;
    x.co_ownerid = AsBytes(owner);
    COMPOUND4res r = Run(minor, {MakeOp(OP_EXCHANGE_ID, x)});
    EXPECT_EQ(r.status, kOk);
    auto xr = std::get<EXCHANGE_ID4res>(r.resarray.at(0).res);
    s.clientid = xr.clientid;
    CREATE_SESSION4args cs;
    cs.clientid = xr.clientid;
    cs.sequence = xr.sequenceid;
    cs.fore_chan_attrs = {0, 1u << 20, 1u << 20, max_cached, 16, 4, std::nullopt};
    cs.back_chan_attrs = {0, 4096, 4096, 0, 2, 1, std::nullopt};
    r = Run(minor, {MakeOp(OP_CREATE_SESSION, cs)});
    EXPECT_EQ(r.status, kOk);
    s.id = std::get<CREATE_SESSION4res>(r.resarray.at(0).res).sessionid;
    if (!reclaim) {
      r = Run(minor, {Seq(s), MakeOp(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{false})});
      EXPECT_EQ(r.status, kOk);
    }
    return s;
  }
  static nfs_argop4 Seq(Session41& s, uint32_t slot = 0, bool cache = true) {
    SEQUENCE4args a;
    a.sessionid = s.id;
    a.sequenceid = ++s.seq;
    a.slotid = slot;
    a.cachethis = cache;
    return MakeOp(OP_SEQUENCE, a);
  }
  template <typename A>
  static nfs_argop4 MakeOp(uint32_t op, A a) {
    nfs_argop4 o;
    o.op = op;
    o.args = std::move(a);
    return o;
  }
  static nfs_argop4 MakeOp(uint32_t op) {
    nfs_argop4 o;
    o.op = op;
    return o;
  }
  static nfs_argop4 OpenOp(std::string_view name, uint32_t access, uint32_t deny, std::string owner,
                           clientid4 clientid, uint32_t seqid = 0) {
    OPEN4args a;
    a.seqid = seqid;
    a.share_access = access;
    a.share_deny = deny;
    a.owner.clientid = clientid;
    a.owner.owned = std::move(owner);
    a.opentype = opentype4::OPEN4_CREATE;
    a.mode = createmode4::UNCHECKED4;
    a.claim = open_claim_type4::CLAIM_NULL;
    a.file = name;
    return MakeOp(OP_OPEN, a);
  }

  // A restart of the service over the same shares (their files stay; state goes).
  void Restart(Nfs4Options options = {}) {
    service_.reset();
    service_ = std::make_unique<Nfs4Service>(*shares_, handles_, &users_, options);
  }

  FakeUsers users_;
  FileHandleCodec handles_{FileHandleCodec::Key{7}};
  std::unique_ptr<core::ShareTable> shares_;
  std::unique_ptr<Nfs4Service> service_;
};

TEST_F(Nfs4ServiceTest, AnErrorMidwayEndsTheCompoundWithTheResultsSoFar) {
  COMPOUND4res r = Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                           MakeOp(OP_LOOKUP, LOOKUP4args{"nope"}), MakeOp(OP_GETFH)});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_NOENT);
  ASSERT_EQ(r.resarray.size(), 3u);
  EXPECT_EQ(r.resarray[2].status(), nfsstat4::NFS4ERR_NOENT);
  EXPECT_EQ(r.tag, "t");
}

TEST_F(Nfs4ServiceTest, FileHandleRules) {
  // No current file handle yet.
  EXPECT_EQ(Run(0, {MakeOp(OP_GETFH)}).status, nfsstat4::NFS4ERR_NOFILEHANDLE);
  EXPECT_EQ(Run(0, {MakeOp(OP_SAVEFH)}).status, nfsstat4::NFS4ERR_NOFILEHANDLE);
  // RESTOREFH without a saved one.
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_RESTOREFH)}).status,
            nfsstat4::NFS4ERR_RESTOREFH);
  // SAVEFH, a LOOKUP that moves on, RESTOREFH back: GETFH gives the root's handle.
  COMPOUND4res root = Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_GETFH)});
  COMPOUND4res back =
      Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_SAVEFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
              MakeOp(OP_RESTOREFH), MakeOp(OP_GETFH)});
  ASSERT_EQ(back.status, kOk);
  EXPECT_EQ(std::get<GETFH4res>(back.resarray.back().res).object,
            std::get<GETFH4res>(root.resarray.back().res).object);
  // A forged handle is BADHANDLE; the pseudo fs is read-only.
  PUTFH4args bad;
  std::string junk(28, 'x');
  bad.object.data = AsBytes(junk);
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTFH, bad)}).status, nfsstat4::NFS4ERR_BADHANDLE);
  CREATE4args mk;
  mk.objtype = nfs_ftype4::NF4DIR;
  mk.objname = "x";
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_CREATE, mk)}).status, nfsstat4::NFS4ERR_ROFS);
  // "." and ".." are not names.
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{".."})}).status,
            nfsstat4::NFS4ERR_BADNAME);
}

TEST_F(Nfs4ServiceTest, SlotTableAndReplyCache) {
  Session41 s = Establish41("slots");
  std::vector<nfs_argop4> ops{Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_GETFH)};
  std::string first = Raw(1, ops);
  // The same slot and sequence id again: the cached reply, byte for byte.
  EXPECT_EQ(Raw(1, ops), first);
  // Not cached (sa_cachethis false): a retry is RETRY_UNCACHED_REP.
  std::vector<nfs_argop4> uncached{Seq(s, 0, false), MakeOp(OP_PUTROOTFH)};
  EXPECT_EQ(Run(1, uncached).status, kOk);
  EXPECT_EQ(Run(1, uncached).status, nfsstat4::NFS4ERR_RETRY_UNCACHED_REP);
  // Misordered: a sequence id that skips.
  s.seq += 1;
  EXPECT_EQ(Run(1, {Seq(s), MakeOp(OP_PUTROOTFH)}).status, nfsstat4::NFS4ERR_SEQ_MISORDERED);
  s.seq -= 2;
  EXPECT_EQ(Run(1, {Seq(s), MakeOp(OP_PUTROOTFH)}).status, kOk);
  // SEQUENCE must come first, and only first.
  EXPECT_EQ(Run(1, {MakeOp(OP_PUTROOTFH)}).status, nfsstat4::NFS4ERR_OP_NOT_IN_SESSION);
  COMPOUND4res pos = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), Seq(s)});
  EXPECT_EQ(pos.status, nfsstat4::NFS4ERR_SEQUENCE_POS);
  // More operations than the session allows (16 here).
  Session41 t = Establish41("ops");
  std::vector<nfs_argop4> many{Seq(t)};
  for (int i = 0; i < 20; ++i) many.push_back(MakeOp(OP_PUTROOTFH));
  EXPECT_EQ(Run(1, many).status, nfsstat4::NFS4ERR_TOO_MANY_OPS);
  // EXCHANGE_ID with company: NOT_ONLY_OP.
  EXCHANGE_ID4args x;
  x.co_ownerid = AsBytes(std::string_view("x"));
  EXPECT_EQ(Run(1, {MakeOp(OP_EXCHANGE_ID, x), MakeOp(OP_PUTROOTFH)}).status,
            nfsstat4::NFS4ERR_NOT_ONLY_OP);
}

TEST_F(Nfs4ServiceTest, RepliesPastTheCachedSizeAreRefusedOnlyWhenToBeCached) {
  // ca_maxresponsesize_cached of 160 bytes: a SEQUENCE and PUTROOTFH fit, five GETFHs do not.
  Session41 s = Establish41("cached", false, 160);
  EXPECT_EQ(Run(1, {Seq(s), MakeOp(OP_PUTROOTFH)}).status, kOk);
  std::vector<nfs_argop4> big{Seq(s), MakeOp(OP_PUTROOTFH)};
  for (int i = 0; i < 5; ++i) big.push_back(MakeOp(OP_GETFH));
  COMPOUND4res r = Run(1, big);
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_REP_TOO_BIG_TO_CACHE);
  ASSERT_GE(r.resarray.size(), 3u);
  ASSERT_LT(r.resarray.size(), big.size());  // it ended at the operation that overflowed
  EXPECT_EQ(r.resarray.back().status(), nfsstat4::NFS4ERR_REP_TOO_BIG_TO_CACHE);
  // Not to be cached (sa_cachethis false): the same COMPOUND is answered in full.
  big[0] = Seq(s, 0, false);
  r = Run(1, big);
  EXPECT_EQ(r.status, kOk);
  EXPECT_EQ(r.resarray.size(), big.size());
  // pynfs CSESS27: with 10 bytes cached, even a lone SEQUENCE asked to be cached is refused.
  Session41 tiny = Establish41("tiny", true, 10);
  EXPECT_EQ(Run(1, {Seq(tiny)}).status, nfsstat4::NFS4ERR_REP_TOO_BIG_TO_CACHE);
  EXPECT_EQ(Run(1, {Seq(tiny, 0, false)}).status, kOk);
}

TEST_F(Nfs4ServiceTest, CreateSessionReplayAndMisorder) {
  EXCHANGE_ID4args x;
  x.co_ownerid = AsBytes(std::string_view("cs"));
  COMPOUND4res r = Run(1, {MakeOp(OP_EXCHANGE_ID, x)});
  auto xr = std::get<EXCHANGE_ID4res>(r.resarray.at(0).res);
  EXPECT_EQ(xr.flags & EXCHGID4_FLAG_CONFIRMED_R, 0u);
  CREATE_SESSION4args cs;
  cs.clientid = xr.clientid;
  cs.sequence = xr.sequenceid;
  cs.fore_chan_attrs = {0, 1u << 20, 1u << 20, 8192, 16, 4, std::nullopt};
  cs.back_chan_attrs = {0, 4096, 4096, 0, 2, 1, std::nullopt};
  COMPOUND4res a = Run(1, {MakeOp(OP_CREATE_SESSION, cs)});
  COMPOUND4res b = Run(1, {MakeOp(OP_CREATE_SESSION, cs)});  // a retransmission
  ASSERT_EQ(a.status, kOk);
  ASSERT_EQ(b.status, kOk);
  EXPECT_EQ(std::get<CREATE_SESSION4res>(a.resarray[0].res).sessionid,
            std::get<CREATE_SESSION4res>(b.resarray[0].res).sessionid);
  cs.sequence += 5;
  EXPECT_EQ(Run(1, {MakeOp(OP_CREATE_SESSION, cs)}).status, nfsstat4::NFS4ERR_SEQ_MISORDERED);
  // The record is confirmed now.
  r = Run(1, {MakeOp(OP_EXCHANGE_ID, x)});
  EXPECT_NE(std::get<EXCHANGE_ID4res>(r.resarray.at(0).res).flags & EXCHGID4_FLAG_CONFIRMED_R, 0u);
  // DESTROY_CLIENTID while it has a session: busy. After DESTROY_SESSION: gone.
  DESTROY_CLIENTID4args dc{xr.clientid};
  EXPECT_EQ(Run(1, {MakeOp(OP_DESTROY_CLIENTID, dc)}).status, nfsstat4::NFS4ERR_CLIENTID_BUSY);
  DESTROY_SESSION4args ds{std::get<CREATE_SESSION4res>(a.resarray[0].res).sessionid};
  EXPECT_EQ(Run(1, {MakeOp(OP_DESTROY_SESSION, ds)}).status, kOk);
  EXPECT_EQ(Run(1, {MakeOp(OP_DESTROY_CLIENTID, dc)}).status, kOk);
  EXPECT_EQ(Run(1, {MakeOp(OP_DESTROY_CLIENTID, dc)}).status, nfsstat4::NFS4ERR_STALE_CLIENTID);
}

// The RPCSEC_GSS contexts a fake authenticator knows: "known" only.
class BackchannelGss final : public rpc::GssAuthenticator {
 public:
  rpc::GssVerdict Accept(const rpc::CallHeader&, ByteView, ByteView, rpc::Credential*,
                         rpc::GssCall*, xdr::XdrEncoder*) override {
    return rpc::GssVerdict::kGarbage;
  }
  bool EncodeReply(const rpc::GssCall&, uint32_t, rpc::AcceptStat, const xdr::XdrEncoder&,
                   xdr::XdrEncoder*) override {
    return false;
  }
  std::shared_ptr<rpc::CallSecurity> BackchannelSecurity(ByteView server_handle,
                                                         ByteView client_handle,
                                                         rpc::RpcGssService service) override {
    asked.emplace_back(std::string(AsChars(client_handle)), service);
    if (AsChars(server_handle) != "known") return nullptr;
    return std::make_shared<NoSecurity>();
  }
  struct NoSecurity final : rpc::CallSecurity {
    Result<uint32_t> Protect(xdr::XdrEncoder&, xdr::XdrEncoder) override {
      return Status(Errc::kAccess, "unused");
    }
    Result<rpc::Reply> CheckReply(uint32_t, uint32_t, ByteView, rpc::Reply) override {
      return Status(Errc::kAccess, "unused");
    }
  };
  std::vector<std::pair<std::string, rpc::RpcGssService>> asked;
};

// RFC 8881 §18.36.3: an RPCSEC_GSS entry of csa_sec_parms (or bca_sec_parms) names a context
// by the handle this server gave; one that names none is NFS4ERR_NOENT, and without RPCSEC_GSS
// at all no handle names one.
TEST_F(Nfs4ServiceTest, CallbackSecurityNamesAnRpcsecGssContext) {
  callback_sec_parms4 sys;
  sys.cb_secflavor = 1;
  callback_sec_parms4 gss;
  gss.cb_secflavor = 6;
  gss.gss_service = 3;
  gss.handle_from_server = "unknown";
  gss.handle_from_client = "back";
  const auto create = [&](const std::string& owner, std::vector<callback_sec_parms4> parms) {
    EXCHANGE_ID4args x;
    x.co_ownerid = AsBytes(owner);
    COMPOUND4res r = Run(1, {MakeOp(OP_EXCHANGE_ID, x)});
    auto xr = std::get<EXCHANGE_ID4res>(r.resarray.at(0).res);
    CREATE_SESSION4args cs;
    cs.clientid = xr.clientid;
    cs.sequence = xr.sequenceid;
    cs.fore_chan_attrs = {0, 1u << 20, 1u << 20, 8192, 16, 4, std::nullopt};
    cs.back_chan_attrs = {0, 4096, 4096, 0, 2, 1, std::nullopt};
    cs.sec_parms = std::move(parms);
    return Run(1, {MakeOp(OP_CREATE_SESSION, cs)}).status;
  };
  EXPECT_EQ(create("no-gss", {sys, gss}), nfsstat4::NFS4ERR_NOENT);
  BackchannelGss fake;
  service_->SetGss(&fake);
  EXPECT_EQ(create("unknown", {sys, gss}), nfsstat4::NFS4ERR_NOENT);
  gss.handle_from_server = "known";
  EXPECT_EQ(create("known", {sys, gss}), kOk);
  ASSERT_EQ(fake.asked.size(), 2u);
  EXPECT_EQ(fake.asked[1].first, "back");
  EXPECT_EQ(fake.asked[1].second, rpc::RpcGssService::kPrivacy);
  // BACKCHANNEL_CTL likewise; the session keeps what it had when refused.
  Session41 s = Establish41("ctl");
  gss.handle_from_server = "gone";
  EXPECT_EQ(
      Run(1, {Seq(s), MakeOp(OP_BACKCHANNEL_CTL, BACKCHANNEL_CTL4args{0x40000000, {gss}})}).status,
      nfsstat4::NFS4ERR_NOENT);
  gss.handle_from_server = "known";
  EXPECT_EQ(
      Run(1, {Seq(s), MakeOp(OP_BACKCHANNEL_CTL, BACKCHANNEL_CTL4args{0x40000000, {gss}})}).status,
      kOk);
  service_->SetGss(nullptr);
}

TEST_F(Nfs4ServiceTest, Nfs40OpenConfirmCloseAndSeqidReplay) {
  SETCLIENTID4args sc;
  sc.id = AsBytes(std::string_view("v40"));
  COMPOUND4res r = Run(0, {MakeOp(OP_SETCLIENTID, sc)});
  ASSERT_EQ(r.status, kOk);
  auto ok = std::get<SETCLIENTID4res>(r.resarray[0].res);
  // Not confirmed yet: its client id is not usable.
  EXPECT_EQ(Run(0, {MakeOp(OP_RENEW, RENEW4args{ok.clientid})}).status,
            nfsstat4::NFS4ERR_STALE_CLIENTID);
  verifier4 wrong = ok.setclientid_confirm;
  wrong[0] ^= std::byte{1};
  EXPECT_EQ(
      Run(0, {MakeOp(OP_SETCLIENTID_CONFIRM, SETCLIENTID_CONFIRM4args{ok.clientid, wrong})}).status,
      nfsstat4::NFS4ERR_STALE_CLIENTID);
  ASSERT_EQ(Run(0, {MakeOp(OP_SETCLIENTID_CONFIRM,
                           SETCLIENTID_CONFIRM4args{ok.clientid, ok.setclientid_confirm})})
                .status,
            kOk);
  std::vector<nfs_argop4> open{MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                               OpenOp("f40", OPEN4_SHARE_ACCESS_BOTH, 0, "o", ok.clientid, 1),
                               MakeOp(OP_GETFH)};
  r = Run(0, open);
  ASSERT_EQ(r.status, kOk);
  auto o = std::get<OPEN4res>(r.resarray[2].res);
  EXPECT_NE(o.rflags & OPEN4_RESULT_CONFIRM, 0u);
  auto fh = std::get<GETFH4res>(r.resarray[3].res).object;
  // The same OPEN again (seqid 1): a replay, the same stateid.
  COMPOUND4res again = Run(0, open);
  EXPECT_EQ(std::get<OPEN4res>(again.resarray[2].res).stateid, o.stateid);
  PUTFH4args put;
  put.object.data = fh.view();
  r = Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_OPEN_CONFIRM, OPEN_CONFIRM4args{o.stateid, 2})});
  ASSERT_EQ(r.status, kOk);
  stateid4 confirmed = std::get<OPEN_CONFIRM4res>(r.resarray[1].res).open_stateid;
  EXPECT_EQ(confirmed.seqid, o.stateid.seqid + 1);
  // A seqid out of order: BAD_SEQID.
  r = Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{9, confirmed})});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BAD_SEQID);
  // The old stateid: OLD_STATEID, which moves the owner's seqid on (RFC 7530 §9.1.7) and is
  // replayed when sent again.
  r = Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{3, o.stateid})});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_OLD_STATEID);
  r = Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{3, o.stateid})});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_OLD_STATEID);
  r = Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{3, confirmed})});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_OLD_STATEID);  // seqid 3 again: the cached answer
  r = Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{4, confirmed})});
  EXPECT_EQ(r.status, kOk);
  EXPECT_EQ(shares_->ById(1)->state().opens.total_opens(), 0u);
}

// The RPC reply cache is asked for 4.0 COMPOUNDs that may change state (a retransmitted
// CREATE or CLOSE gets its first reply), not for the data path's or for 4.1's.
TEST_F(Nfs4ServiceTest, TheReplyCacheIsAskedFor40CompoundsThatChangeState) {
  auto asks = [&](uint32_t minor, const std::vector<nfs_argop4>& ops) {
    xdr::XdrEncoder args;
    EncodeCompound(args, "tag", minor, ops);
    std::string bytes = args.ToString();
    return service_->Program().procedures[NFSPROC4_COMPOUND].cache_if(AsBytes(bytes));
  };
  PUTFH4args put;
  std::string fh(20, 'f');
  put.object.data = AsBytes(fh);
  stateid4 st;
  CREATE4args mk;
  mk.objtype = nfs_ftype4::NF4DIR;
  mk.objname = "d";
  EXPECT_TRUE(asks(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CREATE, mk)}));
  EXPECT_TRUE(asks(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{1, st})}));
  EXPECT_TRUE(asks(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                       OpenOp("x", OPEN4_SHARE_ACCESS_READ, 0, "o", 1, 1)}));
  EXPECT_FALSE(asks(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_READ, READ4args{st, 0, 4096})}));
  EXPECT_FALSE(
      asks(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_GETATTR, GETATTR4args{{{1, 2}}}),
               MakeOp(OP_WRITE, WRITE4args{st, 0, stable_how4::UNSTABLE4, AsBytes("abc")})}));
  EXPECT_FALSE(asks(1, {MakeOp(OP_PUTFH, put), MakeOp(OP_CREATE, mk)}));
}

// 4.0 rules pynfs's suite checks: a retransmitted CLOSE gets its reply after the stateid is
// gone; a new lock-owner's seqids start at open_to_lock_owner4's lock_seqid; the stateids of a
// client whose instance was replaced answer EXPIRED.
TEST_F(Nfs4ServiceTest, Nfs40RetiredStateidsAndLockOwnerSeqids) {
  auto establish = [&](std::string_view verifier) {
    SETCLIENTID4args sc;
    sc.id = AsBytes(std::string_view("r40"));
    std::memcpy(sc.verifier.data(), verifier.data(), std::min(verifier.size(), size_t{8}));
    COMPOUND4res r = Run(0, {MakeOp(OP_SETCLIENTID, sc)});
    EXPECT_EQ(r.status, kOk);
    auto ok = std::get<SETCLIENTID4res>(r.resarray.at(0).res);
    EXPECT_EQ(Run(0, {MakeOp(OP_SETCLIENTID_CONFIRM,
                             SETCLIENTID_CONFIRM4args{ok.clientid, ok.setclientid_confirm})})
                  .status,
              kOk);
    return ok.clientid;
  };
  const clientid4 id = establish("one");
  std::vector<nfs_argop4> dir{MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"})};
  auto open = [&](std::string_view name, seqid4 seqid, nfs_fh4_owned* fh) {
    std::vector<nfs_argop4> ops = dir;
    ops.push_back(OpenOp(name, OPEN4_SHARE_ACCESS_BOTH, 0, "o", id, seqid));
    ops.push_back(MakeOp(OP_GETFH));
    COMPOUND4res r = Run(0, ops);
    EXPECT_EQ(r.status, kOk);
    *fh = std::get<GETFH4res>(r.resarray.at(3).res).object;
    return std::get<OPEN4res>(r.resarray.at(2).res).stateid;
  };
  nfs_fh4_owned fh;
  stateid4 st = open("r1", 1, &fh);
  PUTFH4args put;
  put.object.data = fh.view();
  COMPOUND4res r =
      Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_OPEN_CONFIRM, OPEN_CONFIRM4args{st, 2})});
  ASSERT_EQ(r.status, kOk);
  st = std::get<OPEN_CONFIRM4res>(r.resarray[1].res).open_stateid;

  LOCK4args l;
  l.locktype = nfs_lock_type4::WRITE_LT;
  l.length = 10;
  l.new_lock_owner = true;
  l.open_seqid = 3;
  l.open_stateid = st;
  l.lock_seqid = 0;
  l.lock_owner.clientid = id;
  l.lock_owner.owned = "lo";
  r = Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_LOCK, l)});
  ASSERT_EQ(r.status, kOk);
  const stateid4 lock = std::get<LOCK4res>(r.resarray[1].res).lock_stateid;
  // The lock-owner's next seqid is 1: 2 is out of order.
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTFH, put),
                    MakeOp(OP_LOCKU, LOCKU4args{nfs_lock_type4::WRITE_LT, 2, lock, 0, 10})})
                .status,
            nfsstat4::NFS4ERR_BAD_SEQID);
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTFH, put),
                    MakeOp(OP_LOCKU, LOCKU4args{nfs_lock_type4::WRITE_LT, 1, lock, 0, 10})})
                .status,
            kOk);

  // CLOSE, then the same CLOSE again: its reply, though the stateid is gone.
  std::vector<nfs_argop4> close{MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{4, st})};
  r = Run(0, close);
  ASSERT_EQ(r.status, kOk);
  COMPOUND4res again = Run(0, close);
  EXPECT_EQ(again.status, kOk);
  EXPECT_EQ(std::get<CLOSE4res>(again.resarray[1].res).open_stateid,
            std::get<CLOSE4res>(r.resarray[1].res).open_stateid);
  // With the next seqid it is no replay: the stateid is bad.
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTFH, put), MakeOp(OP_CLOSE, CLOSE4args{5, st})}).status,
            nfsstat4::NFS4ERR_BAD_STATEID);

  // The client restarts (a new verifier): the old instance's stateids are EXPIRED.
  nfs_fh4_owned fh2;
  stateid4 st2 = open("r2", 5, &fh2);
  establish("two");
  PUTFH4args put2;
  put2.object.data = fh2.view();
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTFH, put2), MakeOp(OP_READ, READ4args{st2, 0, 1})}).status,
            nfsstat4::NFS4ERR_EXPIRED);
  EXPECT_EQ(shares_->ById(1)->state().opens.total_opens(), 0u);
}

TEST_F(Nfs4ServiceTest, OpenUpgradeDowngradeAndCurrentStateid) {
  Session41 s = Establish41("updown");
  std::vector<nfs_argop4> dir{MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"})};
  auto with = [&](std::vector<nfs_argop4> ops) {
    std::vector<nfs_argop4> all{Seq(s)};
    all.insert(all.end(), dir.begin(), dir.end());
    all.insert(all.end(), ops.begin(), ops.end());
    return Run(1, all);
  };
  COMPOUND4res r = with({OpenOp("ud", OPEN4_SHARE_ACCESS_READ, 0, "o", s.clientid)});
  ASSERT_EQ(r.status, kOk);
  stateid4 first = std::get<OPEN4res>(r.resarray.back().res).stateid;
  r = with({OpenOp("ud", OPEN4_SHARE_ACCESS_WRITE, OPEN4_SHARE_DENY_WRITE, "o", s.clientid)});
  ASSERT_EQ(r.status, kOk);
  stateid4 second = std::get<OPEN4res>(r.resarray.back().res).stateid;
  EXPECT_EQ(second.other, first.other);
  EXPECT_EQ(second.seqid, 2u);
  EXPECT_EQ(shares_->ById(1)->state().opens.total_opens(), 1u);  // one open, upgraded
  // Downgrade to read/deny none: both were asked before; to WRITE/deny-read: never asked.
  std::vector<nfs_argop4> dg{
      OpenOp("ud", OPEN4_SHARE_ACCESS_READ, 0, "o", s.clientid),
      MakeOp(OP_OPEN_DOWNGRADE,
             OPEN_DOWNGRADE4args{second, 0, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_READ})};
  r = with(dg);
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_OLD_STATEID);  // the OPEN moved the seqid to 3
  stateid4 cur;
  cur.seqid = 1;  // the current stateid
  r = with({OpenOp("ud", OPEN4_SHARE_ACCESS_READ, 0, "o", s.clientid),
            MakeOp(OP_OPEN_DOWNGRADE,
                   OPEN_DOWNGRADE4args{cur, 0, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_READ})});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_INVAL);
  r = with({OpenOp("ud", OPEN4_SHARE_ACCESS_READ, 0, "o", s.clientid),
            MakeOp(OP_OPEN_DOWNGRADE, OPEN_DOWNGRADE4args{cur, 0, OPEN4_SHARE_ACCESS_READ, 0}),
            MakeOp(OP_CLOSE, CLOSE4args{0, cur})});
  EXPECT_EQ(r.status, kOk);
  // After CLOSE the current stateid is the invalid special one.
  EXPECT_EQ(std::get<CLOSE4res>(r.resarray.back().res).open_stateid.seqid, 0xffffffffu);
  // A PUTFH clears the current stateid: using it is BAD_STATEID.
  r = with({MakeOp(OP_GETFH)});
  PUTFH4args put;
  auto fh = std::get<GETFH4res>(r.resarray.back().res).object;
  put.object.data = fh.view();
  r = Run(1, {Seq(s), MakeOp(OP_PUTFH, put), MakeOp(OP_READ, READ4args{cur, 0, 1})});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_BAD_STATEID);
}

TEST_F(Nfs4ServiceTest, CourteousExpiry) {
  Nfs4Options o;
  o.lease_seconds = 1;
  Make(o);
  Session41 a = Establish41("a");
  std::vector<nfs_argop4> dir{MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"})};
  std::vector<nfs_argop4> oa{Seq(a)};
  oa.insert(oa.end(), dir.begin(), dir.end());
  oa.push_back(OpenOp("c", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_BOTH, "oa", a.clientid));
  ASSERT_EQ(Run(1, oa).status, kOk);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  service_->Tick(MonotonicNanos());
  // a's lease ran out; nobody wanted its state, so it is kept (courtesy).
  EXPECT_EQ(service_->state().client_count(), 1u);
  Session41 b = Establish41("b");
  EXPECT_EQ(shares_->ById(1)->state().opens.total_opens(), 1u);
  std::vector<nfs_argop4> ob{Seq(b)};
  ob.insert(ob.end(), dir.begin(), dir.end());
  ob.push_back(OpenOp("c", OPEN4_SHARE_ACCESS_READ, 0, "ob", b.clientid));
  EXPECT_EQ(Run(1, ob).status, kOk);  // the conflict ended a's courtesy
  EXPECT_EQ(Run(1, {Seq(a), MakeOp(OP_PUTROOTFH)}).status, nfsstat4::NFS4ERR_BADSESSION);
  EXPECT_EQ(shares_->ById(1)->state().opens.total_opens(), 1u);
}

// Courtesy ends at a conflict of any protocol: an SMB-like open through the runtime, an
// NLM-like lock, an NFSv3-like write all make an expired client's state give way.
TEST_F(Nfs4ServiceTest, CourtesyEndsAtAnotherProtocolsConflict) {
  Nfs4Options o;
  o.lease_seconds = 1;
  Make(o);
  std::vector<nfs_argop4> dir{MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"})};
  auto open = [&](Session41& s, std::string_view name, uint32_t deny) {
    std::vector<nfs_argop4> ops{Seq(s)};
    ops.insert(ops.end(), dir.begin(), dir.end());
    ops.push_back(OpenOp(name, OPEN4_SHARE_ACCESS_BOTH, deny, "o", s.clientid));
    COMPOUND4res r = Run(1, ops);
    EXPECT_EQ(r.status, kOk);
    return std::get<OPEN4res>(r.resarray.back().res).stateid;
  };
  Session41 a = Establish41("sharer");
  open(a, "denied", OPEN4_SHARE_DENY_BOTH);
  Session41 c = Establish41("sharer2");
  open(c, "denied2", OPEN4_SHARE_DENY_BOTH);
  Session41 b = Establish41("locker");
  stateid4 bo = open(b, "locked", 0);
  LOCK4args l;
  l.locktype = nfs_lock_type4::WRITE_LT;
  l.length = UINT64_MAX;
  l.new_lock_owner = true;
  l.open_stateid = bo;
  l.lock_owner.clientid = b.clientid;
  l.lock_owner.owned = "lo";
  std::vector<nfs_argop4> lock{Seq(b)};
  lock.insert(lock.end(), dir.begin(), dir.end());
  lock.push_back(MakeOp(OP_LOOKUP, LOOKUP4args{"locked"}));
  lock.push_back(MakeOp(OP_LOCK, l));
  ASSERT_EQ(Run(1, lock).status, kOk);

  auto use = shares_->Use(1);
  ASSERT_TRUE(use.ok());
  core::Vfs& vfs = use->vfs();
  core::Caller root;
  root.uid = root.gid = 0;
  ASSERT_OK_AND_ASSIGN(core::Attr denied, vfs.Lookup(root, vfs.root(), "denied", nullptr));
  ASSERT_OK_AND_ASSIGN(core::Attr denied2, vfs.Lookup(root, vfs.root(), "denied2", nullptr));
  ASSERT_OK_AND_ASSIGN(core::Attr locked, vfs.Lookup(root, vfs.root(), "locked", nullptr));
  const uint32_t all = core::kShareRead | core::kShareWrite | core::kShareDelete;
  // While the leases run, both hold.
  EXPECT_THAT(vfs.OpenFile(root, denied.id, core::kReadData, all), StatusIs(Errc::kShareViolation));
  core::LockRequest nlm{locked.id.inode, {4242, core::LockFlavor::kPosix}, 0, 0, true};
  EXPECT_THAT(vfs.state().Lock(nlm), StatusIs(Errc::kLocked));
  core::Wcc w;
  EXPECT_THAT(vfs.Write(root, denied.id, 0, AsBytes("x"), core::Stability::kFileSync, &w),
              StatusIs(Errc::kShareViolation));

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  service_->Tick(MonotonicNanos());
  EXPECT_EQ(service_->state().client_count(), 3u);  // expired, kept as a courtesy
  // An NFSv3-like write: a's deny-write open gives way.
  EXPECT_OK(vfs.Write(root, denied.id, 0, AsBytes("x"), core::Stability::kFileSync, &w));
  EXPECT_EQ(service_->state().client_count(), 2u);
  // An SMB-like open: c's deny-read open gives way.
  ASSERT_OK_AND_ASSIGN(core::OpenTable::OpenId smb,
                       vfs.OpenFile(root, denied2.id, core::kReadData, all));
  EXPECT_OK(vfs.CloseFile(smb));
  EXPECT_EQ(service_->state().client_count(), 1u);
  // An NLM-like lock: b's lock gives way.
  EXPECT_OK(vfs.state().Lock(nlm));
  EXPECT_EQ(service_->state().client_count(), 0u);
  EXPECT_EQ(vfs.state().opens.total_opens(), 0u);
}

// Client records as the server's StateStore would keep them.
class MemoryClientRecords final : public Nfs4ClientRecords {
 public:
  Status Put(std::string_view key, std::string_view value) override {
    map[std::string(key)] = std::string(value);
    return Status::Ok();
  }
  Status Delete(std::string_view key) override {
    map.erase(std::string(key));
    ++writes;
    return Status::Ok();
  }
  Status DeleteMany(const std::vector<std::string>& keys) override {
    for (const std::string& key : keys) map.erase(key);
    ++writes;
    return Status::Ok();
  }
  Result<std::vector<std::pair<std::string, std::string>>> List() override {
    return std::vector<std::pair<std::string, std::string>>(map.begin(), map.end());
  }
  std::map<std::string, std::string> map;
  int writes = 0;  // Delete and DeleteMany calls: each would be one durable write
};

TEST_F(Nfs4ServiceTest, GraceAndReclaimAfterARestart) {
  MemoryClientRecords records;
  // A first start finds no records: no grace.
  ASSERT_OK(service_->BeginGrace(&records, std::chrono::seconds(60)));
  EXPECT_FALSE(service_->grace().in_grace());
  std::vector<nfs_argop4> dir{MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"})};
  auto with = [&](Session41& s, std::vector<nfs_argop4> ops) {
    std::vector<nfs_argop4> all{Seq(s)};
    all.insert(all.end(), ops.begin(), ops.end());
    return Run(1, all);
  };
  Session41 a = Establish41("a");
  Establish41("idle");  // no state: not recorded
  std::vector<nfs_argop4> open = dir;
  open.push_back(OpenOp("g", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_WRITE, "o", a.clientid));
  open.push_back(MakeOp(OP_GETFH));
  COMPOUND4res r = with(a, open);
  ASSERT_EQ(r.status, kOk);
  const auto fh = std::get<GETFH4res>(r.resarray.back().res).object;
  ASSERT_EQ(records.map.size(), 1u);
  EXPECT_EQ(records.map.begin()->first, Nfs4Grace::RecordKey(1, "a"));

  // A stop keeps the records; the next start is in grace.
  Restart();
  ASSERT_OK(service_->BeginGrace(&records, std::chrono::seconds(60)));
  ASSERT_TRUE(service_->grace().in_grace());
  a = Establish41("a", true);
  Session41 b = Establish41("b");
  // b gets no new state meanwhile, and may not reclaim (it is not of the last run).
  std::vector<nfs_argop4> b_open = dir;
  b_open.push_back(OpenOp("other", OPEN4_SHARE_ACCESS_READ, 0, "ob", b.clientid));
  EXPECT_EQ(with(b, b_open).status, nfsstat4::NFS4ERR_GRACE);
  PUTFH4args put;
  put.object.data = fh.view();
  OPEN4args prev;
  prev.share_access = OPEN4_SHARE_ACCESS_BOTH;
  prev.share_deny = OPEN4_SHARE_DENY_WRITE;
  prev.owner.owned = "o";
  prev.claim = open_claim_type4::CLAIM_PREVIOUS;
  prev.owner.clientid = b.clientid;
  EXPECT_EQ(with(b, {MakeOp(OP_PUTFH, put), MakeOp(OP_OPEN, prev)}).status,
            nfsstat4::NFS4ERR_NO_GRACE);
  // a reclaims its open, then says it is done: the grace period ends early.
  prev.owner.clientid = a.clientid;
  r = with(a, {MakeOp(OP_PUTFH, put), MakeOp(OP_OPEN, prev)});
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(shares_->ById(1)->state().opens.total_opens(), 1u);
  EXPECT_EQ(with(a, {MakeOp(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{false})}).status, kOk);
  EXPECT_FALSE(service_->grace().in_grace());
  EXPECT_EQ(with(a, {MakeOp(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{false})}).status,
            nfsstat4::NFS4ERR_COMPLETE_ALREADY);
  EXPECT_EQ(with(a, {MakeOp(OP_PUTFH, put), MakeOp(OP_OPEN, prev)}).status,
            nfsstat4::NFS4ERR_NO_GRACE);
  // b's open now meets a's reclaimed deny-write.
  std::vector<nfs_argop4> b_write = dir;
  b_write.push_back(OpenOp("g", OPEN4_SHARE_ACCESS_WRITE, 0, "ob", b.clientid));
  EXPECT_EQ(with(b, b_write).status, nfsstat4::NFS4ERR_SHARE_DENIED);
  EXPECT_EQ(with(b, b_open).status, kOk);

  // b is recorded now; DESTROY_CLIENTID is refused while its open stands.
  ASSERT_EQ(records.map.count(Nfs4Grace::RecordKey(1, "b")), 1u);
  Run(1, {MakeOp(OP_DESTROY_SESSION, DESTROY_SESSION4args{b.id})});
  COMPOUND4res gone = Run(1, {MakeOp(OP_DESTROY_CLIENTID, DESTROY_CLIENTID4args{b.clientid})});
  EXPECT_EQ(gone.status, nfsstat4::NFS4ERR_CLIENTID_BUSY);  // it still has its open
}

TEST_F(Nfs4ServiceTest, GraceEndsOnTimeAndDropsClientsThatDidNotComeBack) {
  MemoryClientRecords records;
  records.map[Nfs4Grace::RecordKey(1, "gone")] = "";
  records.map[Nfs4Grace::RecordKey(0, "old 4.0 client")] = "";
  ASSERT_OK(service_->BeginGrace(&records, std::chrono::seconds(60)));
  ASSERT_TRUE(service_->grace().in_grace());
  EXPECT_EQ(service_->grace().pending(), 2u);
  EXPECT_GT(service_->grace().seconds_left(MonotonicNanos()), 50u);
  service_->Tick(MonotonicNanos() + 30'000'000'000);
  EXPECT_TRUE(service_->grace().in_grace());
  service_->Tick(MonotonicNanos() + 61'000'000'000);
  EXPECT_FALSE(service_->grace().in_grace());
  EXPECT_TRUE(records.map.empty());
  // Keys: 4.0 and 4.1 owners apart; owners past the store's key limit fit, distinct.
  EXPECT_NE(Nfs4Grace::RecordKey(0, "x"), Nfs4Grace::RecordKey(1, "x"));
  const std::string long_a(1024, 'a');
  std::string long_b = long_a;
  long_b.back() = 'b';
  EXPECT_LE(Nfs4Grace::RecordKey(1, long_a).size(), 1024u);
  EXPECT_NE(Nfs4Grace::RecordKey(1, long_a), Nfs4Grace::RecordKey(1, long_b));
}

TEST_F(Nfs4ServiceTest, AnExpiredClientsRecordGoesWithItsState) {
  Nfs4Options o;
  o.lease_seconds = 1;
  o.courtesy_seconds = 1;
  Make(o);
  MemoryClientRecords records;
  ASSERT_OK(service_->BeginGrace(&records, std::chrono::seconds(60)));
  // Three clients with state, gone together: their records go in one write.
  for (const char* name : {"a", "b", "c"}) {
    Session41 s = Establish41(name);
    std::vector<nfs_argop4> ops{Seq(s), MakeOp(OP_PUTROOTFH),
                                MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                                OpenOp("e", OPEN4_SHARE_ACCESS_READ, 0, name, s.clientid)};
    ASSERT_EQ(Run(1, ops).status, kOk);
  }
  EXPECT_EQ(records.map.size(), 3u);
  records.writes = 0;
  service_->Tick(MonotonicNanos() + 5'000'000'000);  // past their leases and their courtesy
  EXPECT_EQ(service_->state().client_count(), 0u);
  EXPECT_TRUE(records.map.empty());
  EXPECT_EQ(records.writes, 1);
}

// What pynfs's 4.1 suite found: CREATE_SESSION's flag and channel checks, a confirmed client
// taking sessions from another principal, EXCHANGE_ID replacing a stateless record of another
// principal at once, OPEN before RECLAIM_COMPLETE, LOOKUPP from a symbolic link.
TEST_F(Nfs4ServiceTest, SessionAndClientEdgeCases) {
  EXCHANGE_ID4args x;
  x.co_ownerid = AsBytes(std::string_view("edges"));
  COMPOUND4res r = Run(1, {MakeOp(OP_EXCHANGE_ID, x)});
  ASSERT_EQ(r.status, kOk);
  const auto xr = std::get<EXCHANGE_ID4res>(r.resarray.at(0).res);
  CREATE_SESSION4args cs;
  cs.clientid = xr.clientid;
  cs.sequence = xr.sequenceid;
  cs.fore_chan_attrs = {0, 8192, 8192, 8192, 16, 4, std::nullopt};
  cs.back_chan_attrs = {0, 4096, 4096, 0, 2, 1, std::nullopt};
  CREATE_SESSION4args bad = cs;
  bad.flags = 0xf;
  EXPECT_EQ(Run(1, {MakeOp(OP_CREATE_SESSION, bad)}).status, nfsstat4::NFS4ERR_INVAL);
  bad = cs;
  bad.back_chan_attrs = {0, 10, 8192, 8192, 1, 1, std::nullopt};
  EXPECT_EQ(Run(1, {MakeOp(OP_CREATE_SESSION, bad)}).status, nfsstat4::NFS4ERR_TOOSMALL);
  // Unconfirmed: only its principal confirms it; confirmed: any principal adds sessions.
  EXPECT_EQ(Run(1, {MakeOp(OP_CREATE_SESSION, cs)}, 1000).status, nfsstat4::NFS4ERR_CLID_INUSE);
  r = Run(1, {MakeOp(OP_CREATE_SESSION, cs)});
  ASSERT_EQ(r.status, kOk);
  Session41 s;
  s.clientid = xr.clientid;
  s.id = std::get<CREATE_SESSION4res>(r.resarray.at(0).res).sessionid;
  cs.sequence += 1;
  EXPECT_EQ(Run(1, {MakeOp(OP_CREATE_SESSION, cs)}, 1000).status, kOk);

  // OPEN before RECLAIM_COMPLETE: GRACE; after it, fine.
  std::vector<nfs_argop4> open{Seq(s), MakeOp(OP_PUTROOTFH),
                               MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                               OpenOp("early", OPEN4_SHARE_ACCESS_READ, 0, "o", s.clientid)};
  EXPECT_EQ(Run(1, open).status, nfsstat4::NFS4ERR_GRACE);
  ASSERT_EQ(Run(1, {Seq(s), MakeOp(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{false})}).status,
            kOk);
  open[0] = Seq(s);
  EXPECT_EQ(Run(1, open).status, kOk);

  // LOOKUPP from a symbolic link: SYMLINK, not NOTDIR.
  CREATE4args link;
  link.objtype = nfs_ftype4::NF4LNK;
  link.linkdata = "target";
  link.objname = "a-link";
  r = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
              MakeOp(OP_CREATE, link), MakeOp(OP_LOOKUPP)});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_SYMLINK);

  // Another principal takes over the owner name of a record without state: the old record
  // goes at once (RFC 8881 §18.35.4 case 3).
  x.co_ownerid = AsBytes(std::string_view("taken-over"));
  Session41 old = Establish41("taken-over");
  ASSERT_EQ(Run(1, {MakeOp(OP_DESTROY_SESSION, DESTROY_SESSION4args{old.id})}).status, kOk);
  StoreBe64(x.co_verifier.data(), 99);
  r = Run(1, {MakeOp(OP_EXCHANGE_ID, x)}, 1000);
  ASSERT_EQ(r.status, kOk);
  EXPECT_NE(std::get<EXCHANGE_ID4res>(r.resarray.at(0).res).clientid, old.clientid);
  CREATE_SESSION4args again;
  again.clientid = old.clientid;
  again.sequence = 2;
  again.fore_chan_attrs = cs.fore_chan_attrs;
  again.back_chan_attrs = cs.back_chan_attrs;
  EXPECT_EQ(Run(1, {MakeOp(OP_CREATE_SESSION, again)}).status, nfsstat4::NFS4ERR_STALE_CLIENTID);
}

// A share that takes krb5p only: an AUTH_SYS LOOKUP into it is NFS4ERR_WRONGSEC, and SECINFO
// (which must not fail so) tells RPCSEC_GSS with Kerberos V5 and privacy (RFC 8881 §2.6.3.1).
TEST_F(Nfs4ServiceTest, AKrb5pShareIsWrongsecForSysAndSecinfoTellsItsFlavor) {
  security_ = core::NfsSecurity{.sys = false, .krb5p = true};
  Make({});
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"})}).status,
            nfsstat4::NFS4ERR_WRONGSEC);
  COMPOUND4res r = Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_SECINFO, SECINFO4args{"export"})});
  ASSERT_EQ(r.status, kOk);
  const auto& flavors = std::get<SECINFO4res>(r.resarray.at(1).res).flavors;
  ASSERT_EQ(flavors.size(), 1u);
  EXPECT_EQ(flavors[0].flavor, 6u);
  EXPECT_EQ(flavors[0].oid, std::string("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 9));
  EXPECT_EQ(flavors[0].service, 3u);
  // The default share takes AUTH_SYS, and SECINFO says so.
  security_ = core::NfsSecurity{};
  Make({});
  r = Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_SECINFO, SECINFO4args{"export"})});
  ASSERT_EQ(r.status, kOk);
  ASSERT_EQ(std::get<SECINFO4res>(r.resarray.at(1).res).flavors.size(), 1u);
  EXPECT_EQ(std::get<SECINFO4res>(r.resarray.at(1).res).flavors[0].flavor, 1u);
}

// What pynfs's 4.0 suite found: write-only attributes are not readable, ACCESS names only the
// bits of the object's type, LOCKT is of regular files, SECINFO needs a name, an empty owner
// is INVAL, an empty directory fits a READDIR of 16 bytes, I/O against a share reservation
// is LOCKED, and an open-owner's own deny bits refuse its upgrade.
TEST_F(Nfs4ServiceTest, SmallRulesOfTheProtocol) {
  Session41 s = Establish41("rules");
  auto with = [&](std::vector<nfs_argop4> ops) {
    std::vector<nfs_argop4> all{Seq(s), MakeOp(OP_PUTROOTFH),
                                MakeOp(OP_LOOKUP, LOOKUP4args{"export"})};
    all.insert(all.end(), ops.begin(), ops.end());
    return Run(1, all);
  };
  GETATTR4args ga;
  ga.attr_request.set(FATTR4_TIME_MODIFY_SET);
  EXPECT_EQ(with({MakeOp(OP_GETATTR, ga)}).status, nfsstat4::NFS4ERR_INVAL);
  COMPOUND4res r = with({MakeOp(OP_ACCESS, ACCESS4args{0x3f})});
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(std::get<ACCESS4res>(r.resarray.back().res).supported & ACCESS4_EXECUTE, 0u);
  EXPECT_NE(std::get<ACCESS4res>(r.resarray.back().res).supported & ACCESS4_DELETE, 0u);
  LOCKT4args lt;
  lt.locktype = nfs_lock_type4::WRITE_LT;
  lt.length = 1;
  lt.owner.clientid = s.clientid;
  lt.owner.owned = "lt";
  EXPECT_EQ(with({MakeOp(OP_LOCKT, lt)}).status, nfsstat4::NFS4ERR_ISDIR);
  EXPECT_EQ(with({MakeOp(OP_SECINFO, SECINFO4args{""})}).status, nfsstat4::NFS4ERR_INVAL);
  Fattr4 owner;
  owner.mask.set(FATTR4_OWNER);
  SETATTR4args set;
  EncodeAttrs(owner.mask, owner, &set.obj_attributes);
  EXPECT_EQ(with({MakeOp(OP_SETATTR, set)}).status, nfsstat4::NFS4ERR_INVAL);
  CREATE4args mk;
  mk.objtype = nfs_ftype4::NF4DIR;
  mk.objname = "empty";
  READDIR4args rd;
  rd.maxcount = 16;
  rd.dircount = 16;
  EXPECT_EQ(with({MakeOp(OP_CREATE, mk), MakeOp(OP_READDIR, rd)}).status, kOk);

  // o1 opens with deny-write; a WRITE with the anonymous stateid (another open, as far as
  // the share reservation goes) is LOCKED.
  r = with({OpenOp("denied", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_WRITE, "o1", s.clientid)});
  ASSERT_EQ(r.status, kOk);
  WRITE4args w;
  w.stable = stable_how4::FILE_SYNC4;
  w.data = AsBytes(std::string_view("x"));
  EXPECT_EQ(with({MakeOp(OP_LOOKUP, LOOKUP4args{"denied"}), MakeOp(OP_WRITE, w)}).status,
            nfsstat4::NFS4ERR_LOCKED);
  // The same owner asking for access its own open denies: SHARE_DENIED.
  r = with(
      {OpenOp("self-denied", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_READ, "o2", s.clientid)});
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(with({OpenOp("self-denied", OPEN4_SHARE_ACCESS_READ, 0, "o2", s.clientid)}).status,
            nfsstat4::NFS4ERR_SHARE_DENIED);
}

TEST_F(Nfs4ServiceTest, OwnerStringsMapThroughTheUserDirectory) {
  Nfs4Options o;
  o.numeric_ids = false;
  Make(o);
  Session41 s = Establish41("idmap");
  auto setowner = [&](const std::string& owner, const std::string& group) {
    Fattr4 f;
    f.mask.set(FATTR4_OWNER);
    f.mask.set(FATTR4_OWNER_GROUP);
    f.owner = owner;
    f.owner_group = group;
    SETATTR4args a;
    EncodeAttrs(f.mask, f, &a.obj_attributes);
    GETATTR4args g;
    g.attr_request.set(FATTR4_OWNER);
    g.attr_request.set(FATTR4_OWNER_GROUP);
    return Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                   MakeOp(OP_SETATTR, a), MakeOp(OP_GETATTR, g)});
  };
  COMPOUND4res r = setowner("alice@localdomain", "staff@LOCALDOMAIN");
  ASSERT_EQ(r.status, kOk);
  Fattr4 got;
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(r.resarray.back().res).obj_attributes, &got), kOk);
  EXPECT_EQ(got.owner, "alice@localdomain");
  EXPECT_EQ(got.owner_group, "staff@localdomain");
  // Numbers are accepted, and a uid without a user comes back as a number.
  r = setowner("4321", "50");
  ASSERT_EQ(r.status, kOk);
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(r.resarray.back().res).obj_attributes, &got), kOk);
  EXPECT_EQ(got.owner, "4321");
  EXPECT_EQ(got.owner_group, "staff@localdomain");
  // Unknown names and other domains are BADOWNER.
  EXPECT_EQ(setowner("mallory@localdomain", "staff").status, nfsstat4::NFS4ERR_BADOWNER);
  EXPECT_EQ(setowner("alice@elsewhere", "staff").status, nfsstat4::NFS4ERR_BADOWNER);
}

TEST_F(Nfs4ServiceTest, TheAclAttributeSetsAndShowsTheRuntimesAcl) {
  Nfs4Options o;
  o.numeric_ids = false;
  Make(o);
  Session41 s = Establish41("acl");
  GETATTR4args g;
  g.attr_request.set(FATTR4_ACL);
  g.attr_request.set(FATTR4_ACLSUPPORT);
  g.attr_request.set(FATTR4_MODE);
  auto setacl = [&](std::vector<nfsace4> aces) {
    Fattr4 f;
    f.mask.set(FATTR4_ACL);
    f.acl = std::move(aces);
    SETATTR4args a;
    EncodeAttrs(f.mask, f, &a.obj_attributes);
    return MakeOp(OP_SETATTR, a);
  };
  std::vector<nfs_argop4> ops{
      Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
      OpenOp("acl-file", OPEN4_SHARE_ACCESS_BOTH, 0, "o", s.clientid), MakeOp(OP_GETATTR, g)};
  COMPOUND4res r = Run(1, ops);
  ASSERT_EQ(r.status, kOk);
  Fattr4 got;
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(r.resarray.back().res).obj_attributes, &got), kOk);
  // No ACL yet: the ACL the mode stands for, with every ACE type supported.
  EXPECT_EQ(got.aclsupport, 0xFu);
  ASSERT_FALSE(got.acl.empty());
  EXPECT_EQ(got.acl[0].who, "OWNER@");
  EXPECT_EQ(got.acl.back().who, "EVERYONE@");

  const uint32_t rw = core::kAceReadData | core::kAceWriteData | core::kAceAppendData;
  std::vector<nfsace4> acl{
      {ACE4_ACCESS_ALLOWED_ACE_TYPE, 0, rw, "alice@localdomain"},
      {ACE4_ACCESS_DENIED_ACE_TYPE, ACE4_IDENTIFIER_GROUP, core::kAceWriteData,
       "staff@localdomain"},
      {ACE4_ACCESS_ALLOWED_ACE_TYPE, 0, core::kAceAllAccess, "OWNER@"},
      {ACE4_ACCESS_ALLOWED_ACE_TYPE, ACE4_IDENTIFIER_GROUP, core::kAceReadData, "GROUP@"}};
  std::vector<nfs_argop4> set{Seq(s),
                              MakeOp(OP_PUTROOTFH),
                              MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                              MakeOp(OP_LOOKUP, LOOKUP4args{"acl-file"}),
                              setacl(acl),
                              MakeOp(OP_GETATTR, g)};
  r = Run(1, set);
  ASSERT_EQ(r.status, kOk);
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(r.resarray.back().res).obj_attributes, &got), kOk);
  EXPECT_EQ(got.acl, acl);
  EXPECT_EQ(got.mode & 0777, 0740u);  // OWNER@ rwx, GROUP@ r, nothing for EVERYONE@

  // mode_set_masked: only the bits under the mask change (g+w here); the ACL follows the
  // mode as a chmod leaves it (GROUP@ now allows writing too).
  Fattr4 masked;
  masked.mask.set(FATTR4_MODE_SET_MASKED);
  masked.mode_set_masked = 0020;
  masked.mode_set_mask = 0020;
  SETATTR4args ms;
  EncodeAttrs(masked.mask, masked, &ms.obj_attributes);
  r = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
              MakeOp(OP_LOOKUP, LOOKUP4args{"acl-file"}), MakeOp(OP_SETATTR, ms),
              MakeOp(OP_GETATTR, g)});
  ASSERT_EQ(r.status, kOk);
  Fattr4 after;
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(r.resarray.back().res).obj_attributes, &after), kOk);
  EXPECT_EQ(after.mode & 0777, 0760u);
  // Restore the ACL for what follows.
  set[0] = Seq(s);
  r = Run(1, set);
  ASSERT_EQ(r.status, kOk);

  // Principals that map to nothing, unknown types and bits are refused; the ACL stays.
  auto refused = [&](nfsace4 bad) {
    std::vector<nfs_argop4> ops{Seq(s), MakeOp(OP_PUTROOTFH),
                                MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                                MakeOp(OP_LOOKUP, LOOKUP4args{"acl-file"}), setacl({bad})};
    return Run(1, ops).status;
  };
  EXPECT_EQ(refused({0, 0, core::kAceReadData, "NETWORK@"}), nfsstat4::NFS4ERR_BADOWNER);
  EXPECT_EQ(refused({0, 0, core::kAceReadData, "mallory@localdomain"}), nfsstat4::NFS4ERR_BADOWNER);
  EXPECT_EQ(refused({7, 0, core::kAceReadData, "OWNER@"}), nfsstat4::NFS4ERR_INVAL);
  EXPECT_EQ(refused({0, 0, 0x40000000, "OWNER@"}), nfsstat4::NFS4ERR_INVAL);
  r = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
              MakeOp(OP_LOOKUP, LOOKUP4args{"acl-file"}), MakeOp(OP_GETATTR, g)});
  ASSERT_EQ(r.status, kOk);
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(r.resarray.back().res).obj_attributes, &got), kOk);
  EXPECT_EQ(got.acl, acl);
}

// The OPEN that creates a file gets the access it asks for, whatever the ACL the file
// inherits says (as POSIX open(O_CREAT) does); a later OPEN of another owner is checked.
TEST_F(Nfs4ServiceTest, TheCreatingOpenGetsWhatItAsksForWhateverItInherits) {
  Session41 s = Establish41("creator");
  CREATE4args dir;
  dir.objtype = nfs_ftype4::NF4DIR;
  dir.objname = "dropbox";
  Fattr4 f;
  f.mask.set(FATTR4_ACL);
  // Everyone may add files and traverse; what is created inherits only "its owner may write".
  f.acl = {{ACE4_ACCESS_ALLOWED_ACE_TYPE, 0,
            core::kAceWriteData | core::kAceAppendData | core::kAceExecute, "EVERYONE@"},
           {ACE4_ACCESS_ALLOWED_ACE_TYPE, core::kAceFileInherit | core::kAceInheritOnly,
            core::kAceWriteData, "OWNER@"}};
  EncodeAttrs(f.mask, f, &dir.createattrs);
  ASSERT_EQ(Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                    MakeOp(OP_CREATE, dir)})
                .status,
            kOk);
  const auto open = [&](const std::string& owner) {
    return Run(1,
               {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                MakeOp(OP_LOOKUP, LOOKUP4args{"dropbox"}),
                OpenOp("note", OPEN4_SHARE_ACCESS_BOTH, 0, owner, s.clientid)},
               1000)
        .status;
  };
  EXPECT_EQ(open("first"), kOk);                        // creates it: reads and writes
  EXPECT_EQ(open("second"), nfsstat4::NFS4ERR_ACCESS);  // exists: the ACL lets 1000 only write
}

// NFSv4.1's dacl and sacl (RFC 8881 §6.2.2): the allow/deny and the audit/alarm halves of
// the same ACL, each with its flags; setting one keeps the other; not in 4.0.
TEST_F(Nfs4ServiceTest, DaclAndSaclAreTheHalvesOfTheAclWithFlags) {
  Nfs4Options o;
  o.numeric_ids = false;
  Make(o);
  Session41 s = Establish41("dacl");
  GETATTR4args g;
  g.attr_request.set(FATTR4_ACL);
  g.attr_request.set(FATTR4_DACL);
  g.attr_request.set(FATTR4_SACL);
  const auto lookup = [&]() -> std::vector<nfs_argop4> {
    return {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
            MakeOp(OP_LOOKUP, LOOKUP4args{"dacl-file"})};
  };
  const auto set = [&](const Fattr4& f) {
    SETATTR4args a;
    EncodeAttrs(f.mask, f, &a.obj_attributes);
    std::vector<nfs_argop4> ops = lookup();
    ops.push_back(MakeOp(OP_SETATTR, a));
    ops.push_back(MakeOp(OP_GETATTR, g));
    return Run(1, ops);
  };
  ASSERT_EQ(Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                    OpenOp("dacl-file", OPEN4_SHARE_ACCESS_BOTH, 0, "o", s.clientid)})
                .status,
            kOk);
  const std::vector<nfsace4> audit{
      {ACE4_SYSTEM_AUDIT_ACE_TYPE, core::kAceFailedAccess, core::kAceWriteData, "EVERYONE@"}};
  const std::vector<nfsace4> dacl{
      {ACE4_ACCESS_ALLOWED_ACE_TYPE, core::kAceInherited, core::kAceAllAccess, "OWNER@"},
      {ACE4_ACCESS_ALLOWED_ACE_TYPE, 0, core::kAceReadData, "AUTHENTICATED@"}};
  Fattr4 f;
  f.mask.set(FATTR4_SACL);
  f.sacl = audit;
  f.sacl_flag = ACL4_AUTO_INHERIT;
  COMPOUND4res r = set(f);
  ASSERT_EQ(r.status, kOk);
  f = Fattr4();
  f.mask.set(FATTR4_DACL);
  f.dacl = dacl;
  f.dacl_flag = ACL4_PROTECTED | ACL4_AUTO_INHERIT;
  r = set(f);
  ASSERT_EQ(r.status, kOk);
  Fattr4 got;
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(r.resarray.back().res).obj_attributes, &got), kOk);
  EXPECT_EQ(got.dacl, dacl);
  EXPECT_EQ(got.dacl_flag, ACL4_PROTECTED | ACL4_AUTO_INHERIT);
  EXPECT_EQ(got.sacl, audit);  // kept when the dacl was set
  EXPECT_EQ(got.sacl_flag, ACL4_AUTO_INHERIT);
  ASSERT_EQ(got.acl.size(), 3u);  // acl shows both halves
  // An ACE of the other half, unknown flags, or acl with dacl: INVAL.
  f.dacl = audit;
  EXPECT_EQ(set(f).status, nfsstat4::NFS4ERR_INVAL);
  f.dacl = dacl;
  f.dacl_flag = 0x8;
  EXPECT_EQ(set(f).status, nfsstat4::NFS4ERR_INVAL);
  f.dacl_flag = 0;
  f.mask.set(FATTR4_ACL);
  f.acl = dacl;
  EXPECT_EQ(set(f).status, nfsstat4::NFS4ERR_INVAL);
  // 4.0 knows neither attribute.
  Fattr4 v0;
  v0.mask.set(FATTR4_DACL);
  SETATTR4args a;
  EncodeAttrs(v0.mask, v0, &a.obj_attributes);
  EXPECT_EQ(Run(0, {MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                    MakeOp(OP_LOOKUP, LOOKUP4args{"dacl-file"}), MakeOp(OP_SETATTR, a)})
                .status,
            nfsstat4::NFS4ERR_ATTRNOTSUPP);
}

TEST_F(Nfs4ServiceTest, LocksConflictWithTheRuntimesOtherOwners) {
  Session41 s = Establish41("locks");
  std::vector<nfs_argop4> ops{Seq(s), MakeOp(OP_PUTROOTFH),
                              MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
                              OpenOp("l", OPEN4_SHARE_ACCESS_BOTH, 0, "o", s.clientid)};
  COMPOUND4res r = Run(1, ops);
  ASSERT_EQ(r.status, kOk);
  stateid4 open = std::get<OPEN4res>(r.resarray.back().res).stateid;
  uint64_t inode = 0;
  {
    auto use = shares_->Use(1);
    ASSERT_TRUE(use.ok());
    auto a = (*use)->Lookup(core::Caller{}, (*use)->root(), "l", nullptr);
    ASSERT_TRUE(a.ok());
    inode = a->id.inode;
  }
  // An SMB (Windows) lock on [10, 20) held by someone else.
  core::ShareState& st = shares_->ById(1)->state();
  ASSERT_OK(st.locks.Lock({inode, {777, core::LockFlavor::kWindows}, 10, 10, true}));
  LOCK4args l;
  l.locktype = nfs_lock_type4::WRITE_LT;
  l.offset = 0;
  l.length = 15;
  l.new_lock_owner = true;
  l.open_stateid = open;
  l.lock_owner.clientid = s.clientid;
  l.lock_owner.owned = "lo";
  r = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
              MakeOp(OP_LOOKUP, LOOKUP4args{"l"}), MakeOp(OP_LOCK, l)});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_DENIED);
  EXPECT_EQ(AsChars(std::get<LOCK4res>(r.resarray.back().res).denied.owner.bytes()), "smb");
  // A write through the open into the Windows-locked range: LOCKED.
  r = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
              MakeOp(OP_LOOKUP, LOOKUP4args{"l"}),
              MakeOp(OP_WRITE, WRITE4args{open, 12, stable_how4::FILE_SYNC4, AsBytes("ab")})});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_LOCKED);
  ASSERT_OK(st.locks.Unlock({inode, {777, core::LockFlavor::kWindows}, 10, 10, true}));
  r = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
              MakeOp(OP_LOOKUP, LOOKUP4args{"l"}), MakeOp(OP_LOCK, l)});
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(st.locks.lock_count(), 1u);
  // Destroying the client releases the lock and the open.
  service_->ReleaseAll();
  EXPECT_EQ(st.locks.lock_count(), 0u);
  EXPECT_EQ(st.opens.total_opens(), 0u);
}

// ---- NFSv4.2 (RFC 7862, RFC 8276) ----

class Nfs42Test : public Nfs4ServiceTest {
 protected:
  void SetUp() override {
    Nfs4ServiceTest::SetUp();
    s_ = Establish41("v42", false, 1 << 20, 2);
    auto use = shares_->Use(1);
    ASSERT_TRUE(use.ok());
    vfs_ = &use->vfs();
    root_.uid = root_.gid = 0;
  }
  // Makes `name` in the share's root holding `data` at `offset`; returns its id.
  core::FileId MakeFile(std::string_view name, const std::string& data = "", uint64_t offset = 0) {
    core::SetAttrs attrs;
    attrs.set_mode(0644);
    Result<core::Attr> a =
        vfs_->Create(root_, vfs_->root(), name, core::CreateMode::kUnchecked, attrs, 0, nullptr);
    EXPECT_TRUE(a.ok());
    if (!data.empty()) {
      EXPECT_TRUE(
          vfs_->Write(root_, a->id, offset, AsBytes(data), core::Stability::kFileSync, nullptr)
              .ok());
    }
    return a->id;
  }
  std::vector<nfs_argop4> At(std::string_view name) {
    return {Seq(s_, 0, false), MakeOp(OP_PUTROOTFH), MakeOp(OP_LOOKUP, LOOKUP4args{"export"}),
            MakeOp(OP_LOOKUP, LOOKUP4args{name})};
  }
  // Runs `ops` after a SEQUENCE and the lookup of `name` (4.2).
  COMPOUND4res On(std::string_view name, std::vector<nfs_argop4> ops) {
    std::vector<nfs_argop4> all = At(name);
    all.insert(all.end(), ops.begin(), ops.end());
    return Run(2, all);
  }
  // src SAVEFH'd, dst current, then `op`.
  COMPOUND4res Between(std::string_view src, std::string_view dst, nfs_argop4 op) {
    std::vector<nfs_argop4> all = At(src);
    all.push_back(MakeOp(OP_SAVEFH));
    all.push_back(MakeOp(OP_PUTROOTFH));
    all.push_back(MakeOp(OP_LOOKUP, LOOKUP4args{"export"}));
    all.push_back(MakeOp(OP_LOOKUP, LOOKUP4args{dst}));
    all.push_back(std::move(op));
    return Run(2, all);
  }
  std::string Contents(core::FileId f) {
    Result<core::Attr> a = vfs_->GetAttr(root_, f);
    EXPECT_TRUE(a.ok());
    Result<core::ReadResult> r = vfs_->Read(root_, f, 0, static_cast<uint32_t>(a->size));
    EXPECT_TRUE(r.ok());
    std::string out;
    for (ByteView p : r->data.pieces) out.append(AsChars(p));
    return out;
  }
  template <typename R>
  static const R& Last(const COMPOUND4res& r) {
    return std::get<R>(r.resarray.back().res);
  }

  Session41 s_;
  core::Vfs* vfs_ = nullptr;
  core::Caller root_;
};

TEST_F(Nfs42Test, TheOperationsAreFourTwosOnly) {
  // In 4.1 a 4.2 operation is no operation at all.
  Session41 s = Establish41("v41");
  DEALLOCATE4args d;
  COMPOUND4res r = Run(1, {Seq(s), MakeOp(OP_PUTROOTFH), MakeOp(OP_DEALLOCATE, d)});
  EXPECT_EQ(r.status, nfsstat4::NFS4ERR_OP_ILLEGAL);
  EXPECT_EQ(r.resarray.back().op, OP_ILLEGAL);
  // In 4.2 the inter-server and pNFS ones are not supported, and a COPY naming another server
  // is refused.
  MakeFile("a", "abc");
  EXPECT_EQ(On("a", {MakeOp(OP_COPY_NOTIFY, NotSupportedArgs{})}).status,
            nfsstat4::NFS4ERR_NOTSUPP);
  COPY4args c;
  c.source_server.push_back(netloc4{netloc_type4::NL4_NAME, "elsewhere", "", ""});
  EXPECT_EQ(Between("a", "a", MakeOp(OP_COPY, c)).status, nfsstat4::NFS4ERR_NOTSUPP);
  // A 4.2 operation first in a COMPOUND: not in a session.
  EXPECT_EQ(Run(2, {MakeOp(OP_SEEK, SEEK4args{})}).status, nfsstat4::NFS4ERR_OP_NOT_IN_SESSION);
}

TEST_F(Nfs42Test, AllocateDeallocateSeekAndReadPlus) {
  const std::string data(256 << 10, 'd');
  core::FileId f = MakeFile("sparse", data);
  // ALLOCATE past the end grows the file; the new bytes read as zeros.
  ALLOCATE4args al;
  al.offset = 0;
  al.length = 1 << 20;
  ASSERT_EQ(On("sparse", {MakeOp(OP_ALLOCATE, al)}).status, kOk);
  ASSERT_OK_AND_ASSIGN(core::Attr grown, vfs_->GetAttr(root_, f));
  EXPECT_EQ(grown.size, 1u << 20);
  al.length = 0;
  EXPECT_EQ(On("sparse", {MakeOp(OP_ALLOCATE, al)}).status, nfsstat4::NFS4ERR_INVAL);
  // Punch [64 KiB, 128 KiB): zeros there, the data around it intact, the size kept.
  DEALLOCATE4args de;
  de.offset = 64 << 10;
  de.length = 64 << 10;
  ASSERT_EQ(On("sparse", {MakeOp(OP_DEALLOCATE, de)}).status, kOk);
  std::string want = data + std::string((1 << 20) - data.size(), '\0');
  std::fill(want.begin() + (64 << 10), want.begin() + (128 << 10), '\0');
  EXPECT_EQ(Contents(f), want);
  ASSERT_OK_AND_ASSIGN(core::Attr punched, vfs_->GetAttr(root_, f));
  EXPECT_EQ(punched.size, 1u << 20);
  EXPECT_TRUE(punched.dos_attributes & core::kDosSparse);
  // space_used counts the data left: 192 KiB, not the 1 MiB size.
  EXPECT_EQ(punched.used, 192u << 10);

  // SEEK: data at 0, a hole at 64 KiB, data again at 128 KiB, the hole past 256 KiB runs to the
  // end (eof), and at the end there is nothing (NXIO).
  auto seek = [&](uint64_t offset, data_content4 what) {
    SEEK4args a;
    a.offset = offset;
    a.what = what;
    return On("sparse", {MakeOp(OP_SEEK, a)});
  };
  using enum data_content4;
  EXPECT_EQ(Last<SEEK4res>(seek(0, NFS4_CONTENT_DATA)).offset, 0u);
  EXPECT_EQ(Last<SEEK4res>(seek(0, NFS4_CONTENT_HOLE)).offset, 64u << 10);
  EXPECT_EQ(Last<SEEK4res>(seek(64 << 10, NFS4_CONTENT_DATA)).offset, 128u << 10);
  EXPECT_EQ(Last<SEEK4res>(seek(130 << 10, NFS4_CONTENT_HOLE)).offset, 256u << 10);
  EXPECT_FALSE(Last<SEEK4res>(seek(130 << 10, NFS4_CONTENT_HOLE)).eof);
  SEEK4res tail = Last<SEEK4res>(seek(300 << 10, NFS4_CONTENT_DATA));
  EXPECT_TRUE(tail.eof);
  EXPECT_EQ(seek(1 << 20, NFS4_CONTENT_HOLE).status, nfsstat4::NFS4ERR_NXIO);

  // READ_PLUS over [32 KiB, 288 KiB): data, a hole, data, a hole, each where the stores say.
  READ_PLUS4args rp;
  rp.offset = 32 << 10;
  rp.count = 256 << 10;
  COMPOUND4res r = On("sparse", {MakeOp(OP_READ_PLUS, rp)});
  ASSERT_EQ(r.status, kOk);
  // Encoded and decoded, as a client gets it.
  const READ_PLUS4res& plus = Last<READ_PLUS4res>(r);
  EXPECT_FALSE(plus.eof);
  std::string assembled;
  uint64_t at = rp.offset;
  size_t holes = 0;
  for (const read_plus_content& c : plus.contents) {
    EXPECT_EQ(c.offset, at);
    if (c.content == NFS4_CONTENT_HOLE) {
      ++holes;
      assembled.append(c.length, '\0');
    } else {
      for (ByteView p : c.data) assembled.append(AsChars(p));
    }
    at = c.offset + c.length;
  }
  EXPECT_EQ(assembled, want.substr(rp.offset, rp.count));
  EXPECT_EQ(holes, 2u);
  // Past the end: eof, nothing.
  rp.offset = 2 << 20;
  const READ_PLUS4res end = Last<READ_PLUS4res>(On("sparse", {MakeOp(OP_READ_PLUS, rp)}));
  EXPECT_TRUE(end.eof);
  EXPECT_TRUE(end.contents.empty());
}

TEST_F(Nfs42Test, CloneAndCopyWithinTheShare) {
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  MakeFile("src", data);
  core::FileId dst = MakeFile("dst", "old old old");
  CLONE4args cl;
  cl.src_offset = 1000;
  cl.dst_offset = 5;
  cl.count = 100000;
  ASSERT_EQ(Between("src", "dst", MakeOp(OP_CLONE, cl)).status, kOk);
  std::string want = "old o" + data.substr(1000, 100000);
  EXPECT_EQ(Contents(dst), want);
  // Past the source's end, or onto itself overlapping: INVAL.
  cl.count = data.size();
  EXPECT_EQ(Between("src", "dst", MakeOp(OP_CLONE, cl)).status, nfsstat4::NFS4ERR_INVAL);
  cl.src_offset = 0;
  cl.dst_offset = 10;
  cl.count = 100;
  EXPECT_EQ(Between("src", "src", MakeOp(OP_CLONE, cl)).status, nfsstat4::NFS4ERR_INVAL);
  // Without a saved file handle: NOFILEHANDLE.
  std::vector<nfs_argop4> nosaved = At("dst");
  nosaved.push_back(MakeOp(OP_CLONE, cl));
  EXPECT_EQ(Run(2, nosaved).status, nfsstat4::NFS4ERR_NOFILEHANDLE);

  // COPY of everything (count 0), synchronously: the reply says how much, FILE_SYNC.
  core::FileId copy = MakeFile("copy");
  COPY4args c;
  c.synchronous = true;
  COMPOUND4res r = Between("src", "copy", MakeOp(OP_COPY, c));
  ASSERT_EQ(r.status, kOk);
  const COPY4res& cr = Last<COPY4res>(r);
  EXPECT_EQ(cr.response.count, data.size());
  EXPECT_FALSE(cr.response.callback_id);
  EXPECT_EQ(cr.response.committed, stable_how4::FILE_SYNC4);
  EXPECT_TRUE(cr.requirements.synchronous);
  EXPECT_EQ(Contents(copy), data);
  // A later write to the source leaves the copy alone.
  ASSERT_TRUE(vfs_->Write(root_, vfs_->Lookup(root_, vfs_->root(), "src", nullptr)->id, 0,
                          AsBytes("ZZZ"), core::Stability::kFileSync, nullptr)
                  .ok());
  EXPECT_EQ(Contents(copy), data);
  // Past the source's end: INVAL; a directory: ISDIR... as the source, the root.
  c.src_offset = data.size() + 1;
  EXPECT_EQ(Between("src", "copy", MakeOp(OP_COPY, c)).status, nfsstat4::NFS4ERR_INVAL);
  // Status of a copy nobody started: BAD_STATEID.
  OFFLOAD_STATUS4args st;
  st.stateid.seqid = 1;
  st.stateid.other[0] = std::byte{7};
  EXPECT_EQ(On("copy", {MakeOp(OP_OFFLOAD_STATUS, st)}).status, nfsstat4::NFS4ERR_BAD_STATEID);
  EXPECT_EQ(On("copy", {MakeOp(OP_OFFLOAD_CANCEL, OFFLOAD_CANCEL4args{st.stateid})}).status,
            nfsstat4::NFS4ERR_BAD_STATEID);
}

TEST_F(Nfs42Test, ExtendedAttributesAreTheUserNamespace) {
  core::FileId f = MakeFile("x");
  auto set = [&](std::string_view name, const std::string& value, setxattr_option4 how) {
    SETXATTR4args a;
    a.option = how;
    a.name = name;
    a.value = AsBytes(value);
    return On("x", {MakeOp(OP_SETXATTR, a)});
  };
  using enum setxattr_option4;
  COMPOUND4res r = set("colour", "blue", SETXATTR4_CREATE);
  ASSERT_EQ(r.status, kOk);
  EXPECT_GT(Last<SETXATTR4res>(r).cinfo.after, Last<SETXATTR4res>(r).cinfo.before);
  // The runtime (and so SMB, whose EAs these are) sees it as user.colour.
  ASSERT_OK_AND_ASSIGN(std::string v, vfs_->GetXattr(root_, f, "user.colour"));
  EXPECT_EQ(v, "blue");
  // And an EA set by another protocol shows over NFS; other namespaces do not.
  ASSERT_TRUE(vfs_->SetXattr(root_, f, "user.size", "XL", core::XattrSet::kAny).ok());
  ASSERT_TRUE(vfs_->SetXattr(root_, f, "trusted.hidden", "1", core::XattrSet::kAny).ok());
  r = On("x", {MakeOp(OP_GETXATTR, GETXATTR4args{"size"})});
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(Last<GETXATTR4res>(r).value, "XL");
  EXPECT_EQ(set("colour", "red", SETXATTR4_CREATE).status, nfsstat4::NFS4ERR_EXIST);
  EXPECT_EQ(set("shape", "round", SETXATTR4_REPLACE).status, nfsstat4::NFS4ERR_NOXATTR);
  EXPECT_EQ(set("colour", "red", SETXATTR4_REPLACE).status, kOk);
  EXPECT_EQ(set("big", std::string(core::kMaxXattrValue + 1, 'b'), SETXATTR4_EITHER).status,
            nfsstat4::NFS4ERR_XATTR2BIG);
  EXPECT_EQ(set("", "v", SETXATTR4_EITHER).status, nfsstat4::NFS4ERR_INVAL);
  EXPECT_EQ(set(std::string(251, 'n'), "v", SETXATTR4_EITHER).status,
            nfsstat4::NFS4ERR_NAMETOOLONG);
  EXPECT_EQ(On("x", {MakeOp(OP_GETXATTR, GETXATTR4args{"nope"})}).status,
            nfsstat4::NFS4ERR_NOXATTR);
  EXPECT_EQ(On("x", {MakeOp(OP_GETXATTR, GETXATTR4args{"hidden"})}).status,
            nfsstat4::NFS4ERR_NOXATTR);

  // LISTXATTRS in name order, in pages as small as maxcount makes them.
  auto list = [&](uint64_t cookie, uint32_t maxcount) {
    return On("x", {MakeOp(OP_LISTXATTRS, LISTXATTRS4args{cookie, maxcount})});
  };
  r = list(0, 4096);
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(Last<LISTXATTRS4res>(r).names, (std::vector<std::string>{"colour", "size"}));
  EXPECT_TRUE(Last<LISTXATTRS4res>(r).eof);
  r = list(0, 16 + 12);  // room for "colour" only
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(Last<LISTXATTRS4res>(r).names, (std::vector<std::string>{"colour"}));
  EXPECT_FALSE(Last<LISTXATTRS4res>(r).eof);
  r = list(Last<LISTXATTRS4res>(r).cookie, 16 + 8);
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(Last<LISTXATTRS4res>(r).names, (std::vector<std::string>{"size"}));
  EXPECT_TRUE(Last<LISTXATTRS4res>(r).eof);
  EXPECT_EQ(list(0, 20).status, nfsstat4::NFS4ERR_TOOSMALL);
  EXPECT_EQ(list(9, 4096).status, nfsstat4::NFS4ERR_BAD_COOKIE);

  EXPECT_EQ(On("x", {MakeOp(OP_REMOVEXATTR, REMOVEXATTR4args{"colour"})}).status, kOk);
  EXPECT_EQ(On("x", {MakeOp(OP_REMOVEXATTR, REMOVEXATTR4args{"colour"})}).status,
            nfsstat4::NFS4ERR_NOXATTR);
  EXPECT_FALSE(vfs_->GetXattr(root_, f, "user.colour").ok());

  // xattr_support is an attribute of 4.2 only, true for a share's files.
  bitmap4 want;
  want.set(FATTR4_XATTR_SUPPORT);
  r = On("x", {MakeOp(OP_GETATTR, GETATTR4args{want})});
  ASSERT_EQ(r.status, kOk);
  Fattr4 got;
  ASSERT_EQ(DecodeAttrs(Last<GETATTR4res>(r).obj_attributes, &got), kOk);
  EXPECT_TRUE(got.mask.test(FATTR4_XATTR_SUPPORT));
  EXPECT_TRUE(got.xattr_support);
  // ACCESS answers the xattr bits in 4.2.
  r = On("x", {MakeOp(OP_ACCESS, ACCESS4args{ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST})});
  ASSERT_EQ(r.status, kOk);
  EXPECT_EQ(Last<ACCESS4res>(r).access, ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST);
}

TEST_F(Nfs42Test, HostileArgumentsDoNotDecode) {
  // Each 4.2 operation cut short at every byte: BADXDR, never a crash.
  std::vector<nfs_argop4> ops;
  COPY4args c;
  c.count = 5;
  c.source_server.push_back(netloc4{netloc_type4::NL4_NETADDR, "", "tcp", "1.2.3.4.8.1"});
  SETXATTR4args sx;
  sx.name = "n";
  std::string value = "value";
  sx.value = AsBytes(value);
  for (const nfs_argop4& op :
       {MakeOp(OP_ALLOCATE, ALLOCATE4args{}), MakeOp(OP_DEALLOCATE, DEALLOCATE4args{}),
        MakeOp(OP_COPY, c), MakeOp(OP_SEEK, SEEK4args{}), MakeOp(OP_READ_PLUS, READ_PLUS4args{}),
        MakeOp(OP_CLONE, CLONE4args{}), MakeOp(OP_SETXATTR, sx),
        MakeOp(OP_GETXATTR, GETXATTR4args{"n"}), MakeOp(OP_LISTXATTRS, LISTXATTRS4args{}),
        MakeOp(OP_REMOVEXATTR, REMOVEXATTR4args{"n"}),
        MakeOp(OP_OFFLOAD_STATUS, OFFLOAD_STATUS4args{})}) {
    xdr::XdrEncoder e;
    Encode(e, op);
    const std::string whole = e.ToString();
    for (size_t cut = 4; cut < whole.size(); ++cut) {
      xdr::XdrDecoder d(AsBytes(std::string_view(whole).substr(0, cut)));
      nfs_argop4 out;
      EXPECT_FALSE(Decode(d, &out) && d.remaining() == 0) << OpName(op.op) << " cut at " << cut;
    }
    xdr::XdrDecoder d(AsBytes(whole));
    nfs_argop4 out;
    EXPECT_TRUE(Decode(d, &out)) << OpName(op.op);
    EXPECT_EQ(d.remaining(), 0u);
  }
  // An unknown SEEK content and a lying netloc count.
  xdr::XdrEncoder e;
  e.U32(OP_SEEK);
  Encode(e, stateid4{});
  e.U64(0);
  e.U32(7);
  const std::string bad = e.ToString();
  xdr::XdrDecoder d(AsBytes(bad));
  nfs_argop4 out;
  EXPECT_FALSE(Decode(d, &out));
}

}  // namespace
}  // namespace dittofs::nfs
