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
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dfs_process.h"
#include "nfs_client.h"
#include "testing/postgres_server.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

constexpr size_t kBlock = 4096;
constexpr size_t kBlocksPerWrite = 16;  // 64 KiB writes
constexpr size_t kBlocksPerFile = 512;  // 2 MiB files, overwritten again and again
constexpr int kCrashes = 20;

// For the shares whose metadata is in PostgreSQL: fsync and synchronous commits on.
testing::PostgresServer* const postgres = static_cast<testing::PostgresServer*>(
    ::testing::AddGlobalTestEnvironment(new testing::PostgresServer(true)));

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

// Creates the files (file0, file1, ...) in the root of /export, every other one written with
// FILE_SYNC and the others UNSTABLE + COMMIT.
void CreateFiles(uint16_t port, std::vector<FileState>* files) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client, RawNfsClient::Connect(port, 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  for (size_t i = 0; i < files->size(); ++i) {
    FileState& f = (*files)[i];
    f.id = static_cast<uint32_t>(i + 1);
    f.name = "file" + std::to_string(i);
    f.sync_writes = i % 2 == 0;
    ASSERT_OK_AND_ASSIGN(CreatedReply c, client->Create(mnt.fh, f.name, GUARDED, ModeAttrs(0644)));
    ASSERT_EQ(c.status, NFS3_OK);
    ASSERT_TRUE(c.has_fh);
    f.fh = c.fh;
  }
}

// The durable share: `metadata` metadata, the journal, a filesystem remote. Carving soon and
// often (and collecting garbage at once) puts kills in the middle of uploads, commits and
// deletions too.
DfsOptions DurableShare(const std::string& metadata) {
  DfsOptions options;
  options.shares[0].metadata = metadata;
  if (metadata == "postgres") {
    options.shares[0].metadata_dsn = postgres->dsn();
    static int next = 0;
    options.shares[0].metadata_schema = "crash" + std::to_string(next++);
  }
  options.shares[0].block = "tiered";
  options.shares[0].tiered =
      "{carve_after_ms: 200, carve_dirty_bytes: 1MiB, chunk_min: 16KiB, chunk_avg: 64KiB, "
      "chunk_max: 256KiB, object_size: 1MiB, gc_grace_ms: 0, gc_interval_ms: 300}";
  return options;
}

