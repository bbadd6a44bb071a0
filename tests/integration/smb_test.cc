// SPDX-License-Identifier: Apache-2.0
// SMB2/3 over the wire, driven by Samba's smbclient (Debian's), a client nobody here wrote.
// One dfs child process serves the suite on 127.0.0.1 (ephemeral ports); files go in and out
// through smbclient in every dialect, signed and sealed, and are checked over NFSv3 (libnfs)
// too: one file system, whichever protocol asks.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dfs_process.h"
#include "nfs_client.h"
#include "shell.h"
#include "smb_peer_client.h"
#include "testing/postgres_server.h"
#include "testing/random_bytes.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

bool HaveSmbclient() { return Shell("command -v smbclient").exit_code == 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

class SmbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!HaveSmbclient()) return;
    DfsOptions options;
    Result<std::unique_ptr<DfsProcess>> started = DfsProcess::Start(DFS_BINARY, options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value().release();
    ASSERT_NE(server_->smb_port(), 0) << server_->Log();
    ASSERT_FALSE(server_->admin_password().empty()) << server_->Log();
    scratch_ = new std::string(server_->dir() + "/client");
    std::filesystem::create_directories(*scratch_);
  }
  static void TearDownTestSuite() {
    if (server_ == nullptr) return;
    Result<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0) << server_->Log();
    delete server_;
    server_ = nullptr;
    delete scratch_;
  }
  void SetUp() override {
    if (!HaveSmbclient()) GTEST_SKIP() << "smbclient is not installed";
    ASSERT_NE(server_, nullptr);
  }

  // smbclient on the share with `commands` (its -c), as admin, with `extra` options.
  static ShellRun Smbclient(const std::string& commands, const std::string& extra = "-m SMB3",
                            const std::string& password = "") {
    const std::string pw = password.empty() ? server_->admin_password() : password;
    return Shell("cd " + Quote(*scratch_) + " && smbclient //127.0.0.1/export -s /dev/null -p " +
                 std::to_string(server_->smb_port()) + " -U " + Quote("admin%" + pw) +
                 " --option='netbios name=localhost' " + extra + " -c " + Quote(commands));
  }
  static std::string Local(const std::string& name) { return *scratch_ + "/" + name; }

  static DfsProcess* server_;
  static std::string* scratch_;
};

DfsProcess* SmbTest::server_ = nullptr;
std::string* SmbTest::scratch_ = nullptr;

TEST_F(SmbTest, PutAndGetInEveryDialect) {
  for (const char* dialect : {"SMB2_02", "SMB2_10", "SMB3_00", "SMB3_02", "SMB3_11"}) {
    SCOPED_TRACE(dialect);
    const std::string name = std::string("dialect_") + dialect;
    const std::string data =
        testing::RandomString(3 * 1024 * 1024 + 17, std::hash<std::string>()(name));
    WriteFile(Local(name), data);
    ShellRun r =
        Smbclient("put " + name + "; get " + name + " " + name + ".back; ls " + name,
                  std::string("-m ") + dialect + " --option='client min protocol=" + dialect + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output << server_->Log();
    EXPECT_EQ(ReadFile(Local(name + ".back")), data) << r.output;
    EXPECT_NE(r.output.find(" " + std::to_string(data.size()) + "  "), std::string::npos)
        << r.output;
  }
}

TEST_F(SmbTest, DirectoriesRenamesAndDeletes) {
  WriteFile(Local("a.txt"), "hello over smb\n");
  ShellRun r = Smbclient(
      "mkdir tree; cd tree; mkdir sub; put a.txt one.txt; put a.txt two.txt; "
      "rename one.txt sub\\moved.txt; ls; ls sub\\*; del two.txt; ls");
  ASSERT_EQ(r.exit_code, 0) << r.output << server_->Log();
  EXPECT_NE(r.output.find("moved.txt"), std::string::npos) << r.output;
  // The final listing has sub but neither two.txt nor one.txt.
  const size_t last = r.output.rfind("  .  ");
  ASSERT_NE(last, std::string::npos) << r.output;
  const std::string tail = r.output.substr(last);
  EXPECT_EQ(tail.find("two.txt"), std::string::npos) << r.output;
  EXPECT_EQ(tail.find("one.txt"), std::string::npos) << r.output;
  EXPECT_NE(tail.find("sub"), std::string::npos) << r.output;
  // A directory with an entry is not removed; emptied, it is.
  r = Smbclient("rmdir tree\\sub");
  EXPECT_NE(r.output.find("NT_STATUS_DIRECTORY_NOT_EMPTY"), std::string::npos) << r.output;
  r = Smbclient("del tree\\sub\\moved.txt; rmdir tree\\sub; rmdir tree; ls");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("tree"), std::string::npos) << r.output;
}

TEST_F(SmbTest, MissingNamesGetWindowsStatuses) {
  ShellRun r = Smbclient("get no_such_file " + Local("never"));
  EXPECT_NE(r.output.find("NT_STATUS_OBJECT_NAME_NOT_FOUND"), std::string::npos) << r.output;
  r = Smbclient("get no_dir\\file " + Local("never"));
  EXPECT_NE(r.output.find("NT_STATUS_OBJECT_PATH_NOT_FOUND"), std::string::npos) << r.output;
  r = Smbclient("mkdir twice; mkdir twice");
  EXPECT_NE(r.output.find("NT_STATUS_OBJECT_NAME_COLLISION"), std::string::npos) << r.output;
  (void)Smbclient("rmdir twice");
}

TEST_F(SmbTest, SignedAndSealedSessions) {
  const std::string data = testing::RandomString(2 * 1024 * 1024 + 3, 77);
  WriteFile(Local("sealed.bin"), data);
  for (const std::string extra :
       {"-m SMB3_11 --client-protection=sign", "-m SMB2_10 --client-protection=sign",
        "-m SMB2_02 --client-protection=sign", "-m SMB3_00 --client-protection=sign",
        "-m SMB3_11 --client-protection=encrypt", "-m SMB3_02 --client-protection=encrypt",
        "-m SMB3_00 --client-protection=encrypt"}) {
    SCOPED_TRACE(extra);
    std::filesystem::remove(Local("sealed.back"));
    ShellRun r = Smbclient("put sealed.bin; get sealed.bin sealed.back; del sealed.bin", extra);
    ASSERT_EQ(r.exit_code, 0) << r.output << server_->Log();
    EXPECT_EQ(ReadFile(Local("sealed.back")), data);
  }
}

