// SPDX-License-Identifier: Apache-2.0
// NFSv3 locking over the wire: NLM and NSM against a running dfs. The test plays the client
// host: it sends NLM calls, and serves its own port mapper, lock manager (for GRANTED) and
// status monitor (for SM_NOTIFY) on one port, which the server is told to use as the clients'
// port mapper (nfs.client_portmap_port). An SMB client (impacket, smb_peer.py) takes the
// other side of the cross-protocol cases.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "base/bytes.h"
#include "dfs_process.h"
#include "nfs/proto/nlm_types.h"
#include "nfs_client.h"
#include "rpc/blocking_client.h"
#include "rpc/dispatch.h"
#include "rpc/message.h"
#include "rpc/portmap/portmap.h"
#include "rpc/tcp_server.h"
#include "shell.h"
#include "smb_peer_client.h"
#include "testing/postgres_server.h"
#include "testing/status_matchers.h"
#include "xdr/xdr.h"

namespace dittofs::integration {
namespace {

using nfs::nlm4_cancargs;
using nfs::nlm4_lock;
using nfs::nlm4_lockargs;
using nfs::nlm4_res;
using nfs::nlm4_shareargs;
using nfs::nlm4_shareres;
using nfs::nlm4_stats;
using nfs::nlm4_testargs;
using nfs::nlm4_testres;
using nfs::nlm4_unlockargs;
using rpc::BlockingClient;

constexpr auto kGranted = nlm4_stats::NLM4_GRANTED;
constexpr auto kDenied = nlm4_stats::NLM4_DENIED;
constexpr auto kBlocked = nlm4_stats::NLM4_BLOCKED;

// The client host's side: a port mapper naming its lock manager and status monitor, all on
// one port. It answers GRANTED with `answer` and records what it was sent.
class ClientHost {
 public:
  ClientHost() {
    dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kNone, rpc::AuthNone);
    dispatcher_.AddAuthFlavor(rpc::AuthFlavor::kSys, rpc::AuthSys);
    for (rpc::ProgramVersion& p : portmap_.Programs()) dispatcher_.Add(std::move(p));
    rpc::ProgramVersion nlm{nfs::NLM_PROG, nfs::NLM4_VERS, {}};
    nlm.procedures.resize(nfs::NLMPROC_GRANTED_RES + 1);
    nlm.procedures[nfs::NLMPROC_GRANTED] = {
        "GRANTED", [this](const rpc::CallContext&, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
          nlm4_testargs a;
          if (!Decode(d, &a, nfs::NLM4_VERS)) return rpc::AcceptStat::kGarbageArgs;
          std::lock_guard<std::mutex> lock(mu_);
          granted_.push_back(a);
          Encode(e, nlm4_res{a.cookie, answer_}, nfs::NLM4_VERS);
          cv_.notify_all();
          return rpc::AcceptStat::kSuccess;
        }};
    nlm.procedures[nfs::NLMPROC_LOCK_RES] = {
        "LOCK_RES", [this](const rpc::CallContext&, xdr::XdrDecoder& d, xdr::XdrEncoder&) {
          nlm4_res r;
          if (!Decode(d, &r, nfs::NLM4_VERS)) return rpc::AcceptStat::kGarbageArgs;
          std::lock_guard<std::mutex> lock(mu_);
          lock_results_.push_back(r);
          cv_.notify_all();
          return rpc::AcceptStat::kSuccess;
        }};
    dispatcher_.Add(std::move(nlm));
    rpc::ProgramVersion sm{nfs::SM_PROG, nfs::SM_VERS, {}};
    sm.procedures.resize(nfs::SM_NOTIFY + 1);
    sm.procedures[nfs::SM_NOTIFY] = {
        "NOTIFY", [this](const rpc::CallContext&, xdr::XdrDecoder& d, xdr::XdrEncoder&) {
          nfs::stat_chge c;
          if (!Decode(d, &c)) return rpc::AcceptStat::kGarbageArgs;
          std::lock_guard<std::mutex> lock(mu_);
          notified_.push_back(c);
          cv_.notify_all();
          return rpc::AcceptStat::kSuccess;
        }};
    dispatcher_.Add(std::move(sm));
    rpc::TcpServerOptions o;
    o.stream.bind_address = "127.0.0.1";
    o.stream.port = 0;
    o.stream.worker_threads = 2;
    auto started = rpc::StartRpcTcpServer(o, dispatcher_);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return;
    server_ = std::move(started).value();
    portmap_.Register(nfs::NLM_PROG, nfs::NLM4_VERS, "tcp", server_->port());
    portmap_.Register(nfs::SM_PROG, nfs::SM_VERS, "tcp", server_->port());
  }
  ~ClientHost() {
    if (server_) server_->Shutdown(std::chrono::milliseconds(0));
  }

