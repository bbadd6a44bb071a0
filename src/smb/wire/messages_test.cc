// SPDX-License-Identifier: Apache-2.0
#include "smb/wire/messages.h"

#include <gtest/gtest.h>

#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb::wire {
namespace {

std::vector<std::byte> WithHeader(uint16_t command) {
  Header h;
  h.command = command;
  h.message_id = 7;
  h.tree_id = 3;
  h.session_id = 0x1122334455667788;
  std::vector<std::byte> out;
  EncodeHeader(h, out);
  return out;
}

// MS-ERREF's names (the one whose constant is named otherwise included); others in hex.
TEST(Smb2Status, NamesAreMsErrefs) {
  EXPECT_EQ(StatusName(kStatusAccessDenied), "STATUS_ACCESS_DENIED");
  EXPECT_EQ(StatusName(kStatusObjectNameNotFound), "STATUS_OBJECT_NAME_NOT_FOUND");
  EXPECT_EQ(StatusName(kStatusAccessDeniedWrongType), "STATUS_OBJECT_TYPE_MISMATCH");
  EXPECT_EQ(StatusName(kStatusDiskFull), "STATUS_DISK_FULL");
  EXPECT_EQ(StatusName(0xC00000FF), "0xC00000FF");
}

TEST(Smb2Header, RoundTrips) {
  Header h;
  h.credit_charge = 2;
  h.command = kRead;
  h.credits = 31;
  h.flags = kFlagSigned | kFlagRelated;
  h.next_command = 136;
  h.message_id = 0x0102030405060708;
  h.tree_id = 9;
  h.session_id = 0xAABBCCDDEEFF0011;
  h.signature[3] = std::byte{0x42};
  std::vector<std::byte> out;
  EncodeHeader(h, out);
  ASSERT_EQ(out.size(), kHeaderSize);
  Result<Header> back = DecodeHeader(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->credit_charge, 2);
  EXPECT_EQ(back->command, kRead);
  EXPECT_EQ(back->credits, 31);
  EXPECT_EQ(back->flags, h.flags);
  EXPECT_EQ(back->next_command, 136u);
  EXPECT_EQ(back->message_id, h.message_id);
  EXPECT_EQ(back->tree_id, 9u);
  EXPECT_EQ(back->session_id, h.session_id);
  EXPECT_EQ(back->signature, h.signature);
}

TEST(Smb2Header, RefusesWhatIsNotOne) {
  std::vector<std::byte> out = WithHeader(kEcho);
  EXPECT_FALSE(DecodeHeader(ByteView(out).first(63)).ok());
  out[0] = std::byte{0xFF};
  EXPECT_FALSE(DecodeHeader(out).ok());
  out[0] = std::byte{0xFE};
  out[4] = std::byte{65};  // StructureSize
  EXPECT_FALSE(DecodeHeader(out).ok());
}

std::vector<std::byte> CreateMessage(std::string_view name, uint32_t disposition) {
  std::vector<std::byte> m = WithHeader(kCreate);
  LeWriter w(m);
  w.U16(57);
  w.U8(0);
  w.U8(0);
  w.U32(2);  // impersonation
  w.U64(0);
  w.U64(0);
  w.U32(0x80000000);  // GENERIC_READ
  w.U32(0x80);
  w.U32(7);
  w.U32(disposition);
  w.U32(0x40);
  const std::vector<std::byte> name16 = ToUtf16(name);
  w.U16(static_cast<uint16_t>(kHeaderSize + 56));
  w.U16(static_cast<uint16_t>(name16.size()));
  const size_t ctx_at = m.size();
  w.U32(0);
  w.U32(0);
  w.Bytes(name16);
  // One create context, "MxAc", with no data.
  w.Align(8);
  const size_t ctx = m.size();
  w.U32(0);
  w.U16(16);
  w.U16(4);
  w.U16(0);
  w.U16(0);
  w.U32(0);
  w.Bytes(AsBytes("MxAc"));
  w.Zeros(4);
  w.PutU32(ctx_at, static_cast<uint32_t>(ctx));
  w.PutU32(ctx_at + 4, static_cast<uint32_t>(m.size() - ctx));
  return m;
}

TEST(Smb2Create, DecodesNameAndContexts) {
  std::vector<std::byte> m = CreateMessage("\\dir\\Résumé.txt", kOpenIf);
  Result<CreateRequest> req = DecodeCreate(m);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->name, "\\dir\\Résumé.txt");  // as sent: the adapter refuses the backslash
  EXPECT_EQ(req->disposition, kOpenIf);
  EXPECT_EQ(req->share_access, 7u);
  ASSERT_EQ(req->contexts.size(), 1u);
  EXPECT_EQ(req->contexts[0].name, "MxAc");
}