TEST_F(SmbTest, WrongPasswordIsALogonFailure) {
  ShellRun r = Smbclient("ls", "-m SMB3", "not-the-password");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("NT_STATUS_LOGON_FAILURE"), std::string::npos) << r.output;
  // The server serves on.
  r = Smbclient("ls");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(SmbTest, UnknownShareIsABadNetworkName) {
  ShellRun r =
      Shell("smbclient //127.0.0.1/nothere -s /dev/null -p " + std::to_string(server_->smb_port()) +
            " -U " + Quote("admin%" + server_->admin_password()) + " -m SMB3 -c ls");
  EXPECT_NE(r.output.find("NT_STATUS_BAD_NETWORK_NAME"), std::string::npos) << r.output;
}

TEST_F(SmbTest, ShareNamesAreCaseInsensitive) {
  ShellRun r =
      Shell("smbclient //127.0.0.1/EXPORT -s /dev/null -p " + std::to_string(server_->smb_port()) +
            " -U " + Quote("admin%" + server_->admin_password()) + " -m SMB3 -c ls");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(SmbTest, ListsSharesThroughSrvsvc) {
  ShellRun r =
      Shell("smbclient -L 127.0.0.1 -s /dev/null -p " + std::to_string(server_->smb_port()) +
            " -U " + Quote("admin%" + server_->admin_password()) + " -m SMB3");
  EXPECT_NE(r.output.find("export"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("IPC$"), std::string::npos) << r.output;
}

// Samba's rpcclient turns names into SIDs and back over the lsarpc pipe of IPC$, as the
// Windows Security tab and smbcacls do: the server's account domain is its NetBIOS name with
// the machine SID, uid 0 is SYSTEM, and the well-known SIDs have their names.
TEST_F(SmbTest, RpcclientLooksUpNamesAndSidsThroughLsarpc) {
  const auto rpc = [&](const std::string& commands) {
    return Shell("rpcclient 127.0.0.1 -s /dev/null -p " + std::to_string(server_->smb_port()) +
                 " -U " + Quote("admin%" + server_->admin_password()) + " -c " + Quote(commands));
  };
  ShellRun policy = rpc("lsaquery 5");
  EXPECT_EQ(policy.exit_code, 0) << policy.output;
  EXPECT_NE(policy.output.find("Domain Name: DITTOFS"), std::string::npos) << policy.output;
  const size_t at = policy.output.find("Domain Sid: S-1-5-21-");
  ASSERT_NE(at, std::string::npos) << policy.output;
  const std::string domain =
      policy.output.substr(at + 12, policy.output.find_first_of("\r\n", at) - at - 12);
  ShellRun names = rpc("lookupnames admin; getusername");
  EXPECT_NE(names.output.find("admin S-1-5-18"), std::string::npos) << names.output;
  EXPECT_NE(names.output.find("Account Name: admin"), std::string::npos) << names.output;
  // uid 1000 is RID 3000 of the domain; no user has it here, so it has no name.
  ShellRun sids = rpc("lookupsids S-1-1-0 S-1-5-32-544 S-1-5-18 " + domain + "-3000");
  EXPECT_NE(sids.output.find("S-1-1-0 \\Everyone (5)"), std::string::npos) << sids.output;
  EXPECT_NE(sids.output.find("S-1-5-32-544 BUILTIN\\Administrators (4)"), std::string::npos)
      << sids.output;
  EXPECT_NE(sids.output.find("S-1-5-18 NT AUTHORITY\\SYSTEM (5)"), std::string::npos)
      << sids.output;
  EXPECT_NE(sids.output.find(domain + "-3000"), std::string::npos) << sids.output;
}

TEST_F(SmbTest, WhatSmbWritesNfsReadsAndBack) {
  const std::string data = testing::RandomString(1024 * 1024 + 5, 5);
  WriteFile(Local("cross.bin"), data);
  ShellRun r = Smbclient("put cross.bin");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NfsMount> m,
                       NfsMount::Mount(server_->port(), "/export", 0, 0));
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open(m->get(), "/cross.bin", O_RDWR, &fh), 0) << m->error();
  std::string back(data.size(), '\0');
  size_t got = 0;
  while (got < back.size()) {
    const int n = nfs_pread(m->get(), fh, got, back.size() - got, back.data() + got);
    ASSERT_GT(n, 0) << m->error();
    got += n;
  }
  EXPECT_EQ(back, data);
  // NFS overwrites the start; SMB sees it.
  ASSERT_EQ(nfs_pwrite(m->get(), fh, 0, 5, "NFSv3"), 5) << m->error();
  ASSERT_EQ(nfs_close(m->get(), fh), 0);
  std::filesystem::remove(Local("cross.back"));
  r = Smbclient("get cross.bin cross.back");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(Local("cross.back")), "NFSv3" + data.substr(5));
}

bool HaveImpacket() {
  return Shell("/usr/bin/python3 -c 'import impacket.smbconnection'").exit_code == 0;
}

