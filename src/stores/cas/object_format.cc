// SPDX-License-Identifier: Apache-2.0
#include "stores/cas/object_format.h"

#include <fmt/format.h>
#include <lz4.h>
#include <zstd.h>

#include <cstring>
#include <optional>
#include <utility>

#include "base/check.h"

namespace dittofs::stores::cas {

// Object layout (docs/formats/objects.md; change both together). All integers big-endian.
//   header   0  4  magic "DFSO"        4  2  version (1)      6  1  cipher     7  1  zero
//            8  2  wrapped key length W (0, or Keyring::kWrappedKeySize when encrypted)
//           10  6  zero               16  W  wrapped data key
//   chunk bodies, each a stored range: the (maybe compressed) chunk, or when encrypted
//            nonce (12) | ciphertext | tag (16)
//   table    one 56-byte entry per chunk, in the order added:
//            hash (32) | offset (8) | stored length (4) | raw length (4) | flags (1) | zero (7)
//   footer   0  8  table offset        8  4  chunk count     12  4  magic "DFSE"
//           16 32  BLAKE3 of header | table | footer bytes 0..15
// The table trails the bodies because Add() must hand out final offsets before the number of
// chunks (and so the table's size) is known.
namespace {

constexpr std::string_view kMagic = "DFSO";
constexpr std::string_view kFooterMagic = "DFSE";
constexpr uint16_t kVersion = 1;
constexpr size_t kFixedHeaderSize = 16;
constexpr size_t kEntrySize = 56;
constexpr size_t kFooterSize = 48;
constexpr size_t kAeadOverhead = kAeadNonceSize + kAeadTagSize;

bool KnownCipher(Cipher c) {
  return c == Cipher::kNone || c == Cipher::kAes256Gcm || c == Cipher::kChaCha20Poly1305;
}
bool KnownCompression(Compression c) {
  return c == Compression::kNone || c == Compression::kLz4 || c == Compression::kZstd;
}
uint8_t Flags(Compression compression, Cipher cipher) {
  return static_cast<uint8_t>(static_cast<uint8_t>(compression) |
                              (static_cast<uint8_t>(cipher) << 4));
}

ByteView HashView(const chunk::Blake3Hash& hash) {
  return {reinterpret_cast<const std::byte*>(hash.bytes.data()), hash.bytes.size()};
}

struct ZstdCctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDctxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// Compresses `raw` into `out` (capacity raw.size() - 1) and returns the compressed size, or
// nothing when compression would not make it smaller.
std::optional<size_t> Compress(Compression compression, int zstd_level, ZSTD_CCtx* cctx,
                               ByteView raw, MutableByteView out) {
  if (raw.size() < 2 || compression == Compression::kNone) return std::nullopt;
  size_t capacity = raw.size() - 1;
  if (compression == Compression::kLz4) {
    int n = LZ4_compress_default(reinterpret_cast<const char*>(raw.data()),
                                 reinterpret_cast<char*>(out.data()), static_cast<int>(raw.size()),
                                 static_cast<int>(capacity));
    if (n <= 0) return std::nullopt;
    return static_cast<size_t>(n);
  }
  size_t n = ZSTD_compressCCtx(cctx, out.data(), capacity, raw.data(), raw.size(), zstd_level);
  if (ZSTD_isError(n)) return std::nullopt;  // dstSize_tooSmall: not worth it
  return n;
}

Status Corrupt(const chunk::Blake3Hash& hash, std::string_view why) {
  return Status(Errc::kIo, fmt::format("corrupt chunk {}: {}", hash.Hex(), why));
}

}  // namespace

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

// ---- ObjectBuilder ----

struct ObjectBuilder::State {
  ObjectCodec codec;
  SecretKey data_key;  // unused when unencrypted
  Buffer wrapped_key;  // empty when unencrypted
  // Header and chunk bodies so far: the first `used` bytes of `bytes`, which grows (by
  // doubling, from the size hint) and becomes the object itself at Finish, never copied whole.
  Buffer bytes;
  size_t used = 0;
  std::vector<std::pair<chunk::Blake3Hash, ChunkLocation>> table;
  std::unique_ptr<ZSTD_CCtx, ZstdCctxDeleter> zstd;
  Buffer scratch;  // compression output before encryption
  bool finished = false;

