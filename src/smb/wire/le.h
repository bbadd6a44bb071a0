// SPDX-License-Identifier: Apache-2.0
#pragma once

// Little-endian reading and writing for SMB2 and its payloads (MS-SMB2 §2: every integer is
// little-endian). The reader checks every bound: a read past the end sets the reader's error
// and returns zeros, so a decoder reads a whole structure and checks ok() once.

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace dittofs::smb::wire {

class LeReader {
 public:
  explicit LeReader(ByteView data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  ByteView data() const { return data_; }

  uint8_t U8() { return static_cast<uint8_t>(Take<1>(0)); }
  uint16_t U16() { return static_cast<uint16_t>(Take<2>(0)); }
  uint32_t U32() { return static_cast<uint32_t>(Take<4>(0)); }
  uint64_t U64() { return Take<8>(0); }
  // The next `n` bytes (a view into the input); empty and an error past the end.
  ByteView Bytes(size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return {};
    }
    ByteView out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  void Skip(size_t n) { (void)Bytes(n); }
  // Moves to absolute offset `at` (<= size).
  void Seek(size_t at) {
    if (at > data_.size())
      ok_ = false;
    else
      pos_ = at;
  }
  void Fail() { ok_ = false; }

 private:
  template <size_t N>
  uint64_t Take(uint64_t) {
    if (!ok_ || N > data_.size() - pos_) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < N; ++i) v |= uint64_t(data_[pos_ + i]) << (8 * i);
    pos_ += N;
    return v;
  }

  ByteView data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Appends little-endian values to a byte vector; Put* at an offset patch what was reserved.
class LeWriter {
 public:
  explicit LeWriter(std::vector<std::byte>& out) : out_(out) {}

  size_t size() const { return out_.size(); }
  void U8(uint8_t v) { out_.push_back(std::byte(v)); }
  void U16(uint16_t v) { Append(v, 2); }
  void U32(uint32_t v) { Append(v, 4); }
  void U64(uint64_t v) { Append(v, 8); }
  void Bytes(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void Zeros(size_t n) { out_.resize(out_.size() + n, std::byte{0}); }
  // Pads with zeros to a multiple of `align` (a power of two) from the vector's start.
  void Align(size_t align) { Zeros((align - out_.size() % align) % align); }
  void PutU16(size_t at, uint16_t v) { Put(at, v, 2); }
  void PutU32(size_t at, uint32_t v) { Put(at, v, 4); }
  void PutU64(size_t at, uint64_t v) { Put(at, v, 8); }

 private:
  void Append(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out_.push_back(std::byte(v >> (8 * i)));
  }
  void Put(size_t at, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out_[at + i] = std::byte(v >> (8 * i));
  }
  std::vector<std::byte>& out_;
};

inline uint16_t LoadLe16(const std::byte* p) { return uint16_t(p[0]) | uint16_t(p[1]) << 8; }
inline uint32_t LoadLe32(const std::byte* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t LoadLe64(const std::byte* p) {
  return LoadLe32(p) | uint64_t(LoadLe32(p + 4)) << 32;
}
inline void StoreLe16(std::byte* p, uint16_t v) {
  p[0] = std::byte(v);
  p[1] = std::byte(v >> 8);
}
inline void StoreLe32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * i));
}
inline void StoreLe64(std::byte* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::byte(v >> (8 * i));
}

}  // namespace dittofs::smb::wire
