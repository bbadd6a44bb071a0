// SPDX-License-Identifier: Apache-2.0
// NFSv3 and MOUNT v3 over the wire. Each test suite runs its own dfs child process on
// 127.0.0.1 (an ephemeral port, a temporary state directory) and drives it with libnfs: the raw
// API for exact procedures and statuses (RFC 1813), the high-level API as applications use it.
// Every suite ends by stopping its server with SIGTERM and expecting exit code 0.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nfsc/libnfs-raw-nlm.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dfs_process.h"
#include "nfs_client.h"
#include "testing/status_matchers.h"

// Readable names for libnfs's status enums in assertion messages (found by ADL: the enums are
// global).
static const char* Nfs3StatName(nfsstat3 s) {
#define DFS_NAMED(status) \
  { status, #status }
  static constexpr std::pair<nfsstat3, const char*> kNames[] = {
      DFS_NAMED(NFS3_OK),           DFS_NAMED(NFS3ERR_PERM),        DFS_NAMED(NFS3ERR_NOENT),
      DFS_NAMED(NFS3ERR_IO),        DFS_NAMED(NFS3ERR_NXIO),        DFS_NAMED(NFS3ERR_ACCES),
      DFS_NAMED(NFS3ERR_EXIST),     DFS_NAMED(NFS3ERR_XDEV),        DFS_NAMED(NFS3ERR_NODEV),
      DFS_NAMED(NFS3ERR_NOTDIR),    DFS_NAMED(NFS3ERR_ISDIR),       DFS_NAMED(NFS3ERR_INVAL),
      DFS_NAMED(NFS3ERR_FBIG),      DFS_NAMED(NFS3ERR_NOSPC),       DFS_NAMED(NFS3ERR_ROFS),
      DFS_NAMED(NFS3ERR_MLINK),     DFS_NAMED(NFS3ERR_NAMETOOLONG), DFS_NAMED(NFS3ERR_NOTEMPTY),
      DFS_NAMED(NFS3ERR_DQUOT),     DFS_NAMED(NFS3ERR_STALE),       DFS_NAMED(NFS3ERR_REMOTE),
      DFS_NAMED(NFS3ERR_BADHANDLE), DFS_NAMED(NFS3ERR_NOT_SYNC),    DFS_NAMED(NFS3ERR_BAD_COOKIE),
      DFS_NAMED(NFS3ERR_NOTSUPP),   DFS_NAMED(NFS3ERR_TOOSMALL),    DFS_NAMED(NFS3ERR_SERVERFAULT),
      DFS_NAMED(NFS3ERR_BADTYPE),   DFS_NAMED(NFS3ERR_JUKEBOX),
  };
#undef DFS_NAMED
  for (const auto& [status, name] : kNames) {
    if (status == s) return name;
  }
  return "NFS3ERR_?";
}

static void PrintTo(nfsstat3 s, std::ostream* os) {
  *os << Nfs3StatName(s) << " (" << int{s} << ")";
}
static void PrintTo(mountstat3 s, std::ostream* os) { *os << "mountstat3 " << int{s}; }
static void PrintTo(ftype3 t, std::ostream* os) { *os << "ftype3 " << int{t}; }
static void PrintTo(stable_how s, std::ostream* os) { *os << "stable_how " << int{s}; }

namespace dittofs::integration {
namespace {

constexpr char kDfsBinary[] = DFS_BINARY;
constexpr char kShare[] = "/export";
constexpr uint32_t kRootUid = 0;
constexpr uint32_t kMiB = 1u << 20;

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

Status NfsOk(nfsstat3 s, const std::string& what) {
  if (s == NFS3_OK) return Status::Ok();
  return Status(Errc::kIo, what + ": " + Nfs3StatName(s));
}

uint64_t Nanos(const nfstime3& t) { return uint64_t{t.seconds} * 1'000'000'000 + t.nseconds; }

bool HasAttrs(const post_op_attr& a) { return a.attributes_follow != 0; }
const fattr3& AttrsOf(const post_op_attr& a) { return a.post_op_attr_u.attributes; }

// RFC 1813 §2.6: a server should return both halves of wcc_data; ours always can.
void ExpectFullWcc(const wcc_data& wcc, const std::string& what) {
  EXPECT_TRUE(wcc.before.attributes_follow) << what << ": wcc_data without pre-operation attrs";
  EXPECT_TRUE(wcc.after.attributes_follow) << what << ": wcc_data without post-operation attrs";
}

Result<FileHandle> MakeFile(RawNfsClient& c, const FileHandle& dir, const std::string& name,
                            uint32_t mode = 0644, std::string_view content = {}) {
  ASSIGN_OR_RETURN(CreatedReply created, c.Create(dir, name, GUARDED, ModeAttrs(mode)));
  RETURN_IF_ERROR(NfsOk(created.status, "CREATE " + name));
  if (!created.has_fh) return Status(Errc::kIo, "CREATE " + name + " returned no handle");
  if (!content.empty()) {
    ASSIGN_OR_RETURN(WRITE3res written, c.Write(created.fh, 0, content, FILE_SYNC));
    RETURN_IF_ERROR(NfsOk(written.status, "WRITE " + name));
  }
  return created.fh;
}

Result<FileHandle> MakeDir(RawNfsClient& c, const FileHandle& dir, const std::string& name,
                           uint32_t mode = 0777) {
  ASSIGN_OR_RETURN(CreatedReply made, c.Mkdir(dir, name, ModeAttrs(mode)));
  RETURN_IF_ERROR(NfsOk(made.status, "MKDIR " + name));
  if (!made.has_fh) return Status(Errc::kIo, "MKDIR " + name + " returned no handle");
  return made.fh;
}

Result<fattr3> GetAttrs(RawNfsClient& c, const FileHandle& fh) {
  ASSIGN_OR_RETURN(GETATTR3res r, c.Getattr(fh));
  RETURN_IF_ERROR(NfsOk(r.status, "GETATTR"));
  return r.GETATTR3res_u.resok.obj_attributes;
}

// ---- Test data: deterministic chunks and a checksum ----

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// Chunk `index` of the byte stream named by `seed`: splitmix64 output, so any chunk can be made
// again without keeping the stream.
std::string MakeChunk(uint64_t seed, uint64_t index, size_t size) {
  std::string out(size, '\0');
  uint64_t state = seed ^ (index * 0xd1342543de82ef95ull);
  for (size_t off = 0; off < size; off += 8) {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    std::memcpy(out.data() + off, &z, std::min<size_t>(8, size - off));
  }
  return out;
}

// FNV-1a (64-bit) taken over 64-bit words rather than bytes, to stay quick in Debug builds;
// `h` continues an earlier checksum.
uint64_t Checksum(std::string_view data, uint64_t h = kFnvOffsetBasis) {
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, data.data() + i, 8);
    h = (h ^ word) * kFnvPrime;
  }
  for (; i < data.size(); ++i) h = (h ^ static_cast<unsigned char>(data[i])) * kFnvPrime;
  return h;
}

// Shrinking a file must forget the data past the new end: growing it again (by SETATTR or by
// writing beyond the end) reads zeros there, whatever the block store.
void ExpectShrinkForgetsData(RawNfsClient& c, const FileHandle& dir) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(c, dir, "shrunk", 0644, "abcdefgh"));
  auto set_size = [&](uint64_t size) {
    sattr3 attrs = NoAttrs();
    attrs.size.set_it = 1;
    attrs.size.set_size3_u.size = size;
    Result<SETATTR3res> r = c.Setattr(file, attrs);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, NFS3_OK) << "SETATTR size " << size;
    EXPECT_EQ(AttrsOf(r->SETATTR3res_u.resok.obj_wcc.after).size, size);
  };
  ASSERT_NO_FATAL_FAILURE(set_size(2));
  ASSERT_NO_FATAL_FAILURE(set_size(6));
  ASSERT_OK_AND_ASSIGN(ReadReply grown, c.Read(file, 0, 100));
  EXPECT_EQ(grown.data, std::string("ab\0\0\0\0", 6));

  ASSERT_NO_FATAL_FAILURE(set_size(1));
  ASSERT_OK_AND_ASSIGN(WRITE3res w, c.Write(file, 7, "Z", FILE_SYNC));
  ASSERT_EQ(w.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(ReadReply written, c.Read(file, 0, 100));
  EXPECT_EQ(written.data, std::string("a\0\0\0\0\0\0Z", 8));
}

// ---- Fixtures ----

// A fixture whose test suite shares one dfs server, configured by Suite::Options(). The server
// starts before the suite's first test; after its last it must stop on SIGTERM with exit 0.
// Each test gets a root (uid 0) client and a fresh directory named after the test.
template <typename Suite>
class ServerTest : public ::testing::Test {
 public:
  static DfsOptions Options() { return DfsOptions{}; }

  static void SetUpTestSuite() {
    Result<std::unique_ptr<DfsProcess>> started = DfsProcess::Start(kDfsBinary, Suite::Options());
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(*started);
  }

  static void TearDownTestSuite() {
    if (server_ == nullptr) return;
    Result<int> exit = server_->Stop();
    EXPECT_TRUE(exit.ok() && *exit == 0)
        << "dfs did not stop cleanly after SIGTERM: "
        << (exit.ok() ? "exit code " + std::to_string(*exit) : exit.status().ToString())
        << "\n--- dfs log ---\n"
        << server_->Log();
    server_.reset();
  }

 protected:
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "the suite's dfs did not start";
    ASSERT_OK_AND_ASSIGN(client_, Connect(kRootUid, kRootUid));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client_->Mnt(kShare));
    ASSERT_EQ(mnt.status, MNT3_OK);
    root_ = mnt.fh;
    ASSERT_OK_AND_ASSIGN(dir_, MakeDir(*client_, root_, TestName(), 0777));
  }

  static Result<std::unique_ptr<RawNfsClient>> Connect(uint32_t uid, uint32_t gid) {
    return RawNfsClient::Connect(server_->port(), uid, gid);
  }

  RawNfsClient& client() { return *client_; }

  static inline std::unique_ptr<DfsProcess> server_;
  std::unique_ptr<RawNfsClient> client_;
  FileHandle root_;  // the share's root directory
  FileHandle dir_;   // this test's directory, mode 0777
};

// ---- MOUNT v3 ----

class MountTest : public ServerTest<MountTest> {
 public:
  static DfsOptions Options() {
    DfsOptions o;
    o.shares.push_back(DfsShare{.name = "/scratch"});
    return o;
  }

 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    // The mount list is the server's, not the test's: start each test from an empty one.
    ASSERT_OK(client().Umntall());
  }

  static int CountMounts(const std::vector<MountEntry>& list, const std::string& dir) {
    return static_cast<int>(std::count_if(list.begin(), list.end(), [&](const MountEntry& m) {
      return m.hostname == "127.0.0.1" && m.directory == dir;
    }));
  }
};

TEST_F(MountTest, NullSucceeds) { EXPECT_OK(client().MountNull()); }

// NFS and MOUNT answer over UDP too, on the TCP port's number (RFC 5531 over datagrams).
TEST_F(MountTest, NfsAndMountAnswerNullOverUdp) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(server_->port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (uint32_t prog : {100003u, 100005u}) {
    const uint32_t xid = 0x5500 + prog % 16;
    // xid, CALL, RPC version 2, program, version 3, NULL, AUTH_NONE credential and verifier.
    uint32_t words[] = {xid, 0, 2, prog, 3, 0, 0, 0, 0, 0};
    for (uint32_t& w : words) w = htonl(w);
    ASSERT_EQ(sendto(fd, words, sizeof(words), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              ssize_t(sizeof(words)));
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1) << "no UDP reply from program " << prog;
    uint32_t reply[16] = {};
    ssize_t n = recv(fd, reply, sizeof(reply), 0);
    ASSERT_EQ(n, 24) << "program " << prog;
    EXPECT_EQ(ntohl(reply[0]), xid);
    EXPECT_EQ(ntohl(reply[1]), 1u);  // REPLY
    EXPECT_EQ(ntohl(reply[2]), 0u);  // MSG_ACCEPTED
    EXPECT_EQ(ntohl(reply[5]), 0u);  // SUCCESS
  }
  close(fd);
}

TEST_F(MountTest, MntReturnsTheShareRootHandle) {
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client().Mnt(kShare));
  ASSERT_EQ(mnt.status, MNT3_OK);
  EXPECT_FALSE(mnt.fh.empty());
  EXPECT_LE(mnt.fh.size(), size_t{NFS3_FHSIZE});
  // The flavors the server accepts, strongest first (RFC 2623 section 2.7).
  EXPECT_EQ(mnt.auth_flavors, (std::vector<int>{AUTH_UNIX, AUTH_NONE}));

  ASSERT_OK_AND_ASSIGN(fattr3 root, GetAttrs(client(), mnt.fh));
  EXPECT_EQ(root.type, NF3DIR);
  EXPECT_EQ(root.mode, 01777u);

  // A trailing slash names the same export.
  ASSERT_OK_AND_ASSIGN(MntReply slash, client().Mnt("/export/"));
  ASSERT_EQ(slash.status, MNT3_OK);
  EXPECT_EQ(slash.fh, mnt.fh);
}

TEST_F(MountTest, MntOfUnknownPathIsNoent) {
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client().Mnt("/no-such-export"));
  EXPECT_EQ(mnt.status, MNT3ERR_NOENT);
  ASSERT_OK_AND_ASSIGN(std::vector<MountEntry> list, client().Dump());
  EXPECT_EQ(CountMounts(list, "/no-such-export"), 0);
}

