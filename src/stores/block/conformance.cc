// SPDX-License-Identifier: Apache-2.0
#include "stores/block/conformance.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::stores {

void PrintTo(const BlockStoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::string BlockStoreFactoryName(const ::testing::TestParamInfo<BlockStoreFactory>& info) {
  return info.param.name;
}

void BlockStoreConformance::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr) << GetParam().name << ": the factory made no store";
}

namespace block_testing {

// `size` bytes that are never zero, different for each seed, so data is told apart from holes
// and from other writes.
std::string Pattern(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = (seed * 0x9e3779b97f4a7c15) | 1;  // xorshift must not start at 0
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(1 + x % 255);
  }
  return out;
}

// Reads into a buffer pre-filled with garbage, so bytes the store forgot to fill show.
Result<std::string> ReadString(BlockStore& store, uint64_t file, uint64_t offset, size_t size) {
  std::string out(size, '\xAA');
  MutableByteView view(reinterpret_cast<std::byte*>(out.data()), out.size());
  RETURN_IF_ERROR(store.Read(file, offset, view));
  return out;
}

}  // namespace block_testing

namespace {

using block_testing::FileModel;
using block_testing::Pattern;
using block_testing::ReadString;
using ::dittofs::testing::StatusIs;

std::string Zeros(size_t size) { return std::string(size, '\0'); }

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

// Compares byte strings by first difference; EXPECT_EQ would print megabytes.
::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size();
  }
  auto [g, w] = std::mismatch(got.begin(), got.end(), want.begin());
  if (g == got.end()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "first difference at byte " << (g - got.begin()) << ": got "
         << int{static_cast<unsigned char>(*g)} << ", want " << int{static_cast<unsigned char>(*w)};
}

// Writes `data` to both the store and the model.
Status WriteBoth(BlockStore& store, FileModel& model, uint64_t file, uint64_t offset,
                 const std::string& data) {
  model.Write(offset, data);
  return store.Write(file, offset, AsBytes(data));
}

