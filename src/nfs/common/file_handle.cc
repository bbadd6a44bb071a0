// SPDX-License-Identifier: Apache-2.0
#include "nfs/common/file_handle.h"

#include <algorithm>
#include <cstring>

#include "chunk/blake3.h"

namespace dittofs::nfs {
namespace {

// Version 3, the one issued.
constexpr std::byte kVersion{3};
constexpr size_t kBodySize = 17;
constexpr size_t kMacSize = kFileHandleSize - kBodySize;
// Version 2, still accepted.
constexpr std::byte kVersion2{2};
constexpr size_t kVersion2Size = 36;
constexpr size_t kVersion2BodySize = 20;
// Version 1, unsigned: stale.
constexpr std::byte kUnsignedVersion{1};
constexpr size_t kUnsignedSize = 20;

// Compares in time that does not depend on where the first difference is.
bool SameBytes(const std::byte* a, const std::byte* b, size_t n) {
  std::byte diff{0};
  for (size_t i = 0; i < n; ++i) diff |= a[i] ^ b[i];
  return diff == std::byte{0};
}

// Versions 1 and 2 keep three zero bytes after the version.
bool ReservedZero(ByteView bytes) {
  return bytes[1] == std::byte{0} && bytes[2] == std::byte{0} && bytes[3] == std::byte{0};
}

FileHandleCodec::Handle Body(core::ShareId share, core::FileId file) {
  FileHandleCodec::Handle out{};
  out[0] = kVersion;
  StoreBe32(out.data() + 1, share);
  StoreBe64(out.data() + 5, file.inode);
  StoreBe32(out.data() + 13, file.generation);
  return out;
}

// Whether the `mac_size` bytes after `body` are the MAC of the body's `body_size` bytes.
bool MacMatches(const FileHandleCodec::Key& key, ByteView bytes, size_t body_size) {
  chunk::Blake3Hash mac = chunk::Blake3KeyedShort(key, bytes.first(body_size));
  return SameBytes(reinterpret_cast<const std::byte*>(mac.bytes.data()), bytes.data() + body_size,
                   bytes.size() - body_size);
}

}  // namespace

FileHandleCodec::Handle FileHandleCodec::Encode(core::ShareId share, core::FileId file) const {
  Handle out;
  EncodeMany(share, std::span<const core::FileId>(&file, 1), &out);
  return out;
}

void FileHandleCodec::EncodeMany(core::ShareId share, std::span<const core::FileId> files,
                                 Handle* out) const {
  constexpr size_t kGroup = 32;  // MACs per call: a bounded stack, several AVX2 passes
  ByteView bodies[kGroup];
  chunk::Blake3Hash macs[kGroup];
  for (size_t first = 0; first < files.size(); first += kGroup) {
    size_t n = std::min(kGroup, files.size() - first);
    for (size_t i = 0; i < n; ++i) {
      out[first + i] = Body(share, files[first + i]);
      bodies[i] = ByteView(out[first + i].data(), kBodySize);
    }
    chunk::Blake3KeyedShortMany(key_, std::span<const ByteView>(bodies, n), macs);
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(out[first + i].data() + kBodySize, macs[i].bytes.data(), kMacSize);
    }
  }
}

Result<DecodedHandle> FileHandleCodec::Decode(ByteView bytes) const {
  DecodedHandle h;
  if (bytes.size() == kFileHandleSize && bytes[0] == kVersion) {
    if (!MacMatches(key_, bytes, kBodySize)) return Errc::kBadHandle;
    h.share = LoadBe32(bytes.data() + 1);
    h.file.inode = LoadBe64(bytes.data() + 5);
    h.file.generation = LoadBe32(bytes.data() + 13);
  } else if (bytes.size() == kVersion2Size && bytes[0] == kVersion2 && ReservedZero(bytes)) {
    if (!MacMatches(key_, bytes, kVersion2BodySize)) return Errc::kBadHandle;
    h.share = LoadBe32(bytes.data() + 4);
    h.file.inode = LoadBe64(bytes.data() + 8);
    h.file.generation = LoadBe32(bytes.data() + 16);
  } else if (bytes.size() == kUnsignedSize && bytes[0] == kUnsignedVersion &&
             ReservedZero(bytes)) {
    return Errc::kStale;
  } else {
    return Errc::kBadHandle;
  }
  if (h.file.inode == 0) return Errc::kBadHandle;
  return h;
}

}  // namespace dittofs::nfs
