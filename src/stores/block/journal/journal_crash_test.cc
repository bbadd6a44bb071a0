// SPDX-License-Identifier: Apache-2.0
//
// The journal under SIGKILL with everything running at once: writer threads on their own files
// (writes, truncates, removes, syncs), a carver uploading dirty ranges to a backing and marking
// them clean, a small capacity that evicts clean segments and small segments that roll and are
// reused. A child process does the work and is killed at a random moment; the parent reopens
// the journal and checks every file: it must hold what a prefix of that file's operations left,
// a prefix at least as long as the file's last synced operation.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "stores/block/conformance.h"
#include "stores/block/journal/journal_block_store.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using block_testing::FileModel;
using block_testing::Pattern;
using block_testing::ReadString;
using ::dittofs::testing::ScratchDir;

constexpr uint64_t kKiB = 1024;
constexpr int kThreads = 4;
constexpr int kFilesPerThread = 3;
constexpr uint64_t kFileSpan = 256 * kKiB;  // writes start below this
constexpr uint64_t kMaxWrite = 64 * kKiB;
constexpr uint64_t kCheckBlock = 4 * kKiB;

// A backing that keeps each file in a plain file of its own directory (so it outlives the
// child), written with pwrite: what a SIGKILL leaves of it is what was written.
class DirBacking final : public JournalBacking {
 public:
  explicit DirBacking(std::string dir) : dir_(std::move(dir)) { mkdir(dir_.c_str(), 0700); }

  Status Upload(uint64_t file, uint64_t offset, const std::string& data) {
    int fd = open(Path(file).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status(Errc::kIo, "backing open");
    ssize_t n = pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    close(fd);
    return n == static_cast<ssize_t>(data.size()) ? Status::Ok() : Status(Errc::kIo, "pwrite");
  }
  Status Truncate(uint64_t file, uint64_t size) {
    if (truncate(Path(file).c_str(), static_cast<off_t>(size)) != 0 && errno != ENOENT) {
      return Status(Errc::kIo, "backing truncate");
    }
    return Status::Ok();
  }
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) {
    int fd = open(Path(file).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? Status::Ok() : Status(Errc::kIo, "backing open");
    int rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                       static_cast<off_t>(length));
    close(fd);
    return rc == 0 ? Status::Ok() : Status(Errc::kIo, "backing punch");
  }
  Result<BlockRead> Read(uint64_t file, uint64_t offset, size_t length) override {
    auto buffer = std::make_shared<Buffer>(length);
    std::memset(buffer->mutable_view().data(), 0, length);
    int fd = open(Path(file).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = pread(fd, buffer->mutable_view().data(), length, static_cast<off_t>(offset));
      close(fd);
      if (n < 0) return Status(Errc::kIo, "backing read");
    }
    BlockRead r;
    r.pieces.push_back(buffer->view());
    r.holds.push_back(std::move(buffer));
    return r;
  }
  // The whole of each file: it is written without holes that matter here.
  Result<std::vector<BlockStore::Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                                      size_t max) override {
    struct stat st;
    std::vector<BlockStore::Extent> extents;
    if (stat(Path(file).c_str(), &st) != 0 || max == 0) return extents;
    const uint64_t stop = std::min<uint64_t>(end, static_cast<uint64_t>(st.st_size));
    if (offset < stop) extents.push_back({offset, stop - offset});
    return extents;
  }

 private:
  std::string Path(uint64_t file) const { return dir_ + "/" + std::to_string(file); }
  const std::string dir_;
};

enum class OpType { kWrite, kTruncate, kRemove, kDeallocate, kSync };

struct Op {
  OpType type = OpType::kWrite;
  uint64_t file = 0;
  uint64_t offset = 0;  // write offset, truncate size
  uint64_t length = 0;
  uint64_t seed = 0;
};

uint64_t FileOf(int round, int thread, int k) {
  return uint64_t(round) * 100 + uint64_t(thread) * kFilesPerThread + k + 1;
}

