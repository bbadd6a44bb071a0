// SPDX-License-Identifier: Apache-2.0
#include "stores/cas/object_format.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "testing/random_bytes.h"
#include "testing/status_matchers.h"

namespace dittofs::stores::cas {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using ::dittofs::testing::RandomBytes;

// Compressible but not trivial: words drawn from a small vocabulary.
std::vector<std::byte> TextBytes(size_t n, uint64_t seed) {
  static constexpr std::string_view kWords[] = {
      "chunk ", "object ", "remote ", "dittofs ", "encrypt ", "the ", "a ", "of ", "nfs\n"};
  std::mt19937_64 rng(seed);
  std::vector<std::byte> out;
  while (out.size() < n) {
    std::string_view w = kWords[rng() % std::size(kWords)];
    for (char c : w) out.push_back(static_cast<std::byte>(c));
  }
  out.resize(n);
  return out;
}

ByteView View(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }
ByteView Range(const Buffer& object, const ChunkLocation& l) {
  return object.view().subspan(l.offset, l.stored_length);
}
bool Equal(ByteView a, ByteView b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// ---- Every compression × cipher ----

class ObjectFormatTest : public ::testing::TestWithParam<std::tuple<Compression, Cipher>> {
 protected:
  ObjectFormatTest() : keyring_(Keyring::Generate()) {
    codec_.compression = std::get<0>(GetParam());
    codec_.cipher = std::get<1>(GetParam());
    codec_.keyring = &keyring_;
  }
  bool encrypted() const { return codec_.cipher != Cipher::kNone; }
  size_t overhead() const { return encrypted() ? 28 : 0; }

  Keyring keyring_;
  ObjectCodec codec_;
};

INSTANTIATE_TEST_SUITE_P(AllCodecs, ObjectFormatTest,
                         ::testing::Combine(::testing::Values(Compression::kNone, Compression::kLz4,
                                                              Compression::kZstd),
                                            ::testing::Values(Cipher::kNone, Cipher::kAes256Gcm,
                                                              Cipher::kChaCha20Poly1305)),
                         [](const auto& info) {
                           std::string name =
                               std::string(CompressionName(std::get<0>(info.param))) + "_" +
                               std::string(CipherName(std::get<1>(info.param)));
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST_P(ObjectFormatTest, RoundTripOfManySizesFromRangedReads) {
  struct Case {
    std::vector<std::byte> data;
    bool compressible;
  };
  std::vector<Case> cases;
  cases.push_back({{}, false});
  cases.push_back({RandomBytes(1, 1), false});
  cases.push_back({RandomBytes(4096, 2), false});
  cases.push_back({TextBytes(4096, 3), true});
  cases.push_back({RandomBytes(1 << 20, 4), false});
  cases.push_back({std::vector<std::byte>(1 << 20), true});
  cases.push_back({TextBytes(300000, 5), true});
  cases.push_back({RandomBytes(12345, 6), false});

  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec_));
  std::vector<std::pair<chunk::Blake3Hash, ChunkLocation>> added;
  for (const Case& c : cases) {
    chunk::Blake3Hash hash = chunk::Blake3(View(c.data));
    ASSERT_OK_AND_ASSIGN(ChunkLocation loc, builder.Add(hash, View(c.data)));
    EXPECT_EQ(loc.raw_length, c.data.size());
    EXPECT_EQ(loc.cipher(), codec_.cipher);
    if (codec_.compression != Compression::kNone && c.compressible) {
      EXPECT_EQ(loc.compression(), codec_.compression);
      EXPECT_LT(loc.stored_length, c.data.size());
    } else if (!c.compressible) {
      // Incompressible data is stored raw, flagged so.
      EXPECT_EQ(loc.compression(), Compression::kNone);
      EXPECT_EQ(loc.stored_length, c.data.size() + overhead());
    }
    EXPECT_EQ(loc.offset + loc.stored_length, builder.size());
    added.emplace_back(hash, loc);
  }
  Buffer wrapped = builder.WrappedDataKey();
  EXPECT_EQ(wrapped.size(), encrypted() ? Keyring::kWrappedKeySize : 0u);
  Buffer object = builder.Finish();

  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [hash, loc] = added[i];
    // Only the chunk's own range, as a ranged GET returns it.
    Buffer range = Buffer::Copy(Range(object, loc));
    ASSERT_OK_AND_ASSIGN(Buffer raw, DecodeChunk(codec_, hash, loc, wrapped.view(), range.view()));
    EXPECT_TRUE(Equal(raw.view(), View(cases[i].data))) << "case " << i;
  }

  ASSERT_OK_AND_ASSIGN(ParsedObject parsed, ParseObject(codec_, object.view()));
  EXPECT_EQ(parsed.version, 1);
  EXPECT_EQ(parsed.cipher, codec_.cipher);
  EXPECT_TRUE(Equal(parsed.wrapped_data_key.view(), wrapped.view()));
  ASSERT_EQ(parsed.chunks.size(), added.size());
  for (size_t i = 0; i < added.size(); ++i) {
    EXPECT_EQ(parsed.chunks[i].hash, added[i].first);
    EXPECT_EQ(parsed.chunks[i].location, added[i].second);
  }
  // The wrapped key from the object header serves as well as the index's copy.
  const auto& [hash0, loc0] = added[3];
  EXPECT_OK(DecodeChunk(codec_, hash0, loc0, parsed.wrapped_data_key.view(), Range(object, loc0)));
}

TEST_P(ObjectFormatTest, EveryFlippedByteOfAChunkIsAnError) {
  std::vector<std::byte> data = TextBytes(700, 7);
  chunk::Blake3Hash hash = chunk::Blake3(View(data));
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec_));
  ASSERT_OK_AND_ASSIGN(ChunkLocation loc, builder.Add(hash, View(data)));
  Buffer wrapped = builder.WrappedDataKey();
  Buffer object = builder.Finish();
  ASSERT_OK(DecodeChunk(codec_, hash, loc, wrapped.view(), Range(object, loc)));
  int harmless = 0;
  for (size_t i = 0; i < loc.stored_length; ++i) {
    for (std::byte mask : {std::byte{0x01}, std::byte{0x80}}) {
      Buffer bad = Buffer::Copy(Range(object, loc));
      bad.data()[i] ^= mask;
      Result<Buffer> r = DecodeChunk(codec_, hash, loc, wrapped.view(), bad.view());
      if (r.ok()) {
        // Only possible without encryption, where a compressed encoding may contain bits the
        // decompressor ignores: the output must then be exactly the chunk (BLAKE3 checked it).
        ASSERT_FALSE(encrypted()) << "byte " << i;
        ASSERT_NE(loc.compression(), Compression::kNone) << "byte " << i;
        ASSERT_TRUE(Equal(r->view(), View(data))) << "byte " << i;
        ++harmless;
        continue;
      }
      ASSERT_THAT(r, StatusIs(Errc::kIo)) << "byte " << i;
      EXPECT_THAT(r.status().message(), StartsWith("corrupt chunk")) << "byte " << i;
    }
  }
  if (harmless > 0) {
    std::printf("[info] %s: %d of %u flips decoded to the right bytes (ignored bits)\n",
                std::string(CompressionName(codec_.compression)).c_str(), harmless,
                2 * loc.stored_length);
  }
  // A short or long range, and a damaged location.
  EXPECT_THAT(DecodeChunk(codec_, hash, loc, wrapped.view(), Range(object, loc).first(10)),
              StatusIs(Errc::kIo));
  ChunkLocation longer = loc;
  longer.raw_length += 1;
  EXPECT_THAT(DecodeChunk(codec_, hash, longer, wrapped.view(), Range(object, loc)),
              StatusIs(Errc::kIo));
  ChunkLocation reflagged = loc;
  reflagged.flags ^= 0x03;
  EXPECT_FALSE(DecodeChunk(codec_, hash, reflagged, wrapped.view(), Range(object, loc)).ok());
  // A different hash: the BLAKE3 check (and the AAD when encrypted).
  chunk::Blake3Hash other = hash;
  other.bytes[5] ^= 1;
  EXPECT_THAT(DecodeChunk(codec_, other, loc, wrapped.view(), Range(object, loc)),
              StatusIs(Errc::kIo));
}

