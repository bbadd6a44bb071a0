// SPDX-License-Identifier: Apache-2.0
#pragma once

// SMB2 names and numbers (MS-SMB2 §2.2, MS-FSCC, MS-ERREF), and the 64-byte SMB2 header.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::smb::wire {

inline constexpr size_t kHeaderSize = 64;

// Dialects (MS-SMB2 §2.2.3).
inline constexpr uint16_t kSmb202 = 0x0202, kSmb210 = 0x0210, kSmb300 = 0x0300, kSmb302 = 0x0302,
                          kSmb311 = 0x0311, kSmb2Wildcard = 0x02FF;

enum Command : uint16_t {
  kNegotiate = 0x00,
  kSessionSetup = 0x01,
  kLogoff = 0x02,
  kTreeConnect = 0x03,
  kTreeDisconnect = 0x04,
  kCreate = 0x05,
  kClose = 0x06,
  kFlush = 0x07,
  kRead = 0x08,
  kWrite = 0x09,
  kLock = 0x0A,
  kIoctl = 0x0B,
  kCancel = 0x0C,
  kEcho = 0x0D,
  kQueryDirectory = 0x0E,
  kChangeNotify = 0x0F,
  kQueryInfo = 0x10,
  kSetInfo = 0x11,
  kOplockBreak = 0x12,
  kCommandCount = 0x13,
};

// Header flags (§2.2.1.2).
inline constexpr uint32_t kFlagServerToRedir = 0x1, kFlagAsync = 0x2, kFlagRelated = 0x4,
                          kFlagSigned = 0x8, kFlagPriorityMask = 0x70, kFlagDfs = 0x10000000,
                          kFlagReplay = 0x20000000;

// NEGOTIATE security mode and capabilities (§2.2.3, §2.2.4).
inline constexpr uint16_t kSigningEnabled = 0x1, kSigningRequired = 0x2;
inline constexpr uint32_t kCapDfs = 0x1, kCapLeasing = 0x2, kCapLargeMtu = 0x4,
                          kCapMultiChannel = 0x8, kCapPersistentHandles = 0x10,
                          kCapDirectoryLeasing = 0x20, kCapEncryption = 0x40;
// Negotiate contexts (§2.2.3.1).
inline constexpr uint16_t kCtxPreauth = 1, kCtxEncryption = 2, kCtxCompression = 3, kCtxNetname = 5,
                          kCtxTransport = 6, kCtxRdma = 7, kCtxSigning = 8, kCtxPosix = 0x100;
inline constexpr uint16_t kHashSha512 = 1;

// SESSION_SETUP (§2.2.5, §2.2.6).
inline constexpr uint8_t kSessionBinding = 0x1;
inline constexpr uint16_t kSessionIsGuest = 0x1, kSessionIsNull = 0x2, kSessionEncrypt = 0x4;

// TREE_CONNECT response (§2.2.10).
inline constexpr uint8_t kShareTypeDisk = 1, kShareTypePipe = 2;
inline constexpr uint32_t kShareFlagEncrypt = 0x8000, kShareFlagNoCaching = 0x30,
                          kShareFlagAccessBasedDirectoryEnum = 0x800;
inline constexpr uint32_t kShareCapContinuousAvailability = 0x10;

// CREATE (§2.2.13).
inline constexpr uint32_t kSupersede = 0, kOpen = 1, kCreateNew = 2, kOpenIf = 3, kOverwrite = 4,
                          kOverwriteIf = 5;
inline constexpr uint32_t kActionSuperseded = 0, kActionOpened = 1, kActionCreated = 2,
                          kActionOverwritten = 3;
inline constexpr uint32_t kOptDirectory = 0x1, kOptWriteThrough = 0x2, kOptNonDirectory = 0x40,
                          kOptDeleteOnClose = 0x1000, kOptOpenByFileId = 0x2000,
                          kOptOpenReparsePoint = 0x200000;
