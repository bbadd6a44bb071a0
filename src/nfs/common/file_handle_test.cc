// SPDX-License-Identifier: Apache-2.0
#include "nfs/common/file_handle.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "chunk/blake3.h"
#include "testing/status_matchers.h"

namespace dittofs::nfs {
namespace {

FileHandleCodec::Key KeyOf(uint8_t seed) {
  FileHandleCodec::Key key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i * 7);
  return key;
}

TEST(FileHandleTest, RoundTripsAndFitsEveryNfsVersion) {
  FileHandleCodec codec(KeyOf(1));
  FileHandleCodec::Handle h = codec.Encode(7, core::FileId{123456789, 42});
  EXPECT_LE(h.size(), 64u);  // NFS3_FHSIZE; NFSv4 allows 128
  ASSERT_OK_AND_ASSIGN(DecodedHandle d, codec.Decode(ByteView(h.data(), h.size())));
  EXPECT_EQ(d.share, 7u);
  EXPECT_EQ(d.file.inode, 123456789u);
  EXPECT_EQ(d.file.generation, 42u);
  // The same key gives the same handle (handles stay valid across restarts).
  EXPECT_EQ(FileHandleCodec(KeyOf(1)).Encode(7, core::FileId{123456789, 42}), h);
}

TEST(FileHandleTest, EveryChangedBitIsRejected) {
  FileHandleCodec codec(KeyOf(1));
  FileHandleCodec::Handle h = codec.Encode(3, core::FileId{99, 5});
  for (size_t bit = 0; bit < h.size() * 8; ++bit) {
    FileHandleCodec::Handle forged = h;
    forged[bit / 8] ^= std::byte{static_cast<uint8_t>(1u << (bit % 8))};
    Result<DecodedHandle> d = codec.Decode(ByteView(forged.data(), forged.size()));
    EXPECT_EQ(d.status().code(), Errc::kBadHandle) << "bit " << bit;
  }
}

TEST(FileHandleTest, EncodeManyIssuesTheHandlesEncodeDoes) {
  FileHandleCodec codec(KeyOf(4));
  std::vector<core::FileId> files;
  for (uint32_t i = 0; i < 75; ++i) files.push_back(core::FileId{1000 + i * 977, i});
  for (size_t count : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{33}, size_t{75}}) {
    std::vector<FileHandleCodec::Handle> out(count);
    codec.EncodeMany(9, std::span<const core::FileId>(files.data(), count), out.data());
    for (size_t i = 0; i < count; ++i) {
      EXPECT_EQ(out[i], codec.Encode(9, files[i])) << count << " files, file " << i;
    }
  }
}

TEST(FileHandleTest, AnotherKeysHandlesAreRejected) {
  FileHandleCodec::Handle h = FileHandleCodec(KeyOf(1)).Encode(3, core::FileId{99, 5});
  Result<DecodedHandle> d = FileHandleCodec(KeyOf(2)).Decode(ByteView(h.data(), h.size()));
  EXPECT_EQ(d.status().code(), Errc::kBadHandle);
}

TEST(FileHandleTest, UnsignedVersionOneHandlesAreStaleAndGarbageIsBad) {
  FileHandleCodec codec(KeyOf(1));
  std::array<std::byte, 20> v1{};
  v1[0] = std::byte{1};
  v1[11] = std::byte{5};
  EXPECT_EQ(codec.Decode(ByteView(v1.data(), v1.size())).status().code(), Errc::kStale);
  v1[2] = std::byte{1};  // reserved bytes must be zero
  EXPECT_EQ(codec.Decode(ByteView(v1.data(), v1.size())).status().code(), Errc::kBadHandle);
  FileHandleCodec::Handle h = codec.Encode(3, core::FileId{99, 5});
  for (size_t n : {size_t{0}, size_t{1}, size_t{19}, size_t{21}, h.size() - 1}) {
    EXPECT_EQ(codec.Decode(ByteView(h.data(), n)).status().code(), Errc::kBadHandle) << n;
  }
  // Inode 0 is never issued, even with a valid MAC.
  FileHandleCodec::Handle zero = codec.Encode(3, core::FileId{0, 5});
  EXPECT_EQ(codec.Decode(ByteView(zero.data(), zero.size())).status().code(), Errc::kBadHandle);
}

// Handles issued before version 3 (36 bytes, a 16-byte MAC after three zero bytes) keep
// working under the same key, so mounts survive the upgrade; forged ones do not.
TEST(FileHandleTest, VersionTwoHandlesOfThisKeyStillDecode) {
  const FileHandleCodec::Key key = KeyOf(1);
  std::array<std::byte, 36> v2{};
  v2[0] = std::byte{2};
  StoreBe32(v2.data() + 4, 7);
  StoreBe64(v2.data() + 8, 123456789);
  StoreBe32(v2.data() + 16, 42);
  chunk::Blake3Hash mac = chunk::Blake3KeyedShort(key, ByteView(v2.data(), 20));
  std::memcpy(v2.data() + 20, mac.bytes.data(), 16);
  FileHandleCodec codec(key);
  ASSERT_OK_AND_ASSIGN(DecodedHandle d, codec.Decode(ByteView(v2.data(), v2.size())));
  EXPECT_EQ(d.share, 7u);
  EXPECT_EQ(d.file.inode, 123456789u);
  EXPECT_EQ(d.file.generation, 42u);
  for (size_t bit = 0; bit < v2.size() * 8; ++bit) {
    std::array<std::byte, 36> forged = v2;
    forged[bit / 8] ^= std::byte{static_cast<uint8_t>(1u << (bit % 8))};
    EXPECT_EQ(codec.Decode(ByteView(forged.data(), forged.size())).status().code(),
              Errc::kBadHandle)
        << "bit " << bit;
  }
  EXPECT_EQ(FileHandleCodec(KeyOf(2)).Decode(ByteView(v2.data(), v2.size())).status().code(),
            Errc::kBadHandle);
}

}  // namespace
}  // namespace dittofs::nfs
