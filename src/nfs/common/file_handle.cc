// SPDX-License-Identifier: Apache-2.0
#include "nfs/common/file_handle.h"

namespace dittofs::nfs {

constexpr std::byte kVersion{1};

std::array<std::byte, kFileHandleSize> EncodeFileHandle(core::ShareId share, core::FileId file) {
  std::array<std::byte, kFileHandleSize> out{};
  out[0] = kVersion;
  StoreBe32(out.data() + 4, share);
  StoreBe64(out.data() + 8, file.inode);
  StoreBe32(out.data() + 16, file.generation);
  return out;
}

Result<DecodedHandle> DecodeFileHandle(ByteView bytes) {
  if (bytes.size() != kFileHandleSize || bytes[0] != kVersion || bytes[1] != std::byte{0} ||
      bytes[2] != std::byte{0} || bytes[3] != std::byte{0}) {
    return Errc::kBadHandle;
  }
  DecodedHandle h;
  h.share = LoadBe32(bytes.data() + 4);
  h.file.inode = LoadBe64(bytes.data() + 8);
  h.file.generation = LoadBe32(bytes.data() + 16);
  if (h.file.inode == 0) return Errc::kBadHandle;
  return h;
}

}  // namespace dittofs::nfs