// Issue 11: a path the client chose is logged as it is, on one line: a newline in it cannot
// forge a log line.
TEST_F(MountTest, ClientChosenPathsCannotForgeLogLines) {
  const std::string forged = "2026-01-01T00:00:00.000 error forged by a client";
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client().Mnt("/nowhere\n" + forged));
  EXPECT_EQ(mnt.status, MNT3ERR_NOENT);
  const std::string log = server_->Log();
  EXPECT_NE(log.find("/nowhere\\n" + forged), std::string::npos) << log;
  EXPECT_EQ(log.find("\n" + forged), std::string::npos) << "a forged line in the log:\n" << log;
}

TEST_F(MountTest, DumpListsOurMountOnce) {
  ASSERT_OK_AND_ASSIGN(MntReply first, client().Mnt(kShare));
  ASSERT_EQ(first.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(MntReply again, client().Mnt(kShare));
  ASSERT_EQ(again.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(std::vector<MountEntry> list, client().Dump());
  EXPECT_EQ(CountMounts(list, kShare), 1);
}

TEST_F(MountTest, UmntRemovesOnlyThatMount) {
  ASSERT_OK_AND_ASSIGN(MntReply a, client().Mnt(kShare));
  ASSERT_OK_AND_ASSIGN(MntReply b, client().Mnt("/scratch"));
  ASSERT_EQ(a.status, MNT3_OK);
  ASSERT_EQ(b.status, MNT3_OK);
  ASSERT_OK(client().Umnt(kShare));
  ASSERT_OK_AND_ASSIGN(std::vector<MountEntry> list, client().Dump());
  EXPECT_EQ(CountMounts(list, kShare), 0);
  EXPECT_EQ(CountMounts(list, "/scratch"), 1);
}

// MNT accepts "/export/" for "/export" (and lists it as "/export"); UMNT of the same spelling
// must remove that mount again.
TEST_F(MountTest, UmntWithTrailingSlashRemovesTheMount) {
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client().Mnt("/export/"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(std::vector<MountEntry> mounted, client().Dump());
  ASSERT_EQ(CountMounts(mounted, kShare), 1);
  ASSERT_OK(client().Umnt("/export/"));
  ASSERT_OK_AND_ASSIGN(std::vector<MountEntry> list, client().Dump());
  EXPECT_EQ(CountMounts(list, kShare), 0) << "UMNT /export/ left the mount of /export/ listed";
}

TEST_F(MountTest, UmntallRemovesAllOurMounts) {
  ASSERT_OK_AND_ASSIGN(MntReply a, client().Mnt(kShare));
  ASSERT_OK_AND_ASSIGN(MntReply b, client().Mnt("/scratch"));
  ASSERT_EQ(a.status, MNT3_OK);
  ASSERT_EQ(b.status, MNT3_OK);
  ASSERT_OK(client().Umntall());
  ASSERT_OK_AND_ASSIGN(std::vector<MountEntry> list, client().Dump());
  EXPECT_EQ(CountMounts(list, kShare), 0);
  EXPECT_EQ(CountMounts(list, "/scratch"), 0);
}

TEST_F(MountTest, ExportListsEveryShare) {
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> exports, client().Export());
  std::sort(exports.begin(), exports.end());
  EXPECT_EQ(exports, (std::vector<std::string>{"/export", "/scratch"}));
}

// ---- NFSv3: every procedure ----

class Nfs3ProcedureTest : public ServerTest<Nfs3ProcedureTest> {};

TEST_F(Nfs3ProcedureTest, Null) { EXPECT_OK(client().Null()); }

// Clients probe versions: NFSv2, NFSv4, MOUNT v1 and programs we do not serve (RQUOTA) are
// refused at the RPC level, and the connection stays usable.
TEST_F(Nfs3ProcedureTest, OtherVersionsAndProgramsAreRefusedOnALiveConnection) {
  const std::pair<const char*, RawNfsClient::Issue> probes[] = {
      {"NFSv2 NULL",
       [](rpc_context* r, rpc_cb cb, void* p) { return rpc_nfs2_null_async(r, cb, p); }},
      {"MOUNT v1 NULL",
       [](rpc_context* r, rpc_cb cb, void* p) { return rpc_mount1_null_async(r, cb, p); }},
      {"RQUOTA v1 NULL",
       [](rpc_context* r, rpc_cb cb, void* p) { return rpc_rquota1_null_async(r, cb, p); }},
  };
  for (const auto& [what, issue] : probes) {
    EXPECT_FALSE(client().Call(issue, nullptr).ok()) << what << " was accepted";
    EXPECT_OK(client().Null());
  }
}

// NLM version 4 on the NFS port, through libnfs's own NLM encoder and decoder: a lock, a
// conflicting TEST and LOCK of another owner, the unlock (tests/integration/nlm_test.cc has
// the rest: blocking, callbacks, grace, SMB).
TEST_F(Nfs3ProcedureTest, NlmLocksThroughLibnfs) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "locked", 0644, "data"));
  EXPECT_OK(client().Call(
      [](rpc_context* r, rpc_cb cb, void* p) { return rpc_nlm4_null_async(r, cb, p); }, nullptr));
  char host[] = "libnfs-host";
  char cookie[] = "cookie";
  char oh1[] = "owner-1";
  char oh2[] = "owner-2";
  const auto lock_of = [&](char* oh, uint32_t svid, uint64_t offset, uint64_t length) {
    nlm4_lock l{};
    l.caller_name = host;
    l.fh.data.data_len = static_cast<u_int>(file.size());
    l.fh.data.data_val = file.data();
    l.oh = oh;
    l.svid = svid;
    l.l_offset = offset;
    l.l_len = length;
    return l;
  };
  const auto lock = [&](nlm4_lock l) {
    NLM4_LOCKargs args{};
    args.cookie.data.data_len = 6;
    args.cookie.data.data_val = cookie;
    args.exclusive = 1;
    args.lock = l;
    args.state = 1;
    nlmstat4 status = NLM4_FAILED;
    Status s = client().Call(
        [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nlm4_lock_async(r, cb, &args, p); },
        [&](void* reply) { status = static_cast<NLM4_LOCKres*>(reply)->status; });
    EXPECT_OK(s);
    return status;
  };
  EXPECT_EQ(lock(lock_of(oh1, 1, 0, 10)), NLM4_GRANTED);
  EXPECT_EQ(lock(lock_of(oh2, 2, 5, 10)), NLM4_DENIED);
  NLM4_TESTargs test{};
  test.cookie.data.data_len = 6;
  test.cookie.data.data_val = cookie;
  test.exclusive = 0;
  test.lock = lock_of(oh2, 2, 0, 0);
  nlmstat4 tested = NLM4_FAILED;
  uint32_t holder_svid = 0;
  EXPECT_OK(client().Call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nlm4_test_async(r, cb, &test, p); },
      [&](void* reply) {
        const auto* res = static_cast<NLM4_TESTres*>(reply);
        tested = res->reply.status;
        if (tested == NLM4_DENIED) holder_svid = res->reply.nlm4_testreply_u.lock.holder.svid;
      }));
  EXPECT_EQ(tested, NLM4_DENIED);
  EXPECT_EQ(holder_svid, 1u);
  NLM4_UNLOCKargs unlock{};
  unlock.cookie.data.data_len = 6;
  unlock.cookie.data.data_val = cookie;
  unlock.lock = lock_of(oh1, 1, 0, 10);
  nlmstat4 unlocked = NLM4_FAILED;
  EXPECT_OK(client().Call(
      [&](rpc_context* r, rpc_cb cb, void* p) { return rpc_nlm4_unlock_async(r, cb, &unlock, p); },
      [&](void* reply) { unlocked = static_cast<NLM4_UNLOCKres*>(reply)->status; }));
  EXPECT_EQ(unlocked, NLM4_GRANTED);
  EXPECT_EQ(lock(lock_of(oh2, 2, 5, 10)), NLM4_GRANTED);
}

TEST_F(Nfs3ProcedureTest, GetattrDescribesFilesAndDirectories) {
  ASSERT_OK_AND_ASSIGN(fattr3 root, GetAttrs(client(), root_));
  EXPECT_EQ(root.type, NF3DIR);
  EXPECT_EQ(root.mode, 01777u);
  EXPECT_GE(root.nlink, 3u);  // 2 for any directory, plus one for this test's subdirectory
  EXPECT_NE(root.fileid, 0u);

  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file", 0640, "0123456789"));
  ASSERT_OK_AND_ASSIGN(fattr3 a, GetAttrs(client(), file));
  EXPECT_EQ(a.type, NF3REG);
  EXPECT_EQ(a.mode, 0640u);
  EXPECT_EQ(a.nlink, 1u);
  EXPECT_EQ(a.uid, kRootUid);
  EXPECT_EQ(a.size, 10u);
  EXPECT_GE(a.used, a.size);
  EXPECT_EQ(a.fsid, root.fsid);
  EXPECT_NE(a.fileid, root.fileid);
}

TEST_F(Nfs3ProcedureTest, SetattrChangesModeSizeAndTimes) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file", 0644));
  sattr3 attrs = ModeAttrs(0600);
  attrs.size.set_it = 1;
  attrs.size.set_size3_u.size = 100;
  attrs.mtime.set_it = SET_TO_CLIENT_TIME;
  attrs.mtime.set_mtime_u.mtime = {1'000'000'000, 5};
  attrs.atime.set_it = SET_TO_SERVER_TIME;

  ASSERT_OK_AND_ASSIGN(SETATTR3res r, client().Setattr(file, attrs));
  ASSERT_EQ(r.status, NFS3_OK);
  const wcc_data& wcc = r.SETATTR3res_u.resok.obj_wcc;
  ExpectFullWcc(wcc, "SETATTR");
  EXPECT_EQ(wcc.before.pre_op_attr_u.attributes.size, 0u);
  const fattr3& after = AttrsOf(wcc.after);
  EXPECT_EQ(after.mode, 0600u);
  EXPECT_EQ(after.size, 100u);
  EXPECT_EQ(after.mtime.seconds, 1'000'000'000u);
  EXPECT_EQ(after.mtime.nseconds, 5u);
  EXPECT_GT(after.atime.seconds, 1'000'000'000u);

  ASSERT_OK_AND_ASSIGN(fattr3 now, GetAttrs(client(), file));
  EXPECT_EQ(now.mode, 0600u);
  EXPECT_EQ(now.size, 100u);
}

TEST_F(Nfs3ProcedureTest, GuardedSetattrChecksCtime) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file", 0644));
  ASSERT_OK_AND_ASSIGN(fattr3 before, GetAttrs(client(), file));

  nfstime3 wrong = before.ctime;
  wrong.seconds -= 1;
  ASSERT_OK_AND_ASSIGN(SETATTR3res stale, client().Setattr(file, ModeAttrs(0600), &wrong));
  EXPECT_EQ(stale.status, NFS3ERR_NOT_SYNC);
  ExpectFullWcc(stale.SETATTR3res_u.resfail.obj_wcc, "SETATTR NOT_SYNC");
  ASSERT_OK_AND_ASSIGN(fattr3 unchanged, GetAttrs(client(), file));
  EXPECT_EQ(unchanged.mode, 0644u);

  ASSERT_OK_AND_ASSIGN(SETATTR3res ok, client().Setattr(file, ModeAttrs(0600), &before.ctime));
  EXPECT_EQ(ok.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(fattr3 changed, GetAttrs(client(), file));
  EXPECT_EQ(changed.mode, 0600u);
}

TEST_F(Nfs3ProcedureTest, LookupFindsEntriesDotAndDotDot) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file"));
  ASSERT_OK_AND_ASSIGN(fattr3 file_attrs, GetAttrs(client(), file));
  ASSERT_OK_AND_ASSIGN(fattr3 dir_attrs, GetAttrs(client(), dir_));
  ASSERT_OK_AND_ASSIGN(fattr3 root_attrs, GetAttrs(client(), root_));

  ASSERT_OK_AND_ASSIGN(LookupReply r, client().Lookup(dir_, "file"));
  ASSERT_EQ(r.status, NFS3_OK);
  EXPECT_EQ(r.fh, file);
  ASSERT_TRUE(HasAttrs(r.obj_attributes));
  EXPECT_EQ(AttrsOf(r.obj_attributes).fileid, file_attrs.fileid);
  ASSERT_TRUE(HasAttrs(r.dir_attributes));
  EXPECT_EQ(AttrsOf(r.dir_attributes).fileid, dir_attrs.fileid);

  ASSERT_OK_AND_ASSIGN(LookupReply dot, client().Lookup(dir_, "."));
  ASSERT_EQ(dot.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(dot.obj_attributes).fileid, dir_attrs.fileid);
  ASSERT_OK_AND_ASSIGN(LookupReply dotdot, client().Lookup(dir_, ".."));
  ASSERT_EQ(dotdot.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(dotdot.obj_attributes).fileid, root_attrs.fileid);
}

TEST_F(Nfs3ProcedureTest, AccessGrantsByModeOwnerAndGroup) {
  constexpr uint32_t kAll = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND |
                            ACCESS3_DELETE | ACCESS3_EXECUTE;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> owner, Connect(2000, 2000));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> group, Connect(1000, 2000));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> other, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(*owner, dir_, "file", 0640));

  auto granted = [&](RawNfsClient& c, const FileHandle& fh, uint32_t want) -> uint32_t {
    Result<ACCESS3res> r = c.Access(fh, want);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return ~0u;
    EXPECT_EQ(r->status, NFS3_OK);
    EXPECT_TRUE(HasAttrs(r->ACCESS3res_u.resok.obj_attributes));
    return r->ACCESS3res_u.resok.access;
  };
  EXPECT_EQ(granted(*owner, file, kAll), ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND);
  EXPECT_EQ(granted(*owner, file, ACCESS3_READ), uint32_t{ACCESS3_READ});  // never more than asked
  EXPECT_EQ(granted(*group, file, kAll), uint32_t{ACCESS3_READ});
  EXPECT_EQ(granted(*other, file, kAll), 0u);
  EXPECT_EQ(granted(*other, dir_, kAll),
            ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE);
}