// Operation `i` of `thread` in `round`: the same in the child that runs it and the parent that
// checks it.
Op MakeOp(int round, int thread, uint64_t i) {
  std::mt19937_64 rng((uint64_t(round) << 48) ^ (uint64_t(thread) << 40) ^ i ^ 0x5eed);
  Op op;
  op.file = FileOf(round, thread, static_cast<int>(rng() % kFilesPerThread));
  uint64_t dice = rng() % 100;
  op.type = dice < 70   ? OpType::kWrite
            : dice < 82 ? OpType::kTruncate
            : dice < 86 ? OpType::kRemove
            : dice < 92 ? OpType::kDeallocate
                        : OpType::kSync;
  op.offset = op.type == OpType::kTruncate ? rng() % (kFileSpan + kMaxWrite) : rng() % kFileSpan;
  op.length = 1 + rng() % kMaxWrite;
  op.seed = (uint64_t(round) << 48) ^ (uint64_t(thread) << 40) ^ i;
  return op;
}

// Progress of one writer thread, shared with the parent (MAP_SHARED).
struct Progress {
  std::atomic<uint64_t> started;  // operations begun (the last may be unfinished)
  std::atomic<uint64_t> synced;   // operations before the last finished Sync
};

const JournalOptions kOptions{
    .segment_bytes = 64 * kKiB,
    .capacity_bytes = 1024 * kKiB,  // evicts clean data and keeps two free files
};

// One lock per file, shared by its writer and the carver, as the tiered store's stripes are:
// the backing is cut before the journal, and an upload never races a truncate.
std::array<std::mutex, 64> file_locks;
std::mutex& LockOf(uint64_t file) { return file_locks[file % file_locks.size()]; }

// A truncate, remove or punch as the runtime makes one (core/vfs.cc, tiered store): the backing's
// copy first, then the journal's, then a sync. It is synchronous: done, it is durable. One cut
// short by a kill is made again at the next open (the runtime's pending cuts), here by the
// parent; that is why the cut must be one that doing twice changes nothing.
Status Cut(JournalBlockStore& journal, DirBacking& backing, const Op& op) {
  if (op.type == OpType::kDeallocate) {
    RETURN_IF_ERROR(backing.Deallocate(op.file, op.offset, op.length));
    RETURN_IF_ERROR(journal.Deallocate(op.file, op.offset, op.length));
    return journal.Sync(op.file);
  }
  const uint64_t size = op.type == OpType::kTruncate ? op.offset : 0;
  RETURN_IF_ERROR(backing.Truncate(op.file, size));
  RETURN_IF_ERROR(op.type == OpType::kTruncate ? journal.Truncate(op.file, size)
                                               : journal.Remove(op.file));
  return journal.Sync(op.file);
}