TEST(Smb2Create, EveryTruncationIsRefusedNotRead) {
  std::vector<std::byte> m = CreateMessage("some\\file", kCreateNew);
  for (size_t n = 0; n < m.size(); ++n) {
    std::vector<std::byte> cut(m.begin(), m.begin() + n);
    EXPECT_FALSE(DecodeCreate(cut).ok()) << n;
  }
}

TEST(Smb2Create, LyingOffsetsAreRefused) {
  std::vector<std::byte> m = CreateMessage("x", kOpen);
  StoreLe16(m.data() + kHeaderSize + 46, 0xFFFF);  // NameLength past the end
  EXPECT_FALSE(DecodeCreate(m).ok());
  m = CreateMessage("x", kOpen);
  StoreLe16(m.data() + kHeaderSize + 44, 10);  // NameOffset inside the header
  EXPECT_FALSE(DecodeCreate(m).ok());
  m = CreateMessage("x", kOpen);
  // A context chain whose Next points back at itself.
  const uint32_t ctx = LoadLe32(m.data() + kHeaderSize + 48);
  StoreLe32(m.data() + ctx, 0);
  StoreLe16(m.data() + ctx + 6, 0xFFF0);  // NameLength
  EXPECT_FALSE(DecodeCreate(m).ok());
}

TEST(Smb2Write, DataIsAViewOfTheMessage) {
  std::vector<std::byte> m = WithHeader(kWrite);
  LeWriter w(m);
  w.U16(49);
  w.U16(static_cast<uint16_t>(kHeaderSize + 48));
  w.U32(5);
  w.U64(4096);
  w.U64(1);
  w.U64(1);
  w.U32(0);
  w.U32(0);
  w.U16(0);
  w.U16(0);
  w.U32(kWriteFlagThrough);
  w.Bytes(AsBytes("hello"));
  Result<WriteRequest> req = DecodeWrite(m);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->offset, 4096u);
  EXPECT_EQ(AsChars(req->data), "hello");
  EXPECT_EQ(req->data.data(), m.data() + kHeaderSize + 48);
  StoreLe32(m.data() + kHeaderSize + 4, 6);  // one byte more than there is
  EXPECT_FALSE(DecodeWrite(m).ok());
}

TEST(Smb2Negotiate, ReadsDialectsAndContexts) {
  std::vector<std::byte> m = WithHeader(kNegotiate);
  LeWriter w(m);
  w.U16(36);
  w.U16(2);
  w.U16(kSigningEnabled);
  w.U16(0);
  w.U32(kCapLargeMtu);
  w.Zeros(16);
  const size_t ctx_off_at = m.size();
  w.U32(0);
  w.U16(1);
  w.U16(0);
  w.U16(kSmb302);
  w.U16(kSmb311);
  w.Align(8);
  w.PutU32(ctx_off_at, static_cast<uint32_t>(m.size()));
  w.U16(kCtxPreauth);
  w.U16(6);
  w.U32(0);
  w.U16(1);
  w.U16(0);
  w.U16(kHashSha512);
  Result<NegotiateRequest> req = DecodeNegotiate(m);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->dialects, (std::vector<uint16_t>{kSmb302, kSmb311}));
  ASSERT_EQ(req->contexts.size(), 1u);
  EXPECT_EQ(req->contexts[0].type, kCtxPreauth);
  EXPECT_EQ(req->contexts[0].data.size(), 6u);
  for (size_t n = 0; n < m.size(); ++n) {
    std::vector<std::byte> cut(m.begin(), m.begin() + n);
    EXPECT_FALSE(DecodeNegotiate(cut).ok()) << n;
  }
}

