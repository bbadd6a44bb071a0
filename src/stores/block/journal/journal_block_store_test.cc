// SPDX-License-Identifier: Apache-2.0
#include "stores/block/journal/journal_block_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "stores/block/conformance.h"
#include "stores/block/journal/crc32c.h"
#include "testing/scratch_dir.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::ScratchDir;
using ::dittofs::testing::StatusIs;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

using block_testing::FileModel;
using block_testing::Pattern;
using block_testing::ReadString;

// What "was uploaded": the chunk store stand-in.
class TestBacking final : public JournalBacking {
 public:
  void Upload(uint64_t file, uint64_t offset, const std::string& data) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[file].Write(offset, data);
  }
  Result<BlockRead> Read(uint64_t file, uint64_t offset, size_t length) override {
    reads_.fetch_add(1);
    std::string data;
    {
      std::lock_guard<std::mutex> lock(mu_);
      data = files_[file].Read(offset, length);
    }
    auto buffer = std::make_shared<Buffer>(Buffer::Copy(AsBytes(data)));
    BlockRead r;
    r.pieces.push_back(buffer->view());
    r.holds.push_back(std::move(buffer));
    return r;
  }
  Result<std::vector<BlockStore::Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                                      size_t max) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<BlockStore::Extent> extents;
    const FileModel& model = files_[file];
    for (uint64_t at = offset; at < std::min<uint64_t>(end, model.size()); ++at) {
      if (!model.Written(at)) continue;
      if (!extents.empty() && extents.back().offset + extents.back().length == at) {
        ++extents.back().length;
      } else if (extents.size() == max) {
        break;
      } else {
        extents.push_back({at, 1});
      }
    }
    return extents;
  }
  // What the owner of a journal does to the backing before punching the journal.
  void Deallocate(uint64_t file, uint64_t offset, uint64_t length) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[file].Deallocate(offset, length);
  }
  // What the owner of a journal does to the backing before truncating the journal.
  void Truncate(uint64_t file, uint64_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[file].Truncate(size);
  }
  uint64_t reads() const { return reads_.load(); }

 private:
  std::mutex mu_;
  std::map<uint64_t, FileModel> files_;
  std::atomic<uint64_t> reads_{0};
};

// Uploads every dirty range of `file` (read back from the journal) and marks it clean: what
// the carver will do.
Status UploadAndClean(JournalBlockStore& journal, TestBacking& backing, uint64_t file) {
  for (const DirtyRange& r : journal.DirtyRanges(file)) {
    ASSIGN_OR_RETURN(std::string data, ReadString(journal, file, r.offset, r.length));
    backing.Upload(file, r.offset, data);
    RETURN_IF_ERROR(journal.MarkClean(file, r.offset, r.length, r.seq));
  }
  return Status::Ok();
}

// A journal that owns the scratch directory it lives in, for the conformance suite.
class ScratchJournal final : public BlockStore {
 public:
  ScratchJournal(std::unique_ptr<ScratchDir> dir, std::unique_ptr<BlockStore> store)
      : dir_(std::move(dir)), store_(std::move(store)) {}

  Status Write(uint64_t file, uint64_t offset, ByteView data) override {
    return store_->Write(file, offset, data);
  }
  Status Read(uint64_t file, uint64_t offset, MutableByteView out) override {
    return store_->Read(file, offset, out);
  }
  Status Truncate(uint64_t file, uint64_t size) override { return store_->Truncate(file, size); }
  Status Remove(uint64_t file) override { return store_->Remove(file); }
  Status Deallocate(uint64_t file, uint64_t offset, uint64_t length) override {
    return store_->Deallocate(file, offset, length);
  }
  Result<std::vector<Extent>> DataExtents(uint64_t file, uint64_t offset, uint64_t end,
                                          size_t max) override {
    return store_->DataExtents(file, offset, end, max);
  }
  Status Clone(uint64_t src, uint64_t src_offset, uint64_t dst, uint64_t dst_offset,
               uint64_t length) override {
    return store_->Clone(src, src_offset, dst, dst_offset, length);
  }
  bool ClonesByReference() const override { return store_->ClonesByReference(); }
  Status Sync(uint64_t file) override { return store_->Sync(file); }
  Result<std::vector<DataEnd>> RecentDataEnds() override { return store_->RecentDataEnds(); }
  uint64_t UsedBytes() override { return store_->UsedBytes(); }
  Capacity GetCapacity() override { return store_->GetCapacity(); }

 private:
  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<BlockStore> store_;  // declared last: closed before the directory goes
};

std::unique_ptr<BlockStore> OpenScratchJournal() {
  auto dir = std::make_unique<ScratchDir>("dittofs-journal-test");
  if (dir->path().empty()) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  }
  // Small segments, so the suite also rolls segments and deletes dead ones.
  Result<std::unique_ptr<JournalBlockStore>> store = OpenJournalBlockStore(
      {.dir = dir->path() + "/journal", .segment_bytes = 256 * kKiB}, nullptr);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::make_unique<ScratchJournal>(std::move(dir), std::move(store).value());
}