TEST_P(ObjectFormatTest, SwappedChunksAreAnError) {
  std::vector<std::byte> a = RandomBytes(4096, 10);
  std::vector<std::byte> b = RandomBytes(4096, 11);
  chunk::Blake3Hash ha = chunk::Blake3(View(a)), hb = chunk::Blake3(View(b));
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec_));
  ASSERT_OK_AND_ASSIGN(ChunkLocation la, builder.Add(ha, View(a)));
  ASSERT_OK_AND_ASSIGN(ChunkLocation lb, builder.Add(hb, View(b)));
  ASSERT_EQ(la.stored_length, lb.stored_length);
  Buffer wrapped = builder.WrappedDataKey();
  Buffer object = builder.Finish();
  EXPECT_THAT(DecodeChunk(codec_, ha, la, wrapped.view(), Range(object, lb)), StatusIs(Errc::kIo));
  EXPECT_THAT(DecodeChunk(codec_, hb, lb, wrapped.view(), Range(object, la)), StatusIs(Errc::kIo));
}

TEST_P(ObjectFormatTest, EveryFlippedByteOfHeaderTableOrFooterIsAnError) {
  std::vector<std::byte> a = TextBytes(500, 20), b = RandomBytes(300, 21);
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec_));
  ASSERT_OK(builder.Add(chunk::Blake3(View(a)), View(a)));
  ASSERT_OK_AND_ASSIGN(ChunkLocation lb, builder.Add(chunk::Blake3(View(b)), View(b)));
  Buffer object = builder.Finish();
  size_t header_end = encrypted() ? 16 + Keyring::kWrappedKeySize : 16;
  size_t table_start = lb.offset + lb.stored_length;
  for (size_t i = 0; i < object.size(); ++i) {
    if (i >= header_end && i < table_start) continue;  // chunk bodies: checked by DecodeChunk
    Buffer bad = Buffer::Copy(object.view());
    bad.data()[i] ^= std::byte{0x04};
    Result<ParsedObject> r = ParseObject(codec_, bad.view());
    EXPECT_FALSE(r.ok()) << "byte " << i;
    if (!r.ok() && i != 4 && i != 5 && i != 6) {
      // Version bytes give kNotSupported; a cipher byte turned to "none" gives kAccess when the
      // remote is encrypted. Everything else is damage.
      EXPECT_THAT(r, StatusIs(Errc::kIo)) << "byte " << i;
    }
  }
}