// Writers on four files; dfs killed with SIGKILL `crashes` times at random moments and started
// again; after each restart every block acknowledged as stable must be there, whole.
void SigkillRounds(const DfsOptions& options, int crashes) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(DFS_BINARY, options));

  std::vector<FileState> files(4);
  // CREATE is durable on reply too: the first crash proves it.
  ASSERT_NO_FATAL_FAILURE(CreateFiles(server->port(), &files));

  std::mt19937 rng(20261122);
  for (int crash = 0; crash < crashes; ++crash) {
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

TEST(CrashTest, StableDataSurvivesSigkillAtRandomPoints) {
  SigkillRounds(DurableShare("rocksdb"), kCrashes);
}

// The same with the share's metadata in PostgreSQL (a real server, fsync and synchronous
// commits on).
TEST(CrashTest, StableDataSurvivesSigkillWithPostgresMetadata) {
  ASSERT_FALSE(postgres->dsn().empty()) << postgres->error();
  SigkillRounds(DurableShare("postgres"), kCrashes / 4);
}

// PostgreSQL itself killed (SIGKILL) under writers: their calls fail (nothing is acknowledged
// that PostgreSQL did not commit), and once it is back the same dfs serves the share again,
// with every block acknowledged as stable before the kill intact.
TEST(CrashTest, PostgresKilledUnderWritersFailsCleanlyAndTheShareComesBack) {
  ASSERT_FALSE(postgres->dsn().empty()) << postgres->error();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server,
                       DfsProcess::Start(DFS_BINARY, DurableShare("postgres")));
  std::vector<FileState> files(4);
  ASSERT_NO_FATAL_FAILURE(CreateFiles(server->port(), &files));
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (FileState& f : files) writers.emplace_back(Writer, server->port(), &f, f.id * 77u, &stop);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  postgres->Kill();
  // The writers stop at their first failed call (or at `stop` should one never fail).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (std::thread& t : writers) t.join();
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                         RawNfsClient::Connect(server->port(), 0, 0));
    Result<GETATTR3res> down = client->Getattr(files[0].fh);
    EXPECT_TRUE(!down.ok() || down->status != NFS3_OK) << "served without its metadata";
  }
  ASSERT_OK(postgres->Restart());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                       RawNfsClient::Connect(server->port(), 0, 0));
  std::string damage = "not checked";
  for (int i = 0; i < 100; ++i) {  // the share serves again once PostgreSQL takes connections
    damage = Verify(*client, files[0]);
    if (damage.find("getattr") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  size_t stable_blocks = 0;
  for (const FileState& f : files) {
    EXPECT_EQ(Verify(*client, f), "") << "--- dfs log ---\n" << server->Log();
    stable_blocks += std::count_if(f.stable.begin(), f.stable.end(), [](uint32_t v) { return v; });
  }
  EXPECT_GT(stable_blocks, 0u);
  // And it takes writes again.
  Result<WRITE3res> w =
      client->Write(files[0].fh, 0, BlockBytes(1, 0, files[0].sent[0] + 1), FILE_SYNC);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  EXPECT_EQ(code, 0);
}

// PostgreSQL down when dfs starts: dfs starts anyway with the share offline, and serves it once
// PostgreSQL is back (tried every few seconds).
TEST(CrashTest, ShareWhosePostgresIsDownAtStartComesOnlineWhenItIsBack) {
  ASSERT_FALSE(postgres->dsn().empty()) << postgres->error();
  postgres->Kill();
  Result<std::unique_ptr<DfsProcess>> started =
      DfsProcess::Start(DFS_BINARY, DurableShare("postgres"));
  Status back = postgres->Restart();
  ASSERT_OK(started.status());
  ASSERT_OK(back);
  std::unique_ptr<DfsProcess> server = std::move(started).value();
  EXPECT_THAT(server->Log(), ::testing::HasSubstr("offline until its metadata store"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                       RawNfsClient::Connect(server->port(), 0, 0));
  Result<MntReply> mnt = client->Mnt("/export");
  for (int i = 0; i < 150 && !(mnt.ok() && mnt->status == MNT3_OK); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    mnt = client->Mnt("/export");
  }
  ASSERT_OK(mnt.status());
  ASSERT_EQ(mnt->status, MNT3_OK) << server->Log();
  ASSERT_OK_AND_ASSIGN(CreatedReply c, client->Create(mnt->fh, "after", GUARDED, ModeAttrs(0644)));
  EXPECT_EQ(c.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  EXPECT_EQ(code, 0);
}

// ---- Concurrent clients: writes, truncates, renames over files, removes ----
//
// Several clients, each with files of its own in the share's root, run a random mix of
// FILE_SYNC writes, UNSTABLE writes with COMMITs, truncates (SETATTR size), replacements (a new
// file written under a temporary name and renamed over the old one) and removes followed by a
// new CREATE, while dfs is killed with SIGKILL at random moments.
//
// The model keeps, for every block of every file, the history of the states the operations
// sent gave it (a version of the block written, or zeros), and the first state that is still
// acceptable (the newest acknowledged as stable); likewise for the file's size. After a restart
// each block must hold one of its acceptable states, whole. What is found then becomes the
// start of the next round's history.

constexpr uint32_t kMixBlocks = 256;  // 1 MiB files at most

// A block's state: the incarnation of the file that wrote it (a number no other file of the
// test ever has) and the block's version; 0 is zeros (a hole, or cut).
uint64_t StateOf(uint32_t incarnation, uint32_t version) {
  return version == 0 ? 0 : uint64_t{incarnation} << 32 | version;
}

struct MixFile {
  std::string name;
  FileHandle fh;  // the file the name held when the round started or the client made it
  bool exists = false;
  uint32_t incarnation = 0;
  std::vector<uint32_t> version = std::vector<uint32_t>(kMixBlocks, 0);  // newest sent, per block
  std::vector<std::vector<uint64_t>> history =
      std::vector<std::vector<uint64_t>>(kMixBlocks, std::vector<uint64_t>{0});
  std::vector<size_t> floor = std::vector<size_t>(kMixBlocks, 0);
  std::vector<uint64_t> sizes = {0};
  size_t size_floor = 0;
  uint64_t size = 0;  // the size the last operation sent gives the file
  // UNSTABLE writes acknowledged since the last COMMIT: (block, history index), and the sizes.
  std::vector<std::pair<uint32_t, size_t>> pending;
  size_t pending_size = 0;
  WriteVerf pending_verf{};
  bool has_pending = false;
  // What happened to the name, oldest first (the last kTrail events are printed on damage).
  std::vector<std::string> trail;

  void Note(std::string event) { trail.push_back(std::move(event)); }
  std::string Trail() const {
    constexpr size_t kTrail = 120;
    std::string out;
    for (size_t i = trail.size() > kTrail ? trail.size() - kTrail : 0; i < trail.size(); ++i) {
      out += "  " + trail[i] + "\n";
    }
    return out;
  }

  // Records a new state of block `b`; returns its index in the history.
  size_t Push(uint32_t b, uint64_t state) {
    history[b].push_back(state);
    return history[b].size() - 1;
  }
  size_t PushSize(uint64_t s) {
    size = s;
    sizes.push_back(s);
    return sizes.size() - 1;
  }
  void Stable(uint32_t b, size_t index) { floor[b] = std::max(floor[b], index); }
  void StableSize(size_t index) { size_floor = std::max(size_floor, index); }
};

struct MixCounters {
  std::atomic<uint32_t> next_incarnation{1};
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> stable_acks{0};
};

// One client's work on its files until a call fails (the server died) or `stop` is set.
void MixClient(uint16_t port, const FileHandle& root, std::vector<MixFile>* files,
               const std::string& tmp_name, uint32_t seed, MixCounters* counters,
               std::atomic<bool>* stop) {
  Result<std::unique_ptr<RawNfsClient>> connected =
      RawNfsClient::Connect(port, 0, 0, {}, std::chrono::seconds(10));
  if (!connected.ok()) return;
  RawNfsClient& client = **connected;
  std::mt19937 rng(seed);
  while (!stop->load()) {
    MixFile& f = (*files)[rng() % files->size()];
    if (!f.exists) return;
    counters->ops.fetch_add(1);
    const uint32_t dice = rng() % 100;
    if (dice < 75) {  // a write, FILE_SYNC or UNSTABLE
      const bool sync = rng() % 2 == 0;
      const uint32_t count = rng() % 4 == 0 ? 1 + rng() % 64 : 1 + rng() % 8;
      const uint32_t first = rng() % (kMixBlocks - count + 1);
      std::string data;
      std::vector<size_t> at;
      for (uint32_t b = first; b < first + count; ++b) {
        data += BlockBytes(f.incarnation, b, ++f.version[b]);
        at.push_back(f.Push(b, StateOf(f.incarnation, f.version[b])));
      }
      const size_t size_at =
          f.PushSize(std::max<uint64_t>(f.size, uint64_t{first + count} * kBlock));
      Result<WRITE3res> w =
          client.Write(f.fh, uint64_t{first} * kBlock, data, sync ? FILE_SYNC : UNSTABLE);
      if (!w.ok() || w->status != NFS3_OK) return;
      const WRITE3resok& ok = w->WRITE3res_u.resok;
      if (ok.count != data.size()) return;
      f.Note("write inc " + std::to_string(f.incarnation) + " blocks " + std::to_string(first) +
             "+" + std::to_string(count) + " v" + std::to_string(f.version[first]) +
             (ok.committed == FILE_SYNC ? " stable" : " unstable"));
      if (ok.committed == FILE_SYNC) {
        for (uint32_t i = 0; i < count; ++i) f.Stable(first + i, at[i]);
        f.StableSize(size_at);
        counters->stable_acks.fetch_add(1);
        continue;
      }
      if (f.has_pending && VerfOf(ok) != f.pending_verf) f.pending.clear();
      f.pending_verf = VerfOf(ok);
      f.has_pending = true;
      for (uint32_t i = 0; i < count; ++i) f.pending.emplace_back(first + i, at[i]);
      f.pending_size = size_at;
    } else if (dice < 85) {  // COMMIT
      if (!f.has_pending) continue;
      Result<COMMIT3res> c = client.Commit(f.fh, 0, 0);
      if (!c.ok() || c->status != NFS3_OK) return;
      f.Note(VerfOf(c->COMMIT3res_u.resok) == f.pending_verf ? "commit"
                                                             : "commit, verifier changed");
      if (VerfOf(c->COMMIT3res_u.resok) == f.pending_verf) {
        for (auto [b, index] : f.pending) f.Stable(b, index);
        f.StableSize(f.pending_size);
        counters->stable_acks.fetch_add(1);
      }
      f.pending.clear();
      f.has_pending = false;
    } else if (dice < 93) {  // truncate or extend (SETATTR is stable on reply)
      const uint64_t size = uint64_t{rng() % (kMixBlocks + 1)} * kBlock;
      std::vector<std::pair<uint32_t, size_t>> cut;
      for (uint32_t b = static_cast<uint32_t>(size / kBlock); b < kMixBlocks; ++b) {
        if (f.history[b].back() != 0) cut.emplace_back(b, f.Push(b, 0));
      }
      const size_t size_at = f.PushSize(size);
      sattr3 attrs = NoAttrs();
      attrs.size.set_it = 1;
      attrs.size.set_size3_u.size = size;
      Result<SETATTR3res> r = client.Setattr(f.fh, attrs);
      if (!r.ok() || r->status != NFS3_OK) return;
      f.Note("size " + std::to_string(size / kBlock) + " blocks");
      for (auto [b, index] : cut) f.Stable(b, index);
      f.StableSize(size_at);
      counters->stable_acks.fetch_add(1);
    } else if (dice < 97) {  // replace: a new file under the temporary name, renamed over
      Result<CreatedReply> c = client.Create(root, tmp_name, UNCHECKED, ModeAttrs(0644));
      if (!c.ok() || c->status != NFS3_OK || !c->has_fh) return;
      // UNCHECKED keeps an old temporary file's data: cut it.
      sattr3 empty = NoAttrs();
      empty.size.set_it = 1;
      empty.size.set_size3_u.size = 0;
      Result<SETATTR3res> t = client.Setattr(c->fh, empty);
      if (!t.ok() || t->status != NFS3_OK) return;
      const uint32_t incarnation = counters->next_incarnation.fetch_add(1);
      const uint32_t count = 1 + rng() % 32;
      const uint32_t first = rng() % (kMixBlocks - count + 1);
      std::vector<uint32_t> versions(kMixBlocks, 0);
      std::string data;
      for (uint32_t b = first; b < first + count; ++b) {
        versions[b] = ++f.version[b];
        data += BlockBytes(incarnation, b, versions[b]);
      }
      Result<WRITE3res> w = client.Write(c->fh, uint64_t{first} * kBlock, data, FILE_SYNC);
      if (!w.ok() || w->status != NFS3_OK || w->WRITE3res_u.resok.count != data.size()) return;
      std::vector<size_t> at(kMixBlocks);
      for (uint32_t b = 0; b < kMixBlocks; ++b)
        at[b] = f.Push(b, StateOf(incarnation, versions[b]));
      const size_t size_at = f.PushSize(uint64_t{first + count} * kBlock);
      Result<RENAME3res> r = client.Rename(root, tmp_name, root, f.name);
      if (!r.ok() || r->status != NFS3_OK) return;
      f.Note("replaced by inc " + std::to_string(incarnation) + " (blocks " +
             std::to_string(first) + "+" + std::to_string(count) + " v" +
             std::to_string(versions[first]) + ")");
      for (uint32_t b = 0; b < kMixBlocks; ++b) f.Stable(b, at[b]);
      f.StableSize(size_at);
      f.fh = c->fh;
      f.incarnation = incarnation;
      f.pending.clear();
      f.has_pending = false;
      counters->stable_acks.fetch_add(1);
    } else {  // remove, then create anew
      std::vector<size_t> at(kMixBlocks);
      for (uint32_t b = 0; b < kMixBlocks; ++b) at[b] = f.Push(b, 0);
      const size_t size_at = f.PushSize(0);
      Result<REMOVE3res> r = client.Remove(root, f.name);
      if (!r.ok() || r->status != NFS3_OK) return;
      f.Note("removed");
      for (uint32_t b = 0; b < kMixBlocks; ++b) f.Stable(b, at[b]);
      f.StableSize(size_at);
      f.exists = false;
      f.pending.clear();
      f.has_pending = false;
      Result<CreatedReply> c = client.Create(root, f.name, GUARDED, ModeAttrs(0644));
      if (!c.ok() || c->status != NFS3_OK || !c->has_fh) return;
      f.fh = c->fh;
      f.exists = true;
      f.incarnation = counters->next_incarnation.fetch_add(1);
      f.Note("created inc " + std::to_string(f.incarnation));
      counters->stable_acks.fetch_add(1);
    }
  }
}

// Checks `f` after a restart against its acceptable states, then makes what was found the
// start of its history. Returns a description of the first damage, or "".
std::string VerifyAndSettle(RawNfsClient& client, const FileHandle& root, MixFile& f,
                            uint64_t* bytes_checked) {
  Result<LookupReply> l = client.Lookup(root, f.name);
  if (!l.ok()) return f.name + ": lookup failed: " + l.status().ToString();
  if (l->status != NFS3_OK && l->status != NFS3ERR_NOENT) {
    return f.name + ": lookup status " + std::to_string(l->status);
  }
  const bool exists = l->status == NFS3_OK;
  uint64_t size = 0;
  std::string data;
  if (exists) {
    Result<GETATTR3res> attr = client.Getattr(l->fh);
    if (!attr.ok() || attr->status != NFS3_OK) return f.name + ": getattr failed";
    size = attr->GETATTR3res_u.resok.obj_attributes.size;
    for (uint64_t at = 0; at < size;) {
      Result<ReadReply> r = client.Read(l->fh, at, 256 * 1024);
      if (!r.ok() || r->status != NFS3_OK) return f.name + ": read failed";
      if (r->data.empty()) break;
      data += r->data;
      at += r->data.size();
    }
    if (data.size() != size) {
      return f.name + ": read " + std::to_string(data.size()) + " bytes of " + std::to_string(size);
    }
  }
  *bytes_checked += data.size();
  if (std::find(f.sizes.begin() + f.size_floor, f.sizes.end(), size) == f.sizes.end()) {
    return f.name + ": size " + std::to_string(size) + " is none of the acceptable sizes (stable " +
           std::to_string(f.sizes[f.size_floor]) + ", newest sent " +
           std::to_string(f.sizes.back()) + ")";
  }
  data.resize(size_t{kMixBlocks} * kBlock, '\0');  // past the end: zeros
  std::vector<uint64_t> found(kMixBlocks);
  for (uint32_t b = 0; b < kMixBlocks; ++b) {
    const std::string_view block = std::string_view(data).substr(size_t{b} * kBlock, kBlock);
    uint64_t state = 0;
    if (block.find_first_not_of('\0') != std::string_view::npos) {
      uint32_t header[3];
      std::memcpy(header, block.data(), sizeof(header));
      if (header[1] != b || block != BlockBytes(header[0], header[1], header[2])) {
        return f.name + " block " + std::to_string(b) + ": torn, corrupt or misplaced";
      }
      state = StateOf(header[0], header[2]);
    }
    const std::vector<uint64_t>& h = f.history[b];
    if (std::find(h.begin() + f.floor[b], h.end(), state) == h.end()) {
      return f.name + " block " + std::to_string(b) + ": holds " +
             (state == 0 ? std::string("zeros")
                         : "version " + std::to_string(state & 0xffffffff) + " of file " +
                               std::to_string(state >> 32)) +
             "; the stable state was " +
             (h[f.floor[b]] == 0 ? std::string("zeros")
                                 : "version " + std::to_string(h[f.floor[b]] & 0xffffffff) +
                                       " of file " + std::to_string(h[f.floor[b]] >> 32)) +
             " (" + std::to_string(h.size() - 1 - f.floor[b]) + " later states sent)\n" + f.Trail();
    }
    found[b] = state;
  }
  std::string seen;
  for (uint32_t b = 0; b < kMixBlocks; ++b) {
    f.history[b] = {found[b]};
    f.floor[b] = 0;
    if (found[b] != 0 && (b == 0 || found[b - 1] == 0)) {
      uint32_t e = b;
      while (e + 1 < kMixBlocks && found[e + 1] != 0) ++e;
      seen += " " + std::to_string(b) + "-" + std::to_string(e);
    }
  }
  std::vector<uint64_t> incs;
  for (uint64_t state : found) {
    if (state != 0) incs.push_back(state >> 32);
  }
  std::sort(incs.begin(), incs.end());
  incs.erase(std::unique(incs.begin(), incs.end()), incs.end());
  seen += " of inc";
  for (uint64_t inc : incs) seen += " " + std::to_string(inc);
  f.Note("restart: size " + std::to_string(size) + ", data in blocks" + seen);
  f.sizes = {size};
  f.size_floor = 0;
  f.size = size;
  f.pending.clear();
  f.has_pending = false;
  f.exists = exists;
  if (exists) f.fh = l->fh;
  return "";
}

TEST(CrashTest, ConcurrentClientsMixedOperationsLoseNothingStable) {
  // DFS_CRASH_KILLS=200 DFS_CRASH_MAX_MS=5000 is the long run, by hand.
  const char* kills_env = std::getenv("DFS_CRASH_KILLS");
  const char* max_ms_env = std::getenv("DFS_CRASH_MAX_MS");
  const int kills = kills_env != nullptr ? std::atoi(kills_env) : 8;
  const int max_ms = max_ms_env != nullptr ? std::atoi(max_ms_env) : 1500;
  constexpr int kClients = 3;
  constexpr int kFilesPerClient = 8;

  DfsOptions options;
  options.shares[0].metadata = "rocksdb";
  // The default durable share, with small journal segments (so that they roll, die, are
  // reused and re-log their truncates and removes within seconds) and carving soon and often
  // (so that kills land in uploads, evictions and garbage collection too).
  options.shares[0].block = "tiered";
  options.shares[0].tiered =
      "{cache_size: 64MiB, segment_size: 256KiB, carve_after_ms: 300, carve_dirty_bytes: 4MiB, "
      "chunk_min: 16KiB, chunk_avg: 64KiB, chunk_max: 256KiB, object_size: 1MiB, "
      "gc_grace_ms: 0, gc_interval_ms: 500}";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(DFS_BINARY, options));

  std::vector<std::vector<MixFile>> files(kClients, std::vector<MixFile>(kFilesPerClient));
  MixCounters counters;
  FileHandle root;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                         RawNfsClient::Connect(server->port(), 0, 0));
    ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
    ASSERT_EQ(mnt.status, MNT3_OK);
    root = mnt.fh;
    for (int c = 0; c < kClients; ++c) {
      for (int i = 0; i < kFilesPerClient; ++i) {
        files[c][i].name = "c" + std::to_string(c) + "-f" + std::to_string(i);
      }
    }
  }

  std::mt19937 rng(20261203);
  uint64_t bytes_checked = 0;
  for (int kill = 0; kill < kills; ++kill) {
    {
      // Every name holds a file when the round starts (a crash may have left one removed).
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                           RawNfsClient::Connect(server->port(), 0, 0));
      for (auto& mine : files) {
        for (MixFile& f : mine) {
          if (f.exists) continue;
          ASSERT_OK_AND_ASSIGN(CreatedReply c,
                               client->Create(root, f.name, GUARDED, ModeAttrs(0644)));
          ASSERT_EQ(c.status, NFS3_OK) << f.name;
          f.fh = c.fh;
          f.exists = true;
          f.incarnation = counters.next_incarnation.fetch_add(1);
          f.Note("created inc " + std::to_string(f.incarnation) + " at the round's start");
        }
      }
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back(MixClient, server->port(), root, &files[c],
                           "c" + std::to_string(c) + "-tmp", static_cast<uint32_t>(rng()),
                           &counters, &stop);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % (max_ms - 199)));
    ASSERT_OK(server->Kill());
    stop = true;
    for (std::thread& t : clients) t.join();

    Status restarted = server->StartAgain();
    ASSERT_TRUE(restarted.ok()) << "kill " << kill << ": " << restarted.ToString();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                         RawNfsClient::Connect(server->port(), 0, 0));
    for (auto& mine : files) {
      for (MixFile& f : mine) {
        std::string damage = VerifyAndSettle(*client, root, f, &bytes_checked);
        ASSERT_EQ(damage, "") << "after kill " << kill << "\n--- dfs log ---\n" << server->Log();
      }
    }
  }
  std::printf("%d kill points, %llu operations, %llu acknowledged stable, %llu bytes checked\n",
              kills, (unsigned long long)counters.ops.load(),
              (unsigned long long)counters.stable_acks.load(), (unsigned long long)bytes_checked);
  EXPECT_GT(counters.stable_acks.load(), uint64_t(kills) * 10) << "too little was acknowledged";
  ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace dittofs::integration