TEST_F(Nfs3ProcedureTest, ReadlinkReturnsTheTarget) {
  ASSERT_OK_AND_ASSIGN(CreatedReply link,
                       client().Symlink(dir_, "link", "some/where/else", NoAttrs()));
  ASSERT_EQ(link.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(ReadlinkReply r, client().Readlink(link.fh));
  ASSERT_EQ(r.status, NFS3_OK);
  EXPECT_EQ(r.target, "some/where/else");
  ASSERT_TRUE(HasAttrs(r.symlink_attributes));
  EXPECT_EQ(AttrsOf(r.symlink_attributes).type, NF3LNK);
  EXPECT_EQ(AttrsOf(r.symlink_attributes).size, r.target.size());
}

TEST_F(Nfs3ProcedureTest, ReadReturnsDataAndEof) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file", 0644, "hello world"));

  ASSERT_OK_AND_ASSIGN(ReadReply all, client().Read(file, 0, 100));
  ASSERT_EQ(all.status, NFS3_OK);
  EXPECT_EQ(all.data, "hello world");
  EXPECT_EQ(all.count, 11u);
  EXPECT_TRUE(all.eof);
  ASSERT_TRUE(HasAttrs(all.file_attributes));
  EXPECT_EQ(AttrsOf(all.file_attributes).size, 11u);

  ASSERT_OK_AND_ASSIGN(ReadReply head, client().Read(file, 0, 5));
  EXPECT_EQ(head.data, "hello");
  EXPECT_FALSE(head.eof);

  ASSERT_OK_AND_ASSIGN(ReadReply tail, client().Read(file, 6, 5));
  EXPECT_EQ(tail.data, "world");
  EXPECT_TRUE(tail.eof);

  ASSERT_OK_AND_ASSIGN(ReadReply past, client().Read(file, 100, 10));
  ASSERT_EQ(past.status, NFS3_OK);
  EXPECT_EQ(past.count, 0u);
  EXPECT_TRUE(past.eof);
}

TEST_F(Nfs3ProcedureTest, WriteReportsCountStabilityAndWcc) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file"));

  ASSERT_OK_AND_ASSIGN(WRITE3res sync, client().Write(file, 0, "abc", FILE_SYNC));
  ASSERT_EQ(sync.status, NFS3_OK);
  const WRITE3resok& s = sync.WRITE3res_u.resok;
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.committed, FILE_SYNC);
  ExpectFullWcc(s.file_wcc, "WRITE");
  EXPECT_EQ(s.file_wcc.before.pre_op_attr_u.attributes.size, 0u);
  EXPECT_EQ(AttrsOf(s.file_wcc.after).size, 3u);

  // Past the end: the gap reads as zeros.
  ASSERT_OK_AND_ASSIGN(WRITE3res unstable, client().Write(file, 10, "xyz", UNSTABLE));
  ASSERT_EQ(unstable.status, NFS3_OK);
  const WRITE3resok& u = unstable.WRITE3res_u.resok;
  EXPECT_EQ(u.count, 3u);
  EXPECT_EQ(VerfOf(u), VerfOf(s));
  EXPECT_EQ(u.file_wcc.before.pre_op_attr_u.attributes.size, 3u);
  EXPECT_EQ(AttrsOf(u.file_wcc.after).size, 13u);

  ASSERT_OK_AND_ASSIGN(ReadReply r, client().Read(file, 0, 100));
  EXPECT_EQ(r.data, std::string("abc\0\0\0\0\0\0\0xyz", 13));
}

TEST_F(Nfs3ProcedureTest, CreateUncheckedAndGuarded) {
  ASSERT_OK_AND_ASSIGN(CreatedReply made,
                       client().Create(dir_, "file", UNCHECKED, ModeAttrs(0640)));
  ASSERT_EQ(made.status, NFS3_OK);
  ASSERT_TRUE(made.has_fh);
  ASSERT_TRUE(HasAttrs(made.obj_attributes));
  EXPECT_EQ(AttrsOf(made.obj_attributes).type, NF3REG);
  EXPECT_EQ(AttrsOf(made.obj_attributes).mode, 0640u);
  EXPECT_EQ(AttrsOf(made.obj_attributes).size, 0u);
  ExpectFullWcc(made.dir_wcc, "CREATE");
  EXPECT_LE(Nanos(made.dir_wcc.before.pre_op_attr_u.attributes.mtime),
            Nanos(AttrsOf(made.dir_wcc.after).mtime));

  // UNCHECKED on an existing file keeps it, applying only the size.
  ASSERT_OK_AND_ASSIGN(WRITE3res w, client().Write(made.fh, 0, "data", FILE_SYNC));
  ASSERT_EQ(w.status, NFS3_OK);
  sattr3 truncate = NoAttrs();
  truncate.size.set_it = 1;
  truncate.size.set_size3_u.size = 0;
  ASSERT_OK_AND_ASSIGN(CreatedReply again, client().Create(dir_, "file", UNCHECKED, truncate));
  ASSERT_EQ(again.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(again.obj_attributes).fileid, AttrsOf(made.obj_attributes).fileid);
  EXPECT_EQ(AttrsOf(again.obj_attributes).size, 0u);

  ASSERT_OK_AND_ASSIGN(CreatedReply guarded,
                       client().Create(dir_, "file", GUARDED, ModeAttrs(0600)));
  EXPECT_EQ(guarded.status, NFS3ERR_EXIST);
  ExpectFullWcc(guarded.dir_wcc, "CREATE GUARDED on an existing name");
}

TEST_F(Nfs3ProcedureTest, ExclusiveCreateIsIdempotentForItsVerifier) {
  constexpr uint64_t kVerifier = 0x1122334455667788;
  ASSERT_OK_AND_ASSIGN(CreatedReply first,
                       client().Create(dir_, "file", EXCLUSIVE, NoAttrs(), kVerifier));
  ASSERT_EQ(first.status, NFS3_OK);
  ASSERT_TRUE(first.has_fh);

  // A retransmission (same verifier) finds its own file.
  ASSERT_OK_AND_ASSIGN(CreatedReply retry,
                       client().Create(dir_, "file", EXCLUSIVE, NoAttrs(), kVerifier));
  ASSERT_EQ(retry.status, NFS3_OK);
  EXPECT_EQ(retry.fh, first.fh);

  ASSERT_OK_AND_ASSIGN(CreatedReply other,
                       client().Create(dir_, "file", EXCLUSIVE, NoAttrs(), kVerifier + 1));
  EXPECT_EQ(other.status, NFS3ERR_EXIST);
}

TEST_F(Nfs3ProcedureTest, MkdirMakesADirectoryAndLinksItsParent) {
  ASSERT_OK_AND_ASSIGN(fattr3 parent_before, GetAttrs(client(), dir_));
  ASSERT_OK_AND_ASSIGN(CreatedReply made, client().Mkdir(dir_, "sub", ModeAttrs(0750)));
  ASSERT_EQ(made.status, NFS3_OK);
  ASSERT_TRUE(made.has_fh);
  EXPECT_EQ(AttrsOf(made.obj_attributes).type, NF3DIR);
  EXPECT_EQ(AttrsOf(made.obj_attributes).mode, 0750u);
  EXPECT_EQ(AttrsOf(made.obj_attributes).nlink, 2u);
  ExpectFullWcc(made.dir_wcc, "MKDIR");
  ASSERT_OK_AND_ASSIGN(fattr3 parent_after, GetAttrs(client(), dir_));
  EXPECT_EQ(parent_after.nlink, parent_before.nlink + 1);
  EXPECT_EQ(AttrsOf(made.dir_wcc.after).nlink, parent_after.nlink);
}

TEST_F(Nfs3ProcedureTest, SymlinkMakesALink) {
  ASSERT_OK_AND_ASSIGN(CreatedReply made, client().Symlink(dir_, "link", "target", NoAttrs()));
  ASSERT_EQ(made.status, NFS3_OK);
  ASSERT_TRUE(made.has_fh);
  EXPECT_EQ(AttrsOf(made.obj_attributes).type, NF3LNK);
  EXPECT_EQ(AttrsOf(made.obj_attributes).size, 6u);
  ExpectFullWcc(made.dir_wcc, "SYMLINK");
  ASSERT_OK_AND_ASSIGN(LookupReply found, client().Lookup(dir_, "link"));
  EXPECT_EQ(found.status, NFS3_OK);
}

TEST_F(Nfs3ProcedureTest, MknodMakesFifosAndSockets) {
  ASSERT_OK_AND_ASSIGN(CreatedReply fifo, client().Mknod(dir_, "fifo", NF3FIFO, ModeAttrs(0640)));
  ASSERT_EQ(fifo.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(fifo.obj_attributes).type, NF3FIFO);
  EXPECT_EQ(AttrsOf(fifo.obj_attributes).mode, 0640u);
  ExpectFullWcc(fifo.dir_wcc, "MKNOD FIFO");

  ASSERT_OK_AND_ASSIGN(CreatedReply sock, client().Mknod(dir_, "sock", NF3SOCK, ModeAttrs(0600)));
  ASSERT_EQ(sock.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(sock.obj_attributes).type, NF3SOCK);
  ExpectFullWcc(sock.dir_wcc, "MKNOD SOCK");

  ASSERT_OK_AND_ASSIGN(fattr3 fifo_attrs, GetAttrs(client(), fifo.fh));
  EXPECT_EQ(fifo_attrs.type, NF3FIFO);
}

TEST_F(Nfs3ProcedureTest, MknodMakesDevicesForRootOnly) {
  ASSERT_OK_AND_ASSIGN(CreatedReply chr,
                       client().Mknod(dir_, "null", NF3CHR, ModeAttrs(0666), specdata3{1, 3}));
  ASSERT_EQ(chr.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(chr.obj_attributes).type, NF3CHR);
  EXPECT_EQ(AttrsOf(chr.obj_attributes).rdev.specdata1, 1u);
  EXPECT_EQ(AttrsOf(chr.obj_attributes).rdev.specdata2, 3u);

  ASSERT_OK_AND_ASSIGN(CreatedReply blk,
                       client().Mknod(dir_, "sda", NF3BLK, ModeAttrs(0660), specdata3{8, 0}));
  ASSERT_EQ(blk.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(blk.obj_attributes).type, NF3BLK);
  EXPECT_EQ(AttrsOf(blk.obj_attributes).rdev.specdata1, 8u);
  EXPECT_EQ(AttrsOf(blk.obj_attributes).rdev.specdata2, 0u);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> user, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(CreatedReply denied,
                       user->Mknod(dir_, "zero", NF3CHR, ModeAttrs(0666), specdata3{1, 5}));
  EXPECT_EQ(denied.status, NFS3ERR_PERM);
}

TEST_F(Nfs3ProcedureTest, RemoveUnlinksAFile) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file"));
  ASSERT_OK_AND_ASSIGN(REMOVE3res r, client().Remove(dir_, "file"));
  ASSERT_EQ(r.status, NFS3_OK);
  ExpectFullWcc(r.REMOVE3res_u.resok.dir_wcc, "REMOVE");
  ASSERT_OK_AND_ASSIGN(LookupReply gone, client().Lookup(dir_, "file"));
  EXPECT_EQ(gone.status, NFS3ERR_NOENT);
}

TEST_F(Nfs3ProcedureTest, RmdirRemovesAnEmptyDirectory) {
  ASSERT_OK_AND_ASSIGN(fattr3 before, GetAttrs(client(), dir_));
  ASSERT_OK_AND_ASSIGN(FileHandle sub, MakeDir(client(), dir_, "sub"));
  ASSERT_OK_AND_ASSIGN(RMDIR3res r, client().Rmdir(dir_, "sub"));
  ASSERT_EQ(r.status, NFS3_OK);
  ExpectFullWcc(r.RMDIR3res_u.resok.dir_wcc, "RMDIR");
  EXPECT_EQ(AttrsOf(r.RMDIR3res_u.resok.dir_wcc.after).nlink, before.nlink);
  ASSERT_OK_AND_ASSIGN(LookupReply gone, client().Lookup(dir_, "sub"));
  EXPECT_EQ(gone.status, NFS3ERR_NOENT);
}

TEST_F(Nfs3ProcedureTest, RenameReplacesAnExistingFile) {
  ASSERT_OK_AND_ASSIGN(FileHandle a, MakeFile(client(), dir_, "a", 0644, "AAA"));
  ASSERT_OK_AND_ASSIGN(FileHandle b, MakeFile(client(), dir_, "b", 0644, "BB"));
  ASSERT_OK_AND_ASSIGN(fattr3 a_attrs, GetAttrs(client(), a));

  ASSERT_OK_AND_ASSIGN(RENAME3res r, client().Rename(dir_, "a", dir_, "b"));
  ASSERT_EQ(r.status, NFS3_OK);
  ExpectFullWcc(r.RENAME3res_u.resok.fromdir_wcc, "RENAME from");
  ExpectFullWcc(r.RENAME3res_u.resok.todir_wcc, "RENAME to");

  ASSERT_OK_AND_ASSIGN(LookupReply old_name, client().Lookup(dir_, "a"));
  EXPECT_EQ(old_name.status, NFS3ERR_NOENT);
  ASSERT_OK_AND_ASSIGN(LookupReply new_name, client().Lookup(dir_, "b"));
  ASSERT_EQ(new_name.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(new_name.obj_attributes).fileid, a_attrs.fileid);
  ASSERT_OK_AND_ASSIGN(ReadReply data, client().Read(new_name.fh, 0, 100));
  EXPECT_EQ(data.data, "AAA");
  // The replaced file had no other link: it is gone.
  ASSERT_OK_AND_ASSIGN(GETATTR3res replaced, client().Getattr(b));
  EXPECT_EQ(replaced.status, NFS3ERR_STALE);
}