TEST_P(ObjectFormatTest, EncryptedObjectHoldsNoPlaintextWindow) {
  std::vector<std::vector<std::byte>> chunks = {RandomBytes(50000, 30), TextBytes(80000, 31),
                                                RandomBytes(100, 32)};
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec_));
  for (const auto& c : chunks) ASSERT_OK(builder.Add(chunk::Blake3(View(c)), View(c)));
  Buffer object = builder.Finish();
  constexpr size_t kWindow = 64;
  std::unordered_set<std::string_view> windows;
  std::string_view obj = AsChars(object.view());
  for (size_t i = 0; i + kWindow <= obj.size(); ++i) windows.insert(obj.substr(i, kWindow));
  size_t found = 0;
  for (const auto& c : chunks) {
    std::string_view plain = AsChars(View(c));
    for (size_t i = 0; i + kWindow <= plain.size(); ++i) {
      if (windows.contains(plain.substr(i, kWindow))) ++found;
    }
  }
  if (encrypted()) {
    EXPECT_EQ(found, 0u);
  } else {
    EXPECT_GT(found, 0u);  // the scan does see plaintext when it is there
  }
}

TEST_P(ObjectFormatTest, WrongMasterKeyIsAnError) {
  if (!encrypted()) GTEST_SKIP();
  std::vector<std::byte> data = TextBytes(1000, 40);
  chunk::Blake3Hash hash = chunk::Blake3(View(data));
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec_));
  ASSERT_OK_AND_ASSIGN(ChunkLocation loc, builder.Add(hash, View(data)));
  Buffer wrapped = builder.WrappedDataKey();
  Buffer object = builder.Finish();
  Keyring other = Keyring::Generate();
  ObjectCodec wrong = codec_;
  wrong.keyring = &other;
  EXPECT_THAT(DecodeChunk(wrong, hash, loc, wrapped.view(), Range(object, loc)),
              StatusIs(Errc::kAccess));
  EXPECT_THAT(ParseObject(wrong, object.view()), StatusIs(Errc::kAccess));
  // Another object's data key under the right master key: the tag fails.
  ASSERT_OK_AND_ASSIGN(ObjectBuilder second, ObjectBuilder::Start(codec_));
  EXPECT_THAT(DecodeChunk(codec_, hash, loc, second.WrappedDataKey().view(), Range(object, loc)),
              StatusIs(Errc::kIo));
  // No keyring at all.
  ObjectCodec none = codec_;
  none.keyring = nullptr;
  EXPECT_THAT(DecodeChunk(none, hash, loc, wrapped.view(), Range(object, loc)),
              StatusIs(Errc::kInvalid));
}