INSTANTIATE_TEST_SUITE_P(Journal, BlockStoreConformance,
                         ::testing::Values(BlockStoreFactory{"Journal", OpenScratchJournal}),
                         BlockStoreFactoryName);

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(scratch_.path().empty()); }

  std::string dir() const { return scratch_.path() + "/journal"; }

  std::unique_ptr<JournalBlockStore> Open(JournalOptions options = {},
                                          JournalBacking* backing = nullptr) {
    options.dir = dir();
    Result<std::unique_ptr<JournalBlockStore>> store = OpenJournalBlockStore(options, backing);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Segment files, oldest first.
  std::vector<std::string> Segments() const { return Files("seg-"); }

  // Files of the journal's directory whose name starts with `prefix`, by name.
  std::vector<std::string> Files(std::string_view prefix) const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir())) {
      if (entry.path().filename().string().starts_with(prefix)) {
        names.push_back(entry.path().string());
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // The newest segment holding records (reopening starts an empty one).
  std::string LastSegmentWithRecords() const {
    std::string last;
    for (const std::string& path : Segments()) {
      if (std::filesystem::file_size(path) > 32) last = path;
    }
    return last;
  }

 private:
  ScratchDir scratch_{"dittofs-journal-test"};
};

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c(0, AsBytes("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c(0, AsBytes("")), 0u);
  std::string long_input = Pattern(100'003, 7);
  uint32_t whole = Crc32c(0, AsBytes(long_input));
  uint32_t split =
      Crc32c(Crc32c(0, AsBytes(long_input.substr(0, 12'345))), AsBytes(long_input.substr(12'345)));
  EXPECT_EQ(whole, split);
  // iSCSI's vectors (RFC 3720 B.4): 32 zero bytes, 32 0xFF bytes.
  EXPECT_EQ(Crc32c(0, AsBytes(std::string(32, '\0'))), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(0, AsBytes(std::string(32, '\xff'))), 0x62A8AB43u);
}

// The fast path (three lanes joined by a shift) agrees with the table-driven one at every
// length around its lane boundaries, from any start value.
TEST(Crc32cTest, FastPathAgreesWithTables) {
  std::string input = Pattern(200'010, 11);  // room for the largest length at the largest skew
  for (size_t length :
       {size_t{0}, size_t{7}, size_t{4095}, size_t{12'287}, size_t{12'288}, size_t{12'289},
        size_t{24'576}, size_t{24'583}, size_t{100'001}, size_t{199'999}}) {
    for (uint32_t start : {0u, 0xDEADBEEFu}) {
      for (size_t skew : {size_t{0}, size_t{3}}) {
        ByteView data = AsBytes(input).subspan(skew, length);
        EXPECT_EQ(Crc32c(start, data), Crc32cPortable(start, data))
            << "length " << length << " start " << start << " skew " << skew;
      }
    }
  }
}

TEST_F(JournalTest, SyncedDataTruncatesAndRemovesSurviveReopen) {
  FileModel one, two;
  {
    auto journal = Open({.segment_bytes = 64 * kKiB});
    ASSERT_NE(journal, nullptr);
    for (int i = 0; i < 20; ++i) {
      std::string data = Pattern(10'000 + i * 97, i);
      uint64_t offset = (i * 7'777) % 150'000;
      ASSERT_OK(journal->Write(1, offset, AsBytes(data)));
      one.Write(offset, data);
      ASSERT_OK(journal->Write(2, offset + 3, AsBytes(data)));
      two.Write(offset + 3, data);
    }
    ASSERT_OK(journal->Truncate(1, 50'001));
    one.Truncate(50'001);
    ASSERT_OK(journal->Write(3, 0, AsBytes(Pattern(5000, 99))));
    ASSERT_OK(journal->Remove(3));
    ASSERT_OK(journal->Write(2, 1'000'000, AsBytes(Pattern(100, 5))));
    two.Write(1'000'000, Pattern(100, 5));
    ASSERT_OK(journal->Sync(1));
  }
  auto journal = Open({.segment_bytes = 64 * kKiB});
  ASSERT_NE(journal, nullptr);
  EXPECT_GT(journal->Stats().records_replayed, 0u);
  EXPECT_EQ(journal->Stats().torn_bytes, 0u);
  ASSERT_OK_AND_ASSIGN(std::string a, ReadString(*journal, 1, 0, 200'000));
  EXPECT_EQ(a, one.Read(0, 200'000));
  ASSERT_OK_AND_ASSIGN(std::string b, ReadString(*journal, 2, 0, 1'100'000));
  EXPECT_EQ(b, two.Read(0, 1'100'000));
  ASSERT_OK_AND_ASSIGN(std::string c, ReadString(*journal, 3, 0, 5000));
  EXPECT_EQ(c, std::string(5000, '\0'));
  EXPECT_TRUE(journal->DirtyRanges(3).empty());
}

// Empty writes change nothing, also across reopen and reclaim. (A zero-length data record on disk,
// which the journal itself never writes, once left a dirty extent of zero bytes in the index;
// tests/fuzz/journal_corpus holds that input for journal_fuzz.)
TEST_F(JournalTest, EmptyWritesSurviveReopenAndReclaim) {
  {
    auto journal = Open({.segment_bytes = 64 * kKiB});
    ASSERT_NE(journal, nullptr);
    ASSERT_OK(journal->Write(1, 4096, AsBytes("")));
    ASSERT_OK(journal->Write(1, 0, AsBytes("abc")));
    ASSERT_OK(journal->Truncate(1, 0));
    ASSERT_OK(journal->Sync(1));
  }
  for (int i = 0; i < 2; ++i) {
    auto journal = Open({.segment_bytes = 64 * kKiB, .capacity_bytes = 1});
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->Stats().dirty_bytes, 0u);
    ASSERT_OK_AND_ASSIGN(std::string back, ReadString(*journal, 1, 0, 8));
    EXPECT_EQ(back, std::string(8, '\0'));
  }
}

TEST_F(JournalTest, GarbageAfterTheLastRecordIsCut) {
  const std::string data = Pattern(30'000, 1);
  {
    auto journal = Open();
    ASSERT_NE(journal, nullptr);
    ASSERT_OK(journal->Write(1, 10, AsBytes(data)));
    ASSERT_OK(journal->Sync(1));
  }
  std::string segment = LastSegmentWithRecords();
  ASSERT_FALSE(segment.empty());
  {
    FILE* f = std::fopen(segment.c_str(), "ab");
    ASSERT_NE(f, nullptr);
    std::string garbage = Pattern(777, 2);
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  {
    auto journal = Open();
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->Stats().torn_bytes, 777u);
    ASSERT_OK_AND_ASSIGN(std::string back, ReadString(*journal, 1, 10, data.size()));
    EXPECT_EQ(back, data);
    ASSERT_OK(journal->Write(1, 0, AsBytes("new")));
    ASSERT_OK(journal->Sync(1));
  }
  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->Stats().torn_bytes, 0u);
  ASSERT_OK_AND_ASSIGN(std::string back, ReadString(*journal, 1, 0, 10 + data.size()));
  EXPECT_EQ(back, "new" + std::string(7, '\0') + data);
}

TEST_F(JournalTest, HalfWrittenLastRecordIsCut) {
  const std::string kept = Pattern(20'000, 1);
  const std::string torn = Pattern(20'000, 2);
  {
    auto journal = Open();
    ASSERT_NE(journal, nullptr);
    ASSERT_OK(journal->Write(1, 0, AsBytes(kept)));
    ASSERT_OK(journal->Sync(1));
    ASSERT_OK(journal->Write(2, 0, AsBytes(torn)));
  }
  std::string segment = LastSegmentWithRecords();
  uint64_t size = std::filesystem::file_size(segment);
  std::filesystem::resize_file(segment, size - 10'000);  // half of the last record's data
  {
    auto journal = Open();
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->Stats().torn_bytes, 48u + 20'000 - 10'000);
    ASSERT_OK_AND_ASSIGN(std::string one, ReadString(*journal, 1, 0, kept.size()));
    EXPECT_EQ(one, kept);
    ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, torn.size()));
    EXPECT_EQ(two, std::string(torn.size(), '\0'));
    EXPECT_TRUE(journal->DirtyRanges(2).empty());
    ASSERT_OK(journal->Write(2, 5, AsBytes("again")));
    ASSERT_OK(journal->Sync(2));
  }
  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, 10));
  EXPECT_EQ(two, std::string(5, '\0') + "again");
}

TEST_F(JournalTest, ANewerFormatVersionRefusesToOpen) {
  std::filesystem::create_directories(dir());
  std::byte header[32] = {};
  std::memcpy(header, "DFSJRNL", 8);
  StoreBe32(header + 8, 99);
  StoreBe32(header + 12, 32);
  StoreBe64(header + 16, 1);
  StoreBe32(header + 24, Crc32c(0, ByteView(header, 24)));
  FILE* f = std::fopen((dir() + "/seg-0000000000000001.jnl").c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fwrite(header, 1, sizeof(header), f);
  std::fclose(f);
  Result<std::unique_ptr<JournalBlockStore>> journal =
      OpenJournalBlockStore({.dir = dir()}, nullptr);
  EXPECT_THAT(journal, StatusIs(Errc::kNotSupported));
  EXPECT_NE(journal.status().message().find("version 99"), std::string::npos)
      << journal.status().message();
  EXPECT_TRUE(std::filesystem::exists(dir() + "/seg-0000000000000001.jnl"));  // left alone
}

// A segment file as a server of `version` writes it: header, then one data record of `data`
// at `offset` of `file`, its CRC started from `seed`.
std::string HandMadeSegment(uint32_t version, uint64_t id, uint32_t seed, uint64_t file,
                            uint64_t offset, const std::string& data) {
  std::byte header[32] = {};
  std::memcpy(header, "DFSJRNL", 8);
  StoreBe32(header + 8, version);
  StoreBe32(header + 12, 32);
  StoreBe64(header + 16, id);
  StoreBe32(header + 24, Crc32c(0, ByteView(header, 24)));
  std::byte record[48] = {};
  StoreBe32(record, 0x444A5243);
  record[4] = std::byte{1};  // data
  StoreBe32(record + 8, static_cast<uint32_t>(48 + data.size()));
  StoreBe64(record + 16, file);
  StoreBe64(record + 24, offset);
  StoreBe64(record + 32, data.size());
  StoreBe64(record + 40, 1);  // seq
  StoreBe32(record + 12, Crc32c(Crc32c(seed, ByteView(record, 48)), AsBytes(data)));
  return std::string(reinterpret_cast<const char*>(header), 32) +
         std::string(reinterpret_cast<const char*>(record), 48) + data;
}

void WriteWholeFile(const std::string& path, const std::string& contents) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(contents.data(), 1, contents.size(), f), contents.size());
  std::fclose(f);
}

// Format 1 segments (record CRCs from zero) still replay; in a format 2 segment a record whose
// CRC does not start from the segment's seed is no record of it (a recycled file's old one).
TEST_F(JournalTest, FormatOneSegmentsReplayAndRecordsNeedTheirSegmentsSeed) {
  std::filesystem::create_directories(dir());
  WriteWholeFile(dir() + "/seg-0000000000000001.jnl", HandMadeSegment(1, 1, 0, 7, 5, "hello"));
  {
    auto journal = Open();
    ASSERT_NE(journal, nullptr);
    ASSERT_OK_AND_ASSIGN(std::string back, ReadString(*journal, 7, 0, 10));
    EXPECT_EQ(back, std::string(5, '\0') + "hello");
    EXPECT_EQ(journal->Stats().torn_bytes, 0u);
  }
  std::filesystem::remove_all(dir());
  std::filesystem::create_directories(dir());
  // The seed of segment 1 is CRC32C of its id as 8 big-endian bytes.
  std::byte id[8];
  StoreBe64(id, 1);
  const uint32_t seed = Crc32c(0, ByteView(id, 8));
  WriteWholeFile(dir() + "/seg-0000000000000001.jnl", HandMadeSegment(2, 1, seed, 7, 5, "hello"));
  WriteWholeFile(dir() + "/seg-0000000000000002.jnl", HandMadeSegment(2, 2, 0, 8, 0, "stale"));
  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string seven, ReadString(*journal, 7, 0, 10));
  EXPECT_EQ(seven, std::string(5, '\0') + "hello");
  ASSERT_OK_AND_ASSIGN(std::string eight, ReadString(*journal, 8, 0, 5));
  EXPECT_EQ(eight, std::string(5, '\0'));
  EXPECT_EQ(journal->Stats().torn_bytes, 48u + 5);
}

// Segments that hold nothing live are kept as free files and reused as new segments. A reused
// file's records from its earlier life never come back: not past the new records' end after a
// crash, and not after a clean restart.
TEST_F(JournalTest, RetiredSegmentsAreReusedAndTheirOldRecordsNeverReplay) {
  const JournalOptions options{.segment_bytes = 64 * kKiB, .capacity_bytes = 8 * kMiB};
  const std::string image = dir() + "-crash-image";
  FileModel model;
  {
    auto journal = Open(options);
    ASSERT_NE(journal, nullptr);
    // Two 30,000-byte records fill a segment.
    for (int i = 0; i < 10; ++i) {
      ASSERT_OK(journal->Write(1, i * 30'000, AsBytes(Pattern(30'000, i))));
    }
    ASSERT_OK(journal->Remove(1));
    ASSERT_OK(journal->Sync(1));
    const uint64_t free_before = journal->Stats().free_segments;
    EXPECT_GE(free_before, 3u);
    EXPECT_EQ(Files("free-").size(), free_before);
    // The file again, rolling into free files: the last record ends where a record of the
    // first life, whole and with its CRC, starts.
    for (int i = 0; i < 3; ++i) {
      std::string data = Pattern(30'000, 100 + i);
      ASSERT_OK(journal->Write(1, i * 30'000, AsBytes(data)));
      model.Write(i * 30'000, data);
    }
    ASSERT_OK(journal->Sync(1));
    EXPECT_LT(journal->Stats().free_segments, free_before);
    EXPECT_EQ(journal->Stats().segments, Segments().size());
    // What a kill -9 would leave: the files as they are now.
    std::filesystem::copy(dir(), image, std::filesystem::copy_options::recursive);
  }
  for (const std::string& where : {image, dir()}) {
    SCOPED_TRACE(where);
    JournalOptions reopen = options;
    reopen.dir = where;
    Result<std::unique_ptr<JournalBlockStore>> journal = OpenJournalBlockStore(reopen, nullptr);
    ASSERT_OK(journal.status());
    EXPECT_EQ((*journal)->Stats().records_replayed, 3u);
    ASSERT_OK_AND_ASSIGN(std::string back, ReadString(**journal, 1, 0, 300'000));
    EXPECT_EQ(back, model.Read(0, 300'000));
    // After the crash the stale tail is cut; a clean close cut it already.
    if (where == image) {
      EXPECT_GT((*journal)->Stats().torn_bytes, 0u);
    } else {
      EXPECT_EQ((*journal)->Stats().torn_bytes, 0u);
    }
    EXPECT_GT((*journal)->Stats().free_segments, 0u) << "free files are taken up again";
  }
  std::filesystem::remove_all(image);
}

// A child process writes and syncs in a loop, reporting through a pipe how many writes were
// synced; it is killed at a random moment. Every synced write must survive, and every other
// block is either whole or absent.
TEST_F(JournalTest, SyncedWritesSurviveKill9) {
  constexpr size_t kBlock = 16 * kKiB;
  constexpr uint64_t kFiles = 4;
  std::mt19937 rng(12345);
  std::vector<uint64_t> synced_per_round;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      Result<std::unique_ptr<JournalBlockStore>> journal =
          OpenJournalBlockStore({.dir = dir(), .segment_bytes = 256 * kKiB}, nullptr);
      if (!journal.ok()) _exit(2);
      for (uint64_t i = 0;; ++i) {
        uint64_t file = round * kFiles + i % kFiles;
        if (!(*journal)
                 ->Write(file, (i / kFiles) * kBlock, AsBytes(Pattern(kBlock, file << 32 | i)))
                 .ok()) {
          _exit(3);
        }
        if (i % 8 == 7) {
          if (!(*journal)->Sync(file).ok()) _exit(4);
          uint64_t count = i + 1;
          if (write(fds[1], &count, sizeof(count)) != sizeof(count)) _exit(5);
        }
      }
    }
    close(fds[1]);
    // Kill it at a random moment once it is writing (opening replays the earlier rounds).
    uint64_t synced = 0, count;
    pollfd ready{.fd = fds[0], .events = POLLIN};
    if (poll(&ready, 1, 20'000) == 1 && read(fds[0], &count, sizeof(count)) == sizeof(count)) {
      synced = count;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    while (read(fds[0], &count, sizeof(count)) == sizeof(count)) synced = count;
    close(fds[0]);
    ASSERT_GT(synced, 0u) << "the child synced nothing before it was killed";
    synced_per_round.push_back(synced);

    // Reopen and check this round and every earlier one.
    auto journal = Open({.segment_bytes = 256 * kKiB});
    ASSERT_NE(journal, nullptr);
    for (int r = 0; r <= round; ++r) {
      for (uint64_t i = 0; i < synced_per_round[r] + 64; ++i) {
        uint64_t file = r * kFiles + i % kFiles;
        ASSERT_OK_AND_ASSIGN(std::string got,
                             ReadString(*journal, file, (i / kFiles) * kBlock, kBlock));
        std::string want = Pattern(kBlock, file << 32 | i);
        if (i < synced_per_round[r]) {
          ASSERT_EQ(got, want) << "round " << r << ": synced write " << i << " lost";
        } else {
          ASSERT_TRUE(got == want || got == std::string(kBlock, '\0'))
              << "round " << r << ": write " << i << " came back torn";
        }
      }
    }
    // Later rounds' checks see what this reopen made of the unsynced tail; pin it down.
    ASSERT_OK(journal->Sync(0));
  }
}

TEST_F(JournalTest, DirtyRangesAndMarkClean) {
  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  ASSERT_OK(journal->Write(1, 0, AsBytes(Pattern(8192, 1))));
  std::vector<DirtyRange> first = journal->DirtyRanges(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].offset, 0u);
  EXPECT_EQ(first[0].length, 8192u);
  const uint64_t s1 = first[0].seq;
  ASSERT_OK(journal->Write(1, 4096, AsBytes(Pattern(4096, 2))));
  std::vector<DirtyRange> second = journal->DirtyRanges(1);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0], (DirtyRange{1, 0, 4096, s1}));
  EXPECT_EQ(second[1].offset, 4096u);
  const uint64_t s2 = second[1].seq;
  EXPECT_GT(s2, s1);
  EXPECT_EQ(journal->DirtyFiles(10), std::vector<uint64_t>{1});
  EXPECT_EQ(journal->Stats().dirty_bytes, 8192u);

  // Cleaning up to s1 leaves the newer overwrite dirty.
  ASSERT_OK(journal->MarkClean(1, 0, 8192, s1));
  EXPECT_EQ(journal->DirtyRanges(1), (std::vector<DirtyRange>{{1, 4096, 4096, s2}}));
  EXPECT_EQ(journal->Stats().dirty_bytes, 4096u);
  EXPECT_EQ(journal->Stats().clean_bytes, 4096u);

  // A second file stays dirty; the first is clean after its newest write is cleaned.
  ASSERT_OK(journal->Write(2, 100, AsBytes("x")));
  ASSERT_OK(journal->MarkClean(1, 4096, 4096, s2));
  EXPECT_TRUE(journal->DirtyRanges(1).empty());
  EXPECT_EQ(journal->DirtyFiles(10), std::vector<uint64_t>{2});
  ASSERT_OK_AND_ASSIGN(std::string data, ReadString(*journal, 1, 0, 8192));
  EXPECT_EQ(data, Pattern(4096, 1).substr(0, 4096) + Pattern(4096, 2));

  // Clean marks survive a reopen; dirty data is queued again.
  journal.reset();
  journal = Open();
  ASSERT_NE(journal, nullptr);
  EXPECT_TRUE(journal->DirtyRanges(1).empty());
  EXPECT_EQ(journal->DirtyFiles(10), std::vector<uint64_t>{2});
  EXPECT_EQ(journal->Stats().clean_bytes, 8192u);
  EXPECT_EQ(journal->Stats().dirty_bytes, 1u);
  ASSERT_OK_AND_ASSIGN(data, ReadString(*journal, 1, 0, 8192));
  EXPECT_EQ(data, Pattern(4096, 1).substr(0, 4096) + Pattern(4096, 2));
}

TEST_F(JournalTest, OverCapacityCleanDataIsEvictedAndReadFromTheBacking) {
  TestBacking backing;
  const JournalOptions options{.segment_bytes = 64 * kKiB, .capacity_bytes = 512 * kKiB};
  auto journal = Open(options, &backing);
  ASSERT_NE(journal, nullptr);
  std::map<uint64_t, FileModel> models;
  // Files 1..6 take 192 KiB each; all but file 2 are uploaded and cleaned as they go.
  for (uint64_t file = 1; file <= 6; ++file) {
    for (uint64_t i = 0; i < 6; ++i) {
      std::string data = Pattern(32 * kKiB, file * 100 + i);
      ASSERT_OK(journal->Write(file, i * 32 * kKiB, AsBytes(data)));
      models[file].Write(i * 32 * kKiB, data);
    }
    if (file != 2) ASSERT_OK(UploadAndClean(*journal, backing, file));
  }
  JournalStats stats = journal->Stats();
  EXPECT_LE(stats.disk_bytes, options.capacity_bytes + options.segment_bytes);
  EXPECT_EQ(stats.dirty_bytes, 192 * kKiB);  // dirty data is never evicted
  EXPECT_LT(stats.clean_bytes, 5 * 192 * kKiB);
  EXPECT_EQ(journal->DirtyRanges(2).size(), 6u);
  for (auto& [file, model] : models) {
    ASSERT_OK_AND_ASSIGN(std::string got, ReadString(*journal, file, 0, 200 * kKiB));
    EXPECT_EQ(got, model.Read(0, 200 * kKiB)) << "file " << file;
  }
  EXPECT_GT(backing.reads(), 0u);

  // Evictions are journaled: a reopen neither resurrects evicted bytes nor loses dirty ones.
  journal.reset();
  journal = Open(options, &backing);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->Stats().dirty_bytes, 192 * kKiB);
  for (auto& [file, model] : models) {
    ASSERT_OK_AND_ASSIGN(std::string got, ReadString(*journal, file, 0, 200 * kKiB));
    EXPECT_EQ(got, model.Read(0, 200 * kKiB)) << "file " << file;
  }
  // Truncating the backing (the owner's part) and then the journal.
  backing.Truncate(1, 1000);
  ASSERT_OK(journal->Truncate(1, 1000));
  ASSERT_OK_AND_ASSIGN(std::string truncated, ReadString(*journal, 1, 0, 64 * kKiB));
  EXPECT_EQ(truncated, models[1].Read(0, 1000) + std::string(64 * kKiB - 1000, '\0'));
}

// ReadRange hands out views of the mapped segments; they stay valid after the file is removed
// and its segments deleted, and pieces from the backing and holes read as Read reads them.
TEST_F(JournalTest, ReadRangeViewsOutliveTheirSegments) {
  TestBacking backing;
  auto journal = Open({.segment_bytes = 64 * kKiB}, &backing);
  ASSERT_NE(journal, nullptr);
  FileModel model;
  backing.Upload(1, 0, Pattern(300 * kKiB, 1));  // what an earlier life uploaded
  model.Write(0, Pattern(300 * kKiB, 1));
  for (uint64_t i = 0; i < 8; ++i) {
    std::string data = Pattern(40 * kKiB, 10 + i);
    ASSERT_OK(journal->Write(1, 20 * kKiB + i * 50 * kKiB, AsBytes(data)));  // with gaps
    model.Write(20 * kKiB + i * 50 * kKiB, data);
  }
  const uint64_t length = 600 * kKiB;  // past the end: zeros
  ASSERT_OK_AND_ASSIGN(BlockRead range, journal->ReadRange(1, 5, length));
  std::string expected = model.Read(5, length);
  std::string viewed;
  for (ByteView piece : range.pieces) viewed.append(AsChars(piece));
  ASSERT_EQ(viewed.size(), length);
  EXPECT_TRUE(viewed == expected);
  ASSERT_OK_AND_ASSIGN(std::string copied, ReadString(*journal, 1, 5, length));
  EXPECT_TRUE(copied == expected);

  const std::string first_segment = Segments().front();
  ASSERT_OK(journal->Remove(1));
  for (int i = 0; i < 4; ++i)
    ASSERT_OK(journal->Write(2, i * 60 * kKiB, AsBytes(Pattern(60 * kKiB, i))));
  EXPECT_FALSE(std::filesystem::exists(first_segment));  // deleted, yet still mapped
  std::string after;
  for (ByteView piece : range.pieces) after.append(AsChars(piece));
  EXPECT_TRUE(after == expected);
}

TEST_F(JournalTest, WritersWaitForMarkCleanWhenDirtyDataFillsTheCapacity) {
  TestBacking backing;
  auto journal = Open({.segment_bytes = 32 * kKiB, .capacity_bytes = 256 * kKiB}, &backing);
  ASSERT_NE(journal, nullptr);
  constexpr int kWrites = 64;  // 1 MiB of 16 KiB writes: four times the capacity
  std::atomic<int> done{0};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      if (!journal->Write(1, i * 16 * kKiB, AsBytes(Pattern(16 * kKiB, i))).ok()) {
        failures.fetch_add(1);
      }
      done.fetch_add(1);
    }
  });
  // Wait until the writer stalls.
  int last = -1;
  for (int stable = 0; stable < 3;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int now = done.load();
    stable = now == last ? stable + 1 : 0;
    last = now;
  }
  EXPECT_LT(last, kWrites) << "the writer never waited";
  EXPECT_LE(journal->Stats().dirty_bytes, 256 * kKiB);
  while (done.load() < kWrites) {
    ASSERT_OK(UploadAndClean(*journal, backing, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_OK_AND_ASSIGN(std::string got, ReadString(*journal, 1, i * 16 * kKiB, 16 * kKiB));
    ASSERT_EQ(got, Pattern(16 * kKiB, i)) << "write " << i;
  }
}

// A segment holding a truncate and a remove goes while an older segment still holds the bytes
// they discarded: the records are re-logged, so a reopen does not bring the bytes back.
TEST_F(JournalTest, DeletingAMiddleSegmentKeepsItsTruncatesAndRemoves) {
  const JournalOptions options{.segment_bytes = 4096};
  {
    auto journal = Open(options);
    ASSERT_NE(journal, nullptr);
    // Segment 1: file 1 (stays live) and file 2.
    ASSERT_OK(journal->Write(1, 0, AsBytes(Pattern(1000, 1))));
    ASSERT_OK(journal->Write(2, 0, AsBytes(Pattern(1000, 2))));
    // Segment 2: file 3, then the truncate of file 2 and the remove of file 3.
    ASSERT_OK(journal->Write(3, 0, AsBytes(Pattern(3000, 3))));
    ASSERT_OK(journal->Truncate(2, 0));
    ASSERT_OK(journal->Remove(3));
    // Segment 3: starting it leaves segment 2 dead.
    ASSERT_OK(journal->Write(4, 0, AsBytes(Pattern(3000, 4))));
    EXPECT_FALSE(std::filesystem::exists(dir() + "/seg-0000000000000002.jnl"));
    EXPECT_TRUE(std::filesystem::exists(dir() + "/seg-0000000000000001.jnl"));
    ASSERT_OK(journal->Sync(1));
  }
  auto journal = Open(options);
  ASSERT_NE(journal, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string one, ReadString(*journal, 1, 0, 1000));
  EXPECT_EQ(one, Pattern(1000, 1));
  ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, 1000));
  EXPECT_EQ(two, std::string(1000, '\0'));
  ASSERT_OK_AND_ASSIGN(std::string three, ReadString(*journal, 3, 0, 3000));
  EXPECT_EQ(three, std::string(3000, '\0'));
  ASSERT_OK_AND_ASSIGN(std::string four, ReadString(*journal, 4, 0, 3000));
  EXPECT_EQ(four, Pattern(3000, 4));
  EXPECT_EQ(journal->Stats().dirty_bytes, 4000u);
}

// Issue 18: a truncate or remove re-logged when its segment is deleted keeps its own seq. With
// a new one it discarded, at replay, what the file was given after it: synced writes came back
// as zeros, or as older bytes from the backing.
TEST_F(JournalTest, WritesAfterATruncateOrRemoveSurviveTheirRelogging) {
  const JournalOptions options{.segment_bytes = 4096};
  std::string model2, model3;
  {
    auto journal = Open(options);
    ASSERT_NE(journal, nullptr);
    // Segment 1: file 1, which stays live (so the tombstones below must be re-logged), and
    // file 2.
    ASSERT_OK(journal->Write(1, 0, AsBytes(Pattern(1000, 1))));
    ASSERT_OK(journal->Write(2, 0, AsBytes(Pattern(1000, 2))));
    // Segment 2: file 3, its truncate and the remove of file 2.
    ASSERT_OK(journal->Write(3, 0, AsBytes(Pattern(3000, 3))));
    ASSERT_OK(journal->Truncate(3, 1000));
    ASSERT_OK(journal->Remove(2));
    // Segment 3: both files written again, which leaves segment 2 dead...
    model2 = Pattern(1500, 22);
    model3 = Pattern(2000, 33);
    ASSERT_OK(journal->Write(2, 0, AsBytes(model2)));
    ASSERT_OK(journal->Write(3, 0, AsBytes(model3)));
    EXPECT_TRUE(std::filesystem::exists(dir() + "/seg-0000000000000002.jnl"));
    // ...and segment 4: starting it deletes segment 2, re-logging its truncate and remove.
    ASSERT_OK(journal->Write(4, 0, AsBytes(Pattern(1000, 4))));
    EXPECT_FALSE(std::filesystem::exists(dir() + "/seg-0000000000000002.jnl"));
    ASSERT_OK(journal->Sync(1));
    ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, 3000));
    EXPECT_TRUE(two == model2 + std::string(1500, '\0'));
  }
  auto journal = Open(options);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->Stats().torn_bytes, 0u);
  ASSERT_OK_AND_ASSIGN(std::string one, ReadString(*journal, 1, 0, 1000));
  EXPECT_EQ(one, Pattern(1000, 1));
  ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, 3000));
  EXPECT_TRUE(two == model2 + std::string(1500, '\0')) << "the re-logged remove discarded file 2";
  ASSERT_OK_AND_ASSIGN(std::string three, ReadString(*journal, 3, 0, 3000));
  EXPECT_TRUE(three == model3 + std::string(1000, '\0')) << "the re-logged truncate cut file 3";
  ASSERT_OK_AND_ASSIGN(std::string four, ReadString(*journal, 4, 0, 1000));
  EXPECT_EQ(four, Pattern(1000, 4));
  EXPECT_EQ(journal->Stats().dirty_bytes, 1000u + 1500u + 2000u + 1000u);
}

// A punched range drops dirty and clean bytes alike: the dirty ones need no upload any more,
// reads go to the backing (which its owner cut), and all of it holds after a reopen.
TEST_F(JournalTest, DeallocateDropsDirtyAndCleanBytesAndReplays) {
  TestBacking backing;
  FileModel model;
  {
    auto journal = Open({}, &backing);
    ASSERT_NE(journal, nullptr);
    model.Write(0, Pattern(100'000, 1));
    ASSERT_OK(journal->Write(1, 0, AsBytes(Pattern(100'000, 1))));
    ASSERT_OK(UploadAndClean(*journal, backing, 1));  // clean from here on
    model.Write(150'000, Pattern(50'000, 2));
    ASSERT_OK(journal->Write(1, 150'000, AsBytes(Pattern(50'000, 2))));  // dirty
    // Across the clean data's end, the hole and into the dirty data; the owner cuts the
    // backing first.
    backing.Deallocate(1, 90'000, 70'000);
    ASSERT_OK(journal->Deallocate(1, 90'000, 70'000));
    model.Deallocate(90'000, 70'000);
    ASSERT_OK(journal->Deallocate(2, 0, 1000));  // a file it never held
    EXPECT_EQ(journal->DirtyRanges(1),
              (std::vector<DirtyRange>{{1, 160'000, 40'000, journal->DirtyRanges(1)[0].seq}}));
    EXPECT_EQ(journal->Stats().dirty_bytes, 40'000u);
    EXPECT_EQ(journal->Stats().clean_bytes, 90'000u);
    ASSERT_OK_AND_ASSIGN(std::string all, ReadString(*journal, 1, 0, 250'000));
    EXPECT_TRUE(all == model.Read(0, 250'000));
    ASSERT_OK_AND_ASSIGN(std::vector<BlockStore::Extent> extents,
                         journal->DataExtents(1, 0, UINT64_MAX, 10));
    EXPECT_EQ(extents, (std::vector<BlockStore::Extent>{{0, 90'000}, {160'000, 40'000}}));
    ASSERT_OK(journal->Sync(1));
  }
  auto journal = Open({}, &backing);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->Stats().torn_bytes, 0u);
  ASSERT_OK_AND_ASSIGN(std::string all, ReadString(*journal, 1, 0, 250'000));
  EXPECT_TRUE(all == model.Read(0, 250'000));
  ASSERT_EQ(journal->DirtyRanges(1).size(), 1u);
  EXPECT_EQ(journal->DirtyRanges(1)[0].offset, 160'000u);
  EXPECT_EQ(journal->DirtyRanges(1)[0].length, 40'000u);
  EXPECT_EQ(journal->Stats().dirty_bytes, 40'000u);
  EXPECT_EQ(journal->Stats().clean_bytes, 90'000u);
}

// A discard record whose segment is retired while older data it hides lives on in another
// segment is re-logged, under its own seq: after a reopen the range still reads as zeros, and
// a write into it made after the discard survives.
TEST_F(JournalTest, DiscardsSurviveTheirRelogging) {
  const JournalOptions options{.segment_bytes = 4096};
  std::string three = Pattern(3000, 3);
  {
    auto journal = Open(options);
    ASSERT_NE(journal, nullptr);
    // Segment 1: file 3, part of which the discard hides, and file 1, which keeps it live.
    ASSERT_OK(journal->Write(3, 0, AsBytes(three)));
    ASSERT_OK(journal->Write(1, 0, AsBytes(Pattern(900, 1))));
    // Segment 2: the discard, between data that goes later.
    ASSERT_OK(journal->Write(1, 2000, AsBytes(Pattern(1000, 10))));
    EXPECT_TRUE(std::filesystem::exists(dir() + "/seg-0000000000000002.jnl"));
    ASSERT_OK(journal->Deallocate(3, 500, 1000));
    three.replace(500, 1000, 1000, '\0');
    ASSERT_OK(journal->Write(2, 0, AsBytes(Pattern(2800, 2))));
    // Segment 3: a write into the punched range, and what leaves segment 2 dead.
    ASSERT_OK(journal->Write(1, 2000, AsBytes(Pattern(1000, 11))));
    ASSERT_OK(journal->Write(3, 600, AsBytes(Pattern(100, 33))));
    three.replace(600, 100, Pattern(100, 33));
    ASSERT_OK(journal->Remove(2));
    EXPECT_FALSE(std::filesystem::exists(dir() + "/seg-0000000000000002.jnl"));
    ASSERT_OK(journal->Sync(1));
    ASSERT_OK_AND_ASSIGN(std::string back, ReadString(*journal, 3, 0, 3000));
    EXPECT_TRUE(back == three);
  }
  auto journal = Open(options);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->Stats().torn_bytes, 0u);
  ASSERT_OK_AND_ASSIGN(std::string back, ReadString(*journal, 3, 0, 3000));
  EXPECT_TRUE(back == three) << "the discard was lost, or its copy cut the later write";
  ASSERT_OK_AND_ASSIGN(std::string one, ReadString(*journal, 1, 2000, 1000));
  EXPECT_EQ(one, Pattern(1000, 11));
  EXPECT_EQ(journal->Stats().dirty_bytes, 900u + 1000u + 2000u + 100u);
}

// A journal with discard records is format 3: a server that knows only 2 refuses it instead of
// taking the record for a torn tail (and cutting the log there).
TEST_F(JournalTest, NewSegmentsAreFormatThree) {
  {
    auto journal = Open();
    ASSERT_NE(journal, nullptr);
    ASSERT_OK(journal->Write(1, 0, AsBytes(Pattern(100, 1))));
    ASSERT_OK(journal->Deallocate(1, 10, 10));
  }
  for (const std::string& path : Segments()) {
    FILE* f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    std::byte header[12];
    ASSERT_EQ(std::fread(header, 1, sizeof(header), f), sizeof(header));
    std::fclose(f);
    EXPECT_EQ(LoadBe32(header + 8), 3u) << path;
  }
}

// An evicted overwrite must not let the older bytes it superseded (still in a segment kept by
// other dirty data) come back, neither now nor after a reopen.
TEST_F(JournalTest, EvictedOverwritesDoNotBringBackOlderBytes) {
  TestBacking backing;
  const JournalOptions options{.segment_bytes = 4096, .capacity_bytes = 16 * kKiB};
  const std::string newer = Pattern(3000, 22);
  {
    auto journal = Open(options, &backing);
    ASSERT_NE(journal, nullptr);
    ASSERT_OK(journal->Write(1, 0, AsBytes(Pattern(1000, 1))));  // dirty: keeps segment 1
    ASSERT_OK(journal->Write(2, 0, AsBytes(Pattern(1000, 21))));
    ASSERT_OK(journal->Write(2, 0, AsBytes(newer)));
    ASSERT_OK(UploadAndClean(*journal, backing, 2));
    for (int i = 0; i < 4; ++i) {
      ASSERT_OK(journal->Write(3, i * 3000, AsBytes(Pattern(3000, 30 + i))));
    }
    EXPECT_EQ(journal->Stats().clean_bytes, 0u) << "file 2 was not evicted";
    EXPECT_LE(journal->Stats().disk_bytes, options.capacity_bytes);
    ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, 3000));
    EXPECT_EQ(two, newer);
    EXPECT_GT(backing.reads(), 0u);
    ASSERT_OK(journal->Sync(1));
  }
  auto journal = Open(options, &backing);
  ASSERT_NE(journal, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, 3000));
  EXPECT_EQ(two, newer);
  EXPECT_TRUE(journal->DirtyRanges(2).empty());
  EXPECT_EQ(journal->Stats().dirty_bytes, 13'000u);
}

// Eviction takes the least recently used clean segments first: reading a file keeps it.
TEST_F(JournalTest, EvictionIsLeastRecentlyUsedFirst) {
  TestBacking backing;
  auto journal = Open({.segment_bytes = 64 * kKiB, .capacity_bytes = 320 * kKiB}, &backing);
  ASSERT_NE(journal, nullptr);
  for (uint64_t file : {1, 2}) {
    for (uint64_t i = 0; i < 4; ++i) {
      ASSERT_OK(journal->Write(file, i * 32 * kKiB, AsBytes(Pattern(32 * kKiB, file * 10 + i))));
    }
  }
  ASSERT_OK(UploadAndClean(*journal, backing, 1));
  ASSERT_OK(UploadAndClean(*journal, backing, 2));
  ASSERT_OK(ReadString(*journal, 1, 0, 128 * kKiB).status());  // file 1 is now the newer
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_OK(journal->Write(3, i * 32 * kKiB, AsBytes(Pattern(32 * kKiB, 30 + i))));
  }
  uint64_t before = backing.reads();
  ASSERT_OK_AND_ASSIGN(std::string one, ReadString(*journal, 1, 0, 128 * kKiB));
  EXPECT_EQ(backing.reads(), before) << "file 1 was evicted before file 2";
  ASSERT_OK_AND_ASSIGN(std::string two, ReadString(*journal, 2, 0, 128 * kKiB));
  EXPECT_GT(backing.reads(), before) << "file 2 was not evicted";
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(one.substr(i * 32 * kKiB, 32 * kKiB), Pattern(32 * kKiB, 10 + i));
    EXPECT_EQ(two.substr(i * 32 * kKiB, 32 * kKiB), Pattern(32 * kKiB, 20 + i));
  }
}

// Writers to one file and to others; a reader checks every 4 KiB block it sees comes whole
// from one write (each write fills its blocks with one byte value).
TEST_F(JournalTest, ConcurrentWritesNeverTearABlock) {
  auto journal = Open({.segment_bytes = 128 * kKiB});
  ASSERT_NE(journal, nullptr);
  constexpr uint64_t kBlock = 4 * kKiB;
  constexpr uint64_t kSpan = 64 * kBlock;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t file = t < 2 ? 1 : 10 + t;  // two on file 1, one each on others
      std::mt19937 rng(t);
      for (int i = 0; i < 300; ++i) {
        uint64_t first = rng() % 60;
        uint64_t blocks = 1 + rng() % 4;
        char value = static_cast<char>(1 + (t * 300 + i) % 255);
        std::string data(blocks * kBlock, value);
        if (!journal->Write(file, first * kBlock, AsBytes(data)).ok()) failures.fetch_add(1);
        if (i % 50 == 49 && !journal->Sync(file).ok()) failures.fetch_add(1);
      }
    });
  }
  std::thread reader([&] {
    while (!stop.load()) {
      Result<std::string> got = ReadString(*journal, 1, 0, kSpan);
      if (!got.ok()) {
        failures.fetch_add(1);
        continue;
      }
      for (uint64_t b = 0; b < kSpan; b += kBlock) {
        std::string_view block(got->data() + b, kBlock);
        if (block.find_first_not_of(block[0]) != std::string_view::npos) failures.fetch_add(1);
      }
    }
  });
  for (std::thread& t : threads) t.join();
  stop.store(true);
  reader.join();
  EXPECT_EQ(failures.load(), 0);
}

// Not a pass/fail test: prints sequential 1 MiB write throughput, without Sync and with a
// Sync every 8 MiB.
TEST_F(JournalTest, ReportsSequentialWriteThroughput) {
  constexpr uint64_t kTotal = 256 * kMiB;
  const std::string data = Pattern(kMiB, 1);
  for (bool sync : {false, true}) {
    auto journal = Open({.capacity_bytes = 1ull << 40});
    ASSERT_NE(journal, nullptr);
    const uint64_t file = sync ? 2 : 1;
    auto start = std::chrono::steady_clock::now();
    for (uint64_t offset = 0; offset < kTotal; offset += kMiB) {
      ASSERT_OK(journal->Write(file, offset, AsBytes(data)));
      if (sync && (offset + kMiB) % (8 * kMiB) == 0) ASSERT_OK(journal->Sync(file));
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ journal  ] sequential 1 MiB writes, %s: %.0f MiB/s (%llu MiB in %.2f s)\n",
                sync ? "Sync every 8 MiB" : "no Sync", kTotal / kMiB / seconds,
                static_cast<unsigned long long>(kTotal / kMiB), seconds);
    ASSERT_OK(journal->Remove(file));
  }
}

}  // namespace
}  // namespace dittofs::stores