  uint16_t port() const { return server_ ? server_->port() : 0; }
  void set_answer(nlm4_stats s) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = s;
  }
  // Waits until `n` GRANTED calls came (false on timeout); returns them.
  std::vector<nlm4_testargs> WaitGranted(size_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return granted_.size() >= n; });
    return granted_;
  }
  std::vector<nlm4_res> WaitLockResults(size_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return lock_results_.size() >= n; });
    return lock_results_;
  }
  std::vector<nfs::stat_chge> WaitNotified(size_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return notified_.size() >= n; });
    return notified_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    granted_.clear();
    lock_results_.clear();
    notified_.clear();
  }

 private:
  rpc::PortmapService portmap_;
  rpc::Dispatcher dispatcher_;
  std::unique_ptr<net::StreamServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  nlm4_stats answer_ = kGranted;
  std::vector<nlm4_testargs> granted_;
  std::vector<nlm4_res> lock_results_;
  std::vector<nfs::stat_chge> notified_;
};

rpc::Credential Root() {
  rpc::Credential c;
  c.flavor = rpc::AuthFlavor::kSys;
  c.uid = 0;
  c.gid = 0;
  c.machine_name = "testhost";
  return c;
}

// NLM calls over one TCP connection.
class NlmClient {
 public:
  explicit NlmClient(uint16_t port) {
    auto c = BlockingClient::Connect(port);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) client_.emplace(std::move(c).value());
  }

  // The results of a call, or the reply's accept_stat when it is not SUCCESS (as an error).
  Result<std::string> Call(uint32_t prog, uint32_t vers, uint32_t proc, const std::string& args) {
    if (!client_) return Errc::kUnavailable;
    xdr::XdrEncoder e;
    rpc::EncodeCallHeader(e, ++xid_, prog, vers, proc, Root());
    RETURN_IF_ERROR(client_->SendRecord(e.ToString() + args));
    ASSIGN_OR_RETURN(std::string reply, client_->ReadRecord(10000));
    xdr::XdrDecoder d(AsBytes(reply));
    rpc::ReplyHeader h;
    if (!rpc::DecodeReplyHeader(d, &h) || !h.accepted) return Errc::kInternal;
    if (h.accept_stat != rpc::AcceptStat::kSuccess) {
      return Status(Errc::kInvalid,
                    "accept_stat " + std::to_string(static_cast<int>(h.accept_stat)));
    }
    return std::string(AsChars(d.rest()));
  }

  template <typename Args, typename Res>
  Res Do(uint32_t proc, const Args& args, uint32_t vers = nfs::NLM4_VERS) {
    xdr::XdrEncoder e;
    Encode(e, args, vers);
    Res res;
    Result<std::string> r = Call(nfs::NLM_PROG, vers, proc, e.ToString());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) {
      res.stat = nlm4_stats::NLM4_FAILED;
      return res;
    }
    xdr::XdrDecoder d(AsBytes(*r));
    EXPECT_TRUE(Decode(d, &res, vers));
    return res;
  }

  nlm4_stats Lock(const nlm4_lock& l, bool exclusive, bool block = false, bool reclaim = false,
                  uint32_t vers = nfs::NLM4_VERS) {
    nlm4_lockargs a;
    a.cookie = "c" + std::to_string(xid_);
    a.block = block;
    a.exclusive = exclusive;
    a.alock = l;
    a.reclaim = reclaim;
    a.state = 3;
    nlm4_res r = Do<nlm4_lockargs, nlm4_res>(nfs::NLMPROC_LOCK, a, vers);
    EXPECT_EQ(r.cookie, a.cookie);
    return r.stat;
  }
  nlm4_testres Test(const nlm4_lock& l, bool exclusive) {
    nlm4_testargs a;
    a.cookie = "t";
    a.exclusive = exclusive;
    a.alock = l;
    return Do<nlm4_testargs, nlm4_testres>(nfs::NLMPROC_TEST, a);
  }
  nlm4_stats Unlock(const nlm4_lock& l) {
    nlm4_unlockargs a;
    a.cookie = "u";
    a.alock = l;
    return Do<nlm4_unlockargs, nlm4_res>(nfs::NLMPROC_UNLOCK, a).stat;
  }
  nlm4_stats Cancel(const nlm4_lock& l, bool exclusive) {
    nlm4_cancargs a;
    a.cookie = "x";
    a.block = true;
    a.exclusive = exclusive;
    a.alock = l;
    return Do<nlm4_cancargs, nlm4_res>(nfs::NLMPROC_CANCEL, a).stat;
  }

 private:
  std::optional<BlockingClient> client_;
  uint32_t xid_ = 1000;
};

