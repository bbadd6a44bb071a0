// SPDX-License-Identifier: Apache-2.0
#include "smb/wire/messages.h"

#include <cstring>

#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb::wire {
namespace {

constexpr size_t kMaxDialects = 64;
constexpr size_t kMaxNegotiateContexts = 32;
constexpr size_t kMaxCreateContexts = 32;
constexpr size_t kMaxLocks = 64;  // Windows refuses more in one request, too

Status Bad(const char* what) { return Status(Errc::kInvalid, what); }

// A reader of the body, positioned after the header, whose StructureSize is `size`.
Result<LeReader> Body(ByteView m, uint16_t structure_size, const char* what) {
  LeReader r(m);
  r.Seek(kHeaderSize);
  // Fixed part of the body: StructureSize counts it plus one byte of variable buffer when odd.
  if (m.size() < kHeaderSize + (structure_size & ~1u)) return Bad(what);
  if (r.U16() != structure_size) return Bad(what);
  return r;
}

// The `length` bytes at `offset` (from the header's start); empty for length 0.
Result<ByteView> Slice(ByteView m, uint64_t offset, uint64_t length, const char* what) {
  if (length == 0) return ByteView{};
  if (offset < kHeaderSize || offset > m.size() || length > m.size() - offset) return Bad(what);
  return m.subspan(offset, length);
}

FileHandle ReadHandle(LeReader& r) {
  FileHandle h;
  h.persistent = r.U64();
  h.volatile_id = r.U64();
  return h;
}
void WriteHandle(LeWriter& w, const FileHandle& h) {
  w.U64(h.persistent);
  w.U64(h.volatile_id);
}
void WriteTimes(LeWriter& w, const FileTimes& t) {
  w.U64(t.creation);
  w.U64(t.last_access);
  w.U64(t.last_write);
  w.U64(t.change);
}

// SMB path names: '\' separated, from the share root, without a leading '\' (the adapter
// refuses one, as Windows does).
Result<std::string> DecodeName(ByteView utf16) { return Utf16ToUtf8(utf16); }

}  // namespace

Result<Header> DecodeHeader(ByteView m) {
  if (m.size() < kHeaderSize || !IsSmb2(m)) return Bad("not an SMB2 header");
  LeReader r(m);
  r.Skip(4);
  if (r.U16() != kHeaderSize) return Bad("SMB2 header StructureSize");
  Header h;
  h.credit_charge = r.U16();
  h.status = r.U32();
  h.command = r.U16();
  h.credits = r.U16();
  h.flags = r.U32();
  h.next_command = r.U32();
  h.message_id = r.U64();
  if (h.flags & kFlagAsync) {
    h.async_id = r.U64();
  } else {
    r.U32();  // Reserved (the process id of SMB1 days)
    h.tree_id = r.U32();
  }
  h.session_id = r.U64();
  ByteView sig = r.Bytes(16);
  std::memcpy(h.signature.data(), sig.data(), 16);
  return h;
}

void EncodeHeader(const Header& h, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.Bytes(AsBytes("\xFESMB"));
  w.U16(kHeaderSize);
  w.U16(h.credit_charge);
  w.U32(h.status);
  w.U16(h.command);
  w.U16(h.credits);
  w.U32(h.flags);
  w.U32(h.next_command);
  w.U64(h.message_id);
  if (h.flags & kFlagAsync) {
    w.U64(h.async_id);
  } else {
    w.U32(0xFEFF);  // Reserved: Windows sends 0xFEFF
    w.U32(h.tree_id);
  }
  w.U64(h.session_id);
  w.Bytes(h.signature);
}

