// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "chunk/blake3.h"
#include "stores/cas/keyring.h"

namespace dittofs::stores::cas {

// How a remote compresses chunks. The values are stored in chunk flags; never renumber them.
enum class Compression : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };
std::string_view CompressionName(Compression compression);

// Largest raw chunk an object accepts (chunks are at most 4 MiB; docs/formats/chunks.md).
inline constexpr uint32_t kMaxChunkSize = 64u << 20;

// A remote's object settings.
struct ObjectCodec {
  Compression compression = Compression::kNone;
  int zstd_level = 3;
  Cipher cipher = Cipher::kNone;
  // Borrowed; must outlive every use of the codec. Required (non-null) when cipher != kNone.
  const Keyring* keyring = nullptr;
};

// Where one chunk lives inside an object, as the chunk index records it: enough to fetch the
// chunk with one ranged GET and decode it.
struct ChunkLocation {
  uint64_t offset = 0;         // of the chunk's stored range, from the start of the object
  uint32_t stored_length = 0;  // bytes of the stored range
  uint32_t raw_length = 0;     // bytes of the chunk itself
  // Bits 0-3: the Compression of this chunk (kNone when compressing did not make it smaller);
  // bits 4-7: its Cipher.
  uint8_t flags = 0;

  Compression compression() const { return static_cast<Compression>(flags & 0x0f); }
  Cipher cipher() const { return static_cast<Cipher>(flags >> 4); }
  friend bool operator==(const ChunkLocation&, const ChunkLocation&) = default;
};

// Packs chunks into one object (docs/formats/objects.md). Each chunk is compressed and
// encrypted on its own, so it can be read back alone. Not thread-safe; movable.
class ObjectBuilder {
 public:
  // Errc::kInvalid when the codec asks for encryption without a keyring, or names an unknown
  // compression or cipher. Draws the object's random data key when encrypting. `size_hint`:
  // the bytes the object is expected to take (it grows past them as needed), so that it is
  // built in one allocation.
  static Result<ObjectBuilder> Start(const ObjectCodec& codec, size_t size_hint = 0);

  ObjectBuilder(ObjectBuilder&&) noexcept;
  ObjectBuilder& operator=(ObjectBuilder&&) noexcept;
  ~ObjectBuilder();

  // Appends one chunk. REQUIRES: hash == chunk::Blake3(raw). Errc::kTooBig when raw is larger
  // than kMaxChunkSize. The location is final: Finish() does not move chunks.
  Result<ChunkLocation> Add(const chunk::Blake3Hash& hash, ByteView raw);
  // The object's size so far (without the chunk table), to decide when to close it.
  size_t size() const;
  size_t chunk_count() const;
  // The object's bytes: header, chunk bodies, chunk table, footer. Call once; the builder is
  // spent afterwards.
  Buffer Finish();
  // The data key wrapped under the master key, to store in the chunk index beside each location
  // (the object header holds it too). Empty when the object is unencrypted.
  Buffer WrappedDataKey() const;

 private:
  struct State;
  explicit ObjectBuilder(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Decodes one chunk from its stored range (`stored`, as a ranged GET of `location` returns it)
// and checks it: the AEAD tag (AAD = the chunk's hash), decompression to raw_length bytes, and
// BLAKE3 of the result == `hash`. `wrapped_data_key` is the object's (ObjectBuilder::
// WrappedDataKey()); ignored for an unencrypted chunk.
// Errors: Errc::kIo with a message starting "corrupt chunk" for any damage or mismatch (never
// wrong bytes); Errc::kAccess when the chunk is unencrypted but the codec says the remote is
// encrypted (no downgrade), or when the data key was wrapped by another master key;
// Errc::kInvalid when the chunk is encrypted and the codec has no keyring.
Result<Buffer> DecodeChunk(const ObjectCodec& codec, const chunk::Blake3Hash& hash,
                           const ChunkLocation& location, ByteView wrapped_data_key,
                           ByteView stored);

struct ParsedChunk {
  chunk::Blake3Hash hash;
  ChunkLocation location;
};

struct ParsedObject {
  uint16_t version = 0;
  Cipher cipher = Cipher::kNone;
  Buffer wrapped_data_key;  // empty when unencrypted
  std::vector<ParsedChunk> chunks;
};

// Parses a whole object's header, chunk table and footer (for reconcile, GC, and rebuilding a
// lost chunk index); chunk bodies are not decoded. Checks the header and table checksum and that
// every location lies inside the object. When the object is encrypted and codec.keyring is set,
// also checks that its data key unwraps.
// Errors: Errc::kNotSupported for an unknown format version; Errc::kAccess for an unencrypted
// object when the codec says the remote is encrypted; Errc::kIo ("corrupt object ...") for damage.
Result<ParsedObject> ParseObject(const ObjectCodec& codec, ByteView object);

}  // namespace dittofs::stores::cas