nlm4_lock LockOf(const std::string& fh, int32_t svid, uint64_t offset, uint64_t length,
                 const std::string& host = "testhost") {
  nlm4_lock l;
  l.caller_name = host;
  l.fh = fh;
  l.oh = "owner-" + std::to_string(svid) + "@" + host;
  l.svid = svid;
  l.l_offset = offset;
  l.l_len = length;
  return l;
}

class NlmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = std::make_unique<ClientHost>();
    ASSERT_NE(host_->port(), 0);
    DfsOptions options = Options();
    options.env = {"DITTOFS_NFS_CLIENT_PORTMAP_PORT=" + std::to_string(host_->port()),
                   "DITTOFS_NFS_GRACE_S=3"};
    auto started = DfsProcess::Start(DFS_BINARY, options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value();
    ASSERT_OK_AND_ASSIGN(nfs_, RawNfsClient::Connect(server_->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply root, nfs_->Mnt("/export"));
    root_ = root.fh;
    fh_ = MakeFile("locked.bin");
  }
  void TearDown() override {
    if (!server_) return;
    nfs_.reset();
    const std::string log = server_->Log();
    EXPECT_EQ(log.find("ERROR"), std::string::npos) << log;
    Result<int> rc = server_->Stop();
    EXPECT_TRUE(rc.ok() && *rc == 0) << server_->Log();
  }

  // The server's stores: RocksDB here, PostgreSQL in NlmPostgresTest.
  virtual DfsOptions Options() {
    DfsOptions options;
    options.shares[0].metadata = "rocksdb";
    return options;
  }

  // A host that held a lock before a restart (`crash`: dfs killed with SIGKILL) is notified
  // (SM_NOTIFY) and takes its lock back in the grace period; others wait it out.
  void RestartNotifiesAndReclaims(bool crash) {
    NlmClient c(server_->port());
    const nlm4_lock a = LockOf(fh_, 1, 0, 10);
    ASSERT_EQ(c.Lock(a, true), kGranted);
    if (crash) {
      ASSERT_OK(server_->Kill());
      ASSERT_OK(server_->StartAgain());
    } else {
      ASSERT_TRUE(server_->Restart().ok()) << server_->Log();
    }
    std::vector<nfs::stat_chge> notified = host_->WaitNotified(1, std::chrono::seconds(15));
    ASSERT_EQ(notified.size(), 1u) << server_->Log();
    EXPECT_EQ(notified[0].state % 2, 1);  // odd: up
    NlmClient after(server_->port());
    // In grace: new locks and tests wait, reclaims are served.
    EXPECT_EQ(after.Lock(LockOf(fh_, 2, 20, 10), true), nlm4_stats::NLM4_DENIED_GRACE_PERIOD);
    EXPECT_EQ(after.Test(LockOf(fh_, 2, 0, 10), true).stat, nlm4_stats::NLM4_DENIED_GRACE_PERIOD);
    EXPECT_EQ(after.Lock(a, true, false, /*reclaim=*/true), kGranted);
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    EXPECT_EQ(after.Lock(a, true, false, /*reclaim=*/true), nlm4_stats::NLM4_DENIED_GRACE_PERIOD);
    EXPECT_EQ(after.Lock(LockOf(fh_, 2, 0, 10), true), kDenied);  // the reclaimed lock holds
    EXPECT_EQ(after.Lock(LockOf(fh_, 2, 20, 10), true), kGranted);
  }

  std::string MakeFile(const std::string& name) {
    sattr3 attrs{};
    attrs.mode.set_it = 1;
    attrs.mode.set_mode3_u.mode = 0666;
    Result<CreatedReply> c = nfs_->Create(root_, name, UNCHECKED, attrs);
    EXPECT_TRUE(c.ok() && c->status == NFS3_OK && c->has_fh);
    return c.ok() ? c->fh : std::string();
  }

  std::unique_ptr<ClientHost> host_;
  std::unique_ptr<DfsProcess> server_;
  std::unique_ptr<RawNfsClient> nfs_;
  std::string root_;
  std::string fh_;
};