TEST_F(Nfs3ProcedureTest, RenameMovesBetweenDirectories) {
  ASSERT_OK_AND_ASSIGN(FileHandle sub, MakeDir(client(), dir_, "sub"));
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file", 0644, "x"));
  ASSERT_OK_AND_ASSIGN(RENAME3res r, client().Rename(dir_, "file", sub, "moved"));
  ASSERT_EQ(r.status, NFS3_OK);
  ExpectFullWcc(r.RENAME3res_u.resok.fromdir_wcc, "RENAME from");
  ExpectFullWcc(r.RENAME3res_u.resok.todir_wcc, "RENAME to");
  ASSERT_OK_AND_ASSIGN(LookupReply moved, client().Lookup(sub, "moved"));
  ASSERT_EQ(moved.status, NFS3_OK);
  EXPECT_EQ(moved.fh, file);
}

TEST_F(Nfs3ProcedureTest, RenameOfADirectoryMovesItsDotDot) {
  ASSERT_OK_AND_ASSIGN(FileHandle from, MakeDir(client(), dir_, "from"));
  ASSERT_OK_AND_ASSIGN(FileHandle to, MakeDir(client(), dir_, "to"));
  ASSERT_OK_AND_ASSIGN(FileHandle moving, MakeDir(client(), from, "moving"));
  ASSERT_OK_AND_ASSIGN(fattr3 to_attrs, GetAttrs(client(), to));

  ASSERT_OK_AND_ASSIGN(RENAME3res r, client().Rename(from, "moving", to, "moved"));
  ASSERT_EQ(r.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(r.RENAME3res_u.resok.fromdir_wcc.after).nlink, 2u);
  EXPECT_EQ(AttrsOf(r.RENAME3res_u.resok.todir_wcc.after).nlink, 3u);
  ASSERT_OK_AND_ASSIGN(LookupReply dotdot, client().Lookup(moving, ".."));
  ASSERT_EQ(dotdot.status, NFS3_OK);
  EXPECT_EQ(AttrsOf(dotdot.obj_attributes).fileid, to_attrs.fileid);

  // A directory cannot move into itself.
  ASSERT_OK_AND_ASSIGN(RENAME3res loop, client().Rename(dir_, "to", moving, "inside"));
  EXPECT_EQ(loop.status, NFS3ERR_INVAL);
}

// Issue 11: the check that a directory does not move into its own subtree once stopped 4,096
// levels up, and the rename then cut a cycle loose from the tree.
TEST_F(Nfs3ProcedureTest, RenameIntoItsOwnSubtreeIsRefusedAtAnyDepth) {
  ASSERT_OK_AND_ASSIGN(FileHandle top, MakeDir(client(), dir_, "top"));
  FileHandle deepest = top;
  for (int depth = 0; depth < 4200; ++depth) {
    ASSERT_OK_AND_ASSIGN(deepest, MakeDir(client(), deepest, "d"));
  }
  ASSERT_OK_AND_ASSIGN(RENAME3res loop, client().Rename(dir_, "top", deepest, "inside"));
  EXPECT_EQ(loop.status, NFS3ERR_INVAL);
  ASSERT_OK_AND_ASSIGN(LookupReply still, client().Lookup(dir_, "top"));
  EXPECT_EQ(still.status, NFS3_OK) << "the subtree left the tree";
}

TEST_F(Nfs3ProcedureTest, ShrinkForgetsData) { ExpectShrinkForgetsData(client(), dir_); }

TEST_F(Nfs3ProcedureTest, LinkCountsNames) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "orig", 0644, "shared"));
  ASSERT_OK_AND_ASSIGN(LINK3res r, client().Link(file, dir_, "alias"));
  ASSERT_EQ(r.status, NFS3_OK);
  ASSERT_TRUE(HasAttrs(r.LINK3res_u.resok.file_attributes));
  EXPECT_EQ(AttrsOf(r.LINK3res_u.resok.file_attributes).nlink, 2u);
  ExpectFullWcc(r.LINK3res_u.resok.linkdir_wcc, "LINK");

  ASSERT_OK_AND_ASSIGN(LookupReply alias, client().Lookup(dir_, "alias"));
  ASSERT_EQ(alias.status, NFS3_OK);
  EXPECT_EQ(alias.fh, file);
  EXPECT_EQ(AttrsOf(alias.obj_attributes).nlink, 2u);

  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, client().Remove(dir_, "orig"));
  ASSERT_EQ(removed.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(fattr3 left, GetAttrs(client(), file));
  EXPECT_EQ(left.nlink, 1u);
  ASSERT_OK_AND_ASSIGN(ReadReply data, client().Read(alias.fh, 0, 100));
  EXPECT_EQ(data.data, "shared");
}

TEST_F(Nfs3ProcedureTest, ReaddirListsEntriesWithDots) {
  for (const char* name : {"a", "b", "c"}) ASSERT_OK(MakeFile(client(), dir_, name));
  ASSERT_OK_AND_ASSIGN(ReaddirReply r, client().Readdir(dir_, 0, CookieVerf{}, 8192));
  ASSERT_EQ(r.status, NFS3_OK);
  EXPECT_TRUE(r.eof);
  ASSERT_TRUE(HasAttrs(r.dir_attributes));
  std::multiset<std::string> names;
  for (const DirEntry& e : r.entries) {
    names.insert(e.name);
    EXPECT_NE(e.cookie, 0u) << e.name;
    EXPECT_NE(e.fileid, 0u) << e.name;
  }
  EXPECT_EQ(names, (std::multiset<std::string>{".", "..", "a", "b", "c"}));
}

// Cookies outlive the entries they came from: removing the entry a client's cookie points at
// must not make the rest of the listing fail, repeat or skip entries.
TEST_F(Nfs3ProcedureTest, ReaddirContinuesPastARemovedEntry) {
  constexpr int kFiles = 60;
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_OK(MakeFile(client(), dir_, "f" + std::to_string(i)));
  }
  ASSERT_OK_AND_ASSIGN(ReaddirReply page, client().Readdir(dir_, 0, CookieVerf{}, 512));
  ASSERT_EQ(page.status, NFS3_OK);
  ASSERT_FALSE(page.eof);
  ASSERT_GT(page.entries.size(), 2u);
  std::multiset<std::string> seen;
  for (const DirEntry& e : page.entries) seen.insert(e.name);
  const DirEntry& last = page.entries.back();
  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, client().Remove(dir_, last.name));
  ASSERT_EQ(removed.status, NFS3_OK);

  uint64_t cookie = last.cookie;
  CookieVerf verf = page.cookieverf;
  for (bool eof = false; !eof;) {
    ASSERT_OK_AND_ASSIGN(ReaddirReply r, client().Readdir(dir_, cookie, verf, 512));
    ASSERT_EQ(r.status, NFS3_OK) << "continuing from cookie " << cookie;
    for (const DirEntry& e : r.entries) seen.insert(e.name);
    if (!r.entries.empty()) cookie = r.entries.back().cookie;
    verf = r.cookieverf;
    eof = r.eof;
  }
  EXPECT_EQ(seen.size(), size_t{kFiles} + 2);  // each name once, the removed one included
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(seen.count("f" + std::to_string(i)), 1u) << i;
}

TEST_F(Nfs3ProcedureTest, ReaddirplusReturnsAttributesAndHandles) {
  ASSERT_OK(MakeFile(client(), dir_, "file", 0600, "12345"));
  ASSERT_OK(MakeDir(client(), dir_, "sub"));
  ASSERT_OK_AND_ASSIGN(ReaddirReply r, client().Readdirplus(dir_, 0, CookieVerf{}, 4096, 65536));
  ASSERT_EQ(r.status, NFS3_OK);
  EXPECT_TRUE(r.eof);
  std::set<std::string> names;
  for (const DirEntry& e : r.entries) {
    names.insert(e.name);
    ASSERT_TRUE(HasAttrs(e.attributes)) << e.name;
    ASSERT_TRUE(e.has_fh) << e.name;
    EXPECT_EQ(AttrsOf(e.attributes).fileid, e.fileid) << e.name;
    ASSERT_OK_AND_ASSIGN(fattr3 by_handle, GetAttrs(client(), e.fh));
    EXPECT_EQ(by_handle.fileid, e.fileid) << e.name;
    if (e.name == "file") {
      EXPECT_EQ(by_handle.type, NF3REG);
      EXPECT_EQ(by_handle.size, 5u);
      EXPECT_EQ(by_handle.mode, 0600u);
    }
    if (e.name == "sub") {
      EXPECT_EQ(by_handle.type, NF3DIR);
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "file", "sub"}));
}

TEST_F(Nfs3ProcedureTest, FsstatReportsConsistentSpace) {
  ASSERT_OK_AND_ASSIGN(FSSTAT3res r, client().Fsstat(root_));
  ASSERT_EQ(r.status, NFS3_OK);
  const FSSTAT3resok& s = r.FSSTAT3res_u.resok;
  EXPECT_TRUE(HasAttrs(s.obj_attributes));
  EXPECT_GT(s.tbytes, 0u);
  EXPECT_LE(s.fbytes, s.tbytes);
  EXPECT_LE(s.abytes, s.fbytes);
  EXPECT_LE(s.ffiles, s.tfiles);
  EXPECT_LE(s.afiles, s.ffiles);
}

TEST_F(Nfs3ProcedureTest, FsinfoAllowsMegabyteTransfers) {
  ASSERT_OK_AND_ASSIGN(FSINFO3res r, client().Fsinfo(root_));
  ASSERT_EQ(r.status, NFS3_OK);
  const FSINFO3resok& f = r.FSINFO3res_u.resok;
  EXPECT_TRUE(HasAttrs(f.obj_attributes));
  EXPECT_GE(f.rtmax, kMiB);
  EXPECT_GE(f.wtmax, kMiB);
  EXPECT_GT(f.rtpref, 0u);
  EXPECT_LE(f.rtpref, f.rtmax);
  EXPECT_GT(f.wtpref, 0u);
  EXPECT_LE(f.wtpref, f.wtmax);
  EXPECT_GT(f.dtpref, 0u);
  EXPECT_GE(f.maxfilesize, uint64_t{1} << 40);
  EXPECT_EQ(f.properties & (FSF3_LINK | FSF3_SYMLINK | FSF3_CANSETTIME),
            uint32_t{FSF3_LINK | FSF3_SYMLINK | FSF3_CANSETTIME});
}

TEST_F(Nfs3ProcedureTest, PathconfReportsNameLimits) {
  ASSERT_OK_AND_ASSIGN(PATHCONF3res r, client().Pathconf(root_));
  ASSERT_EQ(r.status, NFS3_OK);
  const PATHCONF3resok& p = r.PATHCONF3res_u.resok;
  EXPECT_TRUE(HasAttrs(p.obj_attributes));
  EXPECT_EQ(p.name_max, 255u);
  EXPECT_TRUE(p.no_trunc);
  EXPECT_GE(p.linkmax, 2u);
  EXPECT_FALSE(p.case_insensitive);
  EXPECT_TRUE(p.case_preserving);
}

TEST_F(Nfs3ProcedureTest, CommitVerifierMatchesWriteVerifier) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file"));
  ASSERT_OK_AND_ASSIGN(WRITE3res w1, client().Write(file, 0, std::string(4096, 'a'), UNSTABLE));
  ASSERT_OK_AND_ASSIGN(WRITE3res w2, client().Write(file, 4096, std::string(4096, 'b'), UNSTABLE));
  ASSERT_EQ(w1.status, NFS3_OK);
  ASSERT_EQ(w2.status, NFS3_OK);
  EXPECT_EQ(VerfOf(w1.WRITE3res_u.resok), VerfOf(w2.WRITE3res_u.resok));

  ASSERT_OK_AND_ASSIGN(COMMIT3res c, client().Commit(file, 0, 0));
  ASSERT_EQ(c.status, NFS3_OK);
  EXPECT_EQ(VerfOf(c.COMMIT3res_u.resok), VerfOf(w1.WRITE3res_u.resok));
  ExpectFullWcc(c.COMMIT3res_u.resok.file_wcc, "COMMIT");
  EXPECT_EQ(AttrsOf(c.COMMIT3res_u.resok.file_wcc.after).size, 8192u);
}

// ---- NFSv3: error statuses ----

class Nfs3ErrorTest : public ServerTest<Nfs3ErrorTest> {};

TEST_F(Nfs3ErrorTest, MissingNamesAreNoent) {
  ASSERT_OK_AND_ASSIGN(LookupReply lookup, client().Lookup(dir_, "missing"));
  EXPECT_EQ(lookup.status, NFS3ERR_NOENT);
  EXPECT_TRUE(HasAttrs(lookup.dir_attributes));
  ASSERT_OK_AND_ASSIGN(REMOVE3res remove, client().Remove(dir_, "missing"));
  EXPECT_EQ(remove.status, NFS3ERR_NOENT);
  ASSERT_OK_AND_ASSIGN(RMDIR3res rmdir, client().Rmdir(dir_, "missing"));
  EXPECT_EQ(rmdir.status, NFS3ERR_NOENT);
  ASSERT_OK_AND_ASSIGN(RENAME3res rename, client().Rename(dir_, "missing", dir_, "other"));
  EXPECT_EQ(rename.status, NFS3ERR_NOENT);
}

