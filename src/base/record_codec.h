// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Building and reading the small records stores keep as byte strings: little-endian fields in
// values, big-endian integers in keys (so that keys sort by number).
namespace dittofs {

inline void AppendU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
inline void AppendLe16(std::string* out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void AppendLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void AppendLe64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
inline void AppendBe32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
inline void AppendBe64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}
// REQUIRES: in.size() >= 8.
inline uint64_t LoadBe64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// Reads little-endian fields off the front of a value; ok() turns false, for good, at the
// first read past the end (reads then return zeros and empty views).
class FieldReader {
 public:
  explicit FieldReader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  size_t remaining() const { return in_.size(); }

  uint8_t U8() { return static_cast<uint8_t>(Fixed(1)); }
  uint16_t Le16() { return static_cast<uint16_t>(Fixed(2)); }
  uint32_t Le32() { return static_cast<uint32_t>(Fixed(4)); }
  uint64_t Le64() { return Fixed(8); }
  std::string_view Take(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string_view out = in_.substr(0, n);
    in_.remove_prefix(n);
    return out;
  }
  std::string_view Rest() { return Take(in_.size()); }

 private:
  uint64_t Fixed(size_t n) {
    std::string_view bytes = Take(n);
    uint64_t v = 0;
    for (size_t i = bytes.size(); i > 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[i - 1]);
    return v;
  }

  std::string_view in_;
  bool ok_ = true;
};

}  // namespace dittofs