TEST(Smb1Negotiate, FindsTheSmb2Dialects) {
  std::vector<std::byte> m(32, std::byte{0});
  m[0] = std::byte{0xFF};
  m[1] = std::byte{'S'};
  m[2] = std::byte{'M'};
  m[3] = std::byte{'B'};
  m[4] = std::byte{0x72};
  std::string dialects;
  for (const char* d : {"NT LM 0.12", "SMB 2.002", "SMB 2.???"}) {
    dialects.push_back('\x02');
    dialects += d;
    dialects.push_back('\0');
  }
  m.push_back(std::byte{0});
  LeWriter w(m);
  w.U16(static_cast<uint16_t>(dialects.size()));
  w.Bytes(AsBytes(dialects));
  Result<std::vector<std::string>> got = DecodeSmb1Negotiate(m);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (std::vector<std::string>{"NT LM 0.12", "SMB 2.002", "SMB 2.???"}));
  m.pop_back();  // the last string loses its NUL
  StoreLe16(m.data() + 33, static_cast<uint16_t>(dialects.size() - 1));
  EXPECT_FALSE(DecodeSmb1Negotiate(m).ok());
}

TEST(Utf16, RoundTripsAndRefusesLoneSurrogates) {
  const std::string s = "a\xC3\xA9\xF0\x9F\x98\x80";  // a é 😀
  std::vector<std::byte> u = ToUtf16(s);
  EXPECT_EQ(u.size(), 2u + 2u + 4u);
  EXPECT_EQ(Utf16Size(s), u.size());
  Result<std::string> back = Utf16ToUtf8(u);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
  const std::byte lone[] = {std::byte{0x00}, std::byte{0xD8}, std::byte{'a'}, std::byte{0}};
  EXPECT_FALSE(Utf16ToUtf8(lone).ok());
  EXPECT_FALSE(Utf16ToUtf8(ByteView(lone).first(3)).ok());
}

TEST(Filetime, ConvertsBothWays) {
  EXPECT_EQ(ToFiletime(0, 0), 116444736000000000u);
  int64_t sec;
  uint32_t nsec;
  FromFiletime(ToFiletime(1700000000, 123456700), &sec, &nsec);
  EXPECT_EQ(sec, 1700000000);
  EXPECT_EQ(nsec, 123456700u);
  FromFiletime(0, &sec, &nsec);  // before 1970
  EXPECT_LT(sec, 0);
  EXPECT_LT(nsec, 1000000000u);
}

// MS-FSCC 2.1.2.4: a symbolic link's reparse data, byte by byte, and back.
TEST(SymlinkReparse, EncodesTheSpecLayoutAndDecodesIt) {
  SymlinkReparse link{.substitute_name = "a\\b", .print_name = "a\\b", .relative = true};
  std::vector<std::byte> out;
  EncodeSymlinkReparse(link, out);
  const std::vector<std::byte> want = {
      std::byte{0x0C}, std::byte{0x00}, std::byte{0x00}, std::byte{0xA0},  // tag
      std::byte{24},   std::byte{0},                                       // data length
      std::byte{0},    std::byte{0},                                       // reserved
      std::byte{0},    std::byte{0},    std::byte{6},    std::byte{0},     // substitute
      std::byte{6},    std::byte{0},    std::byte{6},    std::byte{0},     // print
      std::byte{1},    std::byte{0},    std::byte{0},    std::byte{0},     // relative
      std::byte{'a'},  std::byte{0},    std::byte{'\\'}, std::byte{0},
      std::byte{'b'},  std::byte{0},    std::byte{'a'},  std::byte{0},
      std::byte{'\\'}, std::byte{0},    std::byte{'b'},  std::byte{0}};
  EXPECT_EQ(out, want);
  Result<SymlinkReparse> decoded = DecodeSymlinkReparse(out);
  ASSERT_TRUE(decoded.ok());
  const SymlinkReparse& back = *decoded;
  EXPECT_EQ(back.substitute_name, "a\\b");
  EXPECT_EQ(back.print_name, "a\\b");
  EXPECT_TRUE(back.relative);
  // A lying length, names past the buffer, and another tag are refused, never read.
  std::vector<std::byte> bad = out;
  bad[4] = std::byte{25};
  EXPECT_FALSE(DecodeSymlinkReparse(bad).ok());
  bad = out;
  bad[10] = std::byte{40};
  EXPECT_FALSE(DecodeSymlinkReparse(bad).ok());
  bad = out;
  bad[0] = std::byte{0x03};
  Result<uint32_t> tag = DecodeReparseTag(bad);
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(*tag, 0xA0000003u);
  EXPECT_FALSE(DecodeSymlinkReparse(bad).ok());
  for (size_t n = 0; n < out.size(); ++n) {
    EXPECT_FALSE(DecodeSymlinkReparse(ByteView(out.data(), n)).ok()) << n;
  }
}