inline constexpr uint8_t kOplockNone = 0, kOplockII = 1, kOplockExclusive = 8, kOplockBatch = 9,
                         kOplockLease = 0xFF;
// Access mask bits beyond core::OpenAccessBits (MS-DTYP 2.4.3).
inline constexpr uint32_t kSynchronize = 0x100000, kMaximumAllowed = 0x02000000,
                          kGenericAll = 0x10000000, kGenericExecute = 0x20000000,
                          kGenericWrite = 0x40000000, kGenericRead = 0x80000000,
                          kAccessSystemSecurity = 0x01000000, kFileAllAccess = 0x001F01FF;
inline constexpr uint32_t kDeleteChild = 0x40;

// CLOSE, READ, WRITE, LOCK, QUERY_DIRECTORY, IOCTL flags.
inline constexpr uint16_t kClosePostQueryAttrib = 0x1;
inline constexpr uint32_t kWriteFlagThrough = 0x1;
inline constexpr uint32_t kLockShared = 0x1, kLockExclusive = 0x2, kLockUnlock = 0x4,
                          kLockFailImmediately = 0x10;
inline constexpr uint8_t kRestartScans = 0x1, kReturnSingleEntry = 0x2, kIndexSpecified = 0x4,
                         kReopen = 0x10;
inline constexpr uint32_t kIoctlIsFsctl = 0x1;
inline constexpr uint16_t kWatchTree = 0x1;  // CHANGE_NOTIFY

// QUERY_INFO / SET_INFO types (§2.2.37).
inline constexpr uint8_t kInfoFile = 1, kInfoFilesystem = 2, kInfoSecurity = 3, kInfoQuota = 4;

// NTSTATUS values (MS-ERREF 2.3.1).
enum NtStatus : uint32_t {
  kStatusSuccess = 0x00000000,
  kStatusPending = 0x00000103,
  kStatusNotifyCleanup = 0x0000010B,
  kStatusNotifyEnumDir = 0x0000010C,
  kStatusBufferOverflow = 0x80000005,
  kStatusNoMoreFiles = 0x80000006,
  kStatusNoMoreEntries = 0x8000001A,
  kStatusNotImplemented = 0xC0000002,
  kStatusInvalidInfoClass = 0xC0000003,
  kStatusInfoLengthMismatch = 0xC0000004,
  kStatusInvalidHandle = 0xC0000008,
  kStatusInvalidParameter = 0xC000000D,
  kStatusNoSuchFile = 0xC000000F,
  kStatusInvalidDeviceRequest = 0xC0000010,
  kStatusEndOfFile = 0xC0000011,
  kStatusMoreProcessingRequired = 0xC0000016,
  kStatusAccessDenied = 0xC0000022,
  kStatusBufferTooSmall = 0xC0000023,
  kStatusObjectNameInvalid = 0xC0000033,
  kStatusObjectNameNotFound = 0xC0000034,
  kStatusObjectNameCollision = 0xC0000035,
  kStatusObjectPathNotFound = 0xC000003A,
  kStatusObjectPathSyntaxBad = 0xC000003B,
  kStatusSharingViolation = 0xC0000043,
  kStatusNoEasOnFile = 0xC0000052,
  kStatusFileLockConflict = 0xC0000054,
  kStatusLockNotGranted = 0xC0000055,
  kStatusInvalidLockRange = 0xC00001A1,
  kStatusDeletePending = 0xC0000056,
  kStatusPrivilegeNotHeld = 0xC0000061,
  kStatusLogonFailure = 0xC000006D,
  kStatusAccountDisabled = 0xC0000072,
  kStatusRangeNotLocked = 0xC000007E,
  kStatusDiskFull = 0xC000007F,
  kStatusInsufficientResources = 0xC000009A,
  kStatusMediaWriteProtected = 0xC00000A2,
  kStatusFileIsADirectory = 0xC00000BA,
  kStatusNotSupported = 0xC00000BB,
  kStatusInvalidNetworkResponse = 0xC00000C3,
  kStatusNetworkNameDeleted = 0xC00000C9,
  kStatusNetworkAccessDenied = 0xC00000CA,
  kStatusBadNetworkName = 0xC00000CC,
  kStatusRequestNotAccepted = 0xC00000D0,
  kStatusNotSameDevice = 0xC00000D4,
  kStatusInternalError = 0xC00000E5,
  kStatusDirectoryNotEmpty = 0xC0000101,
  kStatusNotADirectory = 0xC0000103,
  kStatusCancelled = 0xC0000120,
  kStatusCannotDelete = 0xC0000121,
  kStatusFileClosed = 0xC0000128,
  kStatusIoDeviceError = 0xC0000185,
  kStatusUserSessionDeleted = 0xC0000203,
  kStatusNotFound = 0xC0000225,
  kStatusTooManyLinks = 0xC0000265,
  kStatusNetworkSessionExpired = 0xC000035C,
  kStatusFileNotAvailable = 0xC0000467,
  kStatusFileTooLarge = 0xC0000904,
  kStatusIoTimeout = 0xC00000B5,
  kStatusAccessDeniedWrongType = 0xC0000024,  // STATUS_OBJECT_TYPE_MISMATCH
  kStatusStoppedOnSymlink = 0x8000002D,
  kStatusNotAReparsePoint = 0xC0000275,
  kStatusIoReparseTagInvalid = 0xC0000276,
  kStatusIoReparseDataInvalid = 0xC0000278,
  kStatusIoReparseTagNotHandled = 0xC0000279,
};

