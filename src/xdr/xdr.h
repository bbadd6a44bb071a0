// SPDX-License-Identifier: Apache-2.0
#pragma once

// RFC 4506 External Data Representation: the primitive codecs.
//
// XdrDecoder reads from a borrowed byte view. Every read is bounds-checked; the first failure
// makes the decoder sticky-bad and every later read a no-op returning zero values, so a codec
// decodes a whole structure and checks ok() once. Variable-length opaques and strings are
// returned as views into the input (no copy); the caller keeps the input alive.
//
// XdrEncoder builds a reply as a list of segments: bytes it owns, plus borrowed payload views
// (e.g. the data of a READ) that are sent without being copied.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace dittofs::xdr {

class XdrDecoder {
 public:
  explicit XdrDecoder(ByteView input) : data_(input) {}

  bool ok() const { return ok_; }
  // Marks the decode failed (e.g. a value out of its enum's range).
  void Fail() { ok_ = false; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  // The input not yet read, as a view.
  ByteView rest() const { return ok_ ? data_.subspan(pos_) : ByteView(); }

  uint32_t U32();
  int32_t I32() { return static_cast<int32_t>(U32()); }
  uint64_t U64();
  int64_t I64() { return static_cast<int64_t>(U64()); }
  bool Bool();
  // Reads a fixed-length opaque of `n` bytes (plus padding) as a view.
  ByteView FixedOpaque(size_t n);
  // Reads a variable-length opaque of at most `max` bytes as a view.
  ByteView VarOpaque(size_t max);
  std::string_view String(size_t max) { return AsChars(VarOpaque(max)); }
  // Reads an array length and fails when it exceeds `max` or could not fit in the input
  // assuming each element takes at least `min_element_bytes`.
  uint32_t ArrayLength(uint32_t max, size_t min_element_bytes = 4);

 private:
  const std::byte* Take(size_t n);

  ByteView data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

class XdrEncoder {
 public:
  XdrEncoder() = default;
  XdrEncoder(XdrEncoder&& other) noexcept { *this = std::move(other); }
  XdrEncoder& operator=(XdrEncoder&& other) noexcept;
  XdrEncoder(const XdrEncoder&) = delete;
  XdrEncoder& operator=(const XdrEncoder&) = delete;

  void U32(uint32_t v) {
    if (end_ - cur_ < 4) Grow(4);
    StoreBe32(cur_, v);
    cur_ += 4;
    size_ += 4;
  }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void U64(uint64_t v) {
    if (end_ - cur_ < 8) Grow(8);
    StoreBe64(cur_, v);
    cur_ += 8;
    size_ += 8;
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Bool(bool v) { U32(v ? 1 : 0); }
  void FixedOpaque(ByteView bytes);
  void VarOpaque(ByteView bytes);
  void String(std::string_view s) { VarOpaque(AsBytes(s)); }
  // Appends a length-prefixed opaque whose bytes are referenced, not copied.
  // REQUIRES: `bytes` stays valid until the encoded output has been sent.
  void VarOpaqueView(ByteView bytes);
  // Appends one length-prefixed opaque made of `pieces` sent back to back, referenced, not
  // copied. REQUIRES: the pieces stay valid until the output has been sent (see Retain).
  void VarOpaquePieces(std::span<const ByteView> pieces);
  // Keeps `hold` alive as long as this encoder (shared with whoever else holds the memory).
  void Retain(std::shared_ptr<const void> hold) { holds_.push_back(std::move(hold)); }
  // Keeps `buffer` alive as long as this encoder (or the encoder it is appended to), so views
  // into it passed to VarOpaqueView stay valid until the reply is sent.
  void Retain(Buffer buffer) { retained_.push_back(std::move(buffer)); }
  // Appends another encoder's output (moving its owned segments).
  void Append(XdrEncoder&& other);

  // Total encoded bytes.
  size_t size() const { return size_; }
  // Discards everything encoded so far.
  void Clear();
  // Reserves 4 bytes for a value written later with Patch32; returns its offset.
  size_t Reserve32();
  void Patch32(size_t offset, uint32_t v);

  // The encoded output as an ordered list of views (valid while this encoder lives).
  std::vector<ByteView> Segments() const;
  // The encoded output, flattened into one string (tests and small messages).
  std::string ToString() const;

 private:
  // Owned bytes live in chunks that never move once allocated (so nothing is copied as the
  // output grows); the last owned chunk is "open": bytes are appended at cur_, up to end_.
  struct Segment {
    std::unique_ptr<std::byte[]> owned;  // null for a borrowed view
    const std::byte* data = nullptr;
    size_t size = 0;  // of the open chunk: see SizeOf
  };
  // Starts a new open chunk with room for at least `n` bytes.
  void Grow(size_t n);
  // Seals the open chunk, if any (records its size; later bytes go to a new segment).
  void Seal();
  size_t SizeOf(const Segment& s) const {
    return cur_ != nullptr && &s == &segments_.back() ? size_t(cur_ - s.data) : s.size;
  }
  void Pad(size_t n);
  // Appends a copy of `bytes`, unpadded.
  void CopyIn(ByteView bytes);
  // Appends `bytes` as a borrowed segment, unpadded.
  void Borrow(ByteView bytes);

  std::vector<Segment> segments_;
  std::byte* cur_ = nullptr;  // non-null exactly when the last segment is an open chunk
  std::byte* end_ = nullptr;
  size_t next_chunk_ = 256;  // chunks double, up to 64 KiB, so a big reply takes few of them
  std::vector<Buffer> retained_;
  std::vector<std::shared_ptr<const void>> holds_;
  size_t size_ = 0;
};

// Reads an enum whose valid values are exactly [lo, hi]; anything else fails the decode (and
// reads as `lo`).
template <typename E>
E DecodeRange(XdrDecoder& d, uint32_t lo, uint32_t hi) {
  uint32_t v = d.U32();
  if (v < lo || v > hi) {
    d.Fail();
    return static_cast<E>(lo);
  }
  return static_cast<E>(v);
}

template <typename E>
void EncodeEnum(XdrEncoder& e, E v) {
  e.U32(static_cast<uint32_t>(v));
}

}  // namespace dittofs::xdr