TEST_P(BlockStoreConformance, NeverWrittenFileReadsAsZeros) {
  ASSERT_OK_AND_ASSIGN(std::string head, ReadString(store(), 7, 0, 100'000));
  EXPECT_TRUE(SameBytes(head, Zeros(100'000)));
  ASSERT_OK_AND_ASSIGN(std::string far, ReadString(store(), 7, uint64_t{1} << 40, 4096));
  EXPECT_TRUE(SameBytes(far, Zeros(4096)));
}

TEST_P(BlockStoreConformance, GapsAndBytesPastTheEndReadAsZeros) {
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 1, 100, "hello"));
  ASSERT_OK(WriteBoth(store(), model, 1, 200'000, Pattern(1000, 1)));
  ASSERT_OK_AND_ASSIGN(std::string all, ReadString(store(), 1, 0, 300'000));
  EXPECT_TRUE(SameBytes(all, model.Read(0, 300'000)));
  EXPECT_EQ(all.substr(100, 5), "hello");
  ASSERT_OK_AND_ASSIGN(std::string beyond, ReadString(store(), 1, 201'000, 70'000));
  EXPECT_TRUE(SameBytes(beyond, Zeros(70'000)));
}

// ReadRange returns the same bytes as Read, and what it returned stays as it was read even when
// the file is overwritten, truncated or removed afterwards (stores may hand out views).
TEST_P(BlockStoreConformance, ReadRangeMatchesReadAndIsStable) {
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 1, 1000, Pattern(300'000, 5)));
  for (auto [offset, length] : std::vector<std::pair<uint64_t, size_t>>{
           {0, 0}, {0, 400'000}, {999, 2}, {65'535, 70'000}, {250'000, 100'000}}) {
    ASSERT_OK_AND_ASSIGN(stores::BlockRead r, store().ReadRange(1, offset, length));
    ASSERT_EQ(r.size(), length);
    std::string got;
    for (ByteView p : r.pieces) got.append(AsChars(p));
    EXPECT_TRUE(SameBytes(got, model.Read(offset, length))) << offset << "+" << length;
  }
  ASSERT_OK_AND_ASSIGN(stores::BlockRead held, store().ReadRange(1, 0, 200'000));
  std::string before = model.Read(0, 200'000);
  ASSERT_OK(store().Write(1, 0, AsBytes(Pattern(200'000, 6))));
  ASSERT_OK(store().Truncate(1, 10));
  ASSERT_OK(store().Remove(1));
  std::string got;
  for (ByteView p : held.pieces) got.append(AsChars(p));
  EXPECT_TRUE(SameBytes(got, before));
  ASSERT_OK_AND_ASSIGN(stores::BlockRead absent, store().ReadRange(99, 5, 70'000));
  std::string zeros;
  for (ByteView p : absent.pieces) zeros.append(AsChars(p));
  EXPECT_TRUE(SameBytes(zeros, Zeros(70'000)));
}

TEST_P(BlockStoreConformance, CapacityIsPlausible) {
  stores::BlockStore::Capacity cap = store().GetCapacity();
  EXPECT_GT(cap.total_bytes, 0u);
  EXPECT_LE(cap.free_bytes, cap.total_bytes);
  EXPECT_LE(cap.avail_bytes, cap.free_bytes);
}

TEST_P(BlockStoreConformance, NewestWriteWins) {
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 1, 0, Pattern(100'000, 1)));
  ASSERT_OK(WriteBoth(store(), model, 1, 50'000, Pattern(100'000, 2)));
  ASSERT_OK(WriteBoth(store(), model, 1, 10, Pattern(20, 3)));
  ASSERT_OK(WriteBoth(store(), model, 1, 65'530, Pattern(12, 4)));
  ASSERT_OK(WriteBoth(store(), model, 1, 0, std::string(5, 'z')));
  ASSERT_OK_AND_ASSIGN(std::string all, ReadString(store(), 1, 0, 200'000));
  EXPECT_TRUE(SameBytes(all, model.Read(0, 200'000)));
}

TEST_P(BlockStoreConformance, UnalignedWritesAndReadsAcrossBlockBoundaries) {
  // Straddles the boundaries of any power-of-two block size from 512 bytes to 1 MiB.
  FileModel model;
  uint64_t seed = 0;
  for (uint64_t boundary : {4 * kKiB, 64 * kKiB, 128 * kKiB, kMiB}) {
    for (uint64_t before : {1, 3, 511}) {
      for (size_t size : {2, 10, 4097, 65'537}) {
        uint64_t offset = boundary - before;
        std::string data = Pattern(size, ++seed);
        ASSERT_OK(WriteBoth(store(), model, 3, offset, data));
        ASSERT_OK_AND_ASSIGN(std::string back, ReadString(store(), 3, offset, size));
        ASSERT_TRUE(SameBytes(back, data)) << "write of " << size << " at " << offset;
      }
    }
  }
  uint64_t end = model.size() + 1000;
  ASSERT_OK_AND_ASSIGN(std::string all, ReadString(store(), 3, 0, end));
  EXPECT_TRUE(SameBytes(all, model.Read(0, end)));
  for (uint64_t offset = 1; offset < end; offset += 47'111) {
    for (size_t size : {1, 600, 70'001}) {
      ASSERT_OK_AND_ASSIGN(std::string window, ReadString(store(), 3, offset, size));
      ASSERT_TRUE(SameBytes(window, model.Read(offset, size))) << size << " at " << offset;
    }
  }
}

TEST_P(BlockStoreConformance, LargeWritesRoundTrip) {
  FileModel model;
  const uint64_t offset = 1'234'567;
  ASSERT_OK(WriteBoth(store(), model, 4, offset, Pattern(3 * kMiB, 1)));
  ASSERT_OK(WriteBoth(store(), model, 4, offset + kMiB + 3, Pattern(kMiB + 5, 2)));
  ASSERT_OK_AND_ASSIGN(std::string all, ReadString(store(), 4, 0, offset + 4 * kMiB));
  EXPECT_TRUE(SameBytes(all, model.Read(0, offset + 4 * kMiB)));
  ASSERT_OK_AND_ASSIGN(std::string middle, ReadString(store(), 4, offset + 99'999, 2 * kMiB + 1));
  EXPECT_TRUE(SameBytes(middle, model.Read(offset + 99'999, 2 * kMiB + 1)));
}

TEST_P(BlockStoreConformance, TruncateDiscardsTheTailAndTheFileCanGrowAgain) {
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 5, 0, Pattern(200'000, 1)));
  ASSERT_OK(store().Truncate(5, 70'001));
  model.Truncate(70'001);
  ASSERT_OK_AND_ASSIGN(std::string after, ReadString(store(), 5, 0, 200'000));
  EXPECT_TRUE(SameBytes(after, model.Read(0, 200'000)));
  EXPECT_TRUE(SameBytes(after.substr(70'001), Zeros(200'000 - 70'001)));

  // Growing by writing past the old data leaves zeros where the truncated bytes were.
  ASSERT_OK(WriteBoth(store(), model, 5, 150'000, Pattern(10, 2)));
  ASSERT_OK_AND_ASSIGN(std::string grown, ReadString(store(), 5, 0, 200'000));
  EXPECT_TRUE(SameBytes(grown, model.Read(0, 200'000)));

  // Truncating past the data changes nothing; to zero empties the file.
  ASSERT_OK(store().Truncate(5, uint64_t{1} << 30));
  ASSERT_OK_AND_ASSIGN(std::string same, ReadString(store(), 5, 0, 200'000));
  EXPECT_TRUE(SameBytes(same, model.Read(0, 200'000)));
  ASSERT_OK(store().Truncate(5, 0));
  ASSERT_OK_AND_ASSIGN(std::string empty, ReadString(store(), 5, 0, 200'000));
  EXPECT_TRUE(SameBytes(empty, Zeros(200'000)));
}

TEST_P(BlockStoreConformance, TruncateOfANeverWrittenFileSucceeds) {
  ASSERT_OK(store().Truncate(6, 0));
  ASSERT_OK(store().Truncate(6, 12345));
  ASSERT_OK_AND_ASSIGN(std::string data, ReadString(store(), 6, 0, 20'000));
  EXPECT_TRUE(SameBytes(data, Zeros(20'000)));
}

TEST_P(BlockStoreConformance, RemoveDiscardsTheFile) {
  ASSERT_OK(store().Write(8, 1000, AsBytes(Pattern(100'000, 1))));
  ASSERT_OK(store().Remove(8));
  ASSERT_OK_AND_ASSIGN(std::string gone, ReadString(store(), 8, 0, 120'000));
  EXPECT_TRUE(SameBytes(gone, Zeros(120'000)));
  ASSERT_OK(store().Remove(8));  // again
  ASSERT_OK(store().Remove(9));  // never written

  // The id can be written again from scratch.
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 8, 50'000, Pattern(10, 2)));
  ASSERT_OK_AND_ASSIGN(std::string again, ReadString(store(), 8, 0, 120'000));
  EXPECT_TRUE(SameBytes(again, model.Read(0, 120'000)));
}

TEST_P(BlockStoreConformance, RecentDataEndsListsWhatWasJustWritten) {
  // Recovery after a crash relies on it: every file written lately is listed, its end at or
  // past its last byte; a removed file is not.
  ASSERT_OK(store().Write(30, 70'000, AsBytes(Pattern(5000, 1))));
  ASSERT_OK(store().Write(31, 0, AsBytes(Pattern(10, 2))));
  ASSERT_OK(store().Write(32, 0, AsBytes(Pattern(10, 3))));
  ASSERT_OK(store().Remove(32));
  ASSERT_OK_AND_ASSIGN(std::vector<BlockStore::DataEnd> ends, store().RecentDataEnds());
  auto end_of = [&](uint64_t file) -> uint64_t {
    for (const BlockStore::DataEnd& e : ends) {
      if (e.file == file) return e.end;
    }
    return 0;
  };
  EXPECT_GE(end_of(30), 75'000u);
  EXPECT_GE(end_of(31), 10u);
  EXPECT_EQ(end_of(32), 0u);
  // A cut moves the end back (a store may round up to its block size, no further than that).
  ASSERT_OK(store().Truncate(30, 1000));
  ASSERT_OK_AND_ASSIGN(ends, store().RecentDataEnds());
  EXPECT_LT(end_of(30), 70'000u);
}

TEST_P(BlockStoreConformance, SyncSucceeds) {
  ASSERT_OK(store().Write(10, 0, AsBytes(Pattern(5000, 1))));
  EXPECT_OK(store().Sync(10));
  EXPECT_OK(store().Sync(11));  // never written
}

TEST_P(BlockStoreConformance, EmptyWritesAndReadsSucceed) {
  ASSERT_OK(store().Write(12, 77, ByteView()));
  ASSERT_OK(store().Read(12, 77, MutableByteView()));
  ASSERT_OK_AND_ASSIGN(std::string data, ReadString(store(), 12, 0, 100));
  EXPECT_TRUE(SameBytes(data, Zeros(100)));
}

TEST_P(BlockStoreConformance, SixtyFourBitOffsetsWork) {
  const uint64_t far = uint64_t{1} << 40;
  const uint64_t base = far - kMiB;  // `model` holds the file from here on
  FileModel model;
  const std::string low = Pattern(100, 1);
  const std::string across = Pattern(70'000, 2);  // crosses a 64 KiB boundary
  ASSERT_OK(store().Write(13, far, AsBytes(low)));
  model.Write(far - base, low);
  ASSERT_OK(store().Write(13, far + 65'530, AsBytes(across)));
  model.Write(far + 65'530 - base, across);
  ASSERT_OK_AND_ASSIGN(std::string back, ReadString(store(), 13, base, 2 * kMiB));
  EXPECT_TRUE(SameBytes(back, model.Read(0, 2 * kMiB)));
  ASSERT_OK_AND_ASSIGN(std::string head, ReadString(store(), 13, 0, 1000));
  EXPECT_TRUE(SameBytes(head, Zeros(1000)));
}

TEST_P(BlockStoreConformance, FilesAreIndependent) {
  FileModel one;
  FileModel two;
  ASSERT_OK(WriteBoth(store(), one, 21, 0, Pattern(100'000, 1)));
  ASSERT_OK(WriteBoth(store(), two, 22, 0, Pattern(100'000, 2)));
  ASSERT_OK(store().Truncate(21, 10));
  one.Truncate(10);
  ASSERT_OK(store().Remove(23));
  ASSERT_OK_AND_ASSIGN(std::string a, ReadString(store(), 21, 0, 100'000));
  ASSERT_OK_AND_ASSIGN(std::string b, ReadString(store(), 22, 0, 100'000));
  EXPECT_TRUE(SameBytes(a, one.Read(0, 100'000)));
  EXPECT_TRUE(SameBytes(b, two.Read(0, 100'000)));
  ASSERT_OK(store().Remove(22));
  ASSERT_OK_AND_ASSIGN(a, ReadString(store(), 21, 0, 100'000));
  EXPECT_TRUE(SameBytes(a, one.Read(0, 100'000)));
}

TEST_P(BlockStoreConformance, ConcurrentWritersToDifferentFiles) {
  constexpr int kThreads = 8;
  constexpr int kWrites = 40;
  std::vector<FileModel> models(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t file = 100 + t;
      for (int i = 0; i < kWrites; ++i) {
        uint64_t offset = (i * 7919 + t * 131) % (512 * kKiB);
        std::string data = Pattern(1000 + (i * 3001) % 20'000, t * 1000 + i);
        if (!WriteBoth(store(), models[t], file, offset, data).ok()) failures.fetch_add(1);
        // Read back while the others keep writing their own files.
        Result<std::string> back = ReadString(store(), file, offset, data.size());
        if (!back.ok() || *back != data) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    uint64_t size = models[t].size();
    ASSERT_OK_AND_ASSIGN(std::string all, ReadString(store(), 100 + t, 0, size));
    EXPECT_TRUE(SameBytes(all, models[t].Read(0, size))) << "file " << 100 + t;
  }
}

TEST_P(BlockStoreConformance, ConcurrentReadersSeeTheData) {
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 200, 333, Pattern(kMiB, 1)));
  constexpr int kReaders = 8;
  constexpr int kReads = 100;
  std::atomic<int> failures{0};
  std::atomic<bool> readers_done{false};
  // Meanwhile another file is written and truncated over and over.
  std::thread writer([&] {
    for (uint64_t i = 0; !readers_done.load(); ++i) {
      if (!store().Write(201, (i * 4099) % kMiB, AsBytes(Pattern(10'000, i))).ok()) {
        failures.fetch_add(1);
      }
      if (i % 16 == 15 && !store().Truncate(201, 0).ok()) failures.fetch_add(1);
    }
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; i < kReads; ++i) {
        uint64_t offset = (uint64_t(t) * 104'729 + uint64_t(i) * 15'485'863) % (kMiB + 10'000);
        size_t size = 1 + (i * 7717 + t) % 100'000;
        Result<std::string> got = ReadString(store(), 200, offset, size);
        if (!got.ok() || *got != model.Read(offset, size)) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : readers) t.join();
  readers_done.store(true);
  writer.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_P(BlockStoreConformance, UsedBytesFollowsTheData) {
  uint64_t before = store().UsedBytes();
  ASSERT_OK(store().Write(300, 0, AsBytes(Pattern(kMiB, 1))));
  uint64_t written = store().UsedBytes();
  EXPECT_GE(written, before + kMiB);
  ASSERT_OK(store().Remove(300));
  EXPECT_LT(store().UsedBytes(), written);
}

// ---- Sparse files and clones ----

using Extents = std::vector<BlockStore::Extent>;

// Checks DataExtents(file, offset, end, max) against `model`: ordered, disjoint, never touching,
// within [offset, end), at most `max`, and covering every byte of data up to the end of the last
// one (all of [offset, end) when fewer than `max` came back). A store may report more.
::testing::AssertionResult ExtentsCover(BlockStore& store, const FileModel& model, uint64_t file,
                                        uint64_t offset, uint64_t end, size_t max) {
  Result<Extents> got = store.DataExtents(file, offset, end, max);
  if (!got.ok()) return ::testing::AssertionFailure() << got.status().ToString();
  const Extents& extents = *got;
  if (extents.size() > max) {
    return ::testing::AssertionFailure() << extents.size() << " extents, max " << max;
  }
  uint64_t at = offset;  // bytes before it are checked
  for (size_t i = 0; i < extents.size(); ++i) {
    const BlockStore::Extent& e = extents[i];
    if (e.length == 0 || e.offset < at || (i > 0 && e.offset == at) || e.offset > end ||
        e.length > end - e.offset) {
      return ::testing::AssertionFailure()
             << "extent " << i << " [" << e.offset << ", +" << e.length << ") after " << at
             << " in [" << offset << ", " << end << ")";
    }
    for (uint64_t b = at; b < std::min(e.offset, model.size()); ++b) {
      if (model.Written(b)) {
        return ::testing::AssertionFailure() << "byte " << b << " holds data, reported a hole";
      }
    }
    at = e.offset + e.length;
  }
  const uint64_t checked_end = extents.size() < max ? std::min(end, model.size()) : at;
  for (uint64_t b = at; b < checked_end; ++b) {
    if (model.Written(b)) {
      return ::testing::AssertionFailure() << "byte " << b << " holds data, reported a hole";
    }
  }
  return ::testing::AssertionSuccess();
}

TEST_P(BlockStoreConformance, DeallocateReadsAsZerosAndLeavesNeighboursIntact) {
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 40, 1000, Pattern(400'000, 1)));
  auto punch = [&](uint64_t offset, uint64_t length) {
    model.Deallocate(offset, length);
    return store().Deallocate(40, offset, length);
  };
  ASSERT_OK(punch(100'001, 70'000));      // inside, unaligned
  ASSERT_OK(punch(500, 1000));            // across the start of the data
  ASSERT_OK(punch(65'536, 65'536));       // one aligned block
  ASSERT_OK(punch(390'000, 100'000));     // across the end of the data
  ASSERT_OK(punch(1'000'000, 5 * kMiB));  // past the end
  ASSERT_OK(punch(200'000, 0));           // nothing
  ASSERT_OK_AND_ASSIGN(std::string all, ReadString(store(), 40, 0, 500'000));
  EXPECT_TRUE(SameBytes(all, model.Read(0, 500'000)));
  EXPECT_TRUE(SameBytes(all.substr(100'001, 70'000), Zeros(70'000)));

  // A file never written, and a range to the end of the address space.
  ASSERT_OK(store().Deallocate(41, 0, kMiB));
  ASSERT_OK(punch(300'000, UINT64_MAX - 300'000));
  ASSERT_OK_AND_ASSIGN(all, ReadString(store(), 40, 0, 500'000));
  EXPECT_TRUE(SameBytes(all, model.Read(0, 500'000)));

  // The punched bytes can be written again.
  ASSERT_OK(WriteBoth(store(), model, 40, 120'000, Pattern(5000, 2)));
  ASSERT_OK_AND_ASSIGN(all, ReadString(store(), 40, 0, 500'000));
  EXPECT_TRUE(SameBytes(all, model.Read(0, 500'000)));
  ASSERT_OK(store().Sync(40));
}

TEST_P(BlockStoreConformance, DataExtentsFollowWritesPunchesAndTruncate) {
  ASSERT_OK_AND_ASSIGN(Extents none, store().DataExtents(50, 0, UINT64_MAX, 100));
  EXPECT_TRUE(none.empty()) << "a file never written holds no data";

  FileModel model;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(WriteBoth(store(), model, 51, i * 2 * kMiB + 100, Pattern(10'000, 10 + i)));
  }
  EXPECT_TRUE(ExtentsCover(store(), model, 51, 0, UINT64_MAX, 100));
  EXPECT_TRUE(ExtentsCover(store(), model, 51, 0, 11 * kMiB, 2));
  EXPECT_TRUE(ExtentsCover(store(), model, 51, 2 * kMiB + 5000, 9 * kMiB, 100));
  ASSERT_OK_AND_ASSIGN(Extents two, store().DataExtents(51, 0, UINT64_MAX, 2));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_LE(two[1].offset, 2 * kMiB + 100) << "the first ones";
  // Clipped to the range asked for.
  ASSERT_OK_AND_ASSIGN(Extents inside, store().DataExtents(51, 2 * kMiB + 200, 2 * kMiB + 300, 9));
  EXPECT_EQ(inside, (Extents{{2 * kMiB + 200, 100}}));
  ASSERT_OK_AND_ASSIGN(Extents empty, store().DataExtents(51, 300, 300, 9));
  EXPECT_TRUE(empty.empty());

  // A range punched whole, at boundaries any block size divides, holds no data any more.
  ASSERT_OK(store().Deallocate(51, 2 * kMiB, 2 * kMiB));
  model.Deallocate(2 * kMiB, 2 * kMiB);
  ASSERT_OK_AND_ASSIGN(Extents punched, store().DataExtents(51, 2 * kMiB, 4 * kMiB, 9));
  EXPECT_TRUE(punched.empty());
  EXPECT_TRUE(ExtentsCover(store(), model, 51, 0, UINT64_MAX, 100));
  // Nor does what a truncation cut (a store may round up to its block, no further than 1 MiB).
  ASSERT_OK(store().Truncate(51, 6 * kMiB + 10));
  model.Truncate(6 * kMiB + 10);
  ASSERT_OK_AND_ASSIGN(Extents cut, store().DataExtents(51, 7 * kMiB + 10, UINT64_MAX, 9));
  EXPECT_TRUE(cut.empty());
  EXPECT_TRUE(ExtentsCover(store(), model, 51, 0, UINT64_MAX, 100));
}

// Random writes, punches and truncations against the model: the bytes always match, and no
// byte of data is ever reported as a hole.
TEST_P(BlockStoreConformance, HolesAreNeverReportedOverData) {
  std::mt19937_64 rng(42);
  FileModel model;
  constexpr uint64_t kSpan = 2 * kMiB;
  for (int i = 0; i < 150; ++i) {
    const uint64_t offset = rng() % kSpan;
    const uint64_t length = 1 + rng() % (256 * kKiB);
    switch (rng() % 8) {
      case 0:
      case 1:
      case 2:
      case 3:
        ASSERT_OK(WriteBoth(store(), model, 52, offset, Pattern(length, i)));
        break;
      case 4:
      case 5:
      case 6:
        ASSERT_OK(store().Deallocate(52, offset, length));
        model.Deallocate(offset, length);
        break;
      default:
        ASSERT_OK(store().Truncate(52, offset));
        model.Truncate(offset);
        break;
    }
    if (i % 10 == 9) {
      ASSERT_OK_AND_ASSIGN(std::string all, ReadString(store(), 52, 0, kSpan + 300 * kKiB));
      ASSERT_TRUE(SameBytes(all, model.Read(0, kSpan + 300 * kKiB))) << "after op " << i;
      ASSERT_TRUE(ExtentsCover(store(), model, 52, 0, UINT64_MAX, SIZE_MAX)) << "after op " << i;
      const uint64_t from = rng() % kSpan;
      ASSERT_TRUE(ExtentsCover(store(), model, 52, from, from + rng() % kSpan, 1 + rng() % 4))
          << "after op " << i;
    }
  }
}

TEST_P(BlockStoreConformance, CloneCopiesRangesWithHolesAtAnyOffset) {
  FileModel src, dst;
  ASSERT_OK(WriteBoth(store(), src, 60, 0, Pattern(100'000, 1)));
  ASSERT_OK(WriteBoth(store(), src, 60, 300'000, Pattern(100'000, 2)));
  ASSERT_OK(WriteBoth(store(), dst, 61, 0, Pattern(600'000, 3)));
  // Unaligned on both sides, over the hole between the writes and past the source's end.
  ASSERT_OK(store().Clone(60, 50'001, 61, 1003, 420'000));
  dst.Clone(src, 50'001, 1003, 420'000);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(store(), 61, 0, 700'000));
  EXPECT_TRUE(SameBytes(got, dst.Read(0, 700'000)));
  EXPECT_TRUE(ExtentsCover(store(), dst, 61, 0, UINT64_MAX, SIZE_MAX));
  ASSERT_OK_AND_ASSIGN(got, ReadString(store(), 60, 0, 700'000));
  EXPECT_TRUE(SameBytes(got, src.Read(0, 700'000))) << "the source changed";

  // Aligned ranges (where a store may share blocks), and a source never written.
  ASSERT_OK(store().Clone(60, 0, 61, kMiB, 512 * kKiB));
  dst.Clone(src, 0, kMiB, 512 * kKiB);
  ASSERT_OK(store().Clone(62, 0, 61, 64 * kKiB, 128 * kKiB));
  dst.Clone(FileModel(), 0, 64 * kKiB, 128 * kKiB);
  ASSERT_OK(store().Clone(60, 0, 61, 0, 0));  // nothing
  ASSERT_OK_AND_ASSIGN(got, ReadString(store(), 61, 0, 2 * kMiB));
  EXPECT_TRUE(SameBytes(got, dst.Read(0, 2 * kMiB)));

  // Writes after the clone stay in the file written.
  ASSERT_OK(WriteBoth(store(), src, 60, 60'000, Pattern(1000, 4)));
  ASSERT_OK(WriteBoth(store(), dst, 61, kMiB + 10, Pattern(1000, 5)));
  ASSERT_OK(store().Deallocate(61, kMiB + 300'000, 10'000));
  dst.Deallocate(kMiB + 300'000, 10'000);
  ASSERT_OK_AND_ASSIGN(got, ReadString(store(), 61, 0, 2 * kMiB));
  EXPECT_TRUE(SameBytes(got, dst.Read(0, 2 * kMiB)));
  ASSERT_OK_AND_ASSIGN(got, ReadString(store(), 60, 0, 700'000));
  EXPECT_TRUE(SameBytes(got, src.Read(0, 700'000)));
}

TEST_P(BlockStoreConformance, CloneWithinOneFile) {
  FileModel model;
  ASSERT_OK(WriteBoth(store(), model, 63, 0, Pattern(300'000, 1)));
  // Disjoint ranges, either way round, one of them growing the file.
  ASSERT_OK(store().Clone(63, 10, 63, 200'005, 100'000));
  model.Clone(model, 10, 200'005, 100'000);
  ASSERT_OK(store().Clone(63, 250'000, 63, 7, 50'000));
  model.Clone(model, 250'000, 7, 50'000);
  ASSERT_OK(store().Clone(63, 0, 63, 3 * kMiB, 300'000));
  model.Clone(model, 0, 3 * kMiB, 300'000);
  ASSERT_OK_AND_ASSIGN(std::string got, ReadString(store(), 63, 0, 4 * kMiB));
  EXPECT_TRUE(SameBytes(got, model.Read(0, 4 * kMiB)));
  // Overlapping ranges of one file are refused, and change nothing.
  EXPECT_THAT(store().Clone(63, 0, 63, 1000, 2000), StatusIs(Errc::kInvalid));
  EXPECT_THAT(store().Clone(63, 1000, 63, 0, 2000), StatusIs(Errc::kInvalid));
  EXPECT_THAT(store().Clone(63, UINT64_MAX - 10, 64, 0, 100), StatusIs(Errc::kInvalid));
  ASSERT_OK_AND_ASSIGN(got, ReadString(store(), 63, 0, 4 * kMiB));
  EXPECT_TRUE(SameBytes(got, model.Read(0, 4 * kMiB)));
  // Writes after it stay where they went.
  ASSERT_OK(WriteBoth(store(), model, 63, 200'100, Pattern(500, 2)));
  ASSERT_OK(WriteBoth(store(), model, 63, 20, Pattern(500, 3)));
  ASSERT_OK_AND_ASSIGN(got, ReadString(store(), 63, 0, 4 * kMiB));
  EXPECT_TRUE(SameBytes(got, model.Read(0, 4 * kMiB)));
}

}  // namespace
}  // namespace dittofs::stores