TEST_F(Nfs3ErrorTest, TakenNamesAreExist) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "taken"));
  ASSERT_OK_AND_ASSIGN(CreatedReply create,
                       client().Create(dir_, "taken", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(create.status, NFS3ERR_EXIST);
  ASSERT_OK_AND_ASSIGN(CreatedReply mkdir, client().Mkdir(dir_, "taken", ModeAttrs(0755)));
  EXPECT_EQ(mkdir.status, NFS3ERR_EXIST);
  ASSERT_OK_AND_ASSIGN(CreatedReply symlink, client().Symlink(dir_, "taken", "x", NoAttrs()));
  EXPECT_EQ(symlink.status, NFS3ERR_EXIST);
  ASSERT_OK_AND_ASSIGN(CreatedReply mknod, client().Mknod(dir_, "taken", NF3FIFO, NoAttrs()));
  EXPECT_EQ(mknod.status, NFS3ERR_EXIST);
  ASSERT_OK_AND_ASSIGN(LINK3res link, client().Link(file, dir_, "taken"));
  EXPECT_EQ(link.status, NFS3ERR_EXIST);
}

TEST_F(Nfs3ErrorTest, FilesUsedAsDirectoriesAreNotdir) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file"));
  ASSERT_OK_AND_ASSIGN(LookupReply lookup, client().Lookup(file, "x"));
  EXPECT_EQ(lookup.status, NFS3ERR_NOTDIR);
  ASSERT_OK_AND_ASSIGN(CreatedReply create, client().Create(file, "x", GUARDED, NoAttrs()));
  EXPECT_EQ(create.status, NFS3ERR_NOTDIR);
  ASSERT_OK_AND_ASSIGN(RMDIR3res rmdir, client().Rmdir(dir_, "file"));
  EXPECT_EQ(rmdir.status, NFS3ERR_NOTDIR);
  ASSERT_OK_AND_ASSIGN(ReaddirReply readdir, client().Readdir(file, 0, CookieVerf{}, 4096));
  EXPECT_EQ(readdir.status, NFS3ERR_NOTDIR);
}

TEST_F(Nfs3ErrorTest, DirectoriesUsedAsFilesAreIsdir) {
  ASSERT_OK_AND_ASSIGN(FileHandle sub, MakeDir(client(), dir_, "sub"));
  ASSERT_OK_AND_ASSIGN(REMOVE3res remove, client().Remove(dir_, "sub"));
  EXPECT_EQ(remove.status, NFS3ERR_ISDIR);
  ASSERT_OK_AND_ASSIGN(WRITE3res write, client().Write(sub, 0, "x", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3ERR_ISDIR);
  ASSERT_OK_AND_ASSIGN(ReadReply read, client().Read(sub, 0, 10));
  EXPECT_EQ(read.status, NFS3ERR_ISDIR);
  sattr3 size = NoAttrs();
  size.size.set_it = 1;
  size.size.set_size3_u.size = 0;
  ASSERT_OK_AND_ASSIGN(SETATTR3res truncate, client().Setattr(sub, size));
  EXPECT_EQ(truncate.status, NFS3ERR_ISDIR);
}

TEST_F(Nfs3ErrorTest, RmdirOfNonEmptyDirectoryIsNotempty) {
  ASSERT_OK_AND_ASSIGN(FileHandle sub, MakeDir(client(), dir_, "sub"));
  ASSERT_OK(MakeFile(client(), sub, "inside"));
  ASSERT_OK_AND_ASSIGN(RMDIR3res r, client().Rmdir(dir_, "sub"));
  EXPECT_EQ(r.status, NFS3ERR_NOTEMPTY);
  ExpectFullWcc(r.RMDIR3res_u.resfail.dir_wcc, "RMDIR NOTEMPTY");
  ASSERT_OK_AND_ASSIGN(LookupReply still, client().Lookup(dir_, "sub"));
  EXPECT_EQ(still.status, NFS3_OK);
}

TEST_F(Nfs3ErrorTest, NonOwnerWithoutPermissionIsAcces) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> owner, Connect(2000, 2000));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> other, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(FileHandle shared, MakeFile(*owner, dir_, "shared", 0644, "owner data"));
  ASSERT_OK_AND_ASSIGN(FileHandle secret, MakeFile(*owner, dir_, "secret", 0600, "secret"));

  ASSERT_OK_AND_ASSIGN(WRITE3res write, other->Write(shared, 0, "intruder", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3ERR_ACCES);
  EXPECT_TRUE(HasAttrs(write.WRITE3res_u.resfail.file_wcc.after));
  sattr3 truncate = NoAttrs();
  truncate.size.set_it = 1;
  truncate.size.set_size3_u.size = 0;
  ASSERT_OK_AND_ASSIGN(SETATTR3res setattr, other->Setattr(shared, truncate));
  EXPECT_EQ(setattr.status, NFS3ERR_ACCES);
  ASSERT_OK_AND_ASSIGN(ReadReply read_secret, other->Read(secret, 0, 100));
  EXPECT_EQ(read_secret.status, NFS3ERR_ACCES);
  // Only the owner may chmod or set times: that is PERM, not ACCES. Setting them to "now" needs
  // write permission, which is ACCES again.
  ASSERT_OK_AND_ASSIGN(SETATTR3res chmod, other->Setattr(shared, ModeAttrs(0666)));
  EXPECT_EQ(chmod.status, NFS3ERR_PERM);
  // Issue 11 (pjdfstest chown/07): so is a chown naming the current owner or group.
  sattr3 same_owner = NoAttrs();
  same_owner.uid.set_it = 1;
  same_owner.uid.set_uid3_u.uid = 2000;
  ASSERT_OK_AND_ASSIGN(SETATTR3res chown, other->Setattr(shared, same_owner));
  EXPECT_EQ(chown.status, NFS3ERR_PERM);
  sattr3 same_group = NoAttrs();
  same_group.gid.set_it = 1;
  same_group.gid.set_gid3_u.gid = 2000;
  ASSERT_OK_AND_ASSIGN(SETATTR3res chgrp, other->Setattr(shared, same_group));
  EXPECT_EQ(chgrp.status, NFS3ERR_PERM);
  ASSERT_OK_AND_ASSIGN(SETATTR3res own_chown, owner->Setattr(shared, same_owner));
  EXPECT_EQ(own_chown.status, NFS3_OK);
  sattr3 client_time = NoAttrs();
  client_time.mtime.set_it = SET_TO_CLIENT_TIME;
  client_time.mtime.set_mtime_u.mtime = {1'000'000'000, 0};
  ASSERT_OK_AND_ASSIGN(SETATTR3res utimes, other->Setattr(shared, client_time));
  EXPECT_EQ(utimes.status, NFS3ERR_PERM);
  sattr3 server_time = NoAttrs();
  server_time.mtime.set_it = SET_TO_SERVER_TIME;
  ASSERT_OK_AND_ASSIGN(SETATTR3res touch, other->Setattr(shared, server_time));
  EXPECT_EQ(touch.status, NFS3ERR_ACCES);

  // Reading a world-readable file is fine, and nothing changed it.
  ASSERT_OK_AND_ASSIGN(ReadReply read_shared, other->Read(shared, 0, 100));
  ASSERT_EQ(read_shared.status, NFS3_OK);
  EXPECT_EQ(read_shared.data, "owner data");

  // Creating in a directory without write permission.
  ASSERT_OK_AND_ASSIGN(FileHandle closed, MakeDir(*owner, dir_, "closed", 0755));
  ASSERT_OK_AND_ASSIGN(CreatedReply create, other->Create(closed, "x", GUARDED, NoAttrs()));
  EXPECT_EQ(create.status, NFS3ERR_ACCES);
}

// The share root is 1777: only an entry's owner (or the directory's, or root) may remove it.
TEST_F(Nfs3ErrorTest, StickyDirectoryProtectsOthersEntries) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> owner, Connect(2000, 2000));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> other, Connect(1000, 1000));
  const std::string name = TestName() + "-file";
  ASSERT_OK(MakeFile(*owner, root_, name, 0666));
  ASSERT_OK_AND_ASSIGN(REMOVE3res denied, other->Remove(root_, name));
  EXPECT_EQ(denied.status, NFS3ERR_ACCES);
  ASSERT_OK_AND_ASSIGN(RENAME3res rename, other->Rename(root_, name, root_, name + "-2"));
  EXPECT_EQ(rename.status, NFS3ERR_ACCES);
  ASSERT_OK_AND_ASSIGN(REMOVE3res allowed, owner->Remove(root_, name));
  EXPECT_EQ(allowed.status, NFS3_OK);
}

TEST_F(Nfs3ErrorTest, NameOf256BytesIsNametoolong) {
  const std::string too_long(256, 'n');
  const std::string longest(255, 'n');
  ASSERT_OK_AND_ASSIGN(CreatedReply create, client().Create(dir_, too_long, GUARDED, NoAttrs()));
  EXPECT_EQ(create.status, NFS3ERR_NAMETOOLONG);
  ASSERT_OK_AND_ASSIGN(CreatedReply mkdir, client().Mkdir(dir_, too_long, NoAttrs()));
  EXPECT_EQ(mkdir.status, NFS3ERR_NAMETOOLONG);
  ASSERT_OK_AND_ASSIGN(LookupReply lookup, client().Lookup(dir_, too_long));
  EXPECT_EQ(lookup.status, NFS3ERR_NAMETOOLONG);

  ASSERT_OK_AND_ASSIGN(CreatedReply fits, client().Create(dir_, longest, GUARDED, NoAttrs()));
  EXPECT_EQ(fits.status, NFS3_OK);
}

TEST_F(Nfs3ErrorTest, SizesPastTheLargestFileAreFbig) {
  constexpr uint64_t kLargest = (uint64_t{1} << 63) - 1;  // FSINFO maxfilesize
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file"));
  ASSERT_OK_AND_ASSIGN(WRITE3res write, client().Write(file, kLargest, "x", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3ERR_FBIG);
  sattr3 size = NoAttrs();
  size.size.set_it = 1;
  size.size.set_size3_u.size = kLargest + 1;
  ASSERT_OK_AND_ASSIGN(SETATTR3res setattr, client().Setattr(file, size));
  EXPECT_EQ(setattr.status, NFS3ERR_FBIG);
  ASSERT_OK_AND_ASSIGN(fattr3 attrs, GetAttrs(client(), file));
  EXPECT_EQ(attrs.size, 0u);
}

TEST_F(Nfs3ErrorTest, HandleOfRemovedObjectIsStale) {
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file", 0644, "x"));
  ASSERT_OK_AND_ASSIGN(FileHandle sub, MakeDir(client(), dir_, "sub"));
  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, client().Remove(dir_, "file"));
  ASSERT_EQ(removed.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(RMDIR3res rmdired, client().Rmdir(dir_, "sub"));
  ASSERT_EQ(rmdired.status, NFS3_OK);

  ASSERT_OK_AND_ASSIGN(GETATTR3res getattr, client().Getattr(file));
  EXPECT_EQ(getattr.status, NFS3ERR_STALE);
  ASSERT_OK_AND_ASSIGN(ReadReply read, client().Read(file, 0, 10));
  EXPECT_EQ(read.status, NFS3ERR_STALE);
  ASSERT_OK_AND_ASSIGN(WRITE3res write, client().Write(file, 0, "y", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3ERR_STALE);
  ASSERT_OK_AND_ASSIGN(LookupReply lookup, client().Lookup(sub, "x"));
  EXPECT_EQ(lookup.status, NFS3ERR_STALE);

  // A handle naming another share, made by changing the share id: its MAC no longer matches.
  FileHandle foreign = root_;
  foreign[4] = static_cast<char>(0x7f);
  ASSERT_OK_AND_ASSIGN(GETATTR3res other_share, client().Getattr(foreign));
  EXPECT_EQ(other_share.status, NFS3ERR_BADHANDLE);
  // An unsigned handle of the format before handles were signed (version 1, 20 bytes): stale,
  // so that a client that mounted before the upgrade looks its files up again.
  FileHandle unsigned_v1(20, '\0');
  unsigned_v1[0] = 1;
  unsigned_v1.replace(4, 16, root_.substr(4, 16));
  ASSERT_OK_AND_ASSIGN(GETATTR3res v1, client().Getattr(unsigned_v1));
  EXPECT_EQ(v1.status, NFS3ERR_STALE);
}

// Issue 11: inode ids and generations are small and sequential, so without a MAC a client that
// may not search a directory could name its children by guessing handles near its own.
TEST_F(Nfs3ErrorTest, HandlesNearOnesOwnCannotBeForged) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> owner, Connect(2000, 2000));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> attacker, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(FileHandle closed, MakeDir(*owner, dir_, "closed", 0700));
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(MakeFile(*owner, closed, "secret" + std::to_string(i), 0644, "secret").status());
  }
  ASSERT_OK_AND_ASSIGN(FileHandle mine, MakeFile(*attacker, dir_, "mine", 0644, "mine"));
  ASSERT_OK_AND_ASSIGN(LookupReply denied, attacker->Lookup(closed, "secret0"));
  ASSERT_EQ(denied.status, NFS3ERR_ACCES);
  // Version 3 (nfs/common/file_handle.h): version, share at 1, inode at 5, generation at 13,
  // the MAC at 17.
  ASSERT_EQ(mine.size(), 28u) << "handle layout changed; update the offsets below";

  auto be64 = [](const FileHandle& h, size_t at) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(h[at + i]);
    return v;
  };
  auto put = [](FileHandle& h, size_t at, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) h[at + n - 1 - i] = static_cast<char>(v >> (8 * i));
  };
  const uint64_t inode = be64(mine, 5);
  const uint64_t generation = be64(mine, 9) & 0xffffffff;
  // 100,000 handles: inode ids within 50 of one's own, generations within 500, the rest of the
  // handle (share id, MAC) copied from one's own handle; every tenth with a fresh MAC guess.
  uint64_t tried = 0, answered_ok = 0, other = 0;
  uint32_t guess = 12345;
  for (int64_t di = -50; di <= 50 && tried < 100000; ++di) {
    for (int64_t dg = -500; dg < 500 && tried < 100000; ++dg) {
      if (di == 0 && dg == 0) continue;
      FileHandle forged = mine;
      put(forged, 5, inode + static_cast<uint64_t>(di), 8);
      put(forged, 13, static_cast<uint32_t>(generation + static_cast<uint64_t>(dg)), 4);
      if (tried % 10 == 0) {
        guess = guess * 1103515245 + 12345;
        put(forged, 17, guess, 4);
      }
      ++tried;
      ASSERT_OK_AND_ASSIGN(GETATTR3res r, attacker->Getattr(forged));
      if (r.status == NFS3_OK) ++answered_ok;
      if (r.status != NFS3ERR_BADHANDLE && r.status != NFS3ERR_STALE) ++other;
    }
  }
  EXPECT_EQ(tried, 100000u);
  EXPECT_EQ(answered_ok, 0u) << "forged handles reached files";
  EXPECT_EQ(other, 0u) << "forged handles got answers other than BADHANDLE or STALE";
  // One's own handle still works.
  ASSERT_OK_AND_ASSIGN(GETATTR3res own, attacker->Getattr(mine));
  EXPECT_EQ(own.status, NFS3_OK);
}

