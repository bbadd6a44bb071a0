// SPDX-License-Identifier: Apache-2.0
#include "smb/server/aapl.h"

#include <iterator>

#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {

namespace {
constexpr uint32_t kAaplServerQuery = 1;
}  // namespace

Result<AaplQuery> ParseAaplQuery(std::span<const std::byte> data) {
  if (data.size() != 24) return Errc::kInvalid;
  if (wire::LoadLe32(data.data()) != kAaplServerQuery) return Errc::kInvalid;
  AaplQuery q;
  q.request_bitmap = wire::LoadLe64(data.data() + 8);
  q.client_caps = wire::LoadLe64(data.data() + 16);
  return q;
}

uint64_t AaplServerCapsFor(uint64_t client_caps) {
  return kAaplUnixBased | (client_caps & kAaplSupportsReadDirAttr);
}

std::vector<std::byte> EncodeAaplReply(const AaplQuery& query, uint64_t server_caps,
                                       uint64_t volume_caps, std::string_view model) {
  const uint64_t bitmap =
      query.request_bitmap & (kAaplServerCaps | kAaplVolumeCaps | kAaplModelInfo);
  std::vector<std::byte> out;
  wire::LeWriter w(out);
  w.U32(kAaplServerQuery);
  w.U32(0);
  w.U64(bitmap);
  if (bitmap & kAaplServerCaps) w.U64(server_caps);
  if (bitmap & kAaplVolumeCaps) w.U64(volume_caps);
  if (bitmap & kAaplModelInfo) {
    w.U32(0);  // Pad2
    w.U32(static_cast<uint32_t>(wire::Utf16Size(model)));
    wire::AppendUtf16(model, out);
    while (out.size() % 8 != 0) out.push_back(std::byte{0});
  }
  return out;
}

uint16_t UnixModeOf(const core::Attr& a) {
  // S_IFREG, S_IFDIR, S_IFBLK, S_IFCHR, S_IFLNK, S_IFSOCK and S_IFIFO, by FileType.
  static_assert(static_cast<int>(core::FileType::kRegular) == 1 &&
                static_cast<int>(core::FileType::kFifo) == 7);
  static constexpr uint16_t kTypeBits[] = {0,       0100000, 0040000, 0060000,
                                           0020000, 0120000, 0140000, 0010000};
  const auto type = static_cast<size_t>(a.type);
  return static_cast<uint16_t>((type < std::size(kTypeBits) ? kTypeBits[type] : 0) |
                               (a.mode & 07777));
}

}  // namespace dittofs::smb