TEST_P(ObjectFormatTest, UnencryptedDataIsRefusedOnAnEncryptedRemote) {
  if (!encrypted()) GTEST_SKIP();
  ObjectCodec plain_codec{.compression = codec_.compression};
  std::vector<std::byte> data = TextBytes(1000, 50);
  chunk::Blake3Hash hash = chunk::Blake3(View(data));
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(plain_codec));
  ASSERT_OK_AND_ASSIGN(ChunkLocation loc, builder.Add(hash, View(data)));
  Buffer object = builder.Finish();
  ASSERT_OK(DecodeChunk(plain_codec, hash, loc, {}, Range(object, loc)));
  Result<Buffer> r = DecodeChunk(codec_, hash, loc, {}, Range(object, loc));
  EXPECT_THAT(r, StatusIs(Errc::kAccess));
  EXPECT_THAT(r.status().message(), HasSubstr("refusing unencrypted chunk"));
  EXPECT_THAT(ParseObject(codec_, object.view()), StatusIs(Errc::kAccess));
  EXPECT_OK(ParseObject(plain_codec, object.view()));
}

// ---- Codec-independent ----

TEST(ObjectFormatLayoutTest, UnencryptedObjectBytes) {
  ObjectCodec codec;
  std::vector<std::byte> hello(5);
  std::memcpy(hello.data(), "hello", 5);
  chunk::Blake3Hash hash = chunk::Blake3(View(hello));
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec));
  ASSERT_OK_AND_ASSIGN(ChunkLocation loc, builder.Add(hash, View(hello)));
  EXPECT_EQ(loc, (ChunkLocation{.offset = 16, .stored_length = 5, .raw_length = 5, .flags = 0}));
  Buffer object = builder.Finish();
  ASSERT_EQ(object.size(), 16u + 5 + 56 + 48);
  const std::byte* p = object.data();
  EXPECT_EQ(AsChars(object.view().first(21)),
            std::string_view("DFSO\0\1\0\0\0\0\0\0\0\0\0\0hello", 21));
  const std::byte* e = p + 21;
  EXPECT_EQ(std::memcmp(e, hash.bytes.data(), 32), 0);
  EXPECT_EQ(LoadBe64(e + 32), 16u);
  EXPECT_EQ(LoadBe32(e + 40), 5u);
  EXPECT_EQ(LoadBe32(e + 44), 5u);
  EXPECT_EQ(AsChars({e + 48, 8}), std::string_view("\0\0\0\0\0\0\0\0", 8));
  const std::byte* f = e + 56;
  EXPECT_EQ(LoadBe64(f), 21u);
  EXPECT_EQ(LoadBe32(f + 8), 1u);
  EXPECT_EQ(AsChars({f + 12, 4}), "DFSE");
  chunk::Blake3Hasher h;
  h.Update(object.view().first(16));
  h.Update({e, 56 + 16});
  chunk::Blake3Hash sum = h.Finalize();
  EXPECT_EQ(std::memcmp(f + 16, sum.bytes.data(), 32), 0);
}