TEST_F(Nfs3ErrorTest, GarbageHandleIsBadhandle) {
  const FileHandle garbage("\x13garbag", 7);
  ASSERT_OK_AND_ASSIGN(GETATTR3res getattr, client().Getattr(garbage));
  EXPECT_EQ(getattr.status, NFS3ERR_BADHANDLE);
  ASSERT_OK_AND_ASSIGN(LookupReply lookup, client().Lookup(garbage, "x"));
  EXPECT_EQ(lookup.status, NFS3ERR_BADHANDLE);
  ASSERT_OK_AND_ASSIGN(ReadReply read, client().Read(garbage, 0, 10));
  EXPECT_EQ(read.status, NFS3ERR_BADHANDLE);
  ASSERT_OK_AND_ASSIGN(CreatedReply create, client().Create(garbage, "x", GUARDED, NoAttrs()));
  EXPECT_EQ(create.status, NFS3ERR_BADHANDLE);
}

// Nothing in the server answers NFS3ERR_NOTSUPP for NFSv3 (every procedure is implemented),
// so this covers the nearest case: RFC 1813 §3.3.11 says MKNOD of a type it does not make is
// NFS3ERR_BADTYPE.
TEST_F(Nfs3ErrorTest, MknodOfNonSpecialTypeIsBadtype) {
  for (ftype3 type : {NF3REG, NF3DIR, NF3LNK}) {
    ASSERT_OK_AND_ASSIGN(CreatedReply r, client().Mknod(dir_, "node", type, NoAttrs()));
    EXPECT_EQ(r.status, NFS3ERR_BADTYPE) << "type " << int{type};
  }
  ASSERT_OK_AND_ASSIGN(LookupReply none, client().Lookup(dir_, "node"));
  EXPECT_EQ(none.status, NFS3ERR_NOENT);
}

// ---- Share options: squashing, read-only shares, share boundaries ----

class ShareOptionsTest : public ServerTest<ShareOptionsTest> {
 public:
  static DfsOptions Options() {
    DfsOptions o;
    o.shares.push_back(DfsShare{.name = "/squashed", .squash = "root_to_guest"});
    o.shares.push_back(DfsShare{.name = "/anonymous", .squash = "all_to_guest"});
    o.shares.push_back(DfsShare{.name = "/readonly", .read_only = true});
    return o;
  }

 protected:
  static constexpr uint32_t kGuest = 65534;

  Result<FileHandle> RootOf(RawNfsClient& c, const std::string& share) {
    ASSIGN_OR_RETURN(MntReply mnt, c.Mnt(share));
    if (mnt.status != MNT3_OK) return Status(Errc::kIo, "MNT " + share + " failed");
    return mnt.fh;
  }
};

TEST_F(ShareOptionsTest, RootIsSquashedToGuest) {
  ASSERT_OK_AND_ASSIGN(FileHandle root, RootOf(client(), "/squashed"));
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), root, "by-root"));
  ASSERT_OK_AND_ASSIGN(fattr3 attrs, GetAttrs(client(), file));
  EXPECT_EQ(attrs.uid, kGuest);
  EXPECT_EQ(attrs.gid, kGuest);
  // Squashed root is no longer allowed what only root may do.
  ASSERT_OK_AND_ASSIGN(CreatedReply dev,
                       client().Mknod(root, "null", NF3CHR, ModeAttrs(0666), specdata3{1, 3}));
  EXPECT_EQ(dev.status, NFS3ERR_PERM);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> user, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(FileHandle mine, MakeFile(*user, root, "by-user"));
  ASSERT_OK_AND_ASSIGN(fattr3 user_attrs, GetAttrs(client(), mine));
  EXPECT_EQ(user_attrs.uid, 1000u);
}

TEST_F(ShareOptionsTest, EveryoneIsSquashedToGuest) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> user, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(FileHandle root, RootOf(*user, "/anonymous"));
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(*user, root, "by-user"));
  ASSERT_OK_AND_ASSIGN(fattr3 attrs, GetAttrs(*user, file));
  EXPECT_EQ(attrs.uid, kGuest);
  EXPECT_EQ(attrs.gid, kGuest);
}

TEST_F(ShareOptionsTest, ReadOnlyShareRefusesChangesWithRofs) {
  ASSERT_OK_AND_ASSIGN(FileHandle root, RootOf(client(), "/readonly"));
  ASSERT_OK_AND_ASSIGN(CreatedReply create, client().Create(root, "f", GUARDED, NoAttrs()));
  EXPECT_EQ(create.status, NFS3ERR_ROFS);
  ASSERT_OK_AND_ASSIGN(CreatedReply mkdir, client().Mkdir(root, "d", NoAttrs()));
  EXPECT_EQ(mkdir.status, NFS3ERR_ROFS);
  ASSERT_OK_AND_ASSIGN(CreatedReply symlink, client().Symlink(root, "l", "x", NoAttrs()));
  EXPECT_EQ(symlink.status, NFS3ERR_ROFS);
  ASSERT_OK_AND_ASSIGN(SETATTR3res setattr, client().Setattr(root, ModeAttrs(0755)));
  EXPECT_EQ(setattr.status, NFS3ERR_ROFS);
  ASSERT_OK_AND_ASSIGN(ACCESS3res access,
                       client().Access(root, ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_LOOKUP));
  ASSERT_EQ(access.status, NFS3_OK);
  EXPECT_EQ(access.ACCESS3res_u.resok.access, uint32_t{ACCESS3_READ | ACCESS3_LOOKUP});
  ASSERT_OK_AND_ASSIGN(ReaddirReply list, client().Readdir(root, 0, CookieVerf{}, 4096));
  EXPECT_EQ(list.status, NFS3_OK);
}

TEST_F(ShareOptionsTest, RenameAndLinkAcrossSharesAreXdev) {
  ASSERT_OK_AND_ASSIGN(FileHandle other_root, RootOf(client(), "/squashed"));
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "file"));
  ASSERT_OK_AND_ASSIGN(RENAME3res rename, client().Rename(dir_, "file", other_root, "file"));
  EXPECT_EQ(rename.status, NFS3ERR_XDEV);
  ASSERT_OK_AND_ASSIGN(LINK3res link, client().Link(file, other_root, "file"));
  EXPECT_EQ(link.status, NFS3ERR_XDEV);
}

// ---- Access policy: client networks and permission levels ----

class SharePolicyTest : public ServerTest<SharePolicyTest> {
 public:
  static DfsOptions Options() {
    DfsOptions o;
    o.shares.push_back(DfsShare{.name = "/denied", .denied_clients = {"127.0.0.0/8"}});
    o.shares.push_back(DfsShare{.name = "/elsewhere", .allowed_clients = {"10.0.0.0/8"}});
    o.shares.push_back(DfsShare{.name = "/readers", .default_permission = "read"});
    o.shares.push_back(DfsShare{.name = "/nobody", .default_permission = "none"});
    o.shares.push_back(DfsShare{.name = "/rooted", .squash = "all_to_admin"});
    return o;
  }
};

TEST_F(SharePolicyTest, ClientsOutsideTheAllowedNetworksCannotMount) {
  for (const char* share : {"/denied", "/elsewhere", "/nobody"}) {
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client().Mnt(share));
    EXPECT_EQ(mnt.status, MNT3ERR_ACCES) << share;
  }
  // A handle obtained elsewhere is refused too, on every call.
  ASSERT_OK_AND_ASSIGN(MntReply ok, client().Mnt("/export"));
  ASSERT_EQ(ok.status, MNT3_OK);
}

TEST_F(SharePolicyTest, ReadPermissionAllowsReadsOnly) {
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client().Mnt("/readers"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(GETATTR3res attr, client().Getattr(mnt.fh));
  EXPECT_EQ(attr.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply create, client().Create(mnt.fh, "f", GUARDED, NoAttrs()));
  EXPECT_EQ(create.status, NFS3ERR_ACCES);
  ASSERT_OK_AND_ASSIGN(CreatedReply mkdir, client().Mkdir(mnt.fh, "d", NoAttrs()));
  EXPECT_EQ(mkdir.status, NFS3ERR_ACCES);
  ASSERT_OK_AND_ASSIGN(ACCESS3res access, client().Access(mnt.fh, ACCESS3_READ | ACCESS3_MODIFY));
  ASSERT_EQ(access.status, NFS3_OK);
  EXPECT_EQ(access.ACCESS3res_u.resok.access, uint32_t{ACCESS3_READ});
}

TEST_F(SharePolicyTest, AllToAdminMakesEveryoneRoot) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> user, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, user->Mnt("/rooted"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(*user, mnt.fh, "f"));
  ASSERT_OK_AND_ASSIGN(fattr3 attrs, GetAttrs(*user, file));
  EXPECT_EQ(attrs.uid, 0u);
  EXPECT_EQ(attrs.gid, 0u);
}

// ---- Directory listing at scale ----

class BigDirectoryTest : public ServerTest<BigDirectoryTest> {
 public:
  static constexpr int kEntries = 10'000;

  static std::string EntryName(int i) {
    char name[32];
    std::snprintf(name, sizeof(name), "entry-%05d", i);
    return name;
  }

  // Fills one directory for the whole suite, with many CREATEs in flight at once.
  static void SetUpTestSuite() {
    ServerTest::SetUpTestSuite();
    if (server_ == nullptr) return;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> c, Connect(kRootUid, kRootUid));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, c->Mnt(kShare));
    ASSERT_EQ(mnt.status, MNT3_OK);
    ASSERT_OK_AND_ASSIGN(big_, MakeDir(*c, mnt.fh, "big"));

    std::vector<nfsstat3> statuses(kEntries, NFS3ERR_SERVERFAULT);
    const FileHandle& dir = big_;
    for (int i = 0; i < kEntries; ++i) {
      std::string name = EntryName(i);
      ASSERT_OK(c->Submit(
          [&dir, name](rpc_context* rpc, rpc_cb cb, void* p) {
            CREATE3args args{};
            args.where.dir = ToFh3(dir);
            args.where.name = const_cast<char*>(name.c_str());
            args.how.mode = GUARDED;
            args.how.createhow3_u.obj_attributes = ModeAttrs(0644);
            return rpc_nfs3_create_async(rpc, cb, &args, p);
          },
          [&statuses, i](void* reply) { statuses[i] = static_cast<CREATE3res*>(reply)->status; }));
      ASSERT_OK(c->Drain(64));
    }
    ASSERT_OK(c->Drain(0));
    ASSERT_EQ(std::count(statuses.begin(), statuses.end(), NFS3_OK), kEntries);
  }

  // What a complete listing must satisfy, however many calls it took.
  struct Listing {
    std::map<std::string, int> times_seen;
    std::set<uint64_t> cookies;
    int duplicate_cookies = 0;
    int without_attrs = 0;
    int without_handle = 0;
    int calls = 0;
  };

  static void ExpectComplete(const Listing& l, bool plus) {
    int missing = 0, repeated = 0;
    std::string first_problem;
    for (int i = 0; i < kEntries; ++i) {
      auto it = l.times_seen.find(EntryName(i));
      int n = it == l.times_seen.end() ? 0 : it->second;
      if (n == 0) ++missing;
      if (n > 1) ++repeated;
      if (n != 1 && first_problem.empty()) {
        first_problem = EntryName(i) + " seen " + std::to_string(n) + " times";
      }
    }
    EXPECT_EQ(missing, 0) << first_problem;
    EXPECT_EQ(repeated, 0) << first_problem;
    EXPECT_EQ(l.times_seen.size(), size_t{kEntries} + 2);  // and "." and ".."
    EXPECT_EQ(l.times_seen.count("."), 1u);
    EXPECT_EQ(l.times_seen.count(".."), 1u);
    EXPECT_EQ(l.duplicate_cookies, 0);
    if (plus) {
      EXPECT_EQ(l.without_attrs, 0);
      EXPECT_EQ(l.without_handle, 0);
    }
  }

  static inline FileHandle big_;
};

TEST_F(BigDirectoryTest, ReaddirplusReturnsEveryEntryOnceOverManyCalls) {
  Listing listing;
  uint64_t cookie = 0;
  CookieVerf verf{};
  for (bool eof = false; !eof;) {
    ASSERT_LT(listing.calls, kEntries) << "READDIRPLUS never reached eof";
    ASSERT_OK_AND_ASSIGN(ReaddirReply r, client().Readdirplus(big_, cookie, verf, 8192, 32768));
    ++listing.calls;
    ASSERT_EQ(r.status, NFS3_OK) << "call " << listing.calls << " from cookie " << cookie;
    if (listing.calls > 1) {
      EXPECT_EQ(r.cookieverf, verf) << "cookieverf changed mid-listing";
    }
    ASSERT_TRUE(r.eof || !r.entries.empty()) << "an empty reply that is not eof";
    for (const DirEntry& e : r.entries) {
      ++listing.times_seen[e.name];
      if (!listing.cookies.insert(e.cookie).second) ++listing.duplicate_cookies;
      if (!HasAttrs(e.attributes)) ++listing.without_attrs;
      if (!e.has_fh) ++listing.without_handle;
    }
    if (!r.entries.empty()) cookie = r.entries.back().cookie;
    verf = r.cookieverf;
    eof = r.eof;
  }
  ExpectComplete(listing, /*plus=*/true);
  EXPECT_GT(listing.calls, 10) << "dircount 8192 cannot hold 10,000 entries in so few replies";
  RecordProperty("readdirplus_calls", listing.calls);
  std::printf("READDIRPLUS (dircount 8192, maxcount 32768): %d entries in %d calls\n", kEntries + 2,
              listing.calls);
}