TEST_F(NlmTest, PortMapperNamesTheLockManagerAndStatusMonitor) {
  BlockingClient c = std::move(BlockingClient::Connect(server_->portmap_port())).value();
  for (auto [prog, vers] :
       {std::pair{nfs::NLM_PROG, nfs::NLM4_VERS}, std::pair{nfs::NLM_PROG, nfs::NLM_VERS},
        std::pair{nfs::NLM_PROG, nfs::NLM_VERSX}, std::pair{nfs::SM_PROG, nfs::SM_VERS}}) {
    xdr::XdrEncoder e;
    rpc::EncodeCallHeader(e, prog + vers, rpc::kPortmapProgram, 2, 3, Root());
    e.U32(prog);
    e.U32(vers);
    e.U32(6);
    e.U32(0);
    ASSERT_TRUE(c.SendRecord(e.ToString()).ok());
    Result<std::string> reply = c.ReadRecord();
    ASSERT_TRUE(reply.ok());
    xdr::XdrDecoder d(AsBytes(*reply));
    rpc::ReplyHeader h;
    ASSERT_TRUE(rpc::DecodeReplyHeader(d, &h));
    EXPECT_EQ(d.U32(), server_->port()) << prog << " v" << vers;
  }
}

TEST_F(NlmTest, LockTestUnlockBetweenTwoOwners) {
  NlmClient c(server_->port());
  const nlm4_lock a = LockOf(fh_, 1, 0, 100);
  const nlm4_lock b = LockOf(fh_, 2, 50, 10);
  EXPECT_EQ(c.Lock(a, true), kGranted);
  // The owner's own lock does not conflict with itself.
  EXPECT_EQ(c.Lock(a, true), kGranted);
  nlm4_testres t = c.Test(b, false);
  ASSERT_EQ(t.stat, kDenied);
  EXPECT_TRUE(t.holder.exclusive);
  EXPECT_EQ(t.holder.svid, 1);
  EXPECT_EQ(t.holder.oh, a.oh);
  EXPECT_EQ(t.holder.l_offset, 0u);
  EXPECT_EQ(t.holder.l_len, 100u);
  EXPECT_EQ(c.Lock(b, false), kDenied);
  // A range next to it is free.
  EXPECT_EQ(c.Lock(LockOf(fh_, 2, 100, 0), true), kGranted);
  // Unlocking part of a's lock frees just that part (POSIX).
  EXPECT_EQ(c.Unlock(LockOf(fh_, 1, 40, 30)), kGranted);
  EXPECT_EQ(c.Lock(b, true), kGranted);
  EXPECT_EQ(c.Test(LockOf(fh_, 2, 0, 10), true).stat, kDenied);
  EXPECT_EQ(c.Unlock(a), kGranted);
  EXPECT_EQ(c.Test(LockOf(fh_, 3, 0, 50), true).stat, kGranted);
  // Shared locks share.
  EXPECT_EQ(c.Lock(LockOf(fh_, 4, 0, 10), false), kGranted);
  EXPECT_EQ(c.Lock(LockOf(fh_, 5, 0, 10), false), kGranted);
  EXPECT_EQ(c.Lock(LockOf(fh_, 6, 5, 1), true), kDenied);
}

TEST_F(NlmTest, Version1And3Use32BitRanges) {
  NlmClient c(server_->port());
  EXPECT_EQ(c.Lock(LockOf(fh_, 1, 10, 10), true, false, false, nfs::NLM_VERS), kGranted);
  EXPECT_EQ(c.Lock(LockOf(fh_, 2, 15, 0), true, false, false, nfs::NLM_VERSX), kDenied);
  // A version 4 lock far past 4 GiB does not meet a version 1 lock of the first bytes.
  EXPECT_EQ(c.Lock(LockOf(fh_, 2, uint64_t{1} << 40, 5), true), kGranted);
}