// MS-ERREF's name of a status ("STATUS_ACCESS_DENIED"), for the values above; others as hex
// ("0xC00000FF"). For metrics and logs.
std::string StatusName(uint32_t status);

// FILE_INFORMATION_CLASS values (MS-FSCC 2.4) and FS_INFORMATION_CLASS (2.5).
enum FileInfoClass : uint8_t {
  kFileDirectoryInformation = 1,
  kFileFullDirectoryInformation = 2,
  kFileBothDirectoryInformation = 3,
  kFileBasicInformation = 4,
  kFileStandardInformation = 5,
  kFileInternalInformation = 6,
  kFileEaInformation = 7,
  kFileAccessInformation = 8,
  kFileNameInformation = 9,
  kFileRenameInformation = 10,
  kFileLinkInformation = 11,
  kFileNamesInformation = 12,
  kFileDispositionInformation = 13,
  kFilePositionInformation = 14,
  kFileFullEaInformation = 15,
  kFileModeInformation = 16,
  kFileAlignmentInformation = 17,
  kFileAllInformation = 18,
  kFileAllocationInformation = 19,
  kFileEndOfFileInformation = 20,
  kFileAlternateNameInformation = 21,
  kFileStreamInformation = 22,
  kFileCompressionInformation = 28,
  kFileNetworkOpenInformation = 34,
  kFileAttributeTagInformation = 35,
  kFileIdBothDirectoryInformation = 37,
  kFileIdFullDirectoryInformation = 38,
  kFileValidDataLengthInformation = 39,
  kFileNormalizedNameInformation = 48,
  kFileIdExtdDirectoryInformation = 60,
  kFileDispositionInformationEx = 64,
  kFileRenameInformationEx = 65,
};
enum FsInfoClass : uint8_t {
  kFileFsVolumeInformation = 1,
  kFileFsSizeInformation = 3,
  kFileFsDeviceInformation = 4,
  kFileFsAttributeInformation = 5,
  kFileFsControlInformation = 6,
  kFileFsFullSizeInformation = 7,
  kFileFsObjectIdInformation = 8,
  kFileFsSectorSizeInformation = 11,
};