// MS-SMB2 share modes across clients and protocols: an SMB open that denies writing makes a
// second SMB open for writing fail, while NFSv3 reads go on.
TEST_F(SmbTest, DenyWriteOpenRefusesWritersButNotNfsReaders) {
  if (!HaveImpacket()) GTEST_SKIP() << "python3-impacket is not installed";
  WriteFile(Local("deny.bin"), "shared bytes");
  ASSERT_EQ(Smbclient("put deny.bin").exit_code, 0);
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  // GENERIC_READ, sharing read only (denying write and delete).
  ASSERT_EQ(peer->Do("open deny.bin 0x80000000 1 0"), "ok 1");
  EXPECT_EQ(peer->Do("open deny.bin 0x40000000 7 0"), "error STATUS_SHARING_VIOLATION");
  ShellRun r = Smbclient("get deny.bin " + Local("deny.back"));  // smbclient reads, sharing all
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply root, nfs->Mnt("/export"));
  ASSERT_OK_AND_ASSIGN(LookupReply file, nfs->Lookup(root.fh, "deny.bin"));
  ASSERT_EQ(file.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(ReadReply read, nfs->Read(file.fh, 0, 100));
  EXPECT_EQ(read.status, NFS3_OK);
  EXPECT_EQ(read.data, "shared bytes");
  // An NFS write is refused while the open denies writing.
  ASSERT_OK_AND_ASSIGN(WRITE3res write, nfs->Write(file.fh, 0, "x", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3ERR_ACCES);
  EXPECT_EQ(peer->Do("close 1"), "ok");
  ASSERT_OK_AND_ASSIGN(write, nfs->Write(file.fh, 0, "x", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3_OK);
}

// Named streams and EAs (docs/streams.md), from impacket: a stream is made, written, read,
// listed with its size and deleted while the file's own data stays; hostile stream names are
// refused; EAs set are listed, matched without regard to case and removed by an empty value.
TEST_F(SmbTest, NamedStreamsAndExtendedAttributes) {
  if (!HaveImpacket()) GTEST_SKIP() << "python3-impacket is not installed";
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  // FILE_ALL_ACCESS, FILE_NON_DIRECTORY_FILE, FILE_CREATE.
  ASSERT_EQ(peer->Do("create ads.txt 0x1f01ff 0x40 2"), "ok 1");
  EXPECT_EQ(peer->Do("write 1 0 62617365"), "ok");  // "base"
  ASSERT_EQ(peer->Do("create ads.txt:meta 0x1f01ff 0x40 2"), "ok 2");
  EXPECT_EQ(peer->Do("write 2 0 68656c6c6f"), "ok");  // "hello"
  EXPECT_EQ(peer->Do("read 2 0 100"), "ok 68656c6c6f");
  EXPECT_EQ(peer->Do("read 1 0 100"), "ok 62617365");
  EXPECT_EQ(peer->Do("streams 1"), "ok ::$DATA=4,:meta:$DATA=5");
  // The same stream, named in another case and with its type; FILE_CREATE of it collides.
  ASSERT_EQ(peer->Do("create ADS.TXT:META:$data 0x120089 0 1"), "ok 3");
  EXPECT_EQ(peer->Do("read 3 1 2"), "ok 656c");
  EXPECT_EQ(peer->Do("create ads.txt:Meta 0x1f01ff 0 2"), "error STATUS_OBJECT_NAME_COLLISION");
  // A stream holds 64 KiB at most.
  EXPECT_EQ(peer->Do("write 2 65535 0000"), "error STATUS_DISK_FULL");
  EXPECT_EQ(peer->Do("write 2 65531 00"), "ok");
  for (const char* bad : {"ads.txt:", "ads.txt:meta:", "ads.txt:meta:$FOO", "ads.txt:a:b:c",
                          "ads.txt:meta\\x", "ads.txt::$INDEX_ALLOCATION", "ads.txt::"}) {
    EXPECT_EQ(peer->Do(std::string("create ") + bad + " 0x120089 0 3"),
              "error STATUS_OBJECT_NAME_INVALID")
        << bad;
  }
  ASSERT_EQ(peer->Do("create ads.txt::$DATA 0x120089 0 1"), "ok 4");
  EXPECT_EQ(peer->Do("read 4 0 100"), "ok 62617365");
  EXPECT_EQ(peer->Do("close 4"), "ok");
  // Deleted through one open, the stream goes when its last open closes; the file stays.
  EXPECT_EQ(peer->Do("delete 2"), "ok");
  EXPECT_EQ(peer->Do("close 2"), "ok");
  EXPECT_EQ(peer->Do("streams 1"), "ok ::$DATA=4,:meta:$DATA=65532");
  EXPECT_EQ(peer->Do("close 3"), "ok");
  EXPECT_EQ(peer->Do("streams 1"), "ok ::$DATA=4");
  EXPECT_EQ(peer->Do("create ads.txt:meta 0x120089 0 1"), "error STATUS_OBJECT_NAME_NOT_FOUND");

  EXPECT_EQ(peer->Do("geteas 1"), "error STATUS_NO_EAS_ON_FILE");
  EXPECT_EQ(peer->Do("seteas 1 Color=626c7565,Size=3130"), "ok");
  EXPECT_EQ(peer->Do("geteas 1 1"), "ok Color=626c7565,Size=3130");
  // One at a time (SL_RETURN_SINGLE_ENTRY): the open's position moves on, to the end; a
  // restart (SL_RESTART_SCAN) begins again.
  EXPECT_EQ(peer->Do("geteas 1 3"), "ok Color=626c7565");
  EXPECT_EQ(peer->Do("geteas 1 2"), "ok Size=3130");
  EXPECT_EQ(peer->Do("geteas 1 2"), "error STATUS_NO_EAS_ON_FILE");
  EXPECT_EQ(peer->Do("geteas 1 3"), "ok Color=626c7565");
  // By name, in any case; an absent one with an empty value.
  EXPECT_EQ(peer->Do("geteas 1 0 SIZE,absent"), "ok Size=3130,absent=");
  EXPECT_EQ(peer->Do("seteas 1 COLOR=-"), "ok");
  EXPECT_EQ(peer->Do("geteas 1 1"), "ok Size=3130");
  EXPECT_EQ(peer->Do("seteas 1 a:b=00"), "error STATUS_INVALID_EA_NAME");
  EXPECT_EQ(peer->Do("geteas 1 1"), "ok Size=3130");
  EXPECT_EQ(peer->Do("close 1"), "ok");
}

// An SMB batch oplock is broken by an NFSv3 WRITE before the write applies: the write is
// answered JUKEBOX (retry) while the holder has the break, and goes through once the oplock
// is gone; the SMB client then reads the new bytes.
TEST_F(SmbTest, NfsWriteBreaksAnSmbOplockFirst) {
  if (!HaveImpacket()) GTEST_SKIP() << "python3-impacket is not installed";
  WriteFile(Local("oplock.bin"), "old bytes");
  ASSERT_EQ(Smbclient("put oplock.bin").exit_code, 0);
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  // Read and write data, sharing everything, asking for a batch oplock (9).
  ASSERT_EQ(peer->Do("open oplock.bin 0x3 7 9"), "ok 1");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply root, nfs->Mnt("/export"));
  ASSERT_OK_AND_ASSIGN(LookupReply file, nfs->Lookup(root.fh, "oplock.bin"));
  ASSERT_OK_AND_ASSIGN(WRITE3res write, nfs->Write(file.fh, 0, "NEW", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3ERR_JUKEBOX) << "the oplock is broken first";
  // The holder closes (as a client does when it cannot keep what it cached): the grant goes,
  // and the retried write applies.
  EXPECT_EQ(peer->Do("close 1"), "ok");
  ASSERT_OK_AND_ASSIGN(write, nfs->Write(file.fh, 0, "NEW", FILE_SYNC));
  EXPECT_EQ(write.status, NFS3_OK);
  std::filesystem::remove(Local("oplock.back"));
  ShellRun r = Smbclient("get oplock.bin oplock.back");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(Local("oplock.back")), "NEW bytes");
}

// Little-endian hex of a 64-bit value, as smb_peer.py takes and prints bytes.
std::string Le64(uint64_t v) {
  std::string out;
  char b[3];
  for (int i = 0; i < 8; ++i) {
    snprintf(b, sizeof b, "%02x", static_cast<unsigned>((v >> (8 * i)) & 0xFF));
    out += b;
  }
  return out;
}

// FSCTL_SET_ZERO_DATA (MS-FSA 2.1.5.10.39) zeros a range inside the file and never grows it;
// FSCTL_QUERY_ALLOCATED_RANGES (2.1.5.10.22) answers the one range a file without holes has,
// clipped to its end.
TEST_F(SmbTest, ZeroDataAndAllocatedRanges) {
  if (!HaveImpacket()) GTEST_SKIP() << "python3-impacket is not installed";
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  // READ_DATA | WRITE_DATA, FILE_NON_DIRECTORY_FILE, FILE_OVERWRITE_IF.
  ASSERT_EQ(peer->Do("create zero.bin 0x3 0x40 5"), "ok 1");
  std::string hundred_a;
  for (int i = 0; i < 100; ++i) hundred_a += "41";
  ASSERT_EQ(peer->Do("write 1 0 " + hundred_a), "ok");
  const std::string zero = "0x980c8", ranges = "0x940cf";
  EXPECT_EQ(peer->Do("ioctl 1 " + zero + " " + Le64(10) + Le64(20) + " 0"), "ok ");
  EXPECT_EQ(peer->Do("ioctl 1 " + zero + " " + Le64(90) + Le64(5000) + " 0"), "ok ");
  EXPECT_EQ(peer->Do("ioctl 1 " + zero + " " + Le64(30) + Le64(20) + " 0"),
            "error STATUS_INVALID_PARAMETER");
  std::string want;
  for (int i = 0; i < 90; ++i) want += (i >= 10 && i < 20) ? "00" : "41";
  for (int i = 90; i < 100; ++i) want += "00";
  EXPECT_EQ(peer->Do("read 1 0 1000"), "ok " + want) << "zeroed inside, not grown";

  EXPECT_EQ(peer->Do("ioctl 1 " + ranges + " " + Le64(0) + Le64(1000) + " 1024"),
            "ok " + Le64(0) + Le64(100));
  EXPECT_EQ(peer->Do("ioctl 1 " + ranges + " " + Le64(50) + Le64(10) + " 1024"),
            "ok " + Le64(50) + Le64(10));
  EXPECT_EQ(peer->Do("ioctl 1 " + ranges + " " + Le64(100) + Le64(10) + " 1024"), "ok ");
  EXPECT_EQ(peer->Do("ioctl 1 " + ranges + " " + Le64(100) + Le64(10) + " 0"), "ok ")
      << "no range needs no room";
  EXPECT_EQ(peer->Do("ioctl 1 " + ranges + " " + Le64(0) + Le64(10) + " 8"),
            "error STATUS_BUFFER_TOO_SMALL");
  EXPECT_EQ(peer->Do("ioctl 1 " + ranges + " " + Le64(0) + " 1024"),
            "error STATUS_INVALID_PARAMETER");
  // Without write access, no zeroing.
  ASSERT_EQ(peer->Do("create zero.bin 0x1 0x40 1"), "ok 2");
  EXPECT_EQ(peer->Do("ioctl 2 " + zero + " " + Le64(0) + Le64(10) + " 0"),
            "error STATUS_ACCESS_DENIED");
}

// FSCTL_SRV_ENUMERATE_SNAPSHOTS (MS-SMB2 3.3.5.15.1) on a share without snapshots: no previous
// versions, in a SRV_SNAPSHOT_ARRAY of 16 bytes; a response buffer under 16 bytes is refused.
// (Snapshots listed and opened by their time: DfsctlTest.SnapshotsAreBrowsed...)
TEST_F(SmbTest, EnumerateSnapshotsAnswersAnEmptyList) {
  if (!HaveImpacket()) GTEST_SKIP() << "python3-impacket is not installed";
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  ASSERT_EQ(peer->Do("create snap.txt 0x1 0x40 5"), "ok 1");
  EXPECT_EQ(peer->Do("ioctl 1 0x144064 - 65536"), "ok 00000000000000000200000000000000");
  EXPECT_EQ(peer->Do("ioctl 1 0x144064 - 16"), "ok 00000000000000000200000000000000");
  EXPECT_EQ(peer->Do("ioctl 1 0x144064 - 12"), "error STATUS_INVALID_PARAMETER");
}

// UTF-16LE hex of an ASCII string.
std::string Utf16Hex(const std::string& s) {
  std::string out;
  char b[3];
  for (char c : s) {
    snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(c));
    out += b;
    out += "00";
  }
  return out;
}