TEST_F(NlmTest, BlockedLockIsGrantedByCallbackWhenTheHolderUnlocks) {
  NlmClient c(server_->port());
  const nlm4_lock a = LockOf(fh_, 1, 0, 0);
  const nlm4_lock b = LockOf(fh_, 2, 10, 10);
  ASSERT_EQ(c.Lock(a, true), kGranted);
  EXPECT_EQ(c.Lock(b, true, /*block=*/true), kBlocked);
  // Polling again finds it still waiting, not queued twice.
  EXPECT_EQ(c.Lock(b, true, true), kBlocked);
  EXPECT_TRUE(host_->WaitGranted(1, std::chrono::seconds(1)).empty());
  ASSERT_EQ(c.Unlock(a), kGranted);
  std::vector<nlm4_testargs> granted = host_->WaitGranted(1, std::chrono::seconds(10));
  ASSERT_EQ(granted.size(), 1u) << server_->Log();
  EXPECT_EQ(granted[0].alock.svid, 2);
  EXPECT_EQ(granted[0].alock.oh, b.oh);
  EXPECT_EQ(granted[0].alock.fh, fh_);
  EXPECT_EQ(granted[0].alock.l_offset, 10u);
  EXPECT_EQ(granted[0].alock.l_len, 10u);
  EXPECT_TRUE(granted[0].exclusive);
  // b holds it now.
  nlm4_testres t = c.Test(LockOf(fh_, 1, 0, 0), false);
  ASSERT_EQ(t.stat, kDenied);
  EXPECT_EQ(t.holder.svid, 2);
  // A poll after the grant is answered GRANTED (the lock is b's).
  EXPECT_EQ(c.Lock(b, true, true), kGranted);
}

