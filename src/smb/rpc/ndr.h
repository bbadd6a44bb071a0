// SPDX-License-Identifier: Apache-2.0
#pragma once

// NDR20 (C706 chapter 14), little-endian, as the stubs of our named-pipe interfaces need it:
// primitives aligned to their size from the stub's start, unique pointers' referent ids,
// conformant varying wchar_t strings, RPC_UNICODE_STRING (MS-DTYP 2.3.10) and RPC_SID
// (MS-DTYP 2.4.2.3). Values; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "smb/security/sid.h"

namespace dittofs::smb::rpc {

// Writes a stub. Where a structure holds pointers, the caller writes the structure's fields
// first and the referents after, in the order NDR defers them.
class NdrWriter {
 public:
  std::vector<std::byte> out;

  void Align(size_t n) { out.resize((out.size() + n - 1) / n * n, std::byte{0}); }
  void U8(uint8_t v) { out.push_back(std::byte{v}); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void Bytes(ByteView b) { out.insert(out.end(), b.begin(), b.end()); }
  // A unique or full pointer's referent id (0: null); ids are distinct within one stub.
  void Pointer(bool present) { U32(present ? next_ref_ += 4 : 0); }
  // A conformant varying wchar_t string with its NUL (a [string] wchar_t* referent).
  void String(std::string_view utf8);
  // RPC_UNICODE_STRING's fields: Length and MaximumLength in bytes (no NUL), and a non-null
  // Buffer pointer; its referent is written by UnicodeStringBuffer.
  void UnicodeString(std::string_view utf8);
  void UnicodeStringBuffer(std::string_view utf8);
  // An RPC_SID referent: its conformance (the sub-authority count), then the SID.
  void Sid(const security::Sid& sid);

 private:
  uint32_t next_ref_ = 0x00020000;
};

// Reads a stub. A read past the end, or a value that cannot be what the IDL says, sets the
// reader's error and returns zeros, so a decoder reads a whole call and checks ok() once.
class NdrReader {
 public:
  explicit NdrReader(ByteView stub) : data_(stub) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  void Fail() { ok_ = false; }

  void Align(size_t n);
  uint8_t U8();
  uint16_t U16();
  uint32_t U32();
  ByteView Bytes(size_t n);
  // A 20-byte context handle (C706 appendix N: attributes and a UUID), as is.
  ByteView ContextHandle() { return Bytes(20); }
  // The referent of a [string] wchar_t*: conformance, offset 0, length <= conformance and
  // <= `max_chars`, the characters. Trailing NULs are dropped.
  std::string String(uint32_t max_chars = 4096);
  // A [unique, string] wchar_t*: nullopt for a null pointer.
  std::optional<std::string> UniqueString(uint32_t max_chars = 4096);
  // RPC_UNICODE_STRING's fields; `*present` (may be null) says whether Buffer is not null.
  // Returns the length in characters the referent must have.
  uint32_t UnicodeString(bool* present);
  // Its referent, of `length` characters (from UnicodeString), at most `max_chars`.
  std::string UnicodeStringBuffer(uint32_t length, uint32_t max_chars = 4096);
  // An RPC_SID referent.
  security::Sid Sid();
  // A conformant array's conformance, when it must equal `count`.
  void Conformance(uint32_t count) {
    if (U32() != count) Fail();
  }

 private:
  std::string Utf16(uint32_t chars);

  ByteView data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace dittofs::smb::rpc