Result<NegotiateRequest> DecodeNegotiate(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 36, "NEGOTIATE"));
  NegotiateRequest req;
  const uint16_t count = r.U16();
  req.security_mode = r.U16();
  r.U16();
  req.capabilities = r.U32();
  ByteView guid = r.Bytes(16);
  const uint32_t ctx_offset = r.U32();
  const uint16_t ctx_count = r.U16();
  r.U16();
  if (!r.ok() || count == 0 || count > kMaxDialects) return Bad("NEGOTIATE dialect count");
  std::memcpy(req.client_guid.data(), guid.data(), 16);
  for (uint16_t i = 0; i < count; ++i) req.dialects.push_back(r.U16());
  if (!r.ok()) return Bad("NEGOTIATE dialects");
  bool offers_311 = false;
  for (uint16_t d : req.dialects) offers_311 |= d == kSmb311;
  if (!offers_311 || ctx_count == 0) return req;
  if (ctx_count > kMaxNegotiateContexts) return Bad("NEGOTIATE context count");
  size_t at = ctx_offset;
  for (uint16_t i = 0; i < ctx_count; ++i) {
    at = (at + 7) & ~size_t{7};  // each context starts 8-aligned (§2.2.3.1)
    LeReader c(m);
    c.Seek(at);
    NegotiateContext ctx;
    ctx.type = c.U16();
    const uint16_t len = c.U16();
    c.U32();
    ctx.data = c.Bytes(len);
    if (!c.ok() || at < kHeaderSize) return Bad("NEGOTIATE context");
    req.contexts.push_back(ctx);
    at = c.offset();
  }
  return req;
}

void EncodeNegotiateResponse(const NegotiateResponse& r, std::vector<std::byte>& out) {
  LeWriter w(out);
  const size_t base = out.size() - kHeaderSize;
  w.U16(65);
  w.U16(r.security_mode);
  w.U16(r.dialect);
  w.U16(r.dialect == kSmb311 ? static_cast<uint16_t>(r.contexts.size()) : 0);
  w.Bytes(r.server_guid);
  w.U32(r.capabilities);
  w.U32(r.max_transact);
  w.U32(r.max_read);
  w.U32(r.max_write);
  w.U64(r.system_time);
  w.U64(0);  // ServerStartTime
  w.U16(static_cast<uint16_t>(kHeaderSize + 64));
  w.U16(static_cast<uint16_t>(r.security_buffer.size()));
  const size_t ctx_offset_at = w.size();
  w.U32(0);
  w.Bytes(r.security_buffer);
  if (r.dialect == kSmb311 && !r.contexts.empty()) {
    const auto align = [&] { w.Zeros((8 - (out.size() - base) % 8) % 8); };
    align();
    w.PutU32(ctx_offset_at, static_cast<uint32_t>(out.size() - base));
    for (size_t i = 0; i < r.contexts.size(); ++i) {
      if (i > 0) align();
      w.U16(r.contexts[i].first);
      w.U16(static_cast<uint16_t>(r.contexts[i].second.size()));
      w.U32(0);
      w.Bytes(r.contexts[i].second);
    }
  }
}

Result<std::vector<std::string>> DecodeSmb1Negotiate(ByteView m) {
  // SMB1 header (MS-CIFS 2.2.3.1): 32 bytes, Command at 4 must be NEGOTIATE (0x72); then
  // WordCount (0), ByteCount, and the dialects, each 0x02 and a NUL-terminated string.
  if (!IsSmb1(m) || m.size() < 35 || m[4] != std::byte{0x72}) return Bad("SMB1 NEGOTIATE");
  LeReader r(m);
  r.Seek(32);
  if (r.U8() != 0) return Bad("SMB1 NEGOTIATE word count");
  ByteView bytes = r.Bytes(r.U16());
  if (!r.ok()) return Bad("SMB1 NEGOTIATE byte count");
  std::vector<std::string> dialects;
  for (size_t i = 0; i < bytes.size();) {
    if (bytes[i] != std::byte{0x02}) return Bad("SMB1 dialect format");
    size_t end = i + 1;
    while (end < bytes.size() && bytes[end] != std::byte{0}) ++end;
    if (end == bytes.size()) return Bad("SMB1 dialect string");
    dialects.emplace_back(AsChars(bytes.subspan(i + 1, end - i - 1)));
    if (dialects.size() > kMaxDialects) return Bad("SMB1 dialect count");
    i = end + 1;
  }
  return dialects;
}

Result<SessionSetupRequest> DecodeSessionSetup(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 25, "SESSION_SETUP"));
  SessionSetupRequest req;
  req.flags = r.U8();
  req.security_mode = r.U8();
  req.capabilities = r.U32();
  r.U32();  // Channel
  const uint16_t off = r.U16(), len = r.U16();
  req.previous_session_id = r.U64();
  if (!r.ok()) return Bad("SESSION_SETUP");
  ASSIGN_OR_RETURN(req.security_buffer, Slice(m, off, len, "SESSION_SETUP security buffer"));
  return req;
}

