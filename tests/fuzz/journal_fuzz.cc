// SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for journal recovery: what is on disk after a crash, a bad disk or tampering
// is hostile input too. The fuzzer's bytes become a segment file: a valid segment header, then
// records built from the input with correct CRCs (so replay itself is explored, not just the
// CRC check), some of them damaged on purpose, then any leftover bytes as a raw tail. Opening
// the journal must succeed or fail cleanly, and reads of what it recovered must not crash.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "stores/block/journal/crc32c.h"
#include "stores/block/journal/journal_block_store.h"

namespace {

using dittofs::ByteView;

void PutBe(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t Crc(const std::string& s, uint32_t seed = 0) {
  return dittofs::stores::Crc32c(seed,
                                 ByteView(reinterpret_cast<const std::byte*>(s.data()), s.size()));
}

// Reads fuzzer bytes front to back; zeros once they run out.
struct Input {
  const uint8_t* p;
  size_t n;
  uint64_t Take(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v = (v << 8) | (n > 0 ? *p : 0);
      if (n > 0) ++p, --n;
    }
    return v;
  }
};

// `version` 1 starts record CRCs from 0, versions 2 and 3 from the CRC of the segment id.
std::string Segment(Input in, uint32_t version) {
  std::string id;
  PutBe(id, 1, 8);
  const uint32_t seed = version >= 2 ? Crc(id) : 0;
  std::string seg = "DFSJRNL";
  seg.push_back('\0');
  PutBe(seg, version, 4);
  PutBe(seg, 32, 4);  // header size
  PutBe(seg, 1, 8);   // segment id
  PutBe(seg, Crc(seg), 4);
  PutBe(seg, 0, 4);
  uint64_t seq = 1;
  for (int records = 0; in.n >= 8 && records < 64; ++records) {
    // 0 = raw bytes follow; discard records (6) from format 3 on.
    uint8_t type = static_cast<uint8_t>(in.Take(1) % (version >= 3 ? 7 : 6));
    if (type == 0) break;
    uint64_t file = in.Take(1) % 4 + 1;
    uint64_t offset = in.Take(3) << (in.Take(1) % 24);
    uint64_t length = type == 1 || type >= 4 ? in.Take(2) : 0;
    uint8_t damage = static_cast<uint8_t>(in.Take(1));
    seq += in.Take(1) % 3;  // sometimes repeats or skips
    size_t data = type == 1 ? static_cast<size_t>(std::min<uint64_t>(length, in.n)) : 0;
    if (type == 1) length = data;
    std::string header;
    PutBe(header, 0x444A5243, 4);
    header.push_back(static_cast<char>(type));
    header.append(3, '\0');
    PutBe(header, 48 + data, 4);
    PutBe(header, 0, 4);  // CRC, below
    PutBe(header, file, 8);
    PutBe(header, offset, 8);
    PutBe(header, length, 8);
    PutBe(header, seq, 8);
    std::string body(reinterpret_cast<const char*>(in.p), data);
    in.p += data;
    in.n -= data;
    uint32_t crc = Crc(header + body, seed);
    std::string crc_bytes;
    PutBe(crc_bytes, crc, 4);
    header.replace(12, 4, crc_bytes);
    std::string record = header + body;
    if (damage < 16 && !record.empty()) record[damage * 7 % record.size()] ^= 0x5a;
    seg += record;
  }
  seg.append(reinterpret_cast<const char*>(in.p), in.n);
  return seg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() / "journal_fuzz.XXXXXX").string();
    if (mkdtemp(d.data()) == nullptr) std::abort();
    return d;
  }();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/seg-0000000000000001.jnl", std::ios::binary);
    // Every format version, by the input's length.
    std::string seg = Segment(Input{data, size}, size % 2 == 0 ? (size % 4 == 0 ? 3 : 2) : 1);
    out.write(seg.data(), static_cast<std::streamsize>(seg.size()));
  }
  dittofs::stores::JournalOptions options;
  options.dir = dir;
  options.segment_bytes = 1 << 20;
  auto journal = dittofs::stores::OpenJournalBlockStore(options, nullptr);
  if (!journal.ok()) return 0;
  for (uint64_t file = 1; file <= 4; ++file) {
    auto read = (*journal)->ReadRange(file, 0, 64 * 1024);
    (void)read;
    (void)(*journal)->DirtyRanges(file);
  }
  return 0;
}
