// SPDX-License-Identifier: Apache-2.0
#pragma once

// FILE_*_INFORMATION and FILE_FS_*_INFORMATION structures from the runtime's attributes
// (MS-FSCC 2.4, 2.5), and Windows wildcard matching (MS-FSA 2.1.4.4).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"
#include "smb/wire/messages.h"

namespace dittofs::smb {

// MS-FSCC 2.6 attributes: the runtime's DOS bits, DIRECTORY from the type, REPARSE_POINT for a
// symlink, NORMAL when none.
uint32_t DosAttributesOf(const core::Attr& a);
// The object's reparse tag (MS-FSCC 2.1.2.1): IO_REPARSE_TAG_SYMLINK for a symlink, else 0.
uint32_t ReparseTagOf(const core::Attr& a);

// A symlink's target as a Windows symbolic link's names (MS-FSCC 2.1.2.4): '/' as '\'; a
// target not starting with '/' is relative.
wire::SymlinkReparse SymlinkReparseOf(std::string_view target);
// The symlink target a client's symbolic link reparse data names: the substitute name (the
// print name when that is empty), without an NT "\??\" prefix, '\' as '/', made absolute
// unless SYMLINK_FLAG_RELATIVE. Empty when it names nothing.
std::string SymlinkTargetOf(const wire::SymlinkReparse& link);

// The allocation size reported for an object: its size in 4 KiB clusters.
uint64_t AllocationOf(const core::Attr& a);

// The 8.3 name Windows reports for `name` (FileAlternateNameInformation): the name in upper
// case when it is a valid 8.3 name already; none (empty) otherwise, as no short names are made.
std::string ShortNameOf(std::string_view name);

bool IsDirectoryInfoClass(uint8_t info_class);
// Appends one entry of a directory listing in `info_class` to `out` (8-aligned from the
// listing's start, which `out` begins at), unless it would pass `limit` bytes: false then.
// The entry's NextEntryOffset is 0; LinkDirectoryEntries sets them.
bool AppendDirectoryEntry(uint8_t info_class, std::string_view name, const core::Attr& attr,
                          size_t limit, std::vector<std::byte>& out, size_t* entry_start);

// Whether `name` matches the Windows expression `pattern` (its wildcards * ? < > "), without
// regard to case.
bool MatchesPattern(std::string_view pattern, std::string_view name);
bool HasWildcards(std::string_view pattern);

}  // namespace dittofs::smb