void EncodeSessionSetupResponse(uint16_t session_flags, ByteView security_buffer,
                                std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(9);
  w.U16(session_flags);
  w.U16(static_cast<uint16_t>(kHeaderSize + 8));
  w.U16(static_cast<uint16_t>(security_buffer.size()));
  w.Bytes(security_buffer);
  if (security_buffer.empty()) w.U8(0);
}

Result<TreeConnectRequest> DecodeTreeConnect(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 9, "TREE_CONNECT"));
  TreeConnectRequest req;
  req.flags = r.U16();
  const uint16_t off = r.U16(), len = r.U16();
  if (!r.ok()) return Bad("TREE_CONNECT");
  ASSIGN_OR_RETURN(ByteView path, Slice(m, off, len, "TREE_CONNECT path"));
  ASSIGN_OR_RETURN(req.path, Utf16ToUtf8(path));
  return req;
}

void EncodeTreeConnectResponse(uint8_t share_type, uint32_t share_flags, uint32_t capabilities,
                               uint32_t maximal_access, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(16);
  w.U8(share_type);
  w.U8(0);
  w.U32(share_flags);
  w.U32(capabilities);
  w.U32(maximal_access);
}

Status DecodeEmpty(ByteView m) {
  Result<LeReader> r = Body(m, 4, "StructureSize 4");
  return r.status();
}

void EncodeEmptyResponse(std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(4);
  w.U16(0);
}

Result<CreateRequest> DecodeCreate(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 57, "CREATE"));
  CreateRequest req;
  r.U8();  // SecurityFlags
  req.oplock = r.U8();
  req.impersonation = r.U32();
  r.U64();  // SmbCreateFlags
  r.U64();  // Reserved
  req.desired_access = r.U32();
  req.file_attributes = r.U32();
  req.share_access = r.U32();
  req.disposition = r.U32();
  req.options = r.U32();
  const uint16_t name_off = r.U16(), name_len = r.U16();
  const uint32_t ctx_off = r.U32(), ctx_len = r.U32();
  if (!r.ok()) return Bad("CREATE");
  ASSIGN_OR_RETURN(ByteView name, Slice(m, name_off, name_len, "CREATE name"));
  ASSIGN_OR_RETURN(req.name, DecodeName(name));
  ASSIGN_OR_RETURN(ByteView contexts, Slice(m, ctx_off, ctx_len, "CREATE contexts"));
  // Create contexts (§2.2.13.2): a chain linked by Next, each 8-aligned, name and data at
  // offsets from the context's own start.
  size_t at = 0;
  while (!contexts.empty()) {
    if (req.contexts.size() >= kMaxCreateContexts) return Bad("too many create contexts");
    LeReader c(contexts);
    c.Seek(at);
    const uint32_t next = c.U32();
    const uint16_t noff = c.U16(), nlen = c.U16();
    c.U16();
    const uint16_t doff = c.U16();
    const uint32_t dlen = c.U32();
    if (!c.ok()) return Bad("create context header");
    const size_t end = next == 0 ? contexts.size() : at + next;
    if (end > contexts.size() || end <= at || (next != 0 && next % 8 != 0)) {
      return Bad("create context chain");
    }
    ByteView ctx = contexts.subspan(at, end - at);
    // Tags are at least 4 bytes (MS-SMB2 §2.2.13.2; Windows refuses shorter ones).
    if (nlen < 4 || noff + size_t{nlen} > ctx.size()) return Bad("create context name");
    if (dlen != 0 && (doff + size_t{dlen} > ctx.size() || doff < 16)) {
      return Bad("create context data");
    }
    CreateContext cc;
    cc.name = std::string(AsChars(ctx.subspan(noff, nlen)));
    if (dlen != 0) cc.data = ctx.subspan(doff, dlen);
    req.contexts.push_back(std::move(cc));
    if (next == 0) break;
    at = end;
  }
  return req;
}

