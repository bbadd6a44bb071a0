// SPDX-License-Identifier: Apache-2.0
#pragma once

// SMB carries names as UTF-16LE; the runtime keeps UTF-8.

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::smb::wire {

// Errc::kInvalid for an odd byte count or an unpaired surrogate.
Result<std::string> Utf16ToUtf8(ByteView utf16le);
// Appends the UTF-16LE form of `utf8` to `out`. Invalid UTF-8 sequences become U+FFFD (names
// made over NFS may hold any bytes; SMB clients still see, if not reach, them).
void AppendUtf16(std::string_view utf8, std::vector<std::byte>& out);
std::vector<std::byte> ToUtf16(std::string_view utf8);
// The number of bytes AppendUtf16 appends.
size_t Utf16Size(std::string_view utf8);

}  // namespace dittofs::smb::wire