// A symbolic link's reparse data buffer (MS-FSCC 2.1.2.4): substitute name, then the same
// print name.
std::string SymlinkReparseHex(const std::string& name, bool relative) {
  auto le16 = [](size_t v) { return Le64(v).substr(0, 4); };
  const size_t n = 2 * name.size();
  return std::string("0c0000a0") + le16(12 + 2 * n) + "0000" + le16(0) + le16(n) + le16(n) +
         le16(n) + (relative ? "01000000" : "00000000") + Utf16Hex(name) + Utf16Hex(name);
}

// Symbolic links are one thing for both protocols: one made over NFSv3 is a reparse point over
// SMB (STOPPED_ON_SYMLINK unless opened as itself, FILE_ATTRIBUTE_REPARSE_POINT, its reparse
// data from FSCTL_GET_REPARSE_POINT), and FSCTL_SET_REPARSE_POINT makes one that NFS reads.
TEST_F(SmbTest, SymlinksAreReparsePointsAcrossProtocols) {
  if (!HaveImpacket()) GTEST_SKIP() << "python3-impacket is not installed";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply root, nfs->Mnt("/export"));
  ASSERT_OK_AND_ASSIGN(CreatedReply made, nfs->Symlink(root.fh, "nfslink", "sub/target", {}));
  ASSERT_EQ(made.status, NFS3_OK);
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  // FILE_READ_ATTRIBUTES, FILE_OPEN: the link is not followed by the server.
  EXPECT_EQ(peer->Do("create nfslink 0x80 0 1"), "error STATUS_STOPPED_ON_SYMLINK");
  EXPECT_EQ(peer->Do("create nfslink\\inside 0x80 0 1"), "error STATUS_STOPPED_ON_SYMLINK");
  // FILE_OPEN_REPARSE_POINT opens the link itself.
  ASSERT_EQ(peer->Do("create nfslink 0x80 0x200000 1"), "ok 1");
  EXPECT_EQ(peer->Do("ioctl 1 0x900a8 - 4096"), "ok " + SymlinkReparseHex("sub\\target", true));
  EXPECT_EQ(peer->Do("ioctl 1 0x900a8 - 4"), "error STATUS_BUFFER_TOO_SMALL");
  EXPECT_EQ(peer->Do("attrs nfslink"), "ok 400");

  // An empty file becomes a symlink (WRITE_DATA | FILE_WRITE_ATTRIBUTES, FILE_CREATE).
  ASSERT_EQ(peer->Do("create smblink 0x102 0x40 2"), "ok 2");
  EXPECT_EQ(peer->Do("ioctl 2 0x900a8 - 4096"), "error STATUS_NOT_A_REPARSE_POINT");
  EXPECT_EQ(peer->Do("ioctl 2 0x900a4 " + SymlinkReparseHex("\\??\\abs\\path", false) + " 0"),
            "ok ");
  ASSERT_OK_AND_ASSIGN(LookupReply link, nfs->Lookup(root.fh, "smblink"));
  ASSERT_EQ(link.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(ReadlinkReply target, nfs->Readlink(link.fh));
  ASSERT_EQ(target.status, NFS3_OK);
  EXPECT_EQ(target.target, "/abs/path");
  EXPECT_EQ(peer->Do("ioctl 2 0x900a8 - 4096"), "ok " + SymlinkReparseHex("\\abs\\path", false));
  // DELETE_REPARSE_POINT: the tag and no data; the link is an empty file again.
  EXPECT_EQ(peer->Do("ioctl 2 0x900ac 0c0000a000000000 0"), "ok ");
  ASSERT_OK_AND_ASSIGN(GETATTR3res attr, nfs->Getattr(link.fh));
  ASSERT_EQ(attr.status, NFS3_OK);
  EXPECT_EQ(attr.GETATTR3res_u.resok.obj_attributes.type, NF3REG);
  EXPECT_EQ(peer->Do("ioctl 2 0x900ac 0c0000a000000000 0"), "error STATUS_NOT_A_REPARSE_POINT");
  // A file holding data cannot become one.
  ASSERT_EQ(peer->Do("write 2 0 41"), "ok");
  EXPECT_EQ(peer->Do("ioctl 2 0x900a4 " + SymlinkReparseHex("x", true) + " 0"),
            "error STATUS_NOT_SUPPORTED");
}