void EncodeCreateResponse(const CreateResponse& r, std::vector<std::byte>& out) {
  LeWriter w(out);
  const size_t base = out.size() - kHeaderSize;
  w.U16(89);
  w.U8(r.oplock);
  w.U8(r.flags);
  w.U32(r.action);
  WriteTimes(w, r.times);
  w.U64(r.allocation_size);
  w.U64(r.end_of_file);
  w.U32(r.attributes);
  w.U32(0);
  WriteHandle(w, r.handle);
  const size_t ctx_at = w.size();
  w.U32(0);
  w.U32(0);
  if (r.contexts.empty()) {
    w.U8(0);
    return;
  }
  const size_t start = out.size();
  w.PutU32(ctx_at, static_cast<uint32_t>(start - base));
  size_t prev = 0;
  for (size_t i = 0; i < r.contexts.size(); ++i) {
    if (i > 0) {
      w.Zeros((8 - (out.size() - start) % 8) % 8);
      w.PutU32(prev, static_cast<uint32_t>(out.size() - prev));
    }
    prev = out.size();
    const auto& [name, data] = r.contexts[i];
    w.U32(0);   // Next
    w.U16(16);  // NameOffset
    w.U16(static_cast<uint16_t>(name.size()));
    w.U16(0);
    const size_t data_off = (16 + name.size() + 7) & ~size_t{7};
    w.U16(data.empty() ? 0 : static_cast<uint16_t>(data_off));
    w.U32(static_cast<uint32_t>(data.size()));
    w.Bytes(AsBytes(name));
    if (!data.empty()) {
      w.Zeros(data_off - 16 - name.size());
      w.Bytes(data);
    }
  }
  w.PutU32(ctx_at + 4, static_cast<uint32_t>(out.size() - start));
}

Result<CloseRequest> DecodeClose(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 24, "CLOSE"));
  CloseRequest req;
  req.flags = r.U16();
  r.U32();
  req.handle = ReadHandle(r);
  if (!r.ok()) return Bad("CLOSE");
  return req;
}

void EncodeCloseResponse(const CloseResponse& r, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(60);
  w.U16(r.flags);
  w.U32(0);
  WriteTimes(w, r.times);
  w.U64(r.allocation_size);
  w.U64(r.end_of_file);
  w.U32(r.attributes);
}

Result<FlushRequest> DecodeFlush(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 24, "FLUSH"));
  FlushRequest req;
  r.U16();
  r.U32();
  req.handle = ReadHandle(r);
  if (!r.ok()) return Bad("FLUSH");
  return req;
}

Result<ReadRequest> DecodeRead(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 49, "READ"));
  ReadRequest req;
  r.U8();  // Padding
  req.flags = r.U8();
  req.length = r.U32();
  req.offset = r.U64();
  req.handle = ReadHandle(r);
  req.minimum_count = r.U32();
  if (!r.ok()) return Bad("READ");
  return req;
}

void EncodeReadResponseHead(uint32_t data_length, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(17);
  w.U8(static_cast<uint8_t>(kHeaderSize + 16));
  w.U8(0);
  w.U32(data_length);
  w.U32(0);
  w.U32(0);
}

Result<WriteRequest> DecodeWrite(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 49, "WRITE"));
  WriteRequest req;
  const uint16_t data_off = r.U16();
  const uint32_t length = r.U32();
  req.offset = r.U64();
  req.handle = ReadHandle(r);
  r.U32();  // Channel
  r.U32();  // RemainingBytes
  r.U16();
  r.U16();
  req.flags = r.U32();
  if (!r.ok()) return Bad("WRITE");
  ASSIGN_OR_RETURN(req.data, Slice(m, data_off, length, "WRITE data"));
  return req;
}

void EncodeWriteResponse(uint32_t count, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(17);
  w.U16(0);
  w.U32(count);
  w.U32(0);
  w.U16(0);
  w.U16(0);
}

Result<LockRequest> DecodeLock(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 48, "LOCK"));
  LockRequest req;
  const uint16_t count = r.U16();
  req.lock_sequence = r.U32();
  req.handle = ReadHandle(r);
  if (!r.ok() || count == 0 || count > kMaxLocks) return Bad("LOCK count");
  for (uint16_t i = 0; i < count; ++i) {
    LockElement e;
    e.offset = r.U64();
    e.length = r.U64();
    e.flags = r.U32();
    r.U32();
    req.locks.push_back(e);
  }
  if (!r.ok()) return Bad("LOCK elements");
  return req;
}

