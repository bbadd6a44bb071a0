// SPDX-License-Identifier: Apache-2.0
#include "xdr/xdr.h"

#include <cstring>

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

std::vector<std::byte>& XdrEncoder::Tail() {
  if (segments_.empty() || segments_.back().is_borrowed) {
    segments_.emplace_back();
    segments_.back().owned.reserve(256);
  }
  return segments_.back().owned;
}

void XdrEncoder::U32(uint32_t v) {
  std::vector<std::byte>& t = Tail();
  size_t at = t.size();
  t.resize(at + 4);
  StoreBe32(t.data() + at, v);
  size_ += 4;
}

void XdrEncoder::U64(uint64_t v) {
  std::vector<std::byte>& t = Tail();
  size_t at = t.size();
  t.resize(at + 8);
  StoreBe64(t.data() + at, v);
  size_ += 8;
}

void XdrEncoder::Pad(size_t n) {
  size_t pad = Padded(n) - n;
  if (pad == 0) return;
  std::vector<std::byte>& t = Tail();
  t.insert(t.end(), pad, std::byte{0});
  size_ += pad;
}

void XdrEncoder::FixedOpaque(ByteView bytes) {
  std::vector<std::byte>& t = Tail();
  t.insert(t.end(), bytes.begin(), bytes.end());
  size_ += bytes.size();
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
  Segment s;
  s.borrowed = bytes;
  s.is_borrowed = true;
  segments_.push_back(std::move(s));
  size_ += bytes.size();
  Pad(bytes.size());
}

void XdrEncoder::VarOpaquePieces(std::span<const ByteView> pieces) {
  size_t total = 0;
  for (ByteView p : pieces) total += p.size();
  U32(static_cast<uint32_t>(total));
  for (ByteView p : pieces) {
    if (p.size() < 512) {  // small pieces are cheaper to copy than to send as a segment
      std::vector<std::byte>& t = Tail();
      t.insert(t.end(), p.begin(), p.end());
    } else {
      Segment s;
      s.borrowed = p;
      s.is_borrowed = true;
      segments_.push_back(std::move(s));
    }
    size_ += p.size();
  }
  Pad(total);
}

void XdrEncoder::Append(XdrEncoder&& other) {
  for (Segment& s : other.segments_) {
    if (!s.is_borrowed && s.owned.empty()) continue;
    segments_.push_back(std::move(s));
  }
  for (Buffer& b : other.retained_) retained_.push_back(std::move(b));
  other.retained_.clear();
  for (auto& h : other.holds_) holds_.push_back(std::move(h));
  other.holds_.clear();
  size_ += other.size_;
  other.segments_.clear();
  other.size_ = 0;
}

void XdrEncoder::Clear() {
  segments_.clear();
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
    size_t len = s.is_borrowed ? s.borrowed.size() : s.owned.size();
    if (offset < base + len) {
      CHECK(!s.is_borrowed && offset + 4 <= base + len) << "Patch32 of a borrowed segment";
      StoreBe32(s.owned.data() + (offset - base), v);
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
    if (s.is_borrowed) {
      out.push_back(s.borrowed);
    } else if (!s.owned.empty()) {
      out.emplace_back(s.owned.data(), s.owned.size());
    }
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