TEST_F(BigDirectoryTest, ReaddirWithSmallCountReturnsEveryEntryOnce) {
  Listing listing;
  uint64_t cookie = 0;
  CookieVerf verf{};
  for (bool eof = false; !eof;) {
    ASSERT_LT(listing.calls, 4 * kEntries) << "READDIR never reached eof";
    ASSERT_OK_AND_ASSIGN(ReaddirReply r, client().Readdir(big_, cookie, verf, 1024));
    ++listing.calls;
    ASSERT_EQ(r.status, NFS3_OK) << "call " << listing.calls << " from cookie " << cookie;
    if (listing.calls > 1) {
      EXPECT_EQ(r.cookieverf, verf) << "cookieverf changed mid-listing";
    }
    ASSERT_TRUE(r.eof || !r.entries.empty()) << "an empty reply that is not eof";
    for (const DirEntry& e : r.entries) {
      ++listing.times_seen[e.name];
      if (!listing.cookies.insert(e.cookie).second) ++listing.duplicate_cookies;
    }
    if (!r.entries.empty()) cookie = r.entries.back().cookie;
    verf = r.cookieverf;
    eof = r.eof;
  }
  ExpectComplete(listing, /*plus=*/false);
  EXPECT_GT(listing.calls, 100) << "count 1024 cannot hold 10,000 entries in so few replies";
  RecordProperty("readdir_calls", listing.calls);
  std::printf("READDIR (count 1024): %d entries in %d calls\n", kEntries + 2, listing.calls);
}

TEST_F(BigDirectoryTest, ReaddirRejectsAForeignCookieverf) {
  ASSERT_OK_AND_ASSIGN(ReaddirReply first, client().Readdir(big_, 0, CookieVerf{}, 1024));
  ASSERT_EQ(first.status, NFS3_OK);
  ASSERT_FALSE(first.entries.empty());
  CookieVerf wrong = first.cookieverf;
  wrong[0] = static_cast<char>(wrong[0] ^ 0x5a);
  ASSERT_OK_AND_ASSIGN(ReaddirReply r,
                       client().Readdir(big_, first.entries.back().cookie, wrong, 1024));
  EXPECT_EQ(r.status, NFS3ERR_BAD_COOKIE);
}

TEST_F(BigDirectoryTest, ReaddirWithCountTooSmallForOneEntryIsToosmall) {
  ASSERT_OK_AND_ASSIGN(ReaddirReply r, client().Readdir(big_, 0, CookieVerf{}, 16));
  EXPECT_EQ(r.status, NFS3ERR_TOOSMALL);
}

TEST_F(BigDirectoryTest, HighLevelListingSeesEveryEntry) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NfsMount> m,
                       NfsMount::Mount(server_->port(), kShare, kRootUid, kRootUid));
  nfsdir* d = nullptr;
  ASSERT_EQ(nfs_opendir(m->get(), "/big", &d), 0) << m->error();
  std::set<std::string> names;
  for (nfsdirent* e = nfs_readdir(m->get(), d); e != nullptr; e = nfs_readdir(m->get(), d)) {
    names.insert(e->name);
  }
  nfs_closedir(m->get(), d);
  EXPECT_EQ(names.size(), size_t{kEntries} + 2);
  EXPECT_EQ(names.count(EntryName(0)), 1u);
  EXPECT_EQ(names.count(EntryName(kEntries - 1)), 1u);
}

// ---- Large and concurrent I/O (block: localfs, so the data is on disk, not in memory) ----

class LargeIoTest : public ServerTest<LargeIoTest> {
 public:
  static DfsOptions Options() {
    DfsOptions o;
    o.shares[0].block = "localfs";
    return o;
  }
};

TEST_F(LargeIoTest, File256MiBRoundTripsWithUnstableWritesAndCommit) {
  constexpr uint64_t kSeed = 0x256;
  constexpr uint32_t kChunk = kMiB;
  constexpr int kChunks = 256;
  constexpr size_t kWindow = 8;  // calls in flight
  ASSERT_OK_AND_ASSIGN(FileHandle fh, MakeFile(client(), dir_, "big.bin"));

  std::vector<uint64_t> written(kChunks);
  std::vector<nfsstat3> write_status(kChunks, NFS3ERR_SERVERFAULT);
  std::vector<uint32_t> write_count(kChunks, 0);
  std::set<WriteVerf> write_verfs;
  for (int i = 0; i < kChunks; ++i) {
    // Shared with the call, which keeps it until the reply.
    auto data = std::make_shared<std::string>(MakeChunk(kSeed, i, kChunk));
    written[i] = Checksum(*data);
    ASSERT_OK(client().Submit(
        [&fh, data, i](rpc_context* rpc, rpc_cb cb, void* p) {
          WRITE3args args{};
          args.file = ToFh3(fh);
          args.offset = uint64_t{kChunk} * i;
          args.count = kChunk;
          args.stable = UNSTABLE;
          args.data.data_len = kChunk;
          args.data.data_val = data->data();
          return rpc_nfs3_write_async(rpc, cb, &args, p);
        },
        [&, data, i](void* reply) {
          const auto& r = *static_cast<const WRITE3res*>(reply);
          write_status[i] = r.status;
          if (r.status != NFS3_OK) return;
          write_count[i] = r.WRITE3res_u.resok.count;
          write_verfs.insert(VerfOf(r.WRITE3res_u.resok));
        }));
    ASSERT_OK(client().Drain(kWindow - 1));
  }
  ASSERT_OK(client().Drain(0));
  EXPECT_EQ(std::count(write_status.begin(), write_status.end(), NFS3_OK), kChunks);
  EXPECT_EQ(std::count(write_count.begin(), write_count.end(), kChunk), kChunks);

  ASSERT_OK_AND_ASSIGN(COMMIT3res commit, client().Commit(fh, 0, 0));
  ASSERT_EQ(commit.status, NFS3_OK);
  ASSERT_EQ(write_verfs.size(), 1u) << "the write verifier changed without a restart";
  EXPECT_EQ(VerfOf(commit.COMMIT3res_u.resok), *write_verfs.begin());
  ASSERT_OK_AND_ASSIGN(fattr3 attrs, GetAttrs(client(), fh));
  EXPECT_EQ(attrs.size, uint64_t{kChunk} * kChunks);

  std::vector<uint64_t> read(kChunks, 0);
  std::vector<nfsstat3> read_status(kChunks, NFS3ERR_SERVERFAULT);
  int wrong_eof = 0;
  for (int i = 0; i < kChunks; ++i) {
    ASSERT_OK(client().Submit(
        [&fh, i](rpc_context* rpc, rpc_cb cb, void* p) {
          READ3args args{};
          args.file = ToFh3(fh);
          args.offset = uint64_t{kChunk} * i;
          args.count = kChunk;
          return rpc_nfs3_read_async(rpc, cb, &args, p);
        },
        [&, i](void* reply) {
          const auto& r = *static_cast<const READ3res*>(reply);
          read_status[i] = r.status;
          if (r.status != NFS3_OK) return;
          const READ3resok& ok = r.READ3res_u.resok;
          read[i] = Checksum(std::string_view(ok.data.data_val, ok.data.data_len));
          if ((ok.eof != 0) != (i == kChunks - 1)) ++wrong_eof;
        }));
    ASSERT_OK(client().Drain(kWindow - 1));
  }
  ASSERT_OK(client().Drain(0));
  EXPECT_EQ(std::count(read_status.begin(), read_status.end(), NFS3_OK), kChunks);
  EXPECT_EQ(wrong_eof, 0);

  // The file's checksum: FNV over the chunks' checksums in file order.
  auto file_checksum = [](const std::vector<uint64_t>& chunks) {
    return Checksum(std::string_view(reinterpret_cast<const char*>(chunks.data()),
                                     chunks.size() * sizeof(uint64_t)));
  };
  EXPECT_EQ(file_checksum(read), file_checksum(written));
  for (int i = 0; i < kChunks; ++i) {
    if (read[i] != written[i]) {
      ADD_FAILURE() << "first differing MiB: " << i;
      break;
    }
  }
}

TEST_F(LargeIoTest, ShrinkForgetsData) { ExpectShrinkForgetsData(client(), dir_); }

// Writes `size` bytes of stream `seed` to `path` through the high-level API; returns the
// stream's checksum.
Result<uint64_t> WriteStream(uint16_t port, const std::string& path, uint64_t seed, uint64_t size) {
  ASSIGN_OR_RETURN(std::unique_ptr<NfsMount> m, NfsMount::Mount(port, kShare, 0, 0));
  nfsfh* fh = nullptr;
  if (nfs_create(m->get(), path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644, &fh) != 0) {
    return Status(Errc::kIo, "create " + path + ": " + m->error());
  }
  uint64_t h = kFnvOffsetBasis;
  Status s;
  for (uint64_t offset = 0, i = 0; offset < size && s.ok(); offset += kMiB, ++i) {
    std::string chunk = MakeChunk(seed, i, std::min<uint64_t>(kMiB, size - offset));
    h = Checksum(chunk, h);
    for (size_t done = 0; done < chunk.size();) {
      int n = nfs_pwrite(m->get(), fh, offset + done, chunk.size() - done, chunk.data() + done);
      if (n <= 0) {
        s = Status(Errc::kIo, "pwrite " + path + ": " + m->error());
        break;
      }
      done += n;
    }
  }
  if (s.ok() && nfs_fsync(m->get(), fh) != 0) s = Status(Errc::kIo, "fsync: " + m->error());
  if (nfs_close(m->get(), fh) != 0 && s.ok()) s = Status(Errc::kIo, "close: " + m->error());
  if (!s.ok()) return s;
  return h;
}

// Reads `path` through the high-level API, checking it holds `size` bytes; returns their
// checksum.
Result<uint64_t> ReadStream(uint16_t port, const std::string& path, uint64_t size) {
  ASSIGN_OR_RETURN(std::unique_ptr<NfsMount> m, NfsMount::Mount(port, kShare, 0, 0));
  nfs_stat_64 st{};
  if (nfs_stat64(m->get(), path.c_str(), &st) != 0) {
    return Status(Errc::kIo, "stat " + path + ": " + m->error());
  }
  if (st.nfs_size != size) {
    return Status(Errc::kIo, path + " holds " + std::to_string(st.nfs_size) + " bytes");
  }
  nfsfh* fh = nullptr;
  if (nfs_open(m->get(), path.c_str(), O_RDONLY, &fh) != 0) {
    return Status(Errc::kIo, "open " + path + ": " + m->error());
  }
  uint64_t h = kFnvOffsetBasis;
  std::string buf(kMiB, '\0');
  Status s;
  for (uint64_t offset = 0; offset < size;) {
    // Whole MiB chunks, as written, so the word-wise checksum lines up.
    size_t want = std::min<uint64_t>(kMiB, size - offset);
    size_t got = 0;
    while (got < want) {
      int n = nfs_pread(m->get(), fh, offset + got, want - got, buf.data() + got);
      if (n <= 0) break;
      got += n;
    }
    if (got != want) {
      s = Status(Errc::kIo, "pread " + path + " at " + std::to_string(offset) + ": " + m->error());
      break;
    }
    h = Checksum(std::string_view(buf.data(), want), h);
    offset += want;
  }
  nfs_close(m->get(), fh);
  if (!s.ok()) return s;
  return h;
}

TEST_F(LargeIoTest, TwoClientsWriteDifferentFilesAtOnce) {
  constexpr uint64_t kSize = 32 * kMiB;
  const std::string paths[2] = {"/" + TestName() + "/client-0.bin",
                                "/" + TestName() + "/client-1.bin"};
  Result<uint64_t> written[2] = {Errc::kUnavailable, Errc::kUnavailable};
  uint16_t port = server_->port();
  {
    std::vector<std::thread> clients;
    for (int k = 0; k < 2; ++k) {
      clients.emplace_back([&, k] { written[k] = WriteStream(port, paths[k], 100 + k, kSize); });
    }
    for (std::thread& t : clients) t.join();
  }
  for (int k = 0; k < 2; ++k) {
    ASSERT_OK(written[k].status());
    ASSERT_OK_AND_ASSIGN(uint64_t read, ReadStream(port, paths[k], kSize));
    EXPECT_EQ(read, *written[k]) << paths[k];
  }
}

// ---- Concurrent clients on shared objects ----

class ConcurrencyTest : public ServerTest<ConcurrencyTest> {
 protected:
  static constexpr int kPerClient = 300;
  static constexpr size_t kWindow = 32;

  // Runs `work(k, client)` for clients 0 and 1 at once, each on its own connection and thread.
  void OnTwoClients(const std::function<void(int, RawNfsClient&)>& work) {
    std::unique_ptr<RawNfsClient> clients[2];
    for (auto& c : clients) {
      ASSERT_OK_AND_ASSIGN(c, Connect(kRootUid, kRootUid));
    }
    std::thread t0([&] { work(0, *clients[0]); });
    std::thread t1([&] { work(1, *clients[1]); });
    t0.join();
    t1.join();
  }
};