// FSCTL / IOCTL codes (MS-FSCC 2.3, MS-SMB2 2.2.31).
inline constexpr uint32_t kFsctlDfsGetReferrals = 0x00060194, kFsctlPipeTransceive = 0x0011C017,
                          kFsctlSrvRequestResumeKey = 0x00140078, kFsctlSrvCopyChunk = 0x001440F2,
                          kFsctlSrvCopyChunkWrite = 0x001480F2,
                          kFsctlValidateNegotiateInfo = 0x00140204,
                          kFsctlQueryNetworkInterfaceInfo = 0x001401FC,
                          kFsctlSetSparse = 0x000900C4, kFsctlSetZeroData = 0x000980C8,
                          kFsctlQueryAllocatedRanges = 0x000940CF,
                          kFsctlGetReparsePoint = 0x000900A8, kFsctlSetReparsePoint = 0x000900A4,
                          kFsctlDeleteReparsePoint = 0x000900AC,
                          kFsctlDuplicateExtentsToFile = 0x00098344,
                          kFsctlCreateOrGetObjectId = 0x000900C0,
                          kFsctlSrvEnumerateSnapshots = 0x00144064;
// Reparse tags (MS-FSCC 2.1.2.1) and FILE_ATTRIBUTE_REPARSE_POINT (2.6).
inline constexpr uint32_t kIoReparseTagSymlink = 0xA000000C;
inline constexpr uint32_t kFileAttributeReparsePoint = 0x400;

// The SMB2 header (§2.2.1). `async_id` is used when flags has kFlagAsync; `tree_id` otherwise.
struct Header {
  uint16_t credit_charge = 0;
  uint32_t status = 0;  // in requests: ChannelSequence (low 16 bits)
  uint16_t command = 0;
  uint16_t credits = 0;  // CreditRequest / CreditResponse
  uint32_t flags = 0;
  uint32_t next_command = 0;
  uint64_t message_id = 0;
  uint64_t async_id = 0;
  uint32_t tree_id = 0;
  uint64_t session_id = 0;
  std::array<std::byte, 16> signature{};

  bool async() const { return (flags & kFlagAsync) != 0; }
  bool related() const { return (flags & kFlagRelated) != 0; }
  bool is_signed() const { return (flags & kFlagSigned) != 0; }
};

inline bool IsSmb2(ByteView m) {
  return m.size() >= 4 && m[0] == std::byte{0xFE} && m[1] == std::byte{'S'} &&
         m[2] == std::byte{'M'} && m[3] == std::byte{'B'};
}
inline bool IsSmb1(ByteView m) {
  return m.size() >= 4 && m[0] == std::byte{0xFF} && m[1] == std::byte{'S'} &&
         m[2] == std::byte{'M'} && m[3] == std::byte{'B'};
}

// Errc::kInvalid unless `m` starts with a well-formed SMB2 header.
Result<Header> DecodeHeader(ByteView m);
// Appends the 64-byte header to `out`.
void EncodeHeader(const Header& h, std::vector<std::byte>& out);

// Windows FILETIME (100 ns since 1601-01-01) from and to Unix seconds and nanoseconds.
inline constexpr int64_t kFiletimeUnixEpoch = 116444736000000000;
inline uint64_t ToFiletime(int64_t sec, uint32_t nsec) {
  const int64_t t = sec * 10'000'000 + nsec / 100 + kFiletimeUnixEpoch;
  return t < 0 ? 0 : static_cast<uint64_t>(t);
}
inline void FromFiletime(uint64_t ft, int64_t* sec, uint32_t* nsec) {
  const int64_t t = static_cast<int64_t>(ft) - kFiletimeUnixEpoch;
  int64_t s = t / 10'000'000, r = t % 10'000'000;
  if (r < 0) {
    r += 10'000'000;
    --s;
  }
  *sec = s;
  *nsec = static_cast<uint32_t>(r * 100);
}

}  // namespace dittofs::smb::wire
