// SPDX-License-Identifier: Apache-2.0
//
// Crash safety, end to end: dfs runs on durable stores while NFS clients write, is killed with
// SIGKILL at random moments, and starts again on the same state. After every restart, each
// byte the server acknowledged as stable (a FILE_SYNC write, or an UNSTABLE write followed by a
// successful COMMIT with an unchanged verifier) must read back as written, or as a later
// version of it: writes that were never acknowledged as stable may or may not have landed, but
// they must not damage anything that was. File handles issued before a crash must still work.
//
// Data describes itself: every 4 KiB block carries (file, block, version) and a pattern derived
// from them, so the checker can tell which write a block came from without a reference copy.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dfs_process.h"
#include "nfs_client.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

constexpr size_t kBlock = 4096;
constexpr size_t kBlocksPerWrite = 16;  // 64 KiB writes
constexpr size_t kBlocksPerFile = 512;  // 2 MiB files, overwritten again and again
constexpr int kCrashes = 20;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The bytes of block `block` of file `file` as written by version `version` (>= 1).
std::string BlockBytes(uint32_t file, uint32_t block, uint32_t version) {
  std::string b(kBlock, '\0');
  uint32_t header[3] = {file, block, version};
  std::memcpy(b.data(), header, sizeof(header));
  uint64_t x = Mix((uint64_t{file} << 40) ^ (uint64_t{block} << 20) ^ version);
  for (size_t i = sizeof(header); i + 8 <= kBlock; i += 8) {
    x = Mix(x);
    std::memcpy(b.data() + i, &x, 8);
  }
  return b;
}

// What the test knows of one file: per block, the newest version acknowledged as stable, and
// the newest version ever sent (acknowledged or not).
struct FileState {
  uint32_t id = 0;
  std::string name;
  FileHandle fh;
  bool sync_writes = false;  // FILE_SYNC writes; else UNSTABLE + COMMIT
  std::vector<uint32_t> stable = std::vector<uint32_t>(kBlocksPerFile, 0);
  std::vector<uint32_t> sent = std::vector<uint32_t>(kBlocksPerFile, 0);
  uint64_t stable_size = 0;
};

// Writes into `f` until the server dies (a call fails) or `stop` is set. Versions grow by one
// per write of a range, so a block's header tells which write it holds.
void Writer(uint16_t port, FileState* f, uint32_t seed, std::atomic<bool>* stop) {
  Result<std::unique_ptr<RawNfsClient>> client =
      RawNfsClient::Connect(port, 0, 0, {}, std::chrono::seconds(10));
  if (!client.ok()) return;
  std::mt19937 rng(seed);
  // UNSTABLE writes acknowledged since the last COMMIT: (block, version) pairs.
  std::vector<std::pair<uint32_t, uint32_t>> pending;
  WriteVerf verf{};
  bool have_verf = false;
  int since_commit = 0;
  while (!stop->load()) {
    uint32_t first =
        static_cast<uint32_t>(rng() % (kBlocksPerFile / kBlocksPerWrite)) * kBlocksPerWrite;
    std::string data;
    std::vector<uint32_t> versions;
    for (uint32_t b = first; b < first + kBlocksPerWrite; ++b) {
      uint32_t v = ++f->sent[b];
      versions.push_back(v);
      data += BlockBytes(f->id, b, v);
    }
    Result<WRITE3res> w = (*client)->Write(f->fh, uint64_t{first} * kBlock, data,
                                           f->sync_writes ? FILE_SYNC : UNSTABLE);
    if (!w.ok() || w->status != NFS3_OK) return;
    const WRITE3resok& ok = w->WRITE3res_u.resok;
    if (ok.count != data.size()) return;
    if (have_verf && VerfOf(ok) != verf) pending.clear();  // the server restarted under us
    verf = VerfOf(ok);
    have_verf = true;
    if (ok.committed == FILE_SYNC) {
      for (uint32_t i = 0; i < kBlocksPerWrite; ++i) {
        f->stable[first + i] = std::max(f->stable[first + i], versions[i]);
      }
      f->stable_size =
          std::max<uint64_t>(f->stable_size, uint64_t{first + kBlocksPerWrite} * kBlock);
      continue;
    }
    for (uint32_t i = 0; i < kBlocksPerWrite; ++i) pending.emplace_back(first + i, versions[i]);
    if (++since_commit < 4) continue;
    since_commit = 0;
    Result<COMMIT3res> c = (*client)->Commit(f->fh, 0, 0);
    if (!c.ok() || c->status != NFS3_OK) return;
    if (VerfOf(c->COMMIT3res_u.resok) != verf) {
      pending.clear();  // a restart lost them; they were never stable
      continue;
    }
    for (auto [b, v] : pending) {
      f->stable[b] = std::max(f->stable[b], v);
      f->stable_size = std::max<uint64_t>(f->stable_size, uint64_t{b + 1} * kBlock);
    }
    pending.clear();
  }
}