Result<IoctlRequest> DecodeIoctl(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 57, "IOCTL"));
  IoctlRequest req;
  r.U16();
  req.ctl_code = r.U32();
  req.handle = ReadHandle(r);
  const uint32_t in_off = r.U32(), in_count = r.U32();
  req.max_input_response = r.U32();
  r.U32();  // OutputOffset
  r.U32();  // OutputCount
  req.max_output_response = r.U32();
  req.flags = r.U32();
  if (!r.ok()) return Bad("IOCTL");
  ASSIGN_OR_RETURN(req.input, Slice(m, in_off, in_count, "IOCTL input"));
  return req;
}

void EncodeIoctlResponse(uint32_t ctl_code, const FileHandle& handle, ByteView output,
                         std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(49);
  w.U16(0);
  w.U32(ctl_code);
  WriteHandle(w, handle);
  const uint32_t off = static_cast<uint32_t>(kHeaderSize + 48);
  w.U32(off);  // InputOffset
  w.U32(0);
  w.U32(off);  // OutputOffset
  w.U32(static_cast<uint32_t>(output.size()));
  w.U32(0);
  w.U32(0);
  w.Bytes(output);
}

void EncodeSymlinkReparse(const SymlinkReparse& link, std::vector<std::byte>& out) {
  const std::vector<std::byte> substitute = ToUtf16(link.substitute_name);
  const std::vector<std::byte> print = ToUtf16(link.print_name);
  LeWriter w(out);
  w.U32(kIoReparseTagSymlink);
  w.U16(static_cast<uint16_t>(12 + substitute.size() + print.size()));  // ReparseDataLength
  w.U16(0);                                                             // Reserved
  w.U16(0);                                                             // SubstituteNameOffset
  w.U16(static_cast<uint16_t>(substitute.size()));
  w.U16(static_cast<uint16_t>(substitute.size()));  // PrintNameOffset
  w.U16(static_cast<uint16_t>(print.size()));
  w.U32(link.relative ? 1 : 0);  // Flags
  w.Bytes(substitute);
  w.Bytes(print);
}

Result<uint32_t> DecodeReparseTag(ByteView in) {
  LeReader r(in);
  const uint32_t tag = r.U32();
  const uint16_t length = r.U16();
  r.U16();
  if (!r.ok() || size_t{8} + length != in.size()) return Bad("reparse data buffer");
  return tag;
}

namespace {

// Walks a list of entries chained by a 4-byte NextEntryOffset at each entry's start (MS-FSCC
// 2.4.15 and 2.4.15.1 for EAs, 2.4.41 and 2.4.41.1 for quotas), calling `entry` with each
// entry's bytes (to the next entry, or to the end of `in` for the last). Each offset must be
// a multiple of `align` and move forward within `in` (a next entry must be there: an offset
// to the list's end or past it is refused), so the walk ends after at most in.size() / align
// entries. `what` names the entries in errors.
template <typename F>
Status WalkChained(ByteView in, size_t align, std::string_view what, F&& entry) {
  size_t at = 0;
  while (at < in.size()) {
    LeReader r(in.subspan(at));
    const uint32_t next = r.U32();
    if (!r.ok()) return Status(Errc::kInvalid, std::string(what) + " entry header");
    if (next % align != 0) {
      return Status(Errc::kInvalid, std::string(what) + " entry offset not aligned");
    }
    if (next != 0 && next >= in.size() - at) {
      return Status(Errc::kInvalid, std::string(what) + " entry offset past the list");
    }
    RETURN_IF_ERROR(entry(in.subspan(at, next == 0 ? in.size() - at : next)));
    if (next == 0) return Status::Ok();
    at += next;
  }
  return Status::Ok();
}

template <typename F>
Status WalkEaEntries(ByteView in, F&& entry) {
  return WalkChained(in, 4, "EA", entry);
}

}  // namespace