TEST_F(NlmTest, AGrantTheClientRefusesIsGivenBack) {
  host_->set_answer(kDenied);
  NlmClient c(server_->port());
  const nlm4_lock a = LockOf(fh_, 1, 0, 10);
  ASSERT_EQ(c.Lock(a, true), kGranted);
  ASSERT_EQ(c.Lock(LockOf(fh_, 2, 0, 10), true, true), kBlocked);
  ASSERT_EQ(c.Unlock(a), kGranted);
  ASSERT_EQ(host_->WaitGranted(1, std::chrono::seconds(10)).size(), 1u);
  // The refused lock goes back: a third owner gets it.
  bool free = false;
  for (int i = 0; i < 50 && !free; ++i) {
    free = c.Test(LockOf(fh_, 3, 0, 10), true).stat == kGranted;
    if (!free) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(free);
}

TEST_F(NlmTest, CancelledRequestIsNeverGranted) {
  NlmClient c(server_->port());
  const nlm4_lock a = LockOf(fh_, 1, 0, 10);
  const nlm4_lock b = LockOf(fh_, 2, 0, 10);
  ASSERT_EQ(c.Lock(a, true), kGranted);
  ASSERT_EQ(c.Lock(b, false, true), kBlocked);
  EXPECT_EQ(c.Cancel(b, false), kGranted);
  EXPECT_EQ(c.Cancel(b, false), kDenied);  // nothing left to cancel
  ASSERT_EQ(c.Unlock(a), kGranted);
  EXPECT_TRUE(host_->WaitGranted(1, std::chrono::seconds(2)).empty());
  EXPECT_EQ(c.Test(LockOf(fh_, 3, 0, 10), true).stat, kGranted);
}

TEST_F(NlmTest, WaitingInACycleIsADeadlock) {
  NlmClient c(server_->port());
  ASSERT_EQ(c.Lock(LockOf(fh_, 1, 0, 10), true), kGranted);
  ASSERT_EQ(c.Lock(LockOf(fh_, 2, 20, 10), true), kGranted);
  ASSERT_EQ(c.Lock(LockOf(fh_, 1, 20, 10), true, true), kBlocked);
  EXPECT_EQ(c.Lock(LockOf(fh_, 2, 0, 10), true, true), nlm4_stats::NLM4_DEADLCK);
}

TEST_F(NlmTest, LockMsgIsAnsweredByLockRes) {
  NlmClient c(server_->port());
  nlm4_lockargs a;
  a.cookie = "async-1";
  a.exclusive = true;
  a.alock = LockOf(fh_, 7, 0, 1);
  xdr::XdrEncoder e;
  Encode(e, a, nfs::NLM4_VERS);
  ASSERT_TRUE(c.Call(nfs::NLM_PROG, nfs::NLM4_VERS, nfs::NLMPROC_LOCK_MSG, e.ToString()).ok());
  std::vector<nlm4_res> res = host_->WaitLockResults(1, std::chrono::seconds(10));
  ASSERT_EQ(res.size(), 1u) << server_->Log();
  EXPECT_EQ(res[0].cookie, "async-1");
  EXPECT_EQ(res[0].stat, kGranted);
}

TEST_F(NlmTest, FreeAllAndNotifyReleaseAHostsLocks) {
  NlmClient c(server_->port());
  ASSERT_EQ(c.Lock(LockOf(fh_, 1, 0, 10, "alpha"), true), kGranted);
  ASSERT_EQ(c.Lock(LockOf(fh_, 1, 20, 10, "beta"), true), kGranted);
  nfs::nlm4_notify n{"alpha", 5};
  xdr::XdrEncoder e;
  Encode(e, n);
  ASSERT_TRUE(c.Call(nfs::NLM_PROG, nfs::NLM4_VERS, nfs::NLMPROC_FREE_ALL, e.ToString()).ok());
  EXPECT_EQ(c.Test(LockOf(fh_, 9, 0, 10), true).stat, kGranted);
  EXPECT_EQ(c.Test(LockOf(fh_, 9, 20, 10), true).stat, kDenied);
  // The status monitor hears that this address restarted: beta's lock goes too.
  nfs::stat_chge s{"127.0.0.1", 7};
  xdr::XdrEncoder f;
  Encode(f, s);
  ASSERT_TRUE(c.Call(nfs::SM_PROG, nfs::SM_VERS, nfs::SM_NOTIFY, f.ToString()).ok());
  EXPECT_EQ(c.Test(LockOf(fh_, 9, 20, 10), true).stat, kGranted);
}

TEST_F(NlmTest, ShareReservationsConflict) {
  NlmClient c(server_->port());
  nlm4_shareargs a;
  a.cookie = "s1";
  a.share.caller_name = "alpha";
  a.share.fh = fh_;
  a.share.oh = "dos-1";
  a.share.access = nfs::fsh4_access::fsa_RW;
  a.share.mode = nfs::fsh4_mode::fsm_DW;
  EXPECT_EQ((c.Do<nlm4_shareargs, nlm4_shareres>(nfs::NLMPROC_SHARE, a).stat), kGranted);
  nlm4_shareargs b = a;
  b.share.caller_name = "beta";
  b.share.oh = "dos-2";
  b.share.access = nfs::fsh4_access::fsa_W;
  b.share.mode = nfs::fsh4_mode::fsm_DN;
  EXPECT_EQ((c.Do<nlm4_shareargs, nlm4_shareres>(nfs::NLMPROC_SHARE, b).stat), kDenied);
  // NFSv3 writes are refused while the reservation denies writing.
  Result<WRITE3res> w = nfs_->Write(fh_, 0, "x", FILE_SYNC);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status, NFS3ERR_ACCES);
  EXPECT_EQ((c.Do<nlm4_shareargs, nlm4_shareres>(nfs::NLMPROC_UNSHARE, a).stat), kGranted);
  EXPECT_EQ((c.Do<nlm4_shareargs, nlm4_shareres>(nfs::NLMPROC_SHARE, b).stat), kGranted);
  EXPECT_EQ((c.Do<nlm4_shareargs, nlm4_shareres>(nfs::NLMPROC_UNSHARE, b).stat), kGranted);
}

