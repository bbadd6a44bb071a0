// SPDX-License-Identifier: Apache-2.0
#include "nfs/common/file_handle.h"

#include <algorithm>
#include <cstring>

#include "chunk/blake3.h"

namespace dittofs::nfs {
namespace {

constexpr std::byte kVersion{2};
constexpr std::byte kUnsignedVersion{1};
constexpr size_t kUnsignedSize = 20;
constexpr size_t kBodySize = 20;
constexpr size_t kMacSize = kFileHandleSize - kBodySize;

// Compares in time that does not depend on where the first difference is.
bool SameBytes(const std::byte* a, const std::byte* b, size_t n) {
  std::byte diff{0};
  for (size_t i = 0; i < n; ++i) diff |= a[i] ^ b[i];
  return diff == std::byte{0};
}

bool ReservedZero(ByteView bytes) {
  return bytes[1] == std::byte{0} && bytes[2] == std::byte{0} && bytes[3] == std::byte{0};
}

}  // namespace

void FileHandleCodec::Mac(const std::byte* body, std::byte* out) const {
  chunk::Blake3Hash mac = chunk::Blake3KeyedShort(key_, ByteView(body, kBodySize));
  std::memcpy(out, mac.bytes.data(), kMacSize);
}

namespace {

FileHandleCodec::Handle Body(core::ShareId share, core::FileId file) {
  FileHandleCodec::Handle out{};
  out[0] = kVersion;
  StoreBe32(out.data() + 4, share);
  StoreBe64(out.data() + 8, file.inode);
  StoreBe32(out.data() + 16, file.generation);
  return out;
}

}  // namespace

FileHandleCodec::Handle FileHandleCodec::Encode(core::ShareId share, core::FileId file) const {
  Handle out = Body(share, file);
  Mac(out.data(), out.data() + kBodySize);
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
  if (bytes.size() == kUnsignedSize && bytes[0] == kUnsignedVersion && ReservedZero(bytes)) {
    return Errc::kStale;
  }
  if (bytes.size() != kFileHandleSize || bytes[0] != kVersion || !ReservedZero(bytes)) {
    return Errc::kBadHandle;
  }
  std::array<std::byte, kMacSize> mac;
  Mac(bytes.data(), mac.data());
  if (!SameBytes(mac.data(), bytes.data() + kBodySize, kMacSize)) return Errc::kBadHandle;
  DecodedHandle h;
  h.share = LoadBe32(bytes.data() + 4);
  h.file.inode = LoadBe64(bytes.data() + 8);
  h.file.generation = LoadBe32(bytes.data() + 16);
  if (h.file.inode == 0) return Errc::kBadHandle;
  return h;
}

}  // namespace dittofs::nfs