// Checks every block of `f` against what was acknowledged. Returns a description of the first
// damage found, or an empty string.
std::string Verify(RawNfsClient& client, const FileState& f) {
  Result<GETATTR3res> attr = client.Getattr(f.fh);
  if (!attr.ok()) return "getattr failed: " + attr.status().ToString();
  if (attr->status != NFS3_OK) return "getattr status " + std::to_string(attr->status);
  uint64_t size = attr->GETATTR3res_u.resok.obj_attributes.size;
  if (size < f.stable_size) {
    return "size " + std::to_string(size) + " < stable size " + std::to_string(f.stable_size);
  }
  for (uint32_t first = 0; first < kBlocksPerFile; first += 64) {
    Result<ReadReply> r = client.Read(f.fh, uint64_t{first} * kBlock, 64 * kBlock);
    if (!r.ok()) return "read failed: " + r.status().ToString();
    if (r->status != NFS3_OK) return "read status " + std::to_string(r->status);
    for (uint32_t b = first; b < first + 64; ++b) {
      uint32_t want = f.stable[b];
      if (want == 0) continue;  // nothing stable here yet
      size_t at = size_t{b - first} * kBlock;
      if (r->data.size() < at + kBlock) return "short read at block " + std::to_string(b);
      uint32_t header[3];
      std::memcpy(header, r->data.data() + at, sizeof(header));
      std::string where = f.name + " block " + std::to_string(b);
      if (header[0] != f.id || header[1] != b) return where + ": holds another block's data";
      if (header[2] < want || header[2] > f.sent[b]) {
        return where + ": version " + std::to_string(header[2]) + ", stable was " +
               std::to_string(want) + ", newest sent " + std::to_string(f.sent[b]);
      }
      if (r->data.compare(at, kBlock, BlockBytes(f.id, b, header[2])) != 0) {
        return where + ": torn or corrupt (version " + std::to_string(header[2]) + ")";
      }
    }
  }
  return "";
}

TEST(CrashTest, StableDataSurvivesSigkillAtRandomPoints) {
  DfsOptions options;
  options.shares[0].metadata = "rocksdb";
  // The default durable share: RocksDB metadata, the journal, a filesystem remote. Carving
  // soon and often (and collecting garbage at once) puts kills in the middle of uploads,
  // commits and deletions too.
  options.shares[0].block = "tiered";
  options.shares[0].tiered =
      "{carve_after_ms: 200, carve_dirty_bytes: 1MiB, chunk_min: 16KiB, chunk_avg: 64KiB, "
      "chunk_max: 256KiB, object_size: 1MiB, gc_grace_ms: 0, gc_interval_ms: 300}";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(DFS_BINARY, options));

  std::vector<FileState> files(4);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                         RawNfsClient::Connect(server->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
    ASSERT_EQ(mnt.status, MNT3_OK);
    for (size_t i = 0; i < files.size(); ++i) {
      files[i].id = static_cast<uint32_t>(i + 1);
      files[i].name = "file" + std::to_string(i);
      files[i].sync_writes = i % 2 == 0;
      ASSERT_OK_AND_ASSIGN(CreatedReply c,
                           client->Create(mnt.fh, files[i].name, GUARDED, ModeAttrs(0644)));
      ASSERT_EQ(c.status, NFS3_OK);
      ASSERT_TRUE(c.has_fh);
      files[i].fh = c.fh;
    }
    // CREATE is durable on reply too: crash right away once to prove it.
  }

  std::mt19937 rng(20261122);
  for (int crash = 0; crash < kCrashes; ++crash) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (FileState& f : files) {
      writers.emplace_back(Writer, server->port(), &f, static_cast<uint32_t>(rng()), &stop);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 700));
    ASSERT_OK(server->Kill());
    stop = true;
    for (std::thread& t : writers) t.join();

    Status restarted = server->StartAgain();
    ASSERT_TRUE(restarted.ok()) << "crash " << crash << ": " << restarted.ToString();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                         RawNfsClient::Connect(server->port(), 0, 0));
    for (const FileState& f : files) {
      std::string damage = Verify(*client, f);
      ASSERT_EQ(damage, "") << "after crash " << crash << "\n--- dfs log ---\n" << server->Log();
    }
  }
  size_t stable_blocks = 0;
  for (const FileState& f : files) {
    stable_blocks += std::count_if(f.stable.begin(), f.stable.end(), [](uint32_t v) { return v; });
  }
  // The test proves nothing if the writers never got a stable write in.
  EXPECT_GT(stable_blocks, kBlocksPerFile);
  ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace dittofs::integration