// MS-SMB2 2.2.2.2.1: the STOPPED_ON_SYMLINK error body, plain and (3.1.1) in an error context.
TEST(SymlinkErrorResponse, CarriesTheLinkAndTheUnparsedLength) {
  SymlinkReparse link{.substitute_name = "t", .print_name = "t", .relative = true};
  std::vector<std::byte> plain, context;
  EncodeSymlinkErrorResponse(link, 10, false, plain);
  EncodeSymlinkErrorResponse(link, 10, true, context);
  LeReader r(plain);
  EXPECT_EQ(r.U16(), 9);
  EXPECT_EQ(r.U8(), 0);  // ErrorContextCount
  r.U8();
  const uint32_t byte_count = r.U32();
  EXPECT_EQ(byte_count, plain.size() - 8);
  EXPECT_EQ(r.U32(), byte_count - 4);  // SymLinkLength
  EXPECT_EQ(r.U32(), 0x4C4D5953u);
  EXPECT_EQ(r.U32(), 0xA000000Cu);
  EXPECT_EQ(r.U16(), 12 + 4);  // ReparseDataLength
  EXPECT_EQ(r.U16(), 10);      // UnparsedPathLength
  ASSERT_TRUE(r.ok());
  LeReader c(context);
  c.U16();
  EXPECT_EQ(c.U8(), 1);
  c.U8();
  EXPECT_EQ(c.U32(), context.size() - 8);
  EXPECT_EQ(c.U32(), byte_count);  // ErrorDataLength
  EXPECT_EQ(c.U32(), 0u);          // ErrorId
  EXPECT_TRUE(std::equal(plain.begin() + 8, plain.end(), context.begin() + 16));
}

std::vector<std::byte> B(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(std::byte(x));
  return out;
}

// MS-FSCC 2.4.15: NextEntryOffset, Flags, EaNameLength, EaValueLength, the name and its NUL,
// the value; every entry but the last padded to 4 bytes.
TEST(FullEaList, EncodesTheSpecLayoutAndDecodesIt) {
  FullEa a;
  a.name = "AB";
  a.value = B({'x'});
  FullEa b;
  b.flags = 0x80;
  b.name = "C";
  b.value = {};
  std::vector<std::byte> out;
  EncodeFullEaList({a, b}, out);
  const std::vector<std::byte> want =
      B({12, 0, 0, 0, 0,    2, 1, 0, 'A', 'B', 0, 'x',  // 12: aligned
         0,  0, 0, 0, 0x80, 1, 0, 0, 'C', 0});
  EXPECT_EQ(out, want);
  EXPECT_EQ(FullEaSize(a), 12u);
  EXPECT_EQ(FullEaSize(b), 10u);
  Result<std::vector<FullEa>> back = DecodeFullEaList(out);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].name, "AB");
  EXPECT_EQ((*back)[0].value, B({'x'}));
  EXPECT_EQ((*back)[1].flags, 0x80);
  EXPECT_EQ((*back)[1].name, "C");
  EXPECT_TRUE(DecodeFullEaList({})->empty());
}

