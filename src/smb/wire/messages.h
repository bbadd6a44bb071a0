// SPDX-License-Identifier: Apache-2.0
#pragma once

// SMB2 request bodies as typed structs, and response bodies (MS-SMB2 §2.2). Decoders take the
// whole message (header included: buffer offsets count from the header's first byte), check
// StructureSize and every offset and length against the message, and return Errc::kInvalid
// (STATUS_INVALID_PARAMETER) for anything out of bounds. Views they return point into the
// message. Encoders append a response body (after the header) to `out`, whose first byte is
// the header's.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "smb/wire/smb2.h"

namespace dittofs::smb::wire {

struct FileHandle {
  uint64_t persistent = 0;
  uint64_t volatile_id = 0;
  bool is_related_placeholder() const {
    return persistent == ~uint64_t{0} && volatile_id == ~uint64_t{0};
  }
  friend bool operator==(const FileHandle&, const FileHandle&) = default;
};

struct NegotiateContext {
  uint16_t type = 0;
  ByteView data;
};

struct NegotiateRequest {
  uint16_t security_mode = 0;
  uint32_t capabilities = 0;
  std::array<std::byte, 16> client_guid{};
  std::vector<uint16_t> dialects;
  std::vector<NegotiateContext> contexts;  // when 3.1.1 is offered
};
Result<NegotiateRequest> DecodeNegotiate(ByteView m);

struct NegotiateResponse {
  uint16_t security_mode = 0;
  uint16_t dialect = 0;
  std::array<std::byte, 16> server_guid{};
  uint32_t capabilities = 0;
  uint32_t max_transact = 0, max_read = 0, max_write = 0;
  uint64_t system_time = 0;
  ByteView security_buffer;
  std::vector<std::pair<uint16_t, std::vector<std::byte>>> contexts;  // 3.1.1
};
void EncodeNegotiateResponse(const NegotiateResponse& r, std::vector<std::byte>& out);

// The dialect strings of an SMB1 NEGOTIATE (MS-SMB2 §3.3.5.3.1: "SMB 2.002" and "SMB 2.???").
Result<std::vector<std::string>> DecodeSmb1Negotiate(ByteView m);

struct SessionSetupRequest {
  uint8_t flags = 0;
  uint8_t security_mode = 0;
  uint32_t capabilities = 0;
  uint64_t previous_session_id = 0;
  ByteView security_buffer;
};
Result<SessionSetupRequest> DecodeSessionSetup(ByteView m);
void EncodeSessionSetupResponse(uint16_t session_flags, ByteView security_buffer,
                                std::vector<std::byte>& out);

struct TreeConnectRequest {
  uint16_t flags = 0;
  std::string path;  // UTF-8, e.g. "\\server\share"
};
Result<TreeConnectRequest> DecodeTreeConnect(ByteView m);
void EncodeTreeConnectResponse(uint8_t share_type, uint32_t share_flags, uint32_t capabilities,
                               uint32_t maximal_access, std::vector<std::byte>& out);

// LOGOFF, TREE_DISCONNECT, ECHO, CANCEL: StructureSize 4 and nothing else.
Status DecodeEmpty(ByteView m);
void EncodeEmptyResponse(std::vector<std::byte>& out);  // StructureSize 4

struct CreateContext {
  std::string name;  // the tag: "MxAc", "QFid", "RqLs", "DH2Q", "AAPL", POSIX's GUID bytes ...
  ByteView data;
};
struct CreateRequest {
  uint8_t oplock = 0;
  uint32_t impersonation = 0;
  uint32_t desired_access = 0;
  uint32_t file_attributes = 0;
  uint32_t share_access = 0;
  uint32_t disposition = 0;
  uint32_t options = 0;
  std::string name;  // UTF-8, relative to the share root, '\' separated, no leading '\'
  std::vector<CreateContext> contexts;
};
Result<CreateRequest> DecodeCreate(ByteView m);

// Times are FILETIMEs.
struct FileTimes {
  uint64_t creation = 0, last_access = 0, last_write = 0, change = 0;
};
struct CreateResponse {
  uint8_t oplock = 0;
  uint8_t flags = 0;
  uint32_t action = 0;
  FileTimes times;
  uint64_t allocation_size = 0, end_of_file = 0;
  uint32_t attributes = 0;
  FileHandle handle;
  std::vector<std::pair<std::string, std::vector<std::byte>>> contexts;
};
void EncodeCreateResponse(const CreateResponse& r, std::vector<std::byte>& out);

struct CloseRequest {
  uint16_t flags = 0;
  FileHandle handle;
};
Result<CloseRequest> DecodeClose(ByteView m);
struct CloseResponse {
  uint16_t flags = 0;
  FileTimes times;
  uint64_t allocation_size = 0, end_of_file = 0;
  uint32_t attributes = 0;
};
void EncodeCloseResponse(const CloseResponse& r, std::vector<std::byte>& out);

struct FlushRequest {
  FileHandle handle;
};
Result<FlushRequest> DecodeFlush(ByteView m);

struct ReadRequest {
  uint8_t flags = 0;
  uint32_t length = 0;
  uint64_t offset = 0;
  FileHandle handle;
  uint32_t minimum_count = 0;
};
Result<ReadRequest> DecodeRead(ByteView m);
// The READ response's fixed part; the data follows it (DataOffset = 80).
void EncodeReadResponseHead(uint32_t data_length, std::vector<std::byte>& out);

struct WriteRequest {
  uint64_t offset = 0;
  FileHandle handle;
  uint32_t flags = 0;
  ByteView data;
};
Result<WriteRequest> DecodeWrite(ByteView m);
void EncodeWriteResponse(uint32_t count, std::vector<std::byte>& out);

struct LockElement {
  uint64_t offset = 0, length = 0;
  uint32_t flags = 0;
};
struct LockRequest {
  uint32_t lock_sequence = 0;
  FileHandle handle;
  std::vector<LockElement> locks;
};
Result<LockRequest> DecodeLock(ByteView m);

struct IoctlRequest {
  uint32_t ctl_code = 0;
  FileHandle handle;
  ByteView input;
  uint32_t max_input_response = 0;
  uint32_t max_output_response = 0;
  uint32_t flags = 0;
};
Result<IoctlRequest> DecodeIoctl(ByteView m);
void EncodeIoctlResponse(uint32_t ctl_code, const FileHandle& handle, ByteView output,
                         std::vector<std::byte>& out);

// A symbolic link's reparse data (MS-FSCC 2.1.2.4). The names are UTF-8 here, UTF-16 on the
// wire; the codec keeps them as they are (the adapter maps separators).
struct SymlinkReparse {
  std::string substitute_name;
  std::string print_name;
  bool relative = false;  // SYMLINK_FLAG_RELATIVE
};
// A REPARSE_DATA_BUFFER of tag IO_REPARSE_TAG_SYMLINK (FSCTL_GET_REPARSE_POINT's output).
void EncodeSymlinkReparse(const SymlinkReparse& link, std::vector<std::byte>& out);
// The tag of a REPARSE_DATA_BUFFER (FSCTL_SET_REPARSE_POINT's input); Errc::kInvalid when
// it is shorter than its header or its ReparseDataLength disagrees with its size.
Result<uint32_t> DecodeReparseTag(ByteView in);
// A REPARSE_DATA_BUFFER of tag IO_REPARSE_TAG_SYMLINK; Errc::kInvalid for any other tag or
// names that do not lie inside its PathBuffer.
Result<SymlinkReparse> DecodeSymlinkReparse(ByteView in);
// The error body of STATUS_STOPPED_ON_SYMLINK (MS-SMB2 2.2.2, 2.2.2.2.1): the link's data
// and the bytes of the request's path after the link (UnparsedPathLength). `contexts`: the
// 3.1.1 form, the response wrapped in one SMB2_ERROR_CONTEXT (2.2.2.1).
void EncodeSymlinkErrorResponse(const SymlinkReparse& link, uint16_t unparsed_path_length,
                                bool contexts, std::vector<std::byte>& out);

struct QueryDirectoryRequest {
  uint8_t info_class = 0;
  uint8_t flags = 0;
  uint32_t file_index = 0;
  FileHandle handle;
  std::string pattern;  // UTF-8
  uint32_t output_length = 0;
};
Result<QueryDirectoryRequest> DecodeQueryDirectory(ByteView m);
// QUERY_DIRECTORY and QUERY_INFO answer alike: StructureSize 9, an offset (72) and the bytes.
void EncodeOutputBufferResponse(ByteView output, std::vector<std::byte>& out);

struct ChangeNotifyRequest {
  uint16_t flags = 0;
  uint32_t output_length = 0;
  FileHandle handle;
  uint32_t completion_filter = 0;
};
Result<ChangeNotifyRequest> DecodeChangeNotify(ByteView m);

struct QueryInfoRequest {
  uint8_t info_type = 0;
  uint8_t info_class = 0;
  uint32_t output_length = 0;
  ByteView input;
  uint32_t additional_information = 0;
  uint32_t flags = 0;
  FileHandle handle;
};
Result<QueryInfoRequest> DecodeQueryInfo(ByteView m);

struct SetInfoRequest {
  uint8_t info_type = 0;
  uint8_t info_class = 0;
  ByteView buffer;
  uint32_t additional_information = 0;
  FileHandle handle;
};
Result<SetInfoRequest> DecodeSetInfo(ByteView m);
void EncodeSetInfoResponse(std::vector<std::byte>& out);  // StructureSize 2

struct OplockBreakAck {
  uint8_t oplock = 0;
  FileHandle handle;
};
struct LeaseBreakAck {
  std::array<std::byte, 16> lease_key{};
  uint32_t lease_state = 0;
};
// An OPLOCK_BREAK request is an oplock acknowledgement (StructureSize 24) or a lease
// acknowledgement (36).
struct BreakAck {
  std::optional<OplockBreakAck> oplock;
  std::optional<LeaseBreakAck> lease;
};
Result<BreakAck> DecodeBreakAck(ByteView m);
void EncodeOplockBreak(uint8_t oplock, const FileHandle& handle, std::vector<std::byte>& out);
void EncodeLeaseBreakAckResponse(const LeaseBreakAck& ack, std::vector<std::byte>& out);
void EncodeLeaseBreakNotification(uint16_t new_epoch, bool ack_required,
                                  const std::array<std::byte, 16>& key, uint32_t current,
                                  uint32_t next, std::vector<std::byte>& out);

// FILE_FULL_EA_INFORMATION (MS-FSCC 2.4.15): one extended attribute, as SET_INFO, QUERY_INFO
// and the ExtA create context carry them, in a list chained by NextEntryOffset. Names are
// 8-bit (OEM) strings of 1 to 255 bytes, NUL-terminated on the wire; values up to 65535 bytes.
struct FullEa {
  uint8_t flags = 0;  // FILE_NEED_EA (0x80)
  std::string name;
  std::vector<std::byte> value;
};
// Decodes a list: every entry must lie inside `in`, its name NUL-terminated and non-empty, and
// each NextEntryOffset be a multiple of 4 that reaches past the entry it follows. An empty
// `in` is an empty list. Errc::kInvalid otherwise (STATUS_EA_LIST_INCONSISTENT).
Result<std::vector<FullEa>> DecodeFullEaList(ByteView in);
// Appends `eas` as a list: each entry padded to 4 bytes but the last.
// REQUIRES: every name of 1 to 255 bytes, every value of at most 65535.
void EncodeFullEaList(const std::vector<FullEa>& eas, std::vector<std::byte>& out);
// The size EncodeFullEaList gives `ea` as a list's last entry (its FILE_EA_INFORMATION share).
size_t FullEaSize(const FullEa& ea);
// FILE_GET_EA_INFORMATION (MS-FSCC 2.4.15.1): the names a QUERY_INFO of FileFullEaInformation
// asks for, in a list checked as DecodeFullEaList checks its list.
Result<std::vector<std::string>> DecodeGetEaList(ByteView in);

// SMB2_QUERY_QUOTA_INFO (MS-SMB2 2.2.37.1), the input of a QUERY_INFO of SMB2_0_INFO_QUOTA:
// the SIDs of a FILE_GET_QUOTA_INFORMATION list (MS-FSCC 2.4.41.1), or a SID to start an
// enumeration at, or neither (every entry). SIDs stay bytes: views into the message, each of
// 8 to 68 bytes (MS-DTYP 2.4.2.2's sizes), their contents unchecked.
struct QueryQuotaInfo {
  bool return_single = false;
  bool restart_scan = false;
  std::vector<ByteView> sid_list;  // when SidListLength is nonzero (the start SID is ignored)
  ByteView start_sid;              // empty: none
};
// Every length and offset must lie inside `in`, and the list's entries be chained as
// FILE_GET_EA_INFORMATION's are (4-byte aligned offsets that reach past their entry).
// Errc::kInvalid otherwise (STATUS_INVALID_PARAMETER).
Result<QueryQuotaInfo> DecodeQueryQuotaInfo(ByteView in);

// FILE_QUOTA_INFORMATION (MS-FSCC 2.4.41): one SID's quota, in bytes.
inline constexpr uint64_t kQuotaNone = ~uint64_t{0};  // a threshold or limit that is not set
struct QuotaInformation {
  std::vector<std::byte> sid;
  uint64_t change_time = 0;  // FILETIME
  uint64_t used = 0;
  uint64_t threshold = kQuotaNone;
  uint64_t limit = kQuotaNone;
};
// The size of `e` as a list's last entry: 40 bytes and its SID. Entries before the last are
// padded to 8 bytes.
size_t QuotaInformationSize(const QuotaInformation& e);
void EncodeQuotaList(const std::vector<QuotaInformation>& entries, std::vector<std::byte>& out);
// A SET_INFO's list, checked as DecodeQueryQuotaInfo checks its list (offsets 8-byte aligned).
Result<std::vector<QuotaInformation>> DecodeQuotaList(ByteView in);

// The error response (§2.2.2): StructureSize 9, no context, and one byte.
void EncodeErrorResponse(std::vector<std::byte>& out);

}  // namespace dittofs::smb::wire