Result<std::vector<FullEa>> DecodeFullEaList(ByteView in) {
  std::vector<FullEa> eas;
  RETURN_IF_ERROR(WalkEaEntries(in, [&](ByteView e) -> Status {
    LeReader r(e);
    r.U32();
    FullEa ea;
    ea.flags = r.U8();
    const uint8_t name_length = r.U8();
    const uint16_t value_length = r.U16();
    ByteView name = r.Bytes(name_length);
    const uint8_t nul = r.U8();
    ByteView value = r.Bytes(value_length);
    if (!r.ok() || name_length == 0 || nul != 0) return Bad("EA entry");
    ea.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
    if (ea.name.find('\0') != std::string::npos) return Bad("EA name with NUL");
    ea.value.assign(value.begin(), value.end());
    eas.push_back(std::move(ea));
    return Status::Ok();
  }));
  return eas;
}

size_t FullEaSize(const FullEa& ea) { return 8 + ea.name.size() + 1 + ea.value.size(); }

void EncodeFullEaList(const std::vector<FullEa>& eas, std::vector<std::byte>& out) {
  for (size_t i = 0; i < eas.size(); ++i) {
    const FullEa& ea = eas[i];
    const size_t size = FullEaSize(ea);
    const size_t padded = (size + 3) & ~size_t{3};
    LeWriter w(out);
    w.U32(i + 1 == eas.size() ? 0 : static_cast<uint32_t>(padded));
    w.U8(ea.flags);
    w.U8(static_cast<uint8_t>(ea.name.size()));
    w.U16(static_cast<uint16_t>(ea.value.size()));
    w.Bytes(ByteView(reinterpret_cast<const std::byte*>(ea.name.data()), ea.name.size()));
    w.U8(0);
    w.Bytes(ea.value);
    if (i + 1 != eas.size()) w.Zeros(padded - size);
  }
}

Result<std::vector<std::string>> DecodeGetEaList(ByteView in) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(WalkEaEntries(in, [&](ByteView e) -> Status {
    LeReader r(e);
    r.U32();
    const uint8_t name_length = r.U8();
    ByteView name = r.Bytes(name_length);
    const uint8_t nul = r.U8();
    if (!r.ok() || name_length == 0 || nul != 0) return Bad("EA name entry");
    std::string n(reinterpret_cast<const char*>(name.data()), name.size());
    if (n.find('\0') != std::string::npos) return Bad("EA name with NUL");
    names.push_back(std::move(n));
    return Status::Ok();
  }));
  return names;
}

namespace {

constexpr size_t kMinSidSize = 8, kMaxSidSize = 68;

bool SidSizeOk(size_t n) { return n >= kMinSidSize && n <= kMaxSidSize; }

}  // namespace

Result<QueryQuotaInfo> DecodeQueryQuotaInfo(ByteView in) {
  LeReader r(in);
  QueryQuotaInfo q;
  q.return_single = r.U8() != 0;
  q.restart_scan = r.U8() != 0;
  r.U16();
  const uint32_t list_length = r.U32(), start_length = r.U32(), start_offset = r.U32();
  if (!r.ok()) return Bad("SMB2_QUERY_QUOTA_INFO");
  const ByteView buffer = in.subspan(16);
  if (list_length != 0) {
    if (list_length > buffer.size()) return Bad("quota SID list past the buffer");
    RETURN_IF_ERROR(WalkChained(buffer.first(list_length), 4, "quota SID", [&](ByteView e) {
      LeReader er(e);
      er.U32();
      const uint32_t sid_length = er.U32();
      ByteView sid = er.Bytes(sid_length);
      if (!er.ok() || !SidSizeOk(sid_length)) return Bad("quota SID entry");
      q.sid_list.push_back(sid);
      return Status::Ok();
    }));
    return q;
  }
  if (start_length != 0) {
    if (start_offset > buffer.size() || start_length > buffer.size() - start_offset ||
        !SidSizeOk(start_length)) {
      return Bad("quota start SID");
    }
    q.start_sid = buffer.subspan(start_offset, start_length);
  }
  return q;
}

size_t QuotaInformationSize(const QuotaInformation& e) { return 40 + e.sid.size(); }

void EncodeQuotaList(const std::vector<QuotaInformation>& entries, std::vector<std::byte>& out) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const QuotaInformation& e = entries[i];
    const size_t size = QuotaInformationSize(e);
    const size_t padded = (size + 7) & ~size_t{7};
    LeWriter w(out);
    w.U32(i + 1 < entries.size() ? static_cast<uint32_t>(padded) : 0);
    w.U32(static_cast<uint32_t>(e.sid.size()));
    w.U64(e.change_time);
    w.U64(e.used);
    w.U64(e.threshold);
    w.U64(e.limit);
    out.insert(out.end(), e.sid.begin(), e.sid.end());
    if (i + 1 < entries.size()) w.Zeros(padded - size);
  }
}