TEST_F(SmbTest, ImpacketListsTheShares) {
  if (!HaveImpacket()) GTEST_SKIP() << "python3-impacket is not installed";
  std::unique_ptr<SmbPeer> peer = SmbPeer::Start(*server_, SMB_PEER_SCRIPT);
  ASSERT_NE(peer, nullptr);
  const std::string shares = peer->Do("shares");
  EXPECT_NE(shares.find("export"), std::string::npos) << shares;
  EXPECT_NE(shares.find("IPC$"), std::string::npos) << shares;
}

// Per-share SMB settings (docs/configuration.md): encryption, signing, guests. One server with
// a share of each kind; the default share asks for none of them.
class SmbShareOptionsTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kAnonUid = 4242;
  static constexpr uint32_t kAnonGid = 4343;

  static void SetUpTestSuite() {
    if (!HaveSmbclient()) return;
    DfsOptions options;
    options.shares.resize(4);
    options.shares[1].name = "/sealed";
    options.shares[1].smb_encrypt = true;
    options.shares[2].name = "/public";
    options.shares[2].guest_ok = true;
    options.shares[2].anon_uid = kAnonUid;
    options.shares[2].anon_gid = kAnonGid;
    options.shares[3].name = "/signed";
    options.shares[3].smb_require_signing = true;
    Result<std::unique_ptr<DfsProcess>> started = DfsProcess::Start(DFS_BINARY, options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value().release();
    ASSERT_NE(server_->smb_port(), 0) << server_->Log();
    scratch_ = new std::string(server_->dir() + "/client");
    std::filesystem::create_directories(*scratch_);
    WriteFile(*scratch_ + "/small.txt", "per-share settings\n");
  }
  static void TearDownTestSuite() {
    if (server_ == nullptr) return;
    Result<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0) << server_->Log();
    delete server_;
    server_ = nullptr;
    delete scratch_;
  }
  void SetUp() override {
    if (!HaveSmbclient()) GTEST_SKIP() << "smbclient is not installed";
    ASSERT_NE(server_, nullptr);
  }

  // smbclient on `share` with `commands`; `user` is its -U ("admin" gets the admin password),
  // or empty for -N (anonymous).
  static ShellRun On(const std::string& share, const std::string& commands,
                     const std::string& extra, const std::string& user = "admin") {
    std::string who = user.empty()      ? "-N"
                      : user == "admin" ? "-U " + Quote("admin%" + server_->admin_password())
                                        : "-U " + Quote(user);
    return Shell("cd " + Quote(*scratch_) + " && smbclient //127.0.0.1/" + share +
                 " -s /dev/null -p " + std::to_string(server_->smb_port()) + " " + who +
                 " --option='netbios name=localhost' " + extra + " -c " + Quote(commands));
  }

  static DfsProcess* server_;
  static std::string* scratch_;
};

DfsProcess* SmbShareOptionsTest::server_ = nullptr;
std::string* SmbShareOptionsTest::scratch_ = nullptr;