TEST(ObjectFormatLayoutTest, EmptyObjectParses) {
  ObjectCodec codec{.compression = Compression::kZstd};
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec));
  Buffer object = builder.Finish();
  ASSERT_OK_AND_ASSIGN(ParsedObject parsed, ParseObject(codec, object.view()));
  EXPECT_TRUE(parsed.chunks.empty());
}

TEST(ObjectFormatLayoutTest, UnknownVersionIsNotSupported) {
  ObjectCodec codec;
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(codec));
  Buffer object = builder.Finish();
  object.data()[5] = std::byte{2};
  Result<ParsedObject> r = ParseObject(codec, object.view());
  EXPECT_THAT(r, StatusIs(Errc::kNotSupported));
  EXPECT_THAT(r.status().message(), HasSubstr("version 2"));
  EXPECT_THAT(ParseObject(codec, object.view().first(10)), StatusIs(Errc::kIo));
}

TEST(ObjectFormatLayoutTest, BadCodecsAreRefused) {
  EXPECT_THAT(ObjectBuilder::Start({.cipher = Cipher::kAes256Gcm}), StatusIs(Errc::kInvalid));
  EXPECT_THAT(ObjectBuilder::Start({.compression = Compression::kZstd, .zstd_level = 1000}),
              StatusIs(Errc::kInvalid));
  EXPECT_THAT(ObjectBuilder::Start({.compression = static_cast<Compression>(9)}),
              StatusIs(Errc::kInvalid));
}

TEST(ObjectFormatLayoutTest, OversizedChunkIsTooBig) {
  ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start({}));
  Buffer big(size_t{kMaxChunkSize} + 1);  // never read: refused on its size
  EXPECT_THAT(builder.Add(chunk::Blake3Hash{}, big.view()), StatusIs(Errc::kTooBig));
}

// Prints throughput figures; asserts nothing about speed.
TEST(ObjectFormatPerfTest, Throughput) {
  Keyring keyring = Keyring::Generate();
  constexpr size_t kChunk = 1 << 20;
  constexpr int kChunks = 16;
  std::vector<std::vector<std::byte>> data;
  std::vector<chunk::Blake3Hash> hashes;
  for (int i = 0; i < kChunks; ++i) {
    data.push_back(RandomBytes(kChunk, 100 + i));
    hashes.push_back(chunk::Blake3(View(data.back())));
  }
  struct Setup {
    const char* name;
    ObjectCodec codec;
  };
  Setup setups[] = {
      {"lz4+aes-256-gcm",
       {.compression = Compression::kLz4, .cipher = Cipher::kAes256Gcm, .keyring = &keyring}},
      {"zstd+chacha20-poly1305",
       {.compression = Compression::kZstd,
        .cipher = Cipher::kChaCha20Poly1305,
        .keyring = &keyring}},
  };
  using Clock = std::chrono::steady_clock;
  auto mbps = [](size_t bytes, Clock::duration d) {
    return static_cast<double>(bytes) / 1e6 / std::chrono::duration<double>(d).count();
  };
  for (const Setup& s : setups) {
    auto t0 = Clock::now();
    ASSERT_OK_AND_ASSIGN(ObjectBuilder builder, ObjectBuilder::Start(s.codec));
    std::vector<ChunkLocation> locs;
    for (int i = 0; i < kChunks; ++i) {
      ASSERT_OK_AND_ASSIGN(ChunkLocation loc, builder.Add(hashes[i], View(data[i])));
      locs.push_back(loc);
    }
    Buffer wrapped = builder.WrappedDataKey();
    Buffer object = builder.Finish();
    auto t1 = Clock::now();
    for (int i = 0; i < kChunks; ++i) {
      ASSERT_OK(DecodeChunk(s.codec, hashes[i], locs[i], wrapped.view(), Range(object, locs[i])));
    }
    auto t2 = Clock::now();
    std::printf(
        "[perf] %-24s 1 MiB random chunks: Add+Finish %.0f MB/s, DecodeChunk %.0f MB/s "
        "(DecodeChunk includes the BLAKE3 check)\n",
        s.name, mbps(kChunk * kChunks, t1 - t0), mbps(kChunk * kChunks, t2 - t1));
  }
}

}  // namespace
}  // namespace dittofs::stores::cas