Result<std::vector<QuotaInformation>> DecodeQuotaList(ByteView in) {
  std::vector<QuotaInformation> entries;
  if (in.empty()) return Bad("empty quota list");
  RETURN_IF_ERROR(WalkChained(in, 8, "quota", [&](ByteView e) {
    LeReader r(e);
    r.U32();
    QuotaInformation q;
    const uint32_t sid_length = r.U32();
    q.change_time = r.U64();
    q.used = r.U64();
    q.threshold = r.U64();
    q.limit = r.U64();
    ByteView sid = r.Bytes(sid_length);
    if (!r.ok() || !SidSizeOk(sid_length)) return Bad("quota entry");
    q.sid.assign(sid.begin(), sid.end());
    entries.push_back(std::move(q));
    return Status::Ok();
  }));
  return entries;
}

Result<SymlinkReparse> DecodeSymlinkReparse(ByteView in) {
  ASSIGN_OR_RETURN(uint32_t tag, DecodeReparseTag(in));
  if (tag != kIoReparseTagSymlink) return Bad("not a symbolic link's reparse data");
  LeReader r(in);
  r.Skip(8);
  const uint16_t sub_off = r.U16(), sub_len = r.U16(), print_off = r.U16(), print_len = r.U16();
  const uint32_t flags = r.U32();
  if (!r.ok()) return Bad("symbolic link reparse data");
  const ByteView path = in.subspan(20);
  if (size_t{sub_off} + sub_len > path.size() || size_t{print_off} + print_len > path.size() ||
      sub_len % 2 != 0 || print_len % 2 != 0) {
    return Bad("symbolic link names outside the path buffer");
  }
  SymlinkReparse link;
  ASSIGN_OR_RETURN(link.substitute_name, Utf16ToUtf8(path.subspan(sub_off, sub_len)));
  ASSIGN_OR_RETURN(link.print_name, Utf16ToUtf8(path.subspan(print_off, print_len)));
  link.relative = (flags & 1) != 0;
  return link;
}

void EncodeSymlinkErrorResponse(const SymlinkReparse& link, uint16_t unparsed_path_length,
                                bool contexts, std::vector<std::byte>& out) {
  std::vector<std::byte> data;
  EncodeSymlinkReparse(link, data);
  // The reparse buffer's Reserved field is the error response's UnparsedPathLength.
  LeWriter(data).PutU16(6, unparsed_path_length);
  const auto symlink_length = static_cast<uint32_t>(4 + data.size());  // excludes SymLinkLength
  const uint32_t error_data = 4 + symlink_length;
  LeWriter w(out);
  w.U16(9);
  w.U8(contexts ? 1 : 0);  // ErrorContextCount
  w.U8(0);
  w.U32(contexts ? 8 + error_data : error_data);  // ByteCount
  if (contexts) {
    w.U32(error_data);  // ErrorDataLength
    w.U32(0);           // ErrorId: SMB2_ERROR_ID_DEFAULT
  }
  w.U32(symlink_length);
  w.U32(0x4C4D5953);  // SymLinkErrorTag: "SYML"
  w.Bytes(data);
}

Result<QueryDirectoryRequest> DecodeQueryDirectory(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 33, "QUERY_DIRECTORY"));
  QueryDirectoryRequest req;
  req.info_class = r.U8();
  req.flags = r.U8();
  req.file_index = r.U32();
  req.handle = ReadHandle(r);
  const uint16_t off = r.U16(), len = r.U16();
  req.output_length = r.U32();
  if (!r.ok()) return Bad("QUERY_DIRECTORY");
  ASSIGN_OR_RETURN(ByteView pattern, Slice(m, off, len, "QUERY_DIRECTORY pattern"));
  ASSIGN_OR_RETURN(req.pattern, Utf16ToUtf8(pattern));
  return req;
}