TEST_F(SmbShareOptionsTest, EncryptedShareTakesOnlyEncryptedSmb3) {
  // An SMB 3 client that would encrypt when asked: the share asks (SMB2_SHAREFLAG_ENCRYPT_DATA)
  // and everything on it goes sealed.
  for (const std::string dialect : {"SMB3_11", "SMB3_02", "SMB3_00"}) {
    SCOPED_TRACE(dialect);
    ShellRun r = On("sealed", "put small.txt; get small.txt small.back; ls; del small.txt",
                    "-m " + dialect + " --option='client smb encrypt=desired'");
    ASSERT_EQ(r.exit_code, 0) << r.output << server_->Log();
    EXPECT_EQ(ReadFile(*scratch_ + "/small.back"), "per-share settings\n");
  }
  // Encryption the client requires works too.
  ShellRun required = On("sealed", "ls", "-m SMB3 --option='client smb encrypt=required'");
  EXPECT_EQ(required.exit_code, 0) << required.output;
  // Samba's client, even told not to encrypt, obeys the share's SMB2_SHAREFLAG_ENCRYPT_DATA
  // (MS-SMB2 3.2.4.1.8: it MUST encrypt); smb_hostile_test shows an unencrypted request
  // refused.
  ShellRun off = On("sealed", "ls", "-m SMB3 --option='client smb encrypt=off'");
  EXPECT_EQ(off.exit_code, 0) << off.output;
  // An SMB 2 session, which cannot encrypt, gets no tree connect (MS-SMB2 3.3.5.7).
  for (const std::string dialect : {"SMB2_10", "SMB2_02"}) {
    SCOPED_TRACE(dialect);
    ShellRun smb2 =
        On("sealed", "ls", "-m " + dialect + " --option='client min protocol=" + dialect + "'");
    EXPECT_NE(smb2.exit_code, 0) << smb2.output;
    EXPECT_NE(smb2.output.find("NT_STATUS_ACCESS_DENIED"), std::string::npos) << smb2.output;
  }
  // The other shares need no encryption, for either dialect.
  ShellRun plain = On("export", "ls", "-m SMB2_10 --option='client smb encrypt=off'");
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  plain = On("export", "ls", "-m SMB3 --option='client smb encrypt=off'");
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
}

TEST_F(SmbShareOptionsTest, GuestsOnlyWhereTheShareTakesThem) {
  // Anonymous (-N) and the Guest account (-U guest%) are refused on the default share...
  for (const std::string& user : {std::string(), std::string("guest%")}) {
    SCOPED_TRACE(user.empty() ? "anonymous" : "guest");
    ShellRun r = On("export", "ls", "-m SMB3", user);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("NT_STATUS_ACCESS_DENIED"), std::string::npos) << r.output;
    // ... and on the encrypted one (a guest has no keys to seal with).
    r = On("sealed", "ls", "-m SMB3", user);
    EXPECT_NE(r.exit_code, 0) << r.output;
  }
  // The guest_ok share takes both; what they create belongs to its anonymous identity.
  ShellRun anon = On("public", "put small.txt anon.txt; ls", "-m SMB3", "");
  ASSERT_EQ(anon.exit_code, 0) << anon.output << server_->Log();
  ShellRun guest = On("public", "put small.txt guest.txt; ls", "-m SMB3_11", "guest%");
  ASSERT_EQ(guest.exit_code, 0) << guest.output << server_->Log();
  ShellRun smb2_guest = On("public", "ls", "-m SMB2_10", "guest%");
  EXPECT_EQ(smb2_guest.exit_code, 0) << smb2_guest.output;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NfsMount> m,
                       NfsMount::Mount(server_->port(), "/public", 0, 0));
  for (const char* name : {"/anon.txt", "/guest.txt"}) {
    SCOPED_TRACE(name);
    struct nfs_stat_64 st {};
    ASSERT_EQ(nfs_stat64(m->get(), name, &st), 0) << m->error();
    EXPECT_EQ(st.nfs_uid, kAnonUid);
    EXPECT_EQ(st.nfs_gid, kAnonGid);
  }
  // A real user still uses the guest share as themself.
  ShellRun admin = On("public", "ls", "-m SMB3");
  EXPECT_EQ(admin.exit_code, 0) << admin.output;
  // The Guest account has no password: one given is wrong.
  ShellRun wrong = On("public", "ls", "-m SMB3", "guest%secret");
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;
  EXPECT_NE(wrong.output.find("NT_STATUS_LOGON_FAILURE"), std::string::npos) << wrong.output;
}

TEST_F(SmbShareOptionsTest, SigningShareTakesOnlySignedRequests) {
  for (const std::string dialect : {"SMB3_11", "SMB2_10"}) {
    SCOPED_TRACE(dialect);
    ShellRun sign = On("signed", "put small.txt; get small.txt signed.back; del small.txt",
                       "-m " + dialect + " --client-protection=sign");
    ASSERT_EQ(sign.exit_code, 0) << sign.output << server_->Log();
    EXPECT_EQ(ReadFile(*scratch_ + "/signed.back"), "per-share settings\n");
    ShellRun off = On("signed", "ls", "-m " + dialect + " --option='client signing=disabled'");
    EXPECT_NE(off.exit_code, 0) << off.output;
    EXPECT_NE(off.output.find("NT_STATUS_ACCESS_DENIED"), std::string::npos) << off.output;
  }
  // Guests cannot sign.
  ShellRun guest = On("signed", "ls", "-m SMB3", "");
  EXPECT_NE(guest.exit_code, 0) << guest.output;
  // Unsigned sessions still use the other shares.
  ShellRun plain = On("export", "ls", "-m SMB2_10 --option='client signing=disabled'");
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
}