// Both clients make directories in one parent (each bumps its nlink) and race to CREATE the
// same names GUARDED: no update may be lost and each name is created exactly once.
TEST_F(ConcurrencyTest, DirectoryUpdatesFromTwoClientsAreNotLost) {
  std::vector<nfsstat3> mkdir_status[2], create_status[2];
  Status outcome[2];
  const FileHandle& dir = dir_;
  OnTwoClients([&](int k, RawNfsClient& c) {
    mkdir_status[k].assign(kPerClient, NFS3ERR_SERVERFAULT);
    create_status[k].assign(kPerClient, NFS3ERR_SERVERFAULT);
    for (int i = 0; i < kPerClient && outcome[k].ok(); ++i) {
      std::string sub = "client" + std::to_string(k) + "-dir-" + std::to_string(i);
      std::string racy = "race-" + std::to_string(i);
      outcome[k] = c.Submit(
          [&dir, sub](rpc_context* rpc, rpc_cb cb, void* p) {
            MKDIR3args args{};
            args.where.dir = ToFh3(dir);
            args.where.name = const_cast<char*>(sub.c_str());
            args.attributes = ModeAttrs(0755);
            return rpc_nfs3_mkdir_async(rpc, cb, &args, p);
          },
          [&, k, i](void* reply) { mkdir_status[k][i] = static_cast<MKDIR3res*>(reply)->status; });
      if (!outcome[k].ok()) break;
      outcome[k] = c.Submit(
          [&dir, racy](rpc_context* rpc, rpc_cb cb, void* p) {
            CREATE3args args{};
            args.where.dir = ToFh3(dir);
            args.where.name = const_cast<char*>(racy.c_str());
            args.how.mode = GUARDED;
            args.how.createhow3_u.obj_attributes = ModeAttrs(0644);
            return rpc_nfs3_create_async(rpc, cb, &args, p);
          },
          [&, k, i](void* reply) {
            create_status[k][i] = static_cast<CREATE3res*>(reply)->status;
          });
      if (outcome[k].ok()) outcome[k] = c.Drain(kWindow);
    }
    if (outcome[k].ok()) outcome[k] = c.Drain(0);
  });
  for (int k = 0; k < 2; ++k) {
    ASSERT_OK(outcome[k]);
    EXPECT_EQ(std::count(mkdir_status[k].begin(), mkdir_status[k].end(), NFS3_OK), kPerClient);
  }
  int created_twice = 0, created_never = 0, other_status = 0;
  for (int i = 0; i < kPerClient; ++i) {
    int ok = (create_status[0][i] == NFS3_OK) + (create_status[1][i] == NFS3_OK);
    int exist = (create_status[0][i] == NFS3ERR_EXIST) + (create_status[1][i] == NFS3ERR_EXIST);
    if (ok == 2) ++created_twice;
    if (ok == 0) ++created_never;
    if (ok + exist != 2) ++other_status;
  }
  EXPECT_EQ(created_twice, 0);
  EXPECT_EQ(created_never, 0);
  EXPECT_EQ(other_status, 0) << "statuses other than NFS3_OK and NFS3ERR_EXIST";

  ASSERT_OK_AND_ASSIGN(fattr3 parent, GetAttrs(client(), dir_));
  EXPECT_EQ(parent.nlink, 2u + 2 * kPerClient) << "lost nlink updates";
  size_t entries = 0;
  uint64_t cookie = 0;
  CookieVerf verf{};
  for (bool eof = false; !eof;) {
    ASSERT_OK_AND_ASSIGN(ReaddirReply r, client().Readdir(dir_, cookie, verf, 32768));
    ASSERT_EQ(r.status, NFS3_OK);
    entries += r.entries.size();
    if (!r.entries.empty()) cookie = r.entries.back().cookie;
    verf = r.cookieverf;
    eof = r.eof;
  }
  EXPECT_EQ(entries, size_t{2 + 2 * kPerClient + kPerClient});
}

// Both clients write alternate 4 KiB blocks of one file: the size and every block survive.
TEST_F(ConcurrencyTest, InterleavedWritesToOneFileFromTwoClients) {
  static constexpr uint32_t kBlock = 4096;
  static constexpr int kBlocks = 256;
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(client(), dir_, "shared.bin"));
  std::vector<nfsstat3> status(kBlocks, NFS3ERR_SERVERFAULT);
  Status outcome[2];
  OnTwoClients([&](int k, RawNfsClient& c) {
    for (int i = k; i < kBlocks && outcome[k].ok(); i += 2) {
      auto data = std::make_shared<std::string>(MakeChunk(7, i, kBlock));
      outcome[k] = c.Submit(
          [&file, data, i](rpc_context* rpc, rpc_cb cb, void* p) {
            WRITE3args args{};
            args.file = ToFh3(file);
            args.offset = uint64_t{kBlock} * i;
            args.count = kBlock;
            args.stable = UNSTABLE;
            args.data.data_len = kBlock;
            args.data.data_val = data->data();
            return rpc_nfs3_write_async(rpc, cb, &args, p);
          },
          [&, data, i](void* reply) { status[i] = static_cast<WRITE3res*>(reply)->status; });
      if (outcome[k].ok()) outcome[k] = c.Drain(kWindow);
    }
    if (outcome[k].ok()) outcome[k] = c.Drain(0);
  });
  ASSERT_OK(outcome[0]);
  ASSERT_OK(outcome[1]);
  EXPECT_EQ(std::count(status.begin(), status.end(), NFS3_OK), kBlocks);
  ASSERT_OK_AND_ASSIGN(fattr3 attrs, GetAttrs(client(), file));
  EXPECT_EQ(attrs.size, uint64_t{kBlock} * kBlocks);
  int wrong = 0;
  for (int i = 0; i < kBlocks; ++i) {
    ASSERT_OK_AND_ASSIGN(ReadReply r, client().Read(file, uint64_t{kBlock} * i, kBlock));
    if (r.status != NFS3_OK || r.data != MakeChunk(7, i, kBlock)) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "blocks that read back wrong";
}

// The duplicate request cache answers a retransmitted non-idempotent call with the reply it
// already sent. Two different clients that happen to use the same xid for the same arguments
// are not retransmissions of one call: each must get its own answer.
TEST_F(ConcurrencyTest, ReplyCacheDoesNotAnswerOneClientWithAnothersReply) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> alice, Connect(1000, 1000));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> bob, Connect(2000, 2000));
  constexpr uint32_t kXid = 0x5eed0001;
  alice->SetNextXid(kXid);
  bob->SetNextXid(kXid);
  ASSERT_OK_AND_ASSIGN(CreatedReply first, alice->Mkdir(dir_, "contested", ModeAttrs(0700)));
  ASSERT_EQ(first.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply second, bob->Mkdir(dir_, "contested", ModeAttrs(0700)));
  EXPECT_EQ(second.status, NFS3ERR_EXIST)
      << "bob was told he made a directory that alice made (and owns)";
  ASSERT_OK_AND_ASSIGN(fattr3 made, GetAttrs(client(), first.fh));
  EXPECT_EQ(made.uid, 1000u);
}

// ---- The high-level API, as applications use it ----

class HighLevelApiTest : public ServerTest<HighLevelApiTest> {};

TEST_F(HighLevelApiTest, CommonCallsRoundTrip) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NfsMount> m,
                       NfsMount::Mount(server_->port(), kShare, kRootUid, kRootUid));
  nfs_context* nfs = m->get();
  const std::string d = "/" + TestName() + "/d";
  const std::string f = d + "/f";
  ASSERT_EQ(nfs_mkdir2(nfs, d.c_str(), 0755), 0) << m->error();

  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_create(nfs, f.c_str(), O_RDWR | O_CREAT, 0640, &fh), 0) << m->error();
  EXPECT_EQ(nfs_pwrite(nfs, fh, 0, 5, "hello"), 5) << m->error();
  EXPECT_EQ(nfs_fsync(nfs, fh), 0) << m->error();
  char buf[16] = {};
  EXPECT_EQ(nfs_pread(nfs, fh, 0, sizeof(buf), buf), 5) << m->error();
  EXPECT_STREQ(buf, "hello");
  ASSERT_EQ(nfs_close(nfs, fh), 0) << m->error();

  nfs_stat_64 st{};
  ASSERT_EQ(nfs_stat64(nfs, f.c_str(), &st), 0) << m->error();
  EXPECT_TRUE(S_ISREG(st.nfs_mode));
  EXPECT_EQ(st.nfs_mode & 07777, 0640u);
  EXPECT_EQ(st.nfs_size, 5u);

  EXPECT_EQ(nfs_chmod(nfs, f.c_str(), 0600), 0) << m->error();
  EXPECT_EQ(nfs_chown(nfs, f.c_str(), 1234, 5678), 0) << m->error();
  EXPECT_EQ(nfs_truncate(nfs, f.c_str(), 2), 0) << m->error();
  timeval times[2] = {{1'000'000'000, 0}, {1'000'000'001, 0}};  // atime, mtime
  EXPECT_EQ(nfs_utimes(nfs, f.c_str(), times), 0) << m->error();
  ASSERT_EQ(nfs_stat64(nfs, f.c_str(), &st), 0) << m->error();
  EXPECT_EQ(st.nfs_mode & 07777, 0600u);
  EXPECT_EQ(st.nfs_uid, 1234u);
  EXPECT_EQ(st.nfs_gid, 5678u);
  EXPECT_EQ(st.nfs_size, 2u);
  EXPECT_EQ(st.nfs_atime, 1'000'000'000u);
  EXPECT_EQ(st.nfs_mtime, 1'000'000'001u);
  EXPECT_EQ(nfs_access(nfs, f.c_str(), R_OK | W_OK), 0) << m->error();

  const std::string g = d + "/g";
  const std::string h = d + "/h";
  EXPECT_EQ(nfs_rename(nfs, f.c_str(), g.c_str()), 0) << m->error();
  EXPECT_EQ(nfs_stat64(nfs, f.c_str(), &st), -ENOENT);
  EXPECT_EQ(nfs_link(nfs, g.c_str(), h.c_str()), 0) << m->error();
  ASSERT_EQ(nfs_stat64(nfs, g.c_str(), &st), 0) << m->error();
  EXPECT_EQ(st.nfs_nlink, 2u);

  const std::string s = d + "/s";
  EXPECT_EQ(nfs_symlink(nfs, "g", s.c_str()), 0) << m->error();
  char target[64] = {};
  EXPECT_EQ(nfs_readlink(nfs, s.c_str(), target, sizeof(target)), 0) << m->error();
  EXPECT_STREQ(target, "g");

  const std::string p = d + "/p";
  EXPECT_EQ(nfs_mknod(nfs, p.c_str(), S_IFIFO | 0644, 0), 0) << m->error();
  ASSERT_EQ(nfs_stat64(nfs, p.c_str(), &st), 0) << m->error();
  EXPECT_TRUE(S_ISFIFO(st.nfs_mode));

  struct statvfs vfs {};
  ASSERT_EQ(nfs_statvfs(nfs, "/", &vfs), 0) << m->error();
  EXPECT_GT(vfs.f_blocks, 0u);
  EXPECT_LE(vfs.f_bfree, vfs.f_blocks);

  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(nfs, d.c_str(), &dir), 0) << m->error();
  std::set<std::string> names;
  for (nfsdirent* e = nfs_readdir(nfs, dir); e != nullptr; e = nfs_readdir(nfs, dir)) {
    names.insert(e->name);
  }
  nfs_closedir(nfs, dir);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "g", "h", "s", "p"}));

  for (const std::string& name : {g, h, s, p}) {
    EXPECT_EQ(nfs_unlink(nfs, name.c_str()), 0) << name << ": " << m->error();
  }
  EXPECT_EQ(nfs_rmdir(nfs, d.c_str()), 0) << m->error();
  EXPECT_EQ(nfs_stat64(nfs, d.c_str(), &st), -ENOENT);
}

// ---- Server lifecycle ----

TEST(DfsLifecycleTest, SigtermStopsAServerWithConnectedClientsWithExitZero) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server,
                       DfsProcess::Start(kDfsBinary, DfsOptions{}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NfsMount> mount,
                       NfsMount::Mount(server->port(), kShare, kRootUid, kRootUid));
  ASSERT_EQ(nfs_mkdir(mount->get(), "/before-stop"), 0) << mount->error();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> idle,
                       RawNfsClient::Connect(server->port(), kRootUid, kRootUid));
  ASSERT_OK(idle->Null());

  ASSERT_OK_AND_ASSIGN(int exit_code, server->Stop());
  EXPECT_EQ(exit_code, 0) << server->Log();
  EXPECT_NE(server->Log().find("stopped"), std::string::npos) << server->Log();
}

// SIGTERM while a client has megabytes of writes in flight: the server still stops cleanly.
TEST(DfsLifecycleTest, SigtermDuringWritesInFlightExitsZero) {
  DfsOptions options;
  options.shares[0].block = "localfs";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(kDfsBinary, options));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> c,
                       RawNfsClient::Connect(server->port(), kRootUid, kRootUid));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, c->Mnt(kShare));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(FileHandle file, MakeFile(*c, mnt.fh, "busy.bin"));
  const std::string chunk = MakeChunk(1, 0, kMiB);
  for (int i = 0; i < 16; ++i) {
    ASSERT_OK(c->Submit(
        [&](rpc_context* rpc, rpc_cb cb, void* p) {
          WRITE3args args{};
          args.file = ToFh3(file);
          args.offset = uint64_t{kMiB} * i;
          args.count = kMiB;
          args.stable = FILE_SYNC;
          args.data.data_len = kMiB;
          args.data.data_val = const_cast<char*>(chunk.data());
          return rpc_nfs3_write_async(rpc, cb, &args, p);
        },
        nullptr));
  }
  ASSERT_OK(c->Drain(8));  // the connection is busy: some replies back, more to come
  ASSERT_OK_AND_ASSIGN(int exit_code, server->Stop());
  EXPECT_EQ(exit_code, 0) << server->Log();
  // What the client makes of the closed connection does not matter here.
  (void)c->Drain(0);
}

}  // namespace
}  // namespace dittofs::integration