[[noreturn]] void RunChild(const std::string& dir, int round, Progress* progress) {
  DirBacking backing(dir + "/backing");
  JournalOptions options = kOptions;
  options.dir = dir + "/journal";
  Result<std::unique_ptr<JournalBlockStore>> opened = OpenJournalBlockStore(options, &backing);
  if (!opened.ok()) _exit(2);
  JournalBlockStore& journal = **opened;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        Op op = MakeOp(round, t, i);
        progress[t].started.store(i + 1);
        Status s;
        // Writes need no lock: a carver's MarkClean never covers a newer write.
        std::unique_lock<std::mutex> lock(LockOf(op.file), std::defer_lock);
        if (op.type != OpType::kWrite && op.type != OpType::kSync) lock.lock();
        switch (op.type) {
          case OpType::kWrite:
            s = journal.Write(op.file, op.offset, AsBytes(Pattern(op.length, op.seed)));
            break;
          case OpType::kTruncate:
          case OpType::kRemove:
          case OpType::kDeallocate:
            s = Cut(journal, backing, op);
            break;
          case OpType::kSync:
            s = journal.Sync(op.file);
            if (s.ok()) progress[t].synced.store(i);
            break;
        }
        if (!s.ok()) _exit(3);
      }
    });
  }
  // The carver: uploads what is dirty (every round's files), then marks it clean.
  for (;;) {
    for (uint64_t file : journal.DirtyFiles(1000)) {
      std::lock_guard<std::mutex> lock(LockOf(file));
      for (const DirtyRange& r : journal.DirtyRanges(file)) {
        // Only durable bytes go to the backing (the sync covers what was read), so that the
        // backing never holds a write that recovery drops.
        Result<std::string> data = ReadString(journal, file, r.offset, r.length);
        if (!data.ok() || !journal.Sync(file).ok() || !backing.Upload(file, r.offset, *data).ok() ||
            !journal.MarkClean(file, r.offset, r.length, r.seq).ok()) {
          _exit(4);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The model of every file of one round after each of its operations: states[file][k] is the
// file after its first k operations.
std::map<uint64_t, std::vector<FileModel>> Replay(int round, const Progress* progress) {
  std::map<uint64_t, std::vector<FileModel>> states;
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kFilesPerThread; ++k) states[FileOf(round, t, k)].emplace_back();
    const uint64_t started = progress[t].started.load();
    for (uint64_t i = 0; i < started; ++i) {
      Op op = MakeOp(round, t, i);
      if (op.type == OpType::kSync) continue;
      std::vector<FileModel>& s = states[op.file];
      FileModel next = s.back();
      if (op.type == OpType::kWrite) next.Write(op.offset, Pattern(op.length, op.seed));
      if (op.type == OpType::kTruncate) next.Truncate(op.offset);
      if (op.type == OpType::kRemove) next = FileModel();
      if (op.type == OpType::kDeallocate) next.Deallocate(op.offset, op.length);
      s.push_back(std::move(next));
    }
  }
  return states;
}

// How many of `file`'s operations (of `round`, thread `t`) come before operation `i`.
uint64_t FileOpsBefore(int round, int t, uint64_t file, uint64_t i) {
  uint64_t n = 0;
  for (uint64_t j = 0; j < i; ++j) {
    Op op = MakeOp(round, t, j);
    if (op.type != OpType::kSync && op.file == file) ++n;
  }
  return n;
}

// For a failure: the state of `states` closest to `got`, and where and how they differ.
std::string DescribeMismatch(const std::string& got, const std::vector<FileModel>& states,
                             uint64_t floor) {
  size_t best = 0, best_diff = SIZE_MAX;
  for (size_t n = 0; n < states.size(); ++n) {
    const std::string m = states[n].Read(0, got.size());
    size_t diff = 0;
    for (size_t x = 0; x < got.size(); ++x) diff += m[x] != got[x];
    if (diff < best_diff) std::tie(best, best_diff) = std::make_pair(n, diff);
  }
  const std::string m = states[best].Read(0, got.size());
  std::string out = "closest state: " + std::to_string(best) + " of " +
                    std::to_string(states.size() - 1) + " (the synced one is " +
                    std::to_string(floor) + "); differing bytes:";
  int ranges = 0;
  for (size_t x = 0; x < got.size() && ranges < 10;) {
    if (m[x] == got[x]) {
      ++x;
      continue;
    }
    size_t y = x;
    while (y < got.size() && m[y] != got[y]) ++y;
    const bool zeros = got.find_first_not_of('\0', x) >= y;
    out += " [" + std::to_string(x) + ", " + std::to_string(y) + ") " +
           (zeros ? "zeros" : "other bytes") + ";";
    ++ranges;
    x = y;
  }
  return out + "\n";
}

TEST(JournalCrashTest, ConcurrentWritersCarverAndReuseSurviveSigkill) {
  const int rounds = std::getenv("DFS_JOURNAL_CRASH_ROUNDS")
                         ? std::atoi(std::getenv("DFS_JOURNAL_CRASH_ROUNDS"))
                         : 12;
  ScratchDir scratch("dittofs-journal-crash");
  ASSERT_FALSE(scratch.path().empty());
  auto* progress =
      static_cast<Progress*>(mmap(nullptr, sizeof(Progress) * kThreads, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(progress, MAP_FAILED);
  std::mt19937 rng(20261203);
  // What earlier rounds' files held after their reopen: later rounds must not change it.
  std::map<uint64_t, std::string> settled;
  uint64_t checked_bytes = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int t = 0; t < kThreads; ++t) {
      progress[t].started.store(0);
      progress[t].synced.store(0);
    }
    std::fflush(stdout);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) RunChild(scratch.path(), round, progress);
    // Kill it once it is under way, at a random moment.
    for (int waited = 0; waited < 20000 && progress[0].started.load() < 20; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);

    DirBacking backing(scratch.path() + "/backing");
    JournalOptions options = kOptions;
    options.dir = scratch.path() + "/journal";
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<JournalBlockStore> journal,
                         OpenJournalBlockStore(options, &backing));
    // A cut the kill interrupted is finished first, as the runtime does at its next open.
    for (int t = 0; t < kThreads; ++t) {
      const Op last = MakeOp(round, t, progress[t].started.load() - 1);
      if (last.type != OpType::kWrite && last.type != OpType::kSync) {
        ASSERT_OK(Cut(*journal, backing, last));
      }
    }
    std::map<uint64_t, std::vector<FileModel>> states = Replay(round, progress);
    for (int t = 0; t < kThreads; ++t) {
      const uint64_t synced = progress[t].synced.load();
      ASSERT_GT(progress[t].started.load(), 0u);
      for (int k = 0; k < kFilesPerThread; ++k) {
        const uint64_t file = FileOf(round, t, k);
        const std::vector<FileModel>& s = states[file];
        const uint64_t floor = FileOpsBefore(round, t, file, synced);
        ASSERT_OK_AND_ASSIGN(std::string got, ReadString(*journal, file, 0, kFileSpan + kMaxWrite));
        checked_bytes += got.size();
        // Block by block, each as some state from the synced one on left it.
        for (uint64_t at = 0; at < got.size(); at += kCheckBlock) {
          const std::string_view block = std::string_view(got).substr(at, kCheckBlock);
          bool found = false;
          for (uint64_t n = floor; n < s.size() && !found; ++n) {
            found = s[n].Read(at, block.size()) == block;
          }
          if (!found) std::printf("%s", DescribeMismatch(got, s, floor).c_str());
          ASSERT_TRUE(found) << "round " << round << " file " << file << " bytes " << at << "+"
                             << block.size() << ": no state after " << floor << ".." << s.size() - 1
                             << " of its operations holds them (thread " << t << " synced "
                             << synced << " of " << progress[t].started.load() << " operations)";
        }
        settled[file] = got;
      }
    }
    for (const auto& [file, want] : settled) {
      ASSERT_OK_AND_ASSIGN(std::string got, ReadString(*journal, file, 0, want.size()));
      if (got != want) {
        size_t first = 0;
        while (got[first] == want[first]) ++first;
        size_t last = got.size();
        while (got[last - 1] == want[last - 1]) --last;
        bool zeros = got.find_first_not_of('\0', first) >= last;
        ADD_FAILURE() << "round " << round << ": file " << file << " changed in bytes [" << first
                      << ", " << last << "): they read as " << (zeros ? "zeros" : "other bytes");
        return;
      }
    }
    JournalStats st = journal->Stats();
    std::printf("round %d: %llu records replayed, %llu torn bytes cut, %llu segments\n", round,
                (unsigned long long)st.records_replayed, (unsigned long long)st.torn_bytes,
                (unsigned long long)st.segments);
  }
  std::printf("%d kill points, %llu bytes checked\n", rounds, (unsigned long long)checked_bytes);
  munmap(progress, sizeof(Progress) * kThreads);
}

}  // namespace

// This binary uses the suite's helpers, not the suite.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BlockStoreConformance);

}  // namespace dittofs::stores