// Wrong passwords over SMB are counted like the REST API's (core::LoginThrottle, shared by
// both): each further one is answered later, five lock the (user, address) pair out for 30 s,
// during which even the right password is refused; after it, the right one works. Its own
// server, so that the lockout touches no other test.
TEST(SmbLoginThrottleTest, WrongPasswordsAreSlowedThenLockedOutForAWhile) {
  if (!HaveSmbclient()) GTEST_SKIP() << "smbclient is not installed";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server,
                       DfsProcess::Start(DFS_BINARY, DfsOptions{}));
  ASSERT_NE(server->smb_port(), 0) << server->Log();
  auto logon = [&](const std::string& password) {
    return Shell("smbclient //127.0.0.1/export -s /dev/null -p " +
                 std::to_string(server->smb_port()) + " -U " + Quote("admin%" + password) +
                 " --option='netbios name=localhost' -m SMB3 -c ls");
  };
  using Clock = std::chrono::steady_clock;
  Clock::duration fifth{};
  for (int i = 1; i <= 5; ++i) {
    SCOPED_TRACE(i);
    const Clock::time_point start = Clock::now();
    ShellRun r = logon("wrong-" + server->admin_password());
    if (i == 5) fifth = Clock::now() - start;
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("NT_STATUS_LOGON_FAILURE"), std::string::npos) << r.output;
  }
  // The fifth failure waited for its answer (4 earlier failures x 500 ms), on no thread of the
  // server's: it served on meanwhile.
  EXPECT_GE(fifth, std::chrono::milliseconds(1900));
  const Clock::time_point locked_at = Clock::now();
  ShellRun locked = logon(server->admin_password());
  EXPECT_NE(locked.exit_code, 0) << locked.output;
  EXPECT_NE(locked.output.find("NT_STATUS_LOGON_FAILURE"), std::string::npos) << locked.output;
  EXPECT_NE(server->Log().find("too many failures"), std::string::npos) << server->Log();
  // The REST API counts the same failures: its login is locked out as well.
  if (Shell("command -v curl").exit_code == 0) {
    ShellRun api = Shell(
        "curl -s -o /dev/null -w '%{http_code}' -X POST -H "
        "'Content-Type: application/json' -d " +
        Quote("{\"username\":\"admin\",\"password\":\"" + server->admin_password() + "\"}") +
        " http://127.0.0.1:" + std::to_string(server->api_port()) + "/api/v1/auth/login");
    EXPECT_EQ(api.output, "429") << api.output;
  }
  // After the lockout (30 s from the fifth failure), the right password works again.
  std::this_thread::sleep_until(locked_at + std::chrono::seconds(31));
  ShellRun ok = logon(server->admin_password());
  EXPECT_EQ(ok.exit_code, 0) << ok.output << server->Log();
  Result<int> code = server->Stop();
  EXPECT_TRUE(code.ok() && *code == 0) << server->Log();
}

