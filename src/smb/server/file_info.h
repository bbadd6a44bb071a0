// SPDX-License-Identifier: Apache-2.0
#pragma once

// FILE_*_INFORMATION and FILE_FS_*_INFORMATION structures from the runtime's attributes
// (MS-FSCC 2.4, 2.5), and Windows wildcard matching (MS-FSA 2.1.4.4).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "core/types.h"
#include "smb/wire/messages.h"

namespace dittofs::smb {

struct AppleEntryFields;  // aapl.h

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
// A CREATE or CLOSE response's times (the birth time, or the modification time when unknown).
wire::FileTimes TimesOf(const core::Attr& a);

// The 8.3 name Windows reports for `name` (FileAlternateNameInformation): the name in upper
// case when it is a valid 8.3 name already; none (empty) otherwise, as no short names are made.
std::string ShortNameOf(std::string_view name);

// The SMB3 POSIX extensions ([POSIX-FSCC], the "SMB3 POSIX Extensions" document).
inline constexpr uint8_t kFilePosixInformation = 100;  // QUERY_INFO and QUERY_DIRECTORY
inline constexpr uint8_t kFileFsPosixInformation = 100;
inline constexpr uint32_t kReparseTagNfs = 0x80000014;  // IO_REPARSE_TAG_NFS
// The POSIX create context's tag (16 bytes, a GUID's bytes as they go on the wire).
std::string_view PosixCreateContextTag();

// [POSIX-FSCC] 2.1.1: the permission bits (07777) and, for a type other than a regular file
// or a directory, the file type in bits 12 to 15 (2 symlink, 3 character device, 4 block
// device, 5 FIFO, 6 socket). A regular file and a directory carry type 0, as the first
// servers sent it: a client takes the directory bit from the DOS attributes then (Linux 6.1
// ORs its own S_IFDIR into what it is sent).
uint32_t PosixModeOf(const core::Attr& a);
// The reparse tag an object of this type reports on a POSIX tree (0 for files and directories).
uint32_t PosixReparseTagOf(const core::Attr& a);
// Appends the SID S-1-22-1-`uid` (kind 1, a Unix user) or S-1-22-2-`gid` (kind 2, a group).
void AppendUnixSid(uint32_t kind, uint32_t id, std::vector<std::byte>& out);
// The POSIX create context's response data: NumberOfLinks, ReparseTag, PosixPerms, owner SID,
// group SID.
void AppendPosixCreateResponse(const core::Attr& a, std::vector<std::byte>& out);
// FILE_POSIX_INFORMATION (QUERY_INFO class 100): times, end of file, allocation, attributes,
// inode, device, a zero, then the create context's response.
void AppendPosixInformation(const core::Attr& a, std::vector<std::byte>& out);

// What a security descriptor (MS-DTYP 2.4.6, self-relative) given to SET_INFO on a POSIX tree
// asks of a Unix object: an owner S-1-22-1-uid or S-1-5-88-1-uid, a group S-1-22-2-gid or
// S-1-5-88-2-gid, and a mode: the S-1-5-88-3-mode ACE's when the DACL has one, else the rwx
// bits its ACEs give (allow minus deny) to the owner, the group and Everyone (S-1-1-0), as
// the Linux client's cifsacl builds them. `sections` is SET_INFO's AdditionalInformation.
struct PosixOwnership {
  std::optional<uint32_t> uid, gid, mode;
};
// Errc::kInvalid for a malformed descriptor; Errc::kNotFound for an owner (kind 1) or group
// (kind 2) SID that names no Unix identity (`bad_sid` gets 1 or 2).
Result<PosixOwnership> PosixOwnershipOf(std::span<const std::byte> sd, uint32_t sections,
                                        int* bad_sid);

// Reparse points on a POSIX tree beyond symlinks (whose IO_REPARSE_TAG_SYMLINK data the wire
// codec makes and reads). Appends a device's, FIFO's or socket's reparse data buffer as the NFS
// reparse point (IO_REPARSE_TAG_NFS, MS-FSCC 2.1.2.6); false for any other type.
bool AppendSpecialReparseData(const core::Attr& a, std::vector<std::byte>& out);
// What an NFS (any NFS_SPECFILE_*) or WSL (symlink, FIFO, socket) reparse data buffer set on a
// file asks it to become. Errc::kInvalid for anything else, IO_REPARSE_TAG_SYMLINK included.
struct ReparseObject {
  core::FileType type = core::FileType::kRegular;
  std::string target;  // a symlink's, with '/' separators
  uint32_t major = 0, minor = 0;
};
Result<ReparseObject> ParseReparseData(std::span<const std::byte> data);

// The directory classes; SMB2_FIND_POSIX_INFORMATION (100) only when `posix` (a POSIX tree).
bool IsDirectoryInfoClass(uint8_t info_class, bool posix = false);
// Appends one entry of a directory listing in `info_class` to `out` (8-aligned from the
// listing's start, which `out` begins at), unless it would pass `limit` bytes: false then.
// The entry's NextEntryOffset is 0; LinkDirectoryEntries sets them. With `apple` (a client
// that negotiated Apple's directory attributes), FileIdBothDirectoryInformation carries them.
bool AppendDirectoryEntry(uint8_t info_class, std::string_view name, const core::Attr& attr,
                          size_t limit, std::vector<std::byte>& out, size_t* entry_start,
                          const AppleEntryFields* apple = nullptr);

// Whether `name` matches the Windows expression `pattern` (its wildcards * ? < > "), without
// regard to case unless `case_sensitive` (a POSIX tree).
bool MatchesPattern(std::string_view pattern, std::string_view name, bool case_sensitive = false);
bool HasWildcards(std::string_view pattern);

}  // namespace dittofs::smb
