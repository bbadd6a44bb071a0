// SPDX-License-Identifier: Apache-2.0
// NFSv4.0 against a running dfs with a client nobody here wrote: libnfs (Debian's 4.0, whose
// NFSv4 writes above about 4 KiB fail whatever the server, so the files here are smaller).
// Namespace and data operations, the same files seen over NFSv3, and fcntl locks between
// NFSv4 clients.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "dfs_process.h"
#include "nfs_client.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

class Nfs4LibnfsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = DfsProcess::Start(DFS_BINARY, DfsOptions{});
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

  static std::unique_ptr<NfsMount> Mount(int version, const std::string& name = "") {
    auto m = NfsMount::Mount(dfs_->port(), "/export", 0, 0, version, name);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }

  static std::string Pattern(size_t n, char seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 % 251);
    return s;
  }

  // Writes `data` to a new file `path` (created 0644).
  static void WriteFile(NfsMount& m, const std::string& path, const std::string& data) {
    nfsfh* fh = nullptr;
    ASSERT_EQ(nfs_create(m.get(), path.c_str(), O_WRONLY | O_TRUNC, 0644, &fh), 0) << m.error();
    ASSERT_EQ(nfs_pwrite(m.get(), fh, 0, data.size(), data.data()), static_cast<int>(data.size()))
        << m.error();
    ASSERT_EQ(nfs_fsync(m.get(), fh), 0) << m.error();
    ASSERT_EQ(nfs_close(m.get(), fh), 0) << m.error();
  }
  static std::string ReadFile(NfsMount& m, const std::string& path, size_t max = 1 << 16) {
    nfsfh* fh = nullptr;
    EXPECT_EQ(nfs_open(m.get(), path.c_str(), O_RDONLY, &fh), 0) << m.error();
    if (fh == nullptr) return "";
    std::string out(max, '\0');
    int n = nfs_pread(m.get(), fh, 0, max, out.data());
    EXPECT_GE(n, 0) << m.error();
    out.resize(std::max(n, 0));
    nfs_close(m.get(), fh);
    return out;
  }

  static DfsProcess* dfs_;
};

DfsProcess* Nfs4LibnfsTest::dfs_ = nullptr;

TEST_F(Nfs4LibnfsTest, NamespaceAndDataOperations) {
  std::unique_ptr<NfsMount> m = Mount(4, "libnfs-ns");
  ASSERT_NE(m, nullptr);
  nfs_context* nfs = m->get();
  ASSERT_EQ(nfs_mkdir(nfs, "/v4dir"), 0) << m->error();
  const std::string data = Pattern(3000, 'a');
  WriteFile(*m, "/v4dir/f", data);
  nfs_stat_64 st{};
  ASSERT_EQ(nfs_stat64(nfs, "/v4dir/f", &st), 0) << m->error();
  EXPECT_EQ(st.nfs_size, data.size());
  EXPECT_EQ(st.nfs_mode & 0777, 0644u);
  EXPECT_TRUE(ReadFile(*m, "/v4dir/f") == data);

  // An append at an offset, then truncation.
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open(nfs, "/v4dir/f", O_RDWR, &fh), 0) << m->error();
  ASSERT_EQ(nfs_pwrite(nfs, fh, 3000, 5, "tail!"), 5) << m->error();
  ASSERT_EQ(nfs_ftruncate(nfs, fh, 3002), 0) << m->error();
  ASSERT_EQ(nfs_close(nfs, fh), 0);
  EXPECT_TRUE(ReadFile(*m, "/v4dir/f") == data + "ta");

  // chmod, symlink, a listing, rename, remove.
  ASSERT_EQ(nfs_chmod(nfs, "/v4dir/f", 0600), 0) << m->error();
  ASSERT_EQ(nfs_stat64(nfs, "/v4dir/f", &st), 0);
  EXPECT_EQ(st.nfs_mode & 0777, 0600u);
  ASSERT_EQ(nfs_symlink(nfs, "f", "/v4dir/l"), 0) << m->error();
  char target[64] = {};
  ASSERT_EQ(nfs_readlink(nfs, "/v4dir/l", target, sizeof(target) - 1), 0) << m->error();
  EXPECT_STREQ(target, "f");
  for (int i = 0; i < 50; ++i) WriteFile(*m, "/v4dir/n" + std::to_string(i), "x");
  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(nfs, "/v4dir", &dir), 0) << m->error();
  std::set<std::string> names;
  while (nfsdirent* e = nfs_readdir(nfs, dir)) names.insert(e->name);
  nfs_closedir(nfs, dir);
  names.erase(".");
  names.erase("..");
  EXPECT_EQ(names.size(), 52u);  // f, l and n0..n49
  EXPECT_TRUE(names.count("n49") && names.count("l") && names.count("f"));
  ASSERT_EQ(nfs_rename(nfs, "/v4dir/f", "/v4dir/g"), 0) << m->error();
  EXPECT_NE(nfs_stat64(nfs, "/v4dir/f", &st), 0);
  EXPECT_TRUE(ReadFile(*m, "/v4dir/g") == data + "ta");
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(nfs_unlink(nfs, ("/v4dir/n" + std::to_string(i)).c_str()), 0);
  ASSERT_EQ(nfs_unlink(nfs, "/v4dir/g"), 0) << m->error();
  ASSERT_EQ(nfs_unlink(nfs, "/v4dir/l"), 0) << m->error();
  EXPECT_NE(nfs_rmdir(nfs, "/export-none"), 0);
  ASSERT_EQ(nfs_rmdir(nfs, "/v4dir"), 0) << m->error();
  EXPECT_NE(nfs_stat64(nfs, "/v4dir", &st), 0);
}

