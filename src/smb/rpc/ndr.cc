// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/ndr.h"

#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb::rpc {

void NdrWriter::U16(uint16_t v) {
  Align(2);
  wire::LeWriter(out).U16(v);
}

void NdrWriter::U32(uint32_t v) {
  Align(4);
  wire::LeWriter(out).U32(v);
}

void NdrWriter::String(std::string_view utf8) {
  const std::vector<std::byte> utf16 = wire::ToUtf16(utf8);
  const uint32_t count = static_cast<uint32_t>(utf16.size() / 2 + 1);
  U32(count);
  U32(0);
  U32(count);
  Bytes(utf16);
  U16(0);
}

void NdrWriter::UnicodeString(std::string_view utf8) {
  // RPC_UNICODE_STRING holds a pointer: the structure is aligned to 4 (C706 14.3.7), also
  // after a 16-bit member such as a SID_NAME_USE.
  Align(4);
  const size_t size = wire::Utf16Size(utf8);
  U16(static_cast<uint16_t>(size));
  U16(static_cast<uint16_t>(size));
  Pointer(true);
}

void NdrWriter::UnicodeStringBuffer(std::string_view utf8) {
  const std::vector<std::byte> utf16 = wire::ToUtf16(utf8);
  const uint32_t count = static_cast<uint32_t>(utf16.size() / 2);
  U32(count);
  U32(0);
  U32(count);
  Bytes(utf16);
}

void NdrWriter::Sid(const security::Sid& sid) {
  U32(static_cast<uint32_t>(sid.sub.size()));
  security::AppendSid(sid, out);
}

void NdrReader::Align(size_t n) {
  const size_t to = (pos_ + n - 1) / n * n;
  if (!ok_ || to > data_.size()) {
    ok_ = false;
    return;
  }
  pos_ = to;
}

ByteView NdrReader::Bytes(size_t n) {
  if (!ok_ || n > data_.size() - pos_) {
    ok_ = false;
    return {};
  }
  ByteView out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

uint8_t NdrReader::U8() {
  ByteView b = Bytes(1);
  return b.empty() ? 0 : static_cast<uint8_t>(b[0]);
}

uint16_t NdrReader::U16() {
  Align(2);
  ByteView b = Bytes(2);
  return b.empty() ? 0 : wire::LoadLe16(b.data());
}

uint32_t NdrReader::U32() {
  Align(4);
  ByteView b = Bytes(4);
  return b.empty() ? 0 : wire::LoadLe32(b.data());
}

std::string NdrReader::Utf16(uint32_t chars) {
  ByteView bytes = Bytes(size_t{chars} * 2);
  if (!ok_) return {};
  Result<std::string> s = wire::Utf16ToUtf8(bytes);
  if (!s.ok()) {
    ok_ = false;
    return {};
  }
  return *std::move(s);
}

std::string NdrReader::String(uint32_t max_chars) {
  const uint32_t max = U32();
  const uint32_t offset = U32();
  const uint32_t actual = U32();
  if (!ok_ || offset != 0 || actual > max || actual > max_chars) {
    ok_ = false;
    return {};
  }
  std::string s = Utf16(actual);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::optional<std::string> NdrReader::UniqueString(uint32_t max_chars) {
  if (U32() == 0) return std::nullopt;
  return String(max_chars);
}

uint32_t NdrReader::UnicodeString(bool* present) {
  Align(4);  // a structure with a pointer
  const uint16_t length = U16();
  const uint16_t maximum = U16();
  const uint32_t buffer = U32();
  if (length % 2 != 0 || length > maximum) ok_ = false;
  if (present != nullptr) *present = buffer != 0;
  return length / 2;
}

std::string NdrReader::UnicodeStringBuffer(uint32_t length, uint32_t max_chars) {
  const uint32_t max = U32();
  const uint32_t offset = U32();
  const uint32_t actual = U32();
  if (!ok_ || offset != 0 || actual != length || actual > max || actual > max_chars) {
    ok_ = false;
    return {};
  }
  return Utf16(actual);
}

security::Sid NdrReader::Sid() {
  const uint32_t count = U32();
  if (!ok_ || count > security::kMaxSubAuthorities || remaining() < 8 + size_t{4} * count) {
    ok_ = false;
    return {};
  }
  size_t size = 0;
  std::optional<security::Sid> sid = security::ReadSid(data_, pos_, &size);
  if (!sid || sid->sub.size() != count) {
    ok_ = false;
    return {};
  }
  pos_ += size;
  return *std::move(sid);
}

}  // namespace dittofs::smb::rpc