void EncodeOutputBufferResponse(ByteView output, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(9);
  w.U16(static_cast<uint16_t>(kHeaderSize + 8));
  w.U32(static_cast<uint32_t>(output.size()));
  w.Bytes(output);
  if (output.empty()) w.U8(0);
}

Result<ChangeNotifyRequest> DecodeChangeNotify(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 32, "CHANGE_NOTIFY"));
  ChangeNotifyRequest req;
  req.flags = r.U16();
  req.output_length = r.U32();
  req.handle = ReadHandle(r);
  req.completion_filter = r.U32();
  r.U32();
  if (!r.ok()) return Bad("CHANGE_NOTIFY");
  return req;
}

Result<QueryInfoRequest> DecodeQueryInfo(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 41, "QUERY_INFO"));
  QueryInfoRequest req;
  req.info_type = r.U8();
  req.info_class = r.U8();
  req.output_length = r.U32();
  const uint16_t in_off = r.U16();
  r.U16();
  const uint32_t in_len = r.U32();
  req.additional_information = r.U32();
  req.flags = r.U32();
  req.handle = ReadHandle(r);
  if (!r.ok()) return Bad("QUERY_INFO");
  ASSIGN_OR_RETURN(req.input, Slice(m, in_off, in_len, "QUERY_INFO input"));
  return req;
}

Result<SetInfoRequest> DecodeSetInfo(ByteView m) {
  ASSIGN_OR_RETURN(LeReader r, Body(m, 33, "SET_INFO"));
  SetInfoRequest req;
  req.info_type = r.U8();
  req.info_class = r.U8();
  const uint32_t len = r.U32();
  const uint16_t off = r.U16();
  r.U16();
  req.additional_information = r.U32();
  req.handle = ReadHandle(r);
  if (!r.ok()) return Bad("SET_INFO");
  ASSIGN_OR_RETURN(req.buffer, Slice(m, off, len, "SET_INFO buffer"));
  return req;
}

void EncodeSetInfoResponse(std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(2);
}

Result<BreakAck> DecodeBreakAck(ByteView m) {
  if (m.size() < kHeaderSize + 2) return Bad("OPLOCK_BREAK");
  const uint16_t size = LoadLe16(m.data() + kHeaderSize);
  BreakAck ack;
  if (size == 24) {
    ASSIGN_OR_RETURN(LeReader r, Body(m, 24, "OPLOCK_BREAK"));
    OplockBreakAck o;
    o.oplock = r.U8();
    r.U8();
    r.U32();
    o.handle = ReadHandle(r);
    if (!r.ok()) return Bad("OPLOCK_BREAK");
    ack.oplock = o;
  } else {
    ASSIGN_OR_RETURN(LeReader r, Body(m, 36, "LEASE_BREAK ack"));
    LeaseBreakAck l;
    r.U16();
    r.U32();
    ByteView key = r.Bytes(16);
    l.lease_state = r.U32();
    r.U64();
    if (!r.ok()) return Bad("LEASE_BREAK ack");
    std::memcpy(l.lease_key.data(), key.data(), 16);
    ack.lease = l;
  }
  return ack;
}

void EncodeOplockBreak(uint8_t oplock, const FileHandle& handle, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(24);
  w.U8(oplock);
  w.U8(0);
  w.U32(0);
  WriteHandle(w, handle);
}

void EncodeLeaseBreakAckResponse(const LeaseBreakAck& ack, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(36);
  w.U16(0);
  w.U32(0);
  w.Bytes(ack.lease_key);
  w.U32(ack.lease_state);
  w.U64(0);
}

void EncodeLeaseBreakNotification(uint16_t new_epoch, bool ack_required,
                                  const std::array<std::byte, 16>& key, uint32_t current,
                                  uint32_t next, std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(44);
  w.U16(new_epoch);
  w.U32(ack_required ? 1 : 0);
  w.Bytes(key);
  w.U32(current);
  w.U32(next);
  w.U32(0);  // BreakReason
  w.U32(0);  // AccessMaskHint
  w.U32(0);  // ShareMaskHint
}

void EncodeErrorResponse(std::vector<std::byte>& out) {
  LeWriter w(out);
  w.U16(9);
  w.U8(0);
  w.U8(0);
  w.U32(0);
  w.U8(0);
}

}  // namespace dittofs::smb::wire