TEST_F(Nfs4LibnfsTest, NfsV3AndV4SeeTheSameFiles) {
  std::unique_ptr<NfsMount> v4 = Mount(4, "libnfs-both");
  std::unique_ptr<NfsMount> v3 = Mount(3);
  ASSERT_NE(v4, nullptr);
  ASSERT_NE(v3, nullptr);
  const std::string a = Pattern(3000, 'q');
  WriteFile(*v4, "/both-a", a);
  EXPECT_TRUE(ReadFile(*v3, "/both-a") == a);
  const std::string b = Pattern(100000, 'z');  // NFSv3 writes any size
  WriteFile(*v3, "/both-b", b);
  EXPECT_TRUE(ReadFile(*v4, "/both-b", 200000) == b);
  nfs_stat_64 s3{}, s4{};
  ASSERT_EQ(nfs_stat64(v3->get(), "/both-b", &s3), 0);
  ASSERT_EQ(nfs_stat64(v4->get(), "/both-b", &s4), 0);
  EXPECT_EQ(s3.nfs_ino, s4.nfs_ino);
  EXPECT_EQ(s3.nfs_size, s4.nfs_size);
  EXPECT_EQ(nfs_unlink(v4->get(), "/both-a"), 0);
  EXPECT_EQ(nfs_unlink(v4->get(), "/both-b"), 0);
  EXPECT_NE(nfs_stat64(v3->get(), "/both-b", &s3), 0);
}

// libnfs 4.0 keeps its seqids and stateids wrong around locks (it does not count the LOCK
// that made a lock-owner, nor a refused one, against the open-owner, RFC 7530 §9.1.7, and
// after a LOCKU it sends the lock stateid it had before): its next call after those is
// refused BAD_SEQID or OLD_STATEID, or answered as a retransmission, by any server. So each
// client here takes only the steps libnfs gets right.
TEST_F(Nfs4LibnfsTest, FcntlLocksConflictBetweenClients) {
  std::unique_ptr<NfsMount> a = Mount(4, "libnfs-lock-a");
  std::unique_ptr<NfsMount> b = Mount(4, "libnfs-lock-b");
  std::unique_ptr<NfsMount> c = Mount(4, "libnfs-lock-c");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  WriteFile(*a, "/locked", Pattern(1000, 'l'));
  nfsfh* fa = nullptr;
  nfsfh* fb = nullptr;
  nfsfh* fc = nullptr;
  ASSERT_EQ(nfs_open(a->get(), "/locked", O_RDWR, &fa), 0) << a->error();
  ASSERT_EQ(nfs_open(b->get(), "/locked", O_RDWR, &fb), 0) << b->error();
  ASSERT_EQ(nfs_open(c->get(), "/locked", O_RDWR, &fc), 0) << c->error();
  nfs4_flock l{};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  l.l_start = 0;
  l.l_len = 100;
  ASSERT_EQ(nfs_fcntl(a->get(), fa, NFS4_F_SETLK, &l), 0) << a->error();
  // b: a range inside a's is refused.
  nfs4_flock inside = l;
  inside.l_start = 50;
  inside.l_len = 10;
  EXPECT_NE(nfs_fcntl(b->get(), fb, NFS4_F_SETLK, &inside), 0);
  EXPECT_NE(b->error().find("DENIED"), std::string::npos) << b->error();
  // a unlocks (its lock-owner's next seqid): c gets the range, and d's read lock is refused.
  nfs4_flock un = l;
  un.l_type = F_UNLCK;
  ASSERT_EQ(nfs_fcntl(a->get(), fa, NFS4_F_SETLK, &un), 0) << a->error();
  EXPECT_EQ(nfs_fcntl(c->get(), fc, NFS4_F_SETLK, &l), 0) << c->error();
  std::unique_ptr<NfsMount> d = Mount(4, "libnfs-lock-d");
  ASSERT_NE(d, nullptr);
  nfsfh* fd = nullptr;
  ASSERT_EQ(nfs_open(d->get(), "/locked", O_RDONLY, &fd), 0) << d->error();
  nfs4_flock rd = inside;
  rd.l_type = F_RDLCK;
  EXPECT_NE(nfs_fcntl(d->get(), fd, NFS4_F_SETLK, &rd), 0);
  EXPECT_NE(d->error().find("DENIED"), std::string::npos) << d->error();
  // Closes are not checked (libnfs's seqids, above); the files go with the contexts.
  nfs_close(a->get(), fa);
  nfs_close(b->get(), fb);
  nfs_close(c->get(), fc);
  nfs_close(d->get(), fd);
}

}  // namespace
}  // namespace dittofs::integration
