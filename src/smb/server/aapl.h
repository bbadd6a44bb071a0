// SPDX-License-Identifier: Apache-2.0
#pragma once

// Apple's SMB2 extensions, as macOS asks for them: the "AAPL" create context's server query
// and the directory attributes (READ_DIR_ATTR) it turns on. Apple publishes the wire format in
// its SMB client's smb_2.h ("Apple SMB 2/3 AAPL Create Context extensions"); this is the
// server's side of it.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/types.h"

namespace dittofs::smb {

inline constexpr std::string_view kAaplContextName = "AAPL";

// The request bitmap's bits: what the reply carries, in this order.
inline constexpr uint64_t kAaplServerCaps = 0x01;
inline constexpr uint64_t kAaplVolumeCaps = 0x02;
inline constexpr uint64_t kAaplModelInfo = 0x04;

// Client and server capabilities.
inline constexpr uint64_t kAaplSupportsReadDirAttr = 0x01;
inline constexpr uint64_t kAaplSupportsOsxCopyfile = 0x02;
inline constexpr uint64_t kAaplUnixBased = 0x04;
inline constexpr uint64_t kAaplSupportsNfsAce = 0x08;

// Volume capabilities.
inline constexpr uint64_t kAaplSupportResolveId = 0x01;
inline constexpr uint64_t kAaplCaseSensitive = 0x02;
inline constexpr uint64_t kAaplSupportsFullSync = 0x04;

struct AaplQuery {
  uint64_t request_bitmap = 0;
  uint64_t client_caps = 0;
};

// The context's data: command kAAPL_SERVER_QUERY (1), reserved, request bitmap, client
// capabilities, 24 bytes. Errc::kInvalid for any other length or command (kAAPL_RESOLVE_ID is
// only sent to servers that offer it, which this one does not).
Result<AaplQuery> ParseAaplQuery(std::span<const std::byte> data);

// What this server offers a client with `client_caps`: a Unix server (modes in directory
// entries), and directory attributes when the client supports them.
uint64_t AaplServerCapsFor(uint64_t client_caps);
// The volume's: a FLUSH is a full sync (the data is on stable storage when it answers); file
// ids are not resolved to paths. Names match without regard to case over SMB on every share
// (Vfs::LookupAnyCase), so kAaplCaseSensitive is added only on a POSIX tree.
inline constexpr uint64_t kAaplVolumeCapsOffered = kAaplSupportsFullSync;

// The reply's data: command, reserved, the bitmap of what follows (the request's, less what is
// unknown), then server caps, volume caps and the model string (Pad2, its byte length, UTF-16,
// zeros to an 8-byte boundary), each when its bit is set.
std::vector<std::byte> EncodeAaplReply(const AaplQuery& query, uint64_t server_caps,
                                       uint64_t volume_caps, std::string_view model);

// A FILE_ID_BOTH_DIR_INFORMATION entry's fields with directory attributes negotiated: EaSize
// holds the caller's maximal access (a reparse point keeps its tag, and the client assumes full
// access), the short name's 24 bytes the resource fork's length (8) and the compressed Finder
// info (16), and Reserved2 the Unix mode with its type bits when the server is Unix based.
struct AppleEntryFields {
  uint32_t max_access = 0;
  bool unix_mode = false;
};

// The st_mode of `a`: type bits and permission bits, as a 16-bit field holds them.
uint16_t UnixModeOf(const core::Attr& a);

}  // namespace dittofs::smb