// A continuously available share (docs/state.md "Persistent handles"): a persistent
// handle, its data, its byte-range lock and its share modes outlive a crash of dfs (SIGKILL)
// and are reclaimed by the client; one whose client does not come back goes at its timeout.
// Security descriptors, named streams and EAs set over SMB are there after the restart too.
void PersistentOpensAclsAndStreamsOutliveACrash(DfsOptions options) {
  options.shares[0].block = "localfs";
  options.shares[0].continuously_available = true;
  Result<std::unique_ptr<DfsProcess>> started = DfsProcess::Start(DFS_BINARY, options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<DfsProcess> server = std::move(started).value();
  ASSERT_NE(server->smb_port(), 0) << server->Log();
  if (!options.state_dsn.empty()) {
    EXPECT_NE(server->Log().find("state store: PostgreSQL"), std::string::npos) << server->Log();
  }
  const auto words = [](const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };

  std::unique_ptr<SmbPeer> a = SmbPeer::Start(*server, SMB_PEER_SCRIPT);
  ASSERT_NE(a, nullptr) << server->Log();
  std::vector<std::string> got = words(a->Do("dopen kept.bin 3"));
  ASSERT_EQ(got.size(), 4u) << server->Log();
  ASSERT_EQ(got[0], "ok");
  const std::string kept = got[1], kept_id = got[2], kept_guid = got[3];
  EXPECT_EQ(words(a->Do("dgranted")).back(), "2");  // SMB2_DHANDLE_FLAG_PERSISTENT
  ASSERT_EQ(a->Do("write " + kept + " 0 70657273697374656e74"), "ok");  // "persistent"
  ASSERT_EQ(a->Do("lock " + kept + " 0 10 x"), "ok");
  // Another persistent open, with a timeout of 2 s, whose client never comes back.
  got = words(a->Do("dopen lapsed.bin 3 2000"));
  ASSERT_EQ(got.size(), 4u);
  const std::string lapsed_id = got[2], lapsed_guid = got[3];
  // A file with a security descriptor, a named stream and an EA, set over SMB.
  // FILE_ALL_ACCESS | ACCESS_SYSTEM_SECURITY (admin is uid 0); NON_DIRECTORY; CREATE.
  ASSERT_EQ(a->Do("create meta.txt 0x011f01ff 0x40 2"), "ok 3");
  const std::string sd =  // DACL: deny uid 1500 read/execute, allow Everyone everything
      "01000480000000000000000000000000140000000200340002000000"
      "0100180021000000010200000000001601000000dc050000"
      "00001400ff011f00010100000000000100000000";
  ASSERT_EQ(a->Do("setsd 3 4 " + sd), "ok");
  ASSERT_EQ(a->Do("seteas 3 colour=626c7565"), "ok");  // "blue"
  ASSERT_EQ(a->Do("create meta.txt:notes 0x0012019f 0x40 2"), "ok 4");
  ASSERT_EQ(a->Do("write 4 0 6e6f746573"), "ok");  // "notes"
  ASSERT_EQ(a->Do("close 4"), "ok");
  const std::string sd_before = a->Do("getsd 3 4");
  ASSERT_EQ(sd_before.rfind("ok ", 0), 0u) << sd_before;
  const std::string streams_before = a->Do("streams 3");
  ASSERT_NE(streams_before.find(":notes:$DATA=5"), std::string::npos) << streams_before;
  ASSERT_EQ(a->Do("close 3"), "ok");

  // dfs crashes with the persistent opens held, and comes back.
  ASSERT_OK(server->Kill());
  a.reset();
  ASSERT_OK(server->StartAgain());
  EXPECT_NE(server->Log().find("persistent opens wait for their clients"), std::string::npos)
      << server->Log();

  std::unique_ptr<SmbPeer> b = SmbPeer::Start(*server, SMB_PEER_SCRIPT);
  ASSERT_NE(b, nullptr) << server->Log();
  // While it waits for its client, the file is not available to anyone else (MS-SMB2 3.3.5.9).
  EXPECT_EQ(b->Do("open kept.bin 0x3 7 0"), "error STATUS_FILE_NOT_AVAILABLE");
  // Its client reclaims it: the data, and its lock, held against everyone else.
  EXPECT_EQ(b->Do("dreconnect kept.bin " + kept_id + " " + kept_guid + " p"), "ok 1")
      << server->Log();
  EXPECT_EQ(b->Do("read 1 0 10"), "ok 70657273697374656e74");
  std::unique_ptr<SmbPeer> c = SmbPeer::Start(*server, SMB_PEER_SCRIPT);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Do("open kept.bin 0x3 7 0"), "ok 1");
  EXPECT_EQ(c->Do("lock 1 0 10 x"), "error STATUS_LOCK_NOT_GRANTED");
  EXPECT_EQ(b->Do("unlock 1 0 10"), "ok");
  EXPECT_EQ(c->Do("lock 1 0 10 x"), "ok");
  EXPECT_EQ(c->Do("close 1"), "ok");
  EXPECT_EQ(b->Do("close 1"), "ok");
  // The descriptor, the stream and the EA are as they were set.
  ASSERT_EQ(b->Do("create meta.txt 0x011f01ff 0x40 1"), "ok 1");  // (the peer reuses ids)
  EXPECT_EQ(b->Do("getsd 1 4"), sd_before);
  EXPECT_EQ(b->Do("streams 1"), streams_before);
  EXPECT_EQ(b->Do("geteas 1"), "ok colour=626c7565");
  ASSERT_EQ(b->Do("create meta.txt:notes 0x0012019f 0x40 1"), "ok 2");
  EXPECT_EQ(b->Do("read 2 0 5"), "ok 6e6f746573");

  // The other one's 2 s ran out: it is closed, and its file free.
  std::string freed;
  for (int i = 0; i < 50; ++i) {
    freed = b->Do("open lapsed.bin 0x3 0 0");  // no sharing: fails while it is open
    if (freed.rfind("ok", 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(freed.rfind("ok", 0), 0u) << freed;
  EXPECT_EQ(b->Do("dreconnect lapsed.bin " + lapsed_id + " " + lapsed_guid + " p"),
            "error STATUS_OBJECT_NAME_NOT_FOUND");

  // A clean stop (SIGTERM) keeps a persistent open as a crash does.
  got = words(b->Do("dopen again.bin 3"));
  ASSERT_EQ(got.size(), 4u);
  ASSERT_EQ(b->Do("write " + got[1] + " 0 616761696e"), "ok");  // "again"
  b.reset();
  c.reset();
  ASSERT_OK(server->Restart());
  std::unique_ptr<SmbPeer> d = SmbPeer::Start(*server, SMB_PEER_SCRIPT);
  ASSERT_NE(d, nullptr) << server->Log();
  EXPECT_EQ(d->Do("dreconnect again.bin " + got[2] + " " + got[3] + " p"), "ok 1") << server->Log();
  EXPECT_EQ(d->Do("read 1 0 5"), "ok 616761696e");
  EXPECT_EQ(d->Do("close 1"), "ok");
  d.reset();
  Result<int> code = server->Stop();
  EXPECT_TRUE(code.ok() && *code == 0) << server->Log();
}

TEST(SmbPersistentHandleTest, PersistentOpensAclsAndStreamsOutliveACrash) {
  if (Shell("/usr/bin/python3 -c 'import impacket.smbconnection'").exit_code != 0) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  DfsOptions options;
  options.shares[0].metadata = "rocksdb";
  PersistentOpensAclsAndStreamsOutliveACrash(options);
}

// The same with the persistent handles in PostgreSQL (the server's state store) and the
// namespace there too, from a server the test starts.
TEST(SmbPersistentHandleTest, PersistentOpensOutliveACrashWithTheirRecordsInPostgres) {
  if (Shell("/usr/bin/python3 -c 'import impacket.smbconnection'").exit_code != 0) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  ::dittofs::testing::ScopedPostgresServer postgres(/*durable=*/true);
  ASSERT_FALSE(postgres->dsn().empty()) << postgres->error();
  DfsOptions options;
  UsePostgres(options, postgres->dsn());
  PersistentOpensAclsAndStreamsOutliveACrash(options);
}

// A persistent open the state store cannot keep (PostgreSQL is down) is not granted as one:
// the answer has no persistent flag, and the open is what it can be without (here, with no
// oplock, not durable). Once the store is back, persistent opens are granted again.
TEST(SmbPersistentHandleTest, AnOpenTheStateStoreCannotKeepIsNotGrantedPersistent) {
  if (Shell("/usr/bin/python3 -c 'import impacket.smbconnection'").exit_code != 0) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  ::dittofs::testing::ScopedPostgresServer postgres(/*durable=*/true);
  ASSERT_FALSE(postgres->dsn().empty()) << postgres->error();
  DfsOptions options;
  options.state_dsn = postgres->dsn();  // the namespace stays in RocksDB
  options.shares[0].metadata = "rocksdb";
  options.shares[0].block = "localfs";
  options.shares[0].continuously_available = true;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(DFS_BINARY, options));
  std::unique_ptr<SmbPeer> a = SmbPeer::Start(*server, SMB_PEER_SCRIPT);
  ASSERT_NE(a, nullptr) << server->Log();
  const auto granted = [&](const std::string& name) {
    std::string opened = a->Do("dopen " + name + " 3");
    EXPECT_EQ(opened.rfind("ok ", 0), 0u) << opened << server->Log();
    return a->Do("dgranted");
  };
  EXPECT_THAT(granted("before.bin"), ::testing::MatchesRegex("ok DH2Q [0-9]+ 2"));

  postgres->Kill();
  EXPECT_EQ(granted("during.bin"), "ok none") << server->Log();
  EXPECT_NE(server->Log().find("not kept"), std::string::npos) << server->Log();
  EXPECT_EQ(a->Do("write 2 0 6f6b"), "ok");  // the open itself works

  ASSERT_OK(postgres->Restart());
  std::string after;
  for (int i = 0; i < 50; ++i) {  // the store reconnects on its next write
    after = granted("after" + std::to_string(i) + ".bin");
    if (after != "ok none") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(after, ::testing::MatchesRegex("ok DH2Q [0-9]+ 2")) << server->Log();
  a.reset();
  Result<int> code = server->Stop();
  EXPECT_TRUE(code.ok() && *code == 0) << server->Log();
}

}  // namespace
}  // namespace dittofs::integration