TEST_F(NlmTest, HostileArguments) {
  NlmClient c(server_->port());
  // A 1 MiB owner handle does not decode (netobj is at most 1024 bytes).
  nlm4_lockargs a;
  a.alock = LockOf(fh_, 1, 0, 1);
  a.alock.oh = std::string(1 << 20, 'o');
  xdr::XdrEncoder e;
  Encode(e, a, nfs::NLM4_VERS);
  Result<std::string> r = c.Call(nfs::NLM_PROG, nfs::NLM4_VERS, nfs::NLMPROC_LOCK, e.ToString());
  EXPECT_FALSE(r.ok());
  // A forged handle is stale; a forged GRANTED_RES cookie changes nothing.
  NlmClient d(server_->port());
  EXPECT_EQ(d.Lock(LockOf("not a handle", 1, 0, 1), true), nlm4_stats::NLM4_STALE_FH);
  nlm4_res forged{"dfs-granted-1", kDenied};
  xdr::XdrEncoder f;
  Encode(f, forged, nfs::NLM4_VERS);
  EXPECT_TRUE(d.Call(nfs::NLM_PROG, nfs::NLM4_VERS, nfs::NLMPROC_GRANTED_RES, f.ToString()).ok());
  // A directory cannot be locked; a range past 2^64 - 1 is too big.
  EXPECT_EQ(d.Lock(LockOf(root_, 1, 0, 1), true), nlm4_stats::NLM4_FAILED);
  EXPECT_EQ(d.Lock(LockOf(fh_, 1, ~uint64_t{0} - 5, 100), true), nlm4_stats::NLM4_FBIG);
  // Truncated arguments are GARBAGE_ARGS, and the server goes on.
  EXPECT_FALSE(d.Call(nfs::NLM_PROG, nfs::NLM4_VERS, nfs::NLMPROC_TEST, "abc").ok());
  EXPECT_EQ(d.Lock(LockOf(fh_, 1, 0, 1), true), kGranted);
}

TEST_F(NlmTest, AfterARestartHostsAreNotifiedAndReclaimInGrace) {
  RestartNotifiesAndReclaims(/*crash=*/false);
}

// The monitored hosts and the NSM state number in PostgreSQL (and the namespace too), from a
// server the test starts: after dfs is killed, its hosts are notified with a larger state.
class NlmPostgresTest : public NlmTest {
 protected:
  DfsOptions Options() override {
    postgres_ = std::make_unique<::dittofs::testing::ScopedPostgresServer>(/*durable=*/true);
    EXPECT_FALSE((*postgres_)->dsn().empty()) << (*postgres_)->error();
    DfsOptions options;
    UsePostgres(options, (*postgres_)->dsn());
    return options;
  }

 private:
  std::unique_ptr<::dittofs::testing::ScopedPostgresServer> postgres_;  // outlives server_'s stop
};

TEST_F(NlmPostgresTest, AfterACrashHostsAreNotifiedAndReclaimInGrace) {
  EXPECT_NE(server_->Log().find("state store: PostgreSQL"), std::string::npos) << server_->Log();
  RestartNotifiesAndReclaims(/*crash=*/true);
}

// One file, one set of locks: an SMB byte-range lock refuses an NLM lock on its bytes, an NLM
// lock refuses the SMB one, and a blocked NLM request is granted when the SMB lock goes.
TEST_F(NlmTest, NlmAndSmbLocksConflict) {
  if (Shell("/usr/bin/python3 -c 'import impacket.smbconnection'").exit_code != 0) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  ASSERT_NE(server_->smb_port(), 0);
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  ASSERT_EQ(peer->Do("open locked.bin 0xc0000000 7 0"), "ok 1");
  // SMB holds bytes 0-9 exclusively.
  ASSERT_EQ(peer->Do("lock 1 0 10 x"), "ok");
  NlmClient c(server_->port());
  EXPECT_EQ(c.Lock(LockOf(fh_, 1, 5, 1), false), kDenied);
  nlm4_testres t = c.Test(LockOf(fh_, 1, 0, 0), false);
  ASSERT_EQ(t.stat, kDenied);
  EXPECT_EQ(t.holder.l_offset, 0u);
  EXPECT_EQ(t.holder.l_len, 10u);
  EXPECT_EQ(c.Lock(LockOf(fh_, 1, 10, 10), true), kGranted);
  // NLM holds bytes 10-19: SMB cannot lock them.
  EXPECT_EQ(peer->Do("lock 1 12 2 s"), "error STATUS_LOCK_NOT_GRANTED");
  // A blocked NLM request is granted when the SMB lock is unlocked.
  ASSERT_EQ(c.Lock(LockOf(fh_, 2, 0, 5), true, true), kBlocked);
  ASSERT_EQ(peer->Do("unlock 1 0 10"), "ok");
  ASSERT_EQ(host_->WaitGranted(1, std::chrono::seconds(10)).size(), 1u) << server_->Log();
  EXPECT_EQ(peer->Do("lock 1 0 1 s"), "error STATUS_LOCK_NOT_GRANTED");
  EXPECT_EQ(peer->Do("close 1"), "ok");
}

}  // namespace
}  // namespace dittofs::integration