// Hostile lists: each is refused, never read past its end.
TEST(FullEaList, RefusesMalformedLists) {
  const std::vector<std::vector<std::byte>> bad = {
      B({0, 0, 0}),                                // a header cut short
      B({0, 0, 0, 0, 0, 0, 1, 0, 0}),              // an empty name
      B({0, 0, 0, 0, 0, 2, 0, 0, 'A'}),            // the name past the end
      B({0, 0, 0, 0, 0, 1, 0, 0, 'A', 'B'}),       // no NUL after the name
      B({0, 0, 0, 0, 0, 1, 5, 0, 'A', 0, 'x'}),    // the value past the end
      B({0, 0, 0, 0, 0, 2, 0, 0, 'A', 0, 0}),      // a NUL inside the name
      B({6, 0, 0, 0, 0, 1, 0, 0, 'A', 0, 0, 0}),   // an offset not 4-aligned
      B({16, 0, 0, 0, 0, 1, 0, 0, 'A', 0, 0, 0}),  // an offset past the list
      B({12, 0, 0, 0, 0, 1, 0, 0, 'A', 0, 0, 0}),  // an offset to the end, and no entry there
  };
  for (const auto& b : bad) EXPECT_FALSE(DecodeFullEaList(b).ok()) << b.size();
  // A NextEntryOffset past the entry's own end but inside the list is followed.
  Result<std::vector<FullEa>> gap =
      DecodeFullEaList(B({12, 0, 0, 0, 0, 1, 0, 0, 'A', 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 'B', 0}));
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->size(), 2u);
}

// MS-FSCC 2.4.15.1: NextEntryOffset, EaNameLength, the name and its NUL.
TEST(GetEaList, DecodesNamesAndRefusesMalformedLists) {
  Result<std::vector<std::string>> names =
      DecodeGetEaList(B({8, 0, 0, 0, 1, 'A', 0, 0, 0, 0, 0, 0, 2, 'B', 'C', 0}));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"A", "BC"}));
  EXPECT_FALSE(DecodeGetEaList(B({0, 0, 0, 0, 0, 0})).ok());          // an empty name
  EXPECT_FALSE(DecodeGetEaList(B({0, 0, 0, 0, 3, 'A', 0})).ok());     // past the end
  EXPECT_FALSE(DecodeGetEaList(B({4, 0, 0, 0, 1, 'A', 0, 0})).ok());  // too short an entry
  EXPECT_FALSE(DecodeGetEaList(B({0, 1, 0, 0, 1, 'A', 0})).ok());     // offset past the list
}

// S-1-5-18 (LocalSystem): 12 bytes on the wire.
std::vector<std::byte> LocalSystem() { return B({1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}); }

std::vector<std::byte> QuotaQuery(uint8_t single, uint8_t restart, uint32_t list_length,
                                  uint32_t start_length, uint32_t start_offset,
                                  const std::vector<std::byte>& buffer) {
  std::vector<std::byte> out;
  LeWriter w(out);
  w.U8(single);
  w.U8(restart);
  w.U16(0);
  w.U32(list_length);
  w.U32(start_length);
  w.U32(start_offset);
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

// MS-SMB2 2.2.37.1 with MS-FSCC 2.4.41.1's list: NextEntryOffset, SidLength, the SID.
TEST(QueryQuotaInfo, DecodesTheSidListTheStartSidOrNeither) {
  std::vector<std::byte> list;
  LeWriter w(list);
  w.U32(20);  // 8 + 12
  w.U32(12);
  const std::vector<std::byte> sid = LocalSystem();
  list.insert(list.end(), sid.begin(), sid.end());
  w.U32(0);
  w.U32(12);
  list.insert(list.end(), sid.begin(), sid.end());
  // The decoded SIDs are views into the query: it lives as long as they are read.
  const std::vector<std::byte> listed =
      QuotaQuery(1, 0, static_cast<uint32_t>(list.size()), 12, 0, list);
  Result<QueryQuotaInfo> q = DecodeQueryQuotaInfo(listed);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->return_single);
  EXPECT_FALSE(q->restart_scan);
  ASSERT_EQ(q->sid_list.size(), 2u);
  EXPECT_TRUE(std::equal(q->sid_list[1].begin(), q->sid_list[1].end(), sid.begin(), sid.end()));
  EXPECT_TRUE(q->start_sid.empty()) << "a list makes the start SID ignored";

  std::vector<std::byte> padded = B({0, 0, 0, 0});
  padded.insert(padded.end(), sid.begin(), sid.end());
  const std::vector<std::byte> started = QuotaQuery(0, 1, 0, 12, 4, padded);
  q = DecodeQueryQuotaInfo(started);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->restart_scan);
  EXPECT_TRUE(q->sid_list.empty());
  EXPECT_TRUE(std::equal(q->start_sid.begin(), q->start_sid.end(), sid.begin(), sid.end()));

  q = DecodeQueryQuotaInfo(QuotaQuery(0, 1, 0, 0, 0, {}));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->sid_list.empty() && q->start_sid.empty());
}

