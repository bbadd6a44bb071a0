// SPDX-License-Identifier: Apache-2.0
#include "xdr/xdr.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/check.h"

namespace dittofs::xdr {
namespace {
size_t Padded(size_t n) { return (n + 3) & ~size_t{3}; }
}  // namespace

const std::byte* XdrDecoder::Take(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return nullptr;
  }
  const std::byte* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

uint32_t XdrDecoder::U32() {
  const std::byte* p = Take(4);
  return p ? LoadBe32(p) : 0;
}

uint64_t XdrDecoder::U64() {
  const std::byte* p = Take(8);
  return p ? LoadBe64(p) : 0;
}

bool XdrDecoder::Bool() {
  uint32_t v = U32();
  if (v > 1) ok_ = false;  // RFC 4506 §4.4: booleans are 0 or 1
  return v == 1;
}

ByteView XdrDecoder::FixedOpaque(size_t n) {
  if (n > data_.size()) {  // also guards Padded() against overflow
    ok_ = false;
    return {};
  }
  const std::byte* p = Take(Padded(n));
  if (!p) return {};
  return {p, n};
}

ByteView XdrDecoder::VarOpaque(size_t max) {
  uint32_t n = U32();
  if (!ok_) return {};
  if (n > max) {
    ok_ = false;
    return {};
  }
  return FixedOpaque(n);
}

uint32_t XdrDecoder::ArrayLength(uint32_t max, size_t min_element_bytes) {
  uint32_t n = U32();
  if (!ok_) return 0;
  if (n > max || (min_element_bytes > 0 && n > remaining() / min_element_bytes)) {
    ok_ = false;
    return 0;
  }
  return n;
}

XdrEncoder& XdrEncoder::operator=(XdrEncoder&& other) noexcept {
  if (this == &other) return *this;
  segments_ = std::move(other.segments_);
  cur_ = std::exchange(other.cur_, nullptr);
  end_ = std::exchange(other.end_, nullptr);
  next_chunk_ = std::exchange(other.next_chunk_, 256);
  retained_ = std::move(other.retained_);
  holds_ = std::move(other.holds_);
  size_ = std::exchange(other.size_, 0);
  other.segments_.clear();
  other.retained_.clear();
  other.holds_.clear();
  return *this;
}

void XdrEncoder::Seal() {
  if (cur_ == nullptr) return;
  Segment& open = segments_.back();
  open.size = size_t(cur_ - open.data);
  if (open.size == 0) segments_.pop_back();
  cur_ = end_ = nullptr;
}

void XdrEncoder::Grow(size_t n) {
  Seal();
  size_t capacity = std::max(n, next_chunk_);
  next_chunk_ = std::min<size_t>(next_chunk_ * 2, 64 * 1024);
  Segment s;
  s.owned = std::make_unique_for_overwrite<std::byte[]>(capacity);
  s.data = s.owned.get();
  cur_ = s.owned.get();
  end_ = cur_ + capacity;
  segments_.push_back(std::move(s));
}

void XdrEncoder::Pad(size_t n) {
  size_t pad = Padded(n) - n;
  if (pad == 0) return;
  if (size_t(end_ - cur_) < pad) Grow(pad);
  std::memset(cur_, 0, pad);
  cur_ += pad;
  size_ += pad;
}

void XdrEncoder::CopyIn(ByteView bytes) {
  size_t n = bytes.size();
  if (size_t(end_ - cur_) < n) Grow(n);
  if (n > 0) std::memcpy(cur_, bytes.data(), n);
  cur_ += n;
  size_ += n;
}

void XdrEncoder::FixedOpaque(ByteView bytes) {
  CopyIn(bytes);
  Pad(bytes.size());
}

void XdrEncoder::VarOpaque(ByteView bytes) {
  U32(static_cast<uint32_t>(bytes.size()));
  FixedOpaque(bytes);
}

void XdrEncoder::VarOpaqueView(ByteView bytes) {
  U32(static_cast<uint32_t>(bytes.size()));
  if (bytes.size() < 512) {  // small payloads are cheaper to copy than to send as a segment
    FixedOpaque(bytes);
    return;
  }
  Borrow(bytes);
  Pad(bytes.size());
}

void XdrEncoder::Borrow(ByteView bytes) {
  Seal();
  Segment s;
  s.data = bytes.data();
  s.size = bytes.size();
  segments_.push_back(std::move(s));
  size_ += bytes.size();
}

void XdrEncoder::VarOpaquePieces(std::span<const ByteView> pieces) {
  size_t total = 0;
  for (ByteView p : pieces) total += p.size();
  U32(static_cast<uint32_t>(total));
  for (ByteView p : pieces) {
    if (p.size() < 512) {  // small pieces are cheaper to copy than to send as a segment
      CopyIn(p);
    } else {
      Borrow(p);
    }
  }
  Pad(total);
}

void XdrEncoder::Append(XdrEncoder&& other) {
  if (&other == this) return;
  Seal();
  other.Seal();
  for (Segment& s : other.segments_) {
    if (s.size == 0) continue;
    segments_.push_back(std::move(s));
  }
  for (Buffer& b : other.retained_) retained_.push_back(std::move(b));
  for (auto& h : other.holds_) holds_.push_back(std::move(h));
  size_ += other.size_;
  other.Clear();
}

void XdrEncoder::Clear() {
  segments_.clear();
  cur_ = end_ = nullptr;
  next_chunk_ = 256;
  retained_.clear();
  holds_.clear();
  size_ = 0;
}

size_t XdrEncoder::Reserve32() {
  size_t offset = size_;
  U32(0);
  return offset;
}

void XdrEncoder::Patch32(size_t offset, uint32_t v) {
  size_t base = 0;
  for (Segment& s : segments_) {
    size_t len = SizeOf(s);
    if (offset < base + len) {
      CHECK(s.owned != nullptr && offset + 4 <= base + len) << "Patch32 of a borrowed segment";
      StoreBe32(s.owned.get() + (offset - base), v);
      return;
    }
    base += len;
  }
  CHECK(false) << "Patch32 past the end: offset " << offset;
}

std::vector<ByteView> XdrEncoder::Segments() const {
  std::vector<ByteView> out;
  out.reserve(segments_.size());
  for (const Segment& s : segments_) {
    size_t len = SizeOf(s);
    if (len > 0) out.emplace_back(s.data, len);
  }
  return out;
}

std::string XdrEncoder::ToString() const {
  std::string out;
  out.reserve(size_);
  for (ByteView v : Segments()) out.append(AsChars(v));
  return out;
}

}  // namespace dittofs::xdr