  // Room for `n` more bytes after `used`; returns where they go.
  std::byte* Room(size_t n) {
    if (bytes.size() - used < n) {
      Buffer grown(std::max(bytes.size() * 2, used + n));
      if (used > 0) std::memcpy(grown.data(), bytes.data(), used);
      bytes = std::move(grown);
    }
    return bytes.data() + used;
  }
};

ObjectBuilder::ObjectBuilder(std::unique_ptr<State> state) : state_(std::move(state)) {}
ObjectBuilder::ObjectBuilder(ObjectBuilder&&) noexcept = default;
ObjectBuilder& ObjectBuilder::operator=(ObjectBuilder&&) noexcept = default;
ObjectBuilder::~ObjectBuilder() = default;

Result<ObjectBuilder> ObjectBuilder::Start(const ObjectCodec& codec, size_t size_hint) {
  if (!KnownCipher(codec.cipher) || !KnownCompression(codec.compression)) {
    return Status(Errc::kInvalid, "object codec: unknown compression or cipher");
  }
  if (codec.cipher != Cipher::kNone && codec.keyring == nullptr) {
    return Status(Errc::kInvalid,
                  fmt::format("object codec: cipher {} needs a keyring", CipherName(codec.cipher)));
  }
  if (codec.compression == Compression::kZstd &&
      (codec.zstd_level < ZSTD_minCLevel() || codec.zstd_level > ZSTD_maxCLevel())) {
    return Status(Errc::kInvalid,
                  fmt::format("object codec: zstd level {} out of range", codec.zstd_level));
  }
  auto state = std::make_unique<State>();
  state->codec = codec;
  if (codec.cipher != Cipher::kNone) {
    state->data_key = SecretKey::Random();
    state->wrapped_key = codec.keyring->WrapDataKey(state->data_key);
  }
  if (codec.compression == Compression::kZstd) {
    state->zstd.reset(ZSTD_createCCtx());
    CHECK(state->zstd != nullptr) << "ZSTD_createCCtx failed";
  }
  size_t header_size = kFixedHeaderSize + state->wrapped_key.size();
  state->bytes = Buffer(std::max(size_hint, header_size));
  std::byte* h = state->Room(header_size);
  std::memset(h, 0, header_size);
  state->used = header_size;
  std::memcpy(h, kMagic.data(), 4);
  h[4] = std::byte{kVersion >> 8};
  h[5] = std::byte{kVersion & 0xff};
  h[6] = static_cast<std::byte>(codec.cipher);
  h[8] = static_cast<std::byte>(state->wrapped_key.size() >> 8);
  h[9] = static_cast<std::byte>(state->wrapped_key.size() & 0xff);
  if (!state->wrapped_key.empty()) {
    std::memcpy(h + kFixedHeaderSize, state->wrapped_key.data(), state->wrapped_key.size());
  }
  return ObjectBuilder(std::move(state));
}

Result<ChunkLocation> ObjectBuilder::Add(const chunk::Blake3Hash& hash, ByteView raw) {
  State& s = *state_;
  CHECK(!s.finished) << "ObjectBuilder::Add after Finish";
  if (raw.size() > kMaxChunkSize) {
    return Status(Errc::kTooBig, fmt::format("chunk {}: {} bytes is over the {}-byte limit",
                                             hash.Hex(), raw.size(), kMaxChunkSize));
  }
  ChunkLocation location;
  location.offset = s.used;
  location.raw_length = static_cast<uint32_t>(raw.size());
  if (s.codec.cipher == Cipher::kNone) {
    // Compressed straight into the object; stored raw when that does not make it smaller.
    std::byte* at = s.Room(raw.size());
    std::optional<size_t> compressed = Compress(s.codec.compression, s.codec.zstd_level,
                                                s.zstd.get(), raw, MutableByteView(at, raw.size()));
    if (!compressed && !raw.empty()) std::memcpy(at, raw.data(), raw.size());
    location.flags = Flags(compressed ? s.codec.compression : Compression::kNone, s.codec.cipher);
    location.stored_length = static_cast<uint32_t>(compressed ? *compressed : raw.size());
    s.used += location.stored_length;
  } else {
    if (s.scratch.size() < raw.size()) s.scratch = Buffer(raw.size());
    std::optional<size_t> compressed = Compress(s.codec.compression, s.codec.zstd_level,
                                                s.zstd.get(), raw, s.scratch.mutable_view());
    ByteView payload = compressed ? s.scratch.view().first(*compressed) : raw;
    location.flags = Flags(compressed ? s.codec.compression : Compression::kNone, s.codec.cipher);
    location.stored_length = static_cast<uint32_t>(payload.size() + kAeadOverhead);
    MutableByteView range(s.Room(location.stored_length), location.stored_length);
    s.used += location.stored_length;
    MutableByteView nonce = range.first(kAeadNonceSize);
    // A fresh random nonce per chunk; a data key encrypts only the few chunks of one object.
    RandomBytes(nonce);
    AeadSeal(s.codec.cipher, s.data_key, nonce, HashView(hash), payload,
             range.subspan(kAeadNonceSize, payload.size()), range.last(kAeadTagSize));
  }
  s.table.emplace_back(hash, location);
  return location;
}

size_t ObjectBuilder::size() const { return state_->used; }
size_t ObjectBuilder::chunk_count() const { return state_->table.size(); }

Buffer ObjectBuilder::WrappedDataKey() const { return Buffer::Copy(state_->wrapped_key.view()); }

Buffer ObjectBuilder::Finish() {
  State& s = *state_;
  CHECK(!s.finished) << "ObjectBuilder::Finish called twice";
  s.finished = true;
  size_t table_offset = s.used;
  size_t total = table_offset + s.table.size() * kEntrySize + kFooterSize;
  s.Room(total - table_offset);
  Buffer out = std::move(s.bytes);
  out.Shrink(total);
  std::byte* p = out.data();
  std::byte* e = p + table_offset;
  for (const auto& [hash, loc] : s.table) {
    std::memcpy(e, hash.bytes.data(), 32);
    StoreBe64(e + 32, loc.offset);
    StoreBe32(e + 40, loc.stored_length);
    StoreBe32(e + 44, loc.raw_length);
    e[48] = std::byte{loc.flags};
    std::memset(e + 49, 0, 7);
    e += kEntrySize;
  }
  std::byte* footer = e;
  StoreBe64(footer, table_offset);
  StoreBe32(footer + 8, static_cast<uint32_t>(s.table.size()));
  std::memcpy(footer + 12, kFooterMagic.data(), 4);
  size_t header_size = kFixedHeaderSize + s.wrapped_key.size();
  chunk::Blake3Hasher hasher;
  hasher.Update({p, header_size});
  hasher.Update({p + table_offset, s.table.size() * kEntrySize + 16});
  chunk::Blake3Hash sum = hasher.Finalize();
  std::memcpy(footer + 16, sum.bytes.data(), 32);
  return out;
}

// ---- Reading ----

Result<Buffer> DecodeChunk(const ObjectCodec& codec, const chunk::Blake3Hash& hash,
                           const ChunkLocation& location, ByteView wrapped_data_key,
                           ByteView stored) {
  Cipher cipher = location.cipher();
  Compression compression = location.compression();
  if (!KnownCipher(cipher) || !KnownCompression(compression)) {
    return Corrupt(hash, fmt::format("unknown flags {:#04x}", location.flags));
  }
  if (codec.cipher != Cipher::kNone && cipher == Cipher::kNone) {
    return Status(Errc::kAccess, fmt::format("refusing unencrypted chunk {} on a remote "
                                             "encrypted with {}",
                                             hash.Hex(), CipherName(codec.cipher)));
  }
  if (stored.size() != location.stored_length) {
    return Corrupt(hash, fmt::format("stored range is {} bytes, the index says {}", stored.size(),
                                     location.stored_length));
  }
  if (location.raw_length > kMaxChunkSize) {
    return Corrupt(hash, fmt::format("raw length {} is over the limit", location.raw_length));
  }

  // The payload: the stored range, decrypted when the chunk is encrypted.
  Buffer plain;
  ByteView payload = stored;
  if (cipher != Cipher::kNone) {
    if (codec.keyring == nullptr) {
      return Status(Errc::kInvalid,
                    fmt::format("chunk {} is encrypted but no key file is configured", hash.Hex()));
    }
    if (stored.size() < kAeadOverhead) return Corrupt(hash, "stored range too short");
    Result<SecretKey> data_key = codec.keyring->UnwrapDataKey(wrapped_data_key);
    if (!data_key.ok()) {
      const Status& st = data_key.status();
      if (st.code() == Errc::kIo) return Corrupt(hash, st.message());
      return Status(st.code(), fmt::format("chunk {}: {}", hash.Hex(), st.message()));
    }
    plain = Buffer(stored.size() - kAeadOverhead);
    Status opened = AeadOpen(cipher, *data_key, stored.first(kAeadNonceSize), HashView(hash),
                             stored.subspan(kAeadNonceSize, plain.size()),
                             stored.last(kAeadTagSize), plain.mutable_view());
    if (!opened.ok()) return Corrupt(hash, opened.message());
    payload = plain.view();
  }

  Buffer raw;
  switch (compression) {
    case Compression::kNone:
      if (payload.size() != location.raw_length) {
        return Corrupt(hash, fmt::format("{} bytes stored raw, expected {}", payload.size(),
                                         location.raw_length));
      }
      raw = cipher != Cipher::kNone ? std::move(plain) : Buffer::Copy(payload);
      break;
    case Compression::kLz4: {
      raw = Buffer(location.raw_length);
      int n = LZ4_decompress_safe(
          reinterpret_cast<const char*>(payload.data()), reinterpret_cast<char*>(raw.data()),
          static_cast<int>(payload.size()), static_cast<int>(location.raw_length));
      if (n < 0 || static_cast<uint32_t>(n) != location.raw_length) {
        return Corrupt(hash, "lz4 data does not decompress to the raw length");
      }
      break;
    }
    case Compression::kZstd: {
      raw = Buffer(location.raw_length);
      thread_local std::unique_ptr<ZSTD_DCtx, ZstdDctxDeleter> dctx(ZSTD_createDCtx());
      CHECK(dctx != nullptr) << "ZSTD_createDCtx failed";
      size_t n =
          ZSTD_decompressDCtx(dctx.get(), raw.data(), raw.size(), payload.data(), payload.size());
      if (ZSTD_isError(n) || n != location.raw_length) {
        return Corrupt(hash, "zstd data does not decompress to the raw length");
      }
      break;
    }
  }
  if (chunk::Blake3(raw.view()) != hash) return Corrupt(hash, "BLAKE3 of the data differs");
  return raw;
}

Result<ParsedObject> ParseObject(const ObjectCodec& codec, ByteView object) {
  auto corrupt = [](std::string_view why) {
    return Status(Errc::kIo, fmt::format("corrupt object: {}", why));
  };
  const std::byte* p = object.data();
  if (object.size() < kFixedHeaderSize || std::memcmp(p, kMagic.data(), 4) != 0) {
    return corrupt("no DFSO header");
  }
  ParsedObject parsed;
  parsed.version = static_cast<uint16_t>((uint16_t(p[4]) << 8) | uint16_t(p[5]));
  if (parsed.version != kVersion) {
    return Status(Errc::kNotSupported,
                  fmt::format("object format version {} is not supported (this server reads {})",
                              parsed.version, kVersion));
  }
  parsed.cipher = static_cast<Cipher>(p[6]);
  if (!KnownCipher(parsed.cipher)) return corrupt("unknown cipher");
  if (codec.cipher != Cipher::kNone && parsed.cipher == Cipher::kNone) {
    return Status(Errc::kAccess, fmt::format("refusing unencrypted object on a remote encrypted "
                                             "with {}",
                                             CipherName(codec.cipher)));
  }
  size_t wrapped_size = (size_t(p[8]) << 8) | size_t(p[9]);
  size_t expected_wrapped = parsed.cipher == Cipher::kNone ? 0 : Keyring::kWrappedKeySize;
  if (wrapped_size != expected_wrapped) return corrupt("bad wrapped key length");
  size_t header_size = kFixedHeaderSize + wrapped_size;
  if (object.size() < header_size + kFooterSize) return corrupt("too short");
  const std::byte* footer = p + object.size() - kFooterSize;
  if (std::memcmp(footer + 12, kFooterMagic.data(), 4) != 0) return corrupt("no footer");
  uint64_t table_offset = LoadBe64(footer);
  uint32_t count = LoadBe32(footer + 8);
  if (table_offset < header_size || table_offset > object.size() ||
      table_offset + uint64_t{count} * kEntrySize + kFooterSize != object.size()) {
    return corrupt("chunk table does not fit the object");
  }
  chunk::Blake3Hasher hasher;
  hasher.Update(object.first(header_size));
  hasher.Update(object.subspan(table_offset, size_t{count} * kEntrySize + 16));
  chunk::Blake3Hash sum = hasher.Finalize();
  if (std::memcmp(sum.bytes.data(), footer + 16, 32) != 0) {
    return corrupt("header or chunk table checksum mismatch");
  }
  parsed.wrapped_data_key = Buffer::Copy(object.subspan(kFixedHeaderSize, wrapped_size));
  if (parsed.cipher != Cipher::kNone && codec.keyring != nullptr) {
    Result<SecretKey> key = codec.keyring->UnwrapDataKey(parsed.wrapped_data_key.view());
    if (!key.ok()) {
      return Status(key.status().code(), "object data key: " + key.status().message());
    }
  }
  parsed.chunks.reserve(count);
  const std::byte* e = p + table_offset;
  for (uint32_t i = 0; i < count; ++i, e += kEntrySize) {
    ParsedChunk c;
    std::memcpy(c.hash.bytes.data(), e, 32);
    c.location.offset = LoadBe64(e + 32);
    c.location.stored_length = LoadBe32(e + 40);
    c.location.raw_length = LoadBe32(e + 44);
    c.location.flags = static_cast<uint8_t>(e[48]);
    const ChunkLocation& l = c.location;
    if (!KnownCompression(l.compression()) || l.cipher() != parsed.cipher) {
      return corrupt(fmt::format("chunk {} has bad flags", i));
    }
    if (l.offset < header_size || l.offset > table_offset ||
        l.offset + l.stored_length > table_offset || l.raw_length > kMaxChunkSize) {
      return corrupt(fmt::format("chunk {} lies outside the object's bodies", i));
    }
    parsed.chunks.push_back(c);
  }
  return parsed;
}

}  // namespace dittofs::stores::cas