// Hostile queries: each is refused, never read past its end.
TEST(QueryQuotaInfo, RefusesLengthsAndOffsetsOutsideTheBuffer) {
  const std::vector<std::byte> sid = LocalSystem();
  std::vector<std::byte> entry = B({0, 0, 0, 0, 12, 0, 0, 0});
  entry.insert(entry.end(), sid.begin(), sid.end());
  EXPECT_FALSE(DecodeQueryQuotaInfo(B({0, 0, 0, 0, 0, 0, 0, 0})).ok());        // cut short
  EXPECT_FALSE(DecodeQueryQuotaInfo(QuotaQuery(0, 0, 21, 0, 0, entry)).ok());  // list past
  EXPECT_FALSE(DecodeQueryQuotaInfo(QuotaQuery(0, 0, 0, 12, 1, sid)).ok());    // start SID past
  EXPECT_FALSE(DecodeQueryQuotaInfo(QuotaQuery(0, 0, 0, 12, 0xFFFFFFF8u, sid)).ok());
  EXPECT_FALSE(DecodeQueryQuotaInfo(QuotaQuery(0, 0, 0, 4, 0, sid)).ok());  // too short a SID
  std::vector<std::byte> long_sid = entry;
  long_sid[4] = std::byte{13};  // the SID runs past its entry
  EXPECT_FALSE(DecodeQueryQuotaInfo(QuotaQuery(0, 0, 20, 0, 0, long_sid)).ok());
  std::vector<std::byte> unaligned = entry;
  unaligned[0] = std::byte{6};
  EXPECT_FALSE(DecodeQueryQuotaInfo(QuotaQuery(0, 0, 20, 0, 0, unaligned)).ok());
}

// MS-FSCC 2.4.41: NextEntryOffset, SidLength, ChangeTime, QuotaUsed, QuotaThreshold,
// QuotaLimit, the SID; every entry but the last padded to 8 bytes.
TEST(QuotaList, EncodesTheSpecLayoutAndDecodesIt) {
  QuotaInformation a;
  a.sid = LocalSystem();
  a.used = 5;
  a.limit = 100;
  QuotaInformation b = a;
  b.threshold = 50;
  std::vector<std::byte> out;
  EncodeQuotaList({a, b}, out);
  EXPECT_EQ(QuotaInformationSize(a), 52u);
  ASSERT_EQ(out.size(), 56u + 52u);
  EXPECT_EQ(LoadLe32(out.data()), 56u);
  EXPECT_EQ(LoadLe32(out.data() + 4), 12u);
  EXPECT_EQ(LoadLe64(out.data() + 16), 5u);
  EXPECT_EQ(LoadLe64(out.data() + 24), kQuotaNone);
  EXPECT_EQ(LoadLe64(out.data() + 32), 100u);
  EXPECT_EQ(LoadLe32(out.data() + 56), 0u) << "the last entry ends the list";
  Result<std::vector<QuotaInformation>> back = DecodeQuotaList(out);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].threshold, 50u);
  EXPECT_EQ((*back)[1].sid, LocalSystem());
  EXPECT_FALSE(DecodeQuotaList({}).ok());
  std::vector<std::byte> cut(out.begin(), out.begin() + 50);
  cut[0] = cut[1] = std::byte{0};
  EXPECT_FALSE(DecodeQuotaList(cut).ok()) << "a SID past the end";
  std::vector<std::byte> unaligned = out;
  unaligned[0] = std::byte{52};
  EXPECT_FALSE(DecodeQuotaList(unaligned).ok());
}

}  // namespace
}  // namespace dittofs::smb::wire
