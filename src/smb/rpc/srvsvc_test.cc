// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/srvsvc.h"

#include <gtest/gtest.h>

#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb::rpc {
namespace {

using Bytes = std::vector<std::byte>;

void Header(Bytes& b, uint8_t type, uint8_t flags, uint32_t call_id) {
  wire::LeWriter w(b);
  w.U8(5);
  w.U8(0);
  w.U8(type);
  w.U8(flags);
  w.U32(0x10);
  w.U16(0);
  w.U16(0);
  w.U32(call_id);
}
void Finish(Bytes& b) { wire::StoreLe16(b.data() + 8, static_cast<uint16_t>(b.size())); }

// srvsvc 4B324FC8-1670-01D3-1278-5A47BF6EE188 v3.0 and NDR 8A885D04-1CEB-11C9-9FE8-08002B104860
// v2, as C706 lays UUIDs out.
void PutUuid(wire::LeWriter& w, uint32_t a, uint16_t b, uint16_t c, std::array<uint8_t, 8> d) {
  w.U32(a);
  w.U16(b);
  w.U16(c);
  for (uint8_t x : d) w.U8(x);
}

Bytes BindPdu(bool ndr64_only) {
  Bytes b;
  Header(b, 11, 3, 1);
  wire::LeWriter w(b);
  w.U16(4280);
  w.U16(4280);
  w.U32(0);
  w.U8(1);
  w.U8(0);
  w.U16(0);
  w.U16(0);  // context id
  w.U8(1);
  w.U8(0);
  PutUuid(w, 0x4B324FC8, 0x1670, 0x01D3, {0x12, 0x78, 0x5A, 0x47, 0xBF, 0x6E, 0xE1, 0x88});
  w.U32(3);
  if (ndr64_only) {
    PutUuid(w, 0x71710533, 0xBEBA, 0x4937, {0x83, 0x19, 0xB5, 0xDB, 0xEF, 0x9C, 0xCC, 0x36});
    w.U32(1);
  } else {
    PutUuid(w, 0x8A885D04, 0x1CEB, 0x11C9, {0x9F, 0xE8, 0x08, 0x00, 0x2B, 0x10, 0x48, 0x60});
    w.U32(2);
  }
  Finish(b);
  return b;
}

Bytes EnumRequest(uint32_t level, uint16_t opnum = 15) {
  Bytes b;
  Header(b, 0, 3, 2);
  wire::LeWriter w(b);
  w.U32(0);
  w.U16(0);
  w.U16(opnum);
  w.U32(0);  // ServerName: null
  w.U32(level);
  w.U32(level);
  w.U32(0x20000);  // container
  w.U32(0);        // EntriesRead
  w.U32(0);        // Buffer: null
  w.U32(0xFFFFFFFF);
  w.U32(0);  // ResumeHandle: null
  Finish(b);
  return b;
}

SrvsvcPipe MakePipe() {
  return SrvsvcPipe(
      [] {
        return std::vector<ShareInfo>{{"export", 0, "DittoFS share", "", 0xFFFFFFFF, 0},
                                      {"IPC$", 0x80000003, "IPC Service", "", 0xFFFFFFFF, 0}};
      },
      "DITTOFS");
}

Bytes ReadAll(SrvsvcPipe& pipe) {
  bool more = false;
  return pipe.Read(1 << 20, &more);
}

bool Contains(const Bytes& hay, std::string_view utf8) {
  const Bytes needle = wire::ToUtf16(utf8);
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

TEST(SrvsvcPipe, BindsAndEnumeratesShares) {
  SrvsvcPipe pipe = MakePipe();
  ASSERT_TRUE(pipe.Write(BindPdu(false)).ok());
  Bytes ack = ReadAll(pipe);
  ASSERT_GE(ack.size(), 24u);
  EXPECT_EQ(ack[2], std::byte{12});  // bind_ack
  // The result list's first result: accepted.
  const size_t sec_len = wire::LoadLe16(ack.data() + 24);
  size_t at = (26 + sec_len + 3) / 4 * 4;
  EXPECT_EQ(ack[at], std::byte{1});
  EXPECT_EQ(wire::LoadLe16(ack.data() + at + 4), 0u);

  for (uint32_t level : {0u, 1u, 2u, 501u, 502u}) {
    SCOPED_TRACE(level);
    ASSERT_TRUE(pipe.Write(EnumRequest(level)).ok());
    Bytes resp = ReadAll(pipe);
    ASSERT_GE(resp.size(), 28u);
    EXPECT_EQ(resp[2], std::byte{2});  // response
    EXPECT_EQ(wire::LoadLe16(resp.data() + 8), resp.size());
    EXPECT_TRUE(Contains(resp, "export"));
    EXPECT_TRUE(Contains(resp, "IPC$"));
    EXPECT_EQ(wire::LoadLe32(resp.data() + resp.size() - 4), 0u) << "WERR_OK";
  }
  ASSERT_TRUE(pipe.Write(EnumRequest(7)).ok());
  Bytes bad = ReadAll(pipe);
  EXPECT_EQ(wire::LoadLe32(bad.data() + bad.size() - 4), 124u) << "ERROR_INVALID_LEVEL";
}

TEST(SrvsvcPipe, RefusesNdr64AndUnknownOperations) {
  SrvsvcPipe pipe = MakePipe();
  ASSERT_TRUE(pipe.Write(BindPdu(true)).ok());
  Bytes ack = ReadAll(pipe);
  const size_t sec_len = wire::LoadLe16(ack.data() + 24);
  const size_t at = (26 + sec_len + 3) / 4 * 4;
  EXPECT_EQ(wire::LoadLe16(ack.data() + at + 4), 2u) << "provider rejection";
  // Not bound: a request is a protocol error fault.
  ASSERT_TRUE(pipe.Write(EnumRequest(1)).ok());
  Bytes fault = ReadAll(pipe);
  EXPECT_EQ(fault[2], std::byte{3});
  ASSERT_TRUE(pipe.Write(BindPdu(false)).ok());
  ReadAll(pipe);
  ASSERT_TRUE(pipe.Write(EnumRequest(1, /*opnum=*/99)).ok());
  fault = ReadAll(pipe);
  ASSERT_EQ(fault[2], std::byte{3});
  EXPECT_EQ(wire::LoadLe32(fault.data() + 24), 0x1C010002u) << "nca_s_op_rng_error";
}

TEST(SrvsvcPipe, PartialAndHostileInput) {
  SrvsvcPipe pipe = MakePipe();
  Bytes bind = BindPdu(false);
  // Byte by byte: answered once whole.
  for (size_t i = 0; i + 1 < bind.size(); ++i) {
    ASSERT_TRUE(pipe.Write(ByteView(&bind[i], 1)).ok());
    EXPECT_FALSE(pipe.has_output());
  }
  ASSERT_TRUE(pipe.Write(ByteView(&bind.back(), 1)).ok());
  EXPECT_TRUE(pipe.has_output());
  ReadAll(pipe);
  // Every truncation of a request's body, with its length fixed to match, never crashes.
  Bytes req = EnumRequest(2);
  for (size_t n = 16; n < req.size(); ++n) {
    Bytes cut(req.begin(), req.begin() + n);
    Finish(cut);
    SrvsvcPipe p = MakePipe();
    ASSERT_TRUE(p.Write(BindPdu(false)).ok());
    (void)p.Write(cut);
  }
  // Not DCE/RPC at all: the pipe refuses it and stays refused.
  SrvsvcPipe junk = MakePipe();
  const Bytes garbage(64, std::byte{0x41});
  EXPECT_FALSE(junk.Write(garbage).ok());
  EXPECT_FALSE(junk.Write(BindPdu(false)).ok());
  // A huge string count in the request is refused, not allocated.
  Bytes lying = EnumRequest(1);
  wire::StoreLe32(lying.data() + 24, 0x20000);  // ServerName present ...
  lying.insert(lying.begin() + 28,
               {std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0x7F}});
  Finish(lying);
  SrvsvcPipe p = MakePipe();
  ASSERT_TRUE(p.Write(BindPdu(false)).ok());
  ReadAll(p);
  ASSERT_TRUE(p.Write(lying).ok());
  Bytes fault = ReadAll(p);
  EXPECT_EQ(fault[2], std::byte{3});
}

TEST(SrvsvcPipe, FragmentsFitWhatTheClientReceivesAndAnswersAreBounded) {
  // 200 shares make an answer of many fragments: each fits the client's max_recv_frag (here
  // 2000, below its max_xmit_frag of 4280).
  std::vector<ShareInfo> many;
  for (int i = 0; i < 200; ++i) many.push_back({"share" + std::to_string(i), 0, "c", "", 0, 0});
  SrvsvcPipe pipe([many] { return many; }, "DITTOFS");
  Bytes bind = BindPdu(false);
  wire::StoreLe16(bind.data() + 18, 2000);  // max_recv_frag
  ASSERT_TRUE(pipe.Write(bind).ok());
  ReadAll(pipe);
  ASSERT_TRUE(pipe.Write(EnumRequest(1)).ok());
  Bytes resp = ReadAll(pipe);
  size_t fragments = 0;
  for (size_t at = 0; at < resp.size(); ++fragments) {
    const size_t len = wire::LoadLe16(resp.data() + at + 8);
    ASSERT_LE(len, 2000u);
    ASSERT_GT(len, 0u);
    at += len;
  }
  EXPECT_GT(fragments, 1u);
  // A request on a context the bind did not accept is a fault.
  Bytes other = EnumRequest(1);
  wire::StoreLe16(other.data() + 20, 7);  // context id 7
  ASSERT_TRUE(pipe.Write(other).ok());
  Bytes fault = ReadAll(pipe);
  EXPECT_EQ(fault[2], std::byte{3});
  // Requests whose answers are never read break the pipe instead of growing its queue.
  Status s;
  for (int i = 0; i < 100000 && s.ok(); ++i) s = pipe.Write(EnumRequest(1));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(pipe.Read(100, nullptr).empty());
}

}  // namespace
}  // namespace dittofs::smb::rpc
