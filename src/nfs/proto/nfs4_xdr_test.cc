// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "nfs/proto/nfs4_types.h"
#include "xdr/xdr.h"

namespace dittofs::nfs {
namespace {

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Hex digits to bytes; spaces are ignored so goldens can be grouped by XDR word.
std::string Unhex(std::string_view hex) {
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits += c;
  }
  std::string out;
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out += static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string Encoded(const nfs_argop4& op) {
  xdr::XdrEncoder e;
  Encode(e, op);
  std::string out = e.ToString();
  EXPECT_EQ(out.size(), e.size());
  return out;
}

std::string Encoded(const nfs_resop4& res) {
  xdr::XdrEncoder e;
  EncodeResop(e, res);
  return e.ToString();
}

template <typename Args>
nfs_argop4 Op(uint32_t op, Args args) {
  nfs_argop4 o;
  o.op = op;
  o.args = std::move(args);
  return o;
}

// The codec contract for one operation's arguments: Encode then Decode (from a heap block of
// exactly the encoding, so ASan sees any over-read) gives the same alternative, consumes all
// of it and encodes to the same bytes; every strict prefix fails. `check` sees the decoded
// arguments while the input they view is alive.
template <typename Args>
void ExpectArgsRoundTrip(uint32_t op, const Args& args,
                         const std::function<void(const Args&)>& check = nullptr) {
  SCOPED_TRACE(OpName(op));
  const std::string bytes = Encoded(Op(op, args));
  ASSERT_EQ(bytes.size() % 4, 0u);
  Buffer input = Buffer::Copy(AsBytes(bytes));
  xdr::XdrDecoder d(input.view());
  nfs_argop4 decoded;
  ASSERT_TRUE(Decode(d, &decoded)) << Hex(bytes);
  EXPECT_EQ(d.remaining(), 0u);
  EXPECT_EQ(decoded.op, op);
  ASSERT_TRUE(std::holds_alternative<Args>(decoded.args));
  EXPECT_EQ(Hex(Encoded(decoded)), Hex(bytes));
  if (check) check(std::get<Args>(decoded.args));
  for (size_t len = 0; len < bytes.size(); ++len) {
    Buffer prefix = Buffer::Copy(AsBytes(std::string_view(bytes).substr(0, len)));
    xdr::XdrDecoder t(prefix.view());
    nfs_argop4 partial;
    EXPECT_FALSE(Decode(t, &partial)) << "a " << len << "-byte prefix decoded";
  }
}

// The same for one operation's result (EncodeResop, then Decode(nfs_resop4)). Results own
// what they decode, so `check` runs after the input is gone.
template <typename Res>
void ExpectResRoundTrip(uint32_t op, const Res& res,
                        const std::function<void(const Res&)>& check = nullptr) {
  SCOPED_TRACE(OpName(op));
  nfs_resop4 in;
  in.op = op;
  in.res = res;
  const std::string bytes = Encoded(in);
  ASSERT_EQ(bytes.size() % 4, 0u);
  nfs_resop4 decoded;
  {
    Buffer input = Buffer::Copy(AsBytes(bytes));
    xdr::XdrDecoder d(input.view());
    ASSERT_TRUE(Decode(d, &decoded)) << Hex(bytes);
    EXPECT_EQ(d.remaining(), 0u);
  }
  EXPECT_EQ(decoded.op, op);
  ASSERT_TRUE(std::holds_alternative<Res>(decoded.res));
  EXPECT_EQ(decoded.status(), in.status());
  EXPECT_EQ(Hex(Encoded(decoded)), Hex(bytes));
  if (check) check(std::get<Res>(decoded.res));
  for (size_t len = 0; len < bytes.size(); ++len) {
    Buffer prefix = Buffer::Copy(AsBytes(std::string_view(bytes).substr(0, len)));
    xdr::XdrDecoder t(prefix.view());
    nfs_resop4 partial;
    EXPECT_FALSE(Decode(t, &partial)) << "a " << len << "-byte prefix decoded";
  }
}

// --- Sample values ---

stateid4 Sid(uint32_t seqid, uint8_t fill) {
  stateid4 s;
  s.seqid = seqid;
  s.other.fill(std::byte{fill});
  return s;
}
verifier4 Verf(uint8_t fill) {
  verifier4 v;
  v.fill(std::byte{fill});
  return v;
}
sessionid4 Session(uint8_t first) {
  sessionid4 s;
  for (size_t i = 0; i < s.size(); ++i) s[i] = std::byte(first + i);
  return s;
}
bitmap4 Bits(std::initializer_list<uint32_t> bits) {
  bitmap4 b;
  for (uint32_t bit : bits) b.set(bit);
  return b;
}
state_owner4 Owner(clientid4 clientid, std::string name) {
  state_owner4 o;
  o.clientid = clientid;
  o.owned = std::move(name);
  return o;
}
nfs_fh4_owned OwnedFh(std::string_view bytes = "\xaa\xbb\xcc\xdd\xee") {
  return nfs_fh4_owned::CopyFrom(AsBytes(bytes));
}
change_info4 Cinfo() { return {true, 100, 101}; }

// Every attribute the codec carries, each with a value other than its default.
Fattr4 FullAttrs() {
  Fattr4 f;
  f.supported_attrs = Bits({FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE, FATTR4_SUPPATTR_EXCLCREAT});
  f.type = nfs_ftype4::NF4DIR;
  f.fh_expire_type = 4;
  f.change = 0x0102030405060708;
  f.size = 1u << 20;
  f.link_support = true;
  f.symlink_support = true;
  f.named_attr = true;
  f.fsid = {1, 2};
  f.unique_handles = true;
  f.lease_time = 90;
  f.rdattr_error = nfsstat4::NFS4ERR_ACCESS;
  f.aclsupport = 1;
  f.archive = true;
  f.cansettime = true;
  f.case_insensitive = true;
  f.case_preserving = true;
  f.chown_restricted = true;
  f.filehandle = OwnedFh("handle-bytes");
  f.fileid = 77;
  f.files_avail = 1000;
  f.files_free = 2000;
  f.files_total = 3000;
  f.hidden = true;
  f.homogeneous = true;
  f.maxfilesize = ~uint64_t{0};
  f.maxlink = 255;
  f.maxname = 255;
  f.maxread = 1u << 20;
  f.maxwrite = 1u << 21;
  f.mode = 04755;
  f.no_trunc = true;
  f.numlinks = 3;
  f.owner = "alice@example.com";
  f.owner_group = "staff@example.com";
  f.rawdev = {8, 1};
  f.space_avail = 10;
  f.space_free = 20;
  f.space_total = 30;
  f.space_used = 40;
  f.system = true;
  f.time_access = {-5, 1};
  f.time_access_set = {time_how4::SET_TO_CLIENT_TIME4, {1600000000, 999999999}};
  f.time_create = {2, 3};
  f.time_delta = {0, 1000};
  f.time_metadata = {4, 5};
  f.time_modify = {6, 7};
  f.time_modify_set = {time_how4::SET_TO_SERVER_TIME4, {}};
  f.mounted_on_fileid = 78;
  f.suppattr_exclcreat = Bits({FATTR4_SIZE, FATTR4_MODE});
  for (uint32_t bit = 0; bit < 96; ++bit) {
    if (Fattr4Known(bit)) f.mask.set(bit);
  }
  return f;
}

bitmap4 AllBits() {
  bitmap4 b;
  b.words.assign(kFattr4Words, ~0u);
  return b;
}

// Mode and size, as a client sets them.
fattr4 SetAttrs(uint32_t mode = 0644, uint64_t size = 0) {
  Fattr4 f;
  f.mode = mode;
  f.size = size;
  f.mask = Bits({FATTR4_SIZE, FATTR4_MODE});
  fattr4 out;
  EncodeAttrs(f.mask, f, &out);
  return out;
}

// A fattr4 as the wire has it: `bits` and raw values.
fattr4 RawAttrs(std::initializer_list<uint32_t> bits, const std::string& vals) {
  fattr4 f;
  f.attrmask = Bits(bits);
  f.owned_vals = vals;
  return f;
}

// What DecodeAttrs says of `in`.
nfsstat4 AttrsStatus(const fattr4& in) {
  Fattr4 out;
  return DecodeAttrs(in, &out);
}

std::string Words(std::initializer_list<uint32_t> words) {
  xdr::XdrEncoder e;
  for (uint32_t w : words) e.U32(w);
  return e.ToString();
}

nfsace4 Ace() { return {ACE4_ACCESS_ALLOWED_ACE_TYPE, 0, 0x1f, "EVERYONE@"}; }

channel_attrs4 Channel(uint32_t max_ops, std::optional<uint32_t> ird = std::nullopt) {
  return {0, 1u << 20, 1u << 20, 4096, max_ops, 16, ird};
}

// --- Golden vectors, built by hand from the RFC 8881 / RFC 5662 XDR ---

// A 4.1 COMPOUND of SEQUENCE, PUTROOTFH and GETATTR, the shape of a client's first lookup.
constexpr std::string_view kSequenceGetattrHex =
    "00000000"                             // tag ""
    "00000001"                             // minorversion 1
    "00000003"                             // numops
    "00000035"                             // OP_SEQUENCE
    "00010203 04050607 08090a0b 0c0d0e0f"  // sa_sessionid
    "00000007 00000000 00000003"           // sa_sequenceid, sa_slotid, sa_highest_slotid
    "00000001"                             // sa_cachethis TRUE
    "00000018"                             // OP_PUTROOTFH
    "00000009"                             // OP_GETATTR
    "00000002 0010011a 00b0a03a";          // attr_request: two words

std::vector<nfs_argop4> SequenceGetattrOps() {
  SEQUENCE4args seq;
  seq.sessionid = Session(0);
  seq.sequenceid = 7;
  seq.slotid = 0;
  seq.highest_slotid = 3;
  seq.cachethis = true;
  GETATTR4args getattr;
  getattr.attr_request = Bits({FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FSID, FATTR4_FILEID,
                               FATTR4_MODE, FATTR4_NUMLINKS, FATTR4_OWNER, FATTR4_OWNER_GROUP,
                               FATTR4_SPACE_USED, FATTR4_TIME_ACCESS, FATTR4_TIME_METADATA,
                               FATTR4_TIME_MODIFY, FATTR4_MOUNTED_ON_FILEID});
  nfs_argop4 root;
  root.op = OP_PUTROOTFH;
  return {Op(OP_SEQUENCE, seq), root, Op(OP_GETATTR, getattr)};
}

TEST(Nfs4Xdr, StatusNamesAreTheSpecs) {
  EXPECT_EQ(ToString(nfsstat4::NFS4_OK), "NFS4_OK");
  EXPECT_EQ(ToString(nfsstat4::NFS4ERR_NOENT), "NFS4ERR_NOENT");
  EXPECT_EQ(ToString(nfsstat4::NFS4ERR_DQUOT), "NFS4ERR_DQUOT");
  EXPECT_EQ(ToString(nfsstat4::NFS4ERR_XATTR2BIG), "NFS4ERR_XATTR2BIG");
  EXPECT_EQ(ToString(static_cast<nfsstat4>(9999)), "NFS4ERR_<unknown>");
}

TEST(Nfs4Xdr, GoldenSequencePutrootfhGetattr) {
  xdr::XdrEncoder e;
  EncodeCompound(e, "", 1, SequenceGetattrOps());
  EXPECT_EQ(Hex(e.ToString()), Hex(Unhex(kSequenceGetattrHex)));

  const std::string bytes = Unhex(kSequenceGetattrHex);
  Buffer input = Buffer::Copy(AsBytes(bytes));
  xdr::XdrDecoder d(input.view());
  COMPOUND4args_header h;
  ASSERT_TRUE(DecodeCompoundHeader(d, &h));
  EXPECT_EQ(h.tag, "");
  EXPECT_EQ(h.minorversion, 1u);
  ASSERT_EQ(h.numops, 3u);
  nfs_argop4 op;
  ASSERT_TRUE(Decode(d, &op));
  ASSERT_EQ(op.op, OP_SEQUENCE);
  const auto& seq = std::get<SEQUENCE4args>(op.args);
  EXPECT_EQ(seq.sessionid, Session(0));
  EXPECT_EQ(seq.sequenceid, 7u);
  EXPECT_EQ(seq.highest_slotid, 3u);
  EXPECT_TRUE(seq.cachethis);
  ASSERT_TRUE(Decode(d, &op));
  EXPECT_EQ(op.op, OP_PUTROOTFH);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(op.args));
  ASSERT_TRUE(Decode(d, &op));
  ASSERT_EQ(op.op, OP_GETATTR);
  const bitmap4& want = std::get<GETATTR4args>(op.args).attr_request;
  EXPECT_EQ(want.words, (std::vector<uint32_t>{0x0010011a, 0x00b0a03a}));
  EXPECT_TRUE(want.test(FATTR4_MOUNTED_ON_FILEID));
  EXPECT_FALSE(want.test(FATTR4_ACL));
  EXPECT_EQ(d.remaining(), 0u);
}

// EXCHANGE_ID with SP4_NONE and an implementation id.
constexpr std::string_view kExchangeIdHex =
    "0000002a"                                               // OP_EXCHANGE_ID
    "01020304 05060708"                                      // co_verifier
    "00000014 4c696e75 78204e46 5376342e 3120636c 69656e74"  // "Linux NFSv4.1 client"
    "00000101"                             // SUPP_MOVED_REFER | BIND_PRINC_STATEID
    "00000000"                             // SP4_NONE
    "00000001"                             // one nfs_impl_id4
    "0000000a 6b65726e 656c2e6f 72670000"  // nii_domain "kernel.org"
    "00000009 4c696e75 7820362e 31000000"  // nii_name "Linux 6.1"
    "00000000 00000000 00000000";          // nii_date

TEST(Nfs4Xdr, GoldenExchangeId) {
  EXCHANGE_ID4args a;
  for (size_t i = 0; i < a.co_verifier.size(); ++i) a.co_verifier[i] = std::byte(i + 1);
  a.co_ownerid = AsBytes("Linux NFSv4.1 client");
  a.flags = EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_BIND_PRINC_STATEID;
  a.client_impl_id = nfs_impl_id4{"kernel.org", "Linux 6.1", {}};
  EXPECT_EQ(Hex(Encoded(Op(OP_EXCHANGE_ID, a))), Hex(Unhex(kExchangeIdHex)));

  const std::string bytes = Unhex(kExchangeIdHex);
  xdr::XdrDecoder d(AsBytes(bytes));
  nfs_argop4 op;
  ASSERT_TRUE(Decode(d, &op));
  const auto& got = std::get<EXCHANGE_ID4args>(op.args);
  EXPECT_EQ(AsChars(got.co_ownerid), "Linux NFSv4.1 client");
  EXPECT_EQ(got.flags, 0x101u);
  EXPECT_EQ(got.spa_how, state_protect_how4::SP4_NONE);
  ASSERT_TRUE(got.client_impl_id.has_value());
  EXPECT_EQ(got.client_impl_id->domain, "kernel.org");
  EXPECT_EQ(got.client_impl_id->name, "Linux 6.1");
}

TEST(Nfs4Xdr, GoldenResults) {
  SEQUENCE4res seq;
  seq.sessionid = Session(0);
  seq.sequenceid = 7;
  seq.highest_slotid = 63;
  seq.target_highest_slotid = 63;
  EXPECT_EQ(Hex(Encoded(nfs_resop4{OP_SEQUENCE, seq})),
            Hex(Unhex("00000035 00000000"                    // OP_SEQUENCE, NFS4_OK
                      "00010203 04050607 08090a0b 0c0d0e0f"  // sr_sessionid
                      "00000007 00000000 0000003f 0000003f"  // seq, slot, highest, target
                      "00000000")));                         // sr_status_flags

  LOCK4res denied;
  denied.status = nfsstat4::NFS4ERR_DENIED;
  denied.lock_stateid = Sid(9, 9);  // not sent: the status selects the LOCK4denied arm
  denied.denied = {100, 50, nfs_lock_type4::WRITE_LT, Owner(0x1122334455667788, "own")};
  EXPECT_EQ(Hex(Encoded(nfs_resop4{OP_LOCK, denied})),
            Hex(Unhex("0000000c 0000271a"                        // OP_LOCK, NFS4ERR_DENIED
                      "00000000 00000064 00000000 00000032"      // offset, length
                      "00000002"                                 // WRITE_LT
                      "11223344 55667788 00000003 6f776e00")));  // clientid, owner "own"

  // A status-only result, and READ's eof before its data.
  EXPECT_EQ(Hex(Encoded(nfs_resop4{OP_PUTFH, nfsstat4::NFS4ERR_STALE})),
            Hex(Unhex("00000016 00000046")));
  READ4res read;
  read.eof = true;
  const std::string data = "hello";
  read.data = {AsBytes(data)};
  EXPECT_EQ(Hex(Encoded(nfs_resop4{OP_READ, read})),
            Hex(Unhex("00000019 00000000 00000001 00000005 68656c6c 6f000000")));
}

// Type, size, mode, owner and time_modify_set (SET_TO_CLIENT_TIME4), in bit order.
TEST(Nfs4Xdr, GoldenAttrs) {
  Fattr4 f;
  f.type = nfs_ftype4::NF4DIR;
  f.size = 4096;
  f.mode = 0755;
  f.owner = "root";
  f.time_modify_set = {time_how4::SET_TO_CLIENT_TIME4, {1600000000, 100}};
  f.mask = Bits({FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_TIME_MODIFY_SET});
  fattr4 out;
  EncodeAttrs(AllBits(), f, &out);
  xdr::XdrEncoder e;
  Encode(e, out);
  EXPECT_EQ(Hex(e.ToString()), Hex(Unhex("00000002 00000012 00400012"  // bitmap
                                         "00000028"                    // 40 bytes of values
                                         "00000002"                    // NF4DIR
                                         "00000000 00001000"           // size
                                         "000001ed"                    // mode 0755
                                         "00000004 726f6f74"           // owner "root"
                                         "00000001 00000000 5f5e1000 00000064")));
  Fattr4 back;
  ASSERT_EQ(DecodeAttrs(out, &back), nfsstat4::NFS4_OK);
  EXPECT_EQ(back.mask, f.mask);
  EXPECT_EQ(back.type, nfs_ftype4::NF4DIR);
  EXPECT_EQ(back.size, 4096u);
  EXPECT_EQ(back.mode, 0755u);
  EXPECT_EQ(back.owner, "root");
  EXPECT_EQ(back.time_modify_set, f.time_modify_set);
}

// --- Round trips of every operation's arguments ---

TEST(Nfs4Xdr, ArgsRoundTripOps3To20) {
  ExpectArgsRoundTrip<ACCESS4args>(OP_ACCESS, {ACCESS4_READ | ACCESS4_LOOKUP},
                                   [](const ACCESS4args& a) { EXPECT_EQ(a.access, 3u); });
  ExpectArgsRoundTrip<CLOSE4args>(OP_CLOSE, {5, Sid(2, 0xab)}, [](const CLOSE4args& a) {
    EXPECT_EQ(a.seqid, 5u);
    EXPECT_EQ(a.open_stateid, Sid(2, 0xab));
  });
  ExpectArgsRoundTrip<COMMIT4args>(OP_COMMIT, {uint64_t{1} << 40, 8192});

  CREATE4args link;
  link.objtype = nfs_ftype4::NF4LNK;
  link.linkdata = "../target";
  link.objname = "symlink";
  link.createattrs = SetAttrs(0777);
  ExpectArgsRoundTrip<CREATE4args>(OP_CREATE, link, [](const CREATE4args& a) {
    EXPECT_EQ(a.objtype, nfs_ftype4::NF4LNK);
    EXPECT_EQ(a.linkdata, "../target");
    EXPECT_EQ(a.objname, "symlink");
    Fattr4 f;
    ASSERT_EQ(DecodeAttrs(a.createattrs, &f), nfsstat4::NFS4_OK);
    EXPECT_EQ(f.mode, 0777u);
  });
  CREATE4args dev;
  dev.objtype = nfs_ftype4::NF4BLK;
  dev.devdata = {8, 16};
  dev.objname = "sdb";
  ExpectArgsRoundTrip<CREATE4args>(OP_CREATE, dev, [](const CREATE4args& a) {
    EXPECT_EQ(a.devdata, (specdata4{8, 16}));
  });
  for (nfs_ftype4 t : {nfs_ftype4::NF4CHR, nfs_ftype4::NF4DIR, nfs_ftype4::NF4SOCK,
                       nfs_ftype4::NF4FIFO, nfs_ftype4::NF4REG, nfs_ftype4::NF4NAMEDATTR}) {
    CREATE4args c;
    c.objtype = t;
    c.objname = "x";
    ExpectArgsRoundTrip<CREATE4args>(OP_CREATE, c);
  }

  ExpectArgsRoundTrip<DELEGPURGE4args>(OP_DELEGPURGE, {42});
  ExpectArgsRoundTrip<DELEGRETURN4args>(OP_DELEGRETURN, {Sid(1, 3)});
  ExpectArgsRoundTrip<GETATTR4args>(OP_GETATTR, {Bits({FATTR4_SIZE, FATTR4_SUPPATTR_EXCLCREAT})});
  ExpectArgsRoundTrip<LINK4args>(OP_LINK, {"hardlink"});

  LOCK4args fresh;
  fresh.locktype = nfs_lock_type4::WRITEW_LT;
  fresh.reclaim = true;
  fresh.offset = 10;
  fresh.length = ~uint64_t{0};
  fresh.new_lock_owner = true;
  fresh.open_seqid = 3;
  fresh.open_stateid = Sid(1, 1);
  fresh.lock_seqid = 0;
  fresh.lock_owner = Owner(99, "lock-owner");
  ExpectArgsRoundTrip<LOCK4args>(OP_LOCK, fresh, [](const LOCK4args& a) {
    EXPECT_TRUE(a.new_lock_owner);
    EXPECT_EQ(a.open_stateid, Sid(1, 1));
    EXPECT_EQ(a.lock_owner.clientid, 99u);
    EXPECT_EQ(AsChars(a.lock_owner.bytes()), "lock-owner");
  });
  LOCK4args existing;
  existing.locktype = nfs_lock_type4::READ_LT;
  existing.lock_stateid = Sid(4, 4);
  existing.lock_seqid = 8;
  ExpectArgsRoundTrip<LOCK4args>(OP_LOCK, existing, [](const LOCK4args& a) {
    EXPECT_FALSE(a.new_lock_owner);
    EXPECT_EQ(a.lock_stateid, Sid(4, 4));
    EXPECT_EQ(a.lock_seqid, 8u);
  });
  ExpectArgsRoundTrip<LOCKT4args>(OP_LOCKT, {nfs_lock_type4::READW_LT, 1, 2, Owner(7, "tester")});
  ExpectArgsRoundTrip<LOCKU4args>(OP_LOCKU, {nfs_lock_type4::WRITE_LT, 9, Sid(5, 5), 0, 100});
  ExpectArgsRoundTrip<LOOKUP4args>(OP_LOOKUP, {"export"});
  ExpectArgsRoundTrip<NVERIFY4args>(OP_NVERIFY, {SetAttrs(0600, 12)});

  // OPEN: each createhow4 and open_claim4 arm.
  OPEN4args open;
  open.seqid = 1;
  open.share_access = OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_NO_DELEG;
  open.share_deny = OPEN4_SHARE_DENY_WRITE;
  open.owner = Owner(0xfeed, "open-owner");
  open.opentype = opentype4::OPEN4_CREATE;
  open.mode = createmode4::GUARDED4;
  open.createattrs = SetAttrs(0640, 0);
  open.claim = open_claim_type4::CLAIM_NULL;
  open.file = "new-file";
  ExpectArgsRoundTrip<OPEN4args>(OP_OPEN, open, [](const OPEN4args& a) {
    EXPECT_EQ(a.share_access, 0x403u);
    EXPECT_EQ(a.mode, createmode4::GUARDED4);
    EXPECT_EQ(a.file, "new-file");
    Fattr4 f;
    ASSERT_EQ(DecodeAttrs(a.createattrs, &f), nfsstat4::NFS4_OK);
    EXPECT_EQ(f.mode, 0640u);
  });
  open.mode = createmode4::UNCHECKED4;
  ExpectArgsRoundTrip<OPEN4args>(OP_OPEN, open);
  open.mode = createmode4::EXCLUSIVE4;
  open.createverf = Verf(0x5a);
  ExpectArgsRoundTrip<OPEN4args>(OP_OPEN, open, [](const OPEN4args& a) {
    EXPECT_EQ(a.createverf, Verf(0x5a));
    EXPECT_TRUE(a.createattrs.attrmask.words.empty());
  });
  open.mode = createmode4::EXCLUSIVE4_1;
  open.claim = open_claim_type4::CLAIM_FH;
  ExpectArgsRoundTrip<OPEN4args>(OP_OPEN, open, [](const OPEN4args& a) {
    EXPECT_EQ(a.createverf, Verf(0x5a));
    EXPECT_TRUE(a.createattrs.attrmask.test(FATTR4_MODE));
    EXPECT_EQ(a.claim, open_claim_type4::CLAIM_FH);
  });
  open.opentype = opentype4::OPEN4_NOCREATE;
  open.claim = open_claim_type4::CLAIM_PREVIOUS;
  open.delegate_type = open_delegation_type4::OPEN_DELEGATE_WRITE;
  ExpectArgsRoundTrip<OPEN4args>(OP_OPEN, open, [](const OPEN4args& a) {
    EXPECT_EQ(a.delegate_type, open_delegation_type4::OPEN_DELEGATE_WRITE);
  });
  open.claim = open_claim_type4::CLAIM_DELEGATE_CUR;
  open.delegate_stateid = Sid(3, 0xde);
  ExpectArgsRoundTrip<OPEN4args>(OP_OPEN, open, [](const OPEN4args& a) {
    EXPECT_EQ(a.delegate_stateid, Sid(3, 0xde));
    EXPECT_EQ(a.file, "new-file");
  });
  for (open_claim_type4 claim :
       {open_claim_type4::CLAIM_DELEGATE_PREV, open_claim_type4::CLAIM_DELEG_CUR_FH,
        open_claim_type4::CLAIM_DELEG_PREV_FH}) {
    open.claim = claim;
    ExpectArgsRoundTrip<OPEN4args>(OP_OPEN, open);
  }

  ExpectArgsRoundTrip<OPENATTR4args>(OP_OPENATTR, {true});
  ExpectArgsRoundTrip<OPEN_CONFIRM4args>(OP_OPEN_CONFIRM, {Sid(1, 2), 3});
}

TEST(Nfs4Xdr, ArgsRoundTripOps21To39) {
  ExpectArgsRoundTrip<OPEN_DOWNGRADE4args>(OP_OPEN_DOWNGRADE, {Sid(2, 2), 4, 1, 0});
  ExpectArgsRoundTrip<PUTFH4args>(OP_PUTFH, {AsBytes("opaque-handle")}, [](const PUTFH4args& a) {
    EXPECT_EQ(AsChars(a.object.data), "opaque-handle");
  });
  ExpectArgsRoundTrip<READ4args>(OP_READ, {Sid(0, 0), 4096, 65536});
  READDIR4args readdir;
  readdir.cookie = 12;
  readdir.cookieverf = Verf(7);
  readdir.dircount = 8192;
  readdir.maxcount = 32768;
  readdir.attr_request = Bits({FATTR4_TYPE, FATTR4_FILEID, FATTR4_RDATTR_ERROR});
  ExpectArgsRoundTrip<READDIR4args>(OP_READDIR, readdir);
  ExpectArgsRoundTrip<REMOVE4args>(OP_REMOVE, {"victim"});
  ExpectArgsRoundTrip<RENAME4args>(OP_RENAME, {"old", "new-name"}, [](const RENAME4args& a) {
    EXPECT_EQ(a.oldname, "old");
    EXPECT_EQ(a.newname, "new-name");
  });
  ExpectArgsRoundTrip<RENEW4args>(OP_RENEW, {0xabcdef});
  ExpectArgsRoundTrip<SECINFO4args>(OP_SECINFO, {"export"});
  ExpectArgsRoundTrip<SETATTR4args>(OP_SETATTR, {Sid(1, 1), SetAttrs(0600, 99)});

  SETCLIENTID4args setclientid;
  setclientid.verifier = Verf(1);
  setclientid.id = AsBytes("Linux NFSv4.0 host/10.0.0.1");
  setclientid.cb_program = 0x40000000;
  setclientid.cb_location = {"tcp", "10.0.0.1.200.10"};
  setclientid.callback_ident = 1;
  ExpectArgsRoundTrip<SETCLIENTID4args>(OP_SETCLIENTID, setclientid, [](const SETCLIENTID4args& a) {
    EXPECT_EQ(a.cb_location.addr, "10.0.0.1.200.10");
    EXPECT_EQ(a.cb_program, 0x40000000u);
  });
  ExpectArgsRoundTrip<SETCLIENTID_CONFIRM4args>(OP_SETCLIENTID_CONFIRM, {77, Verf(2)});
  ExpectArgsRoundTrip<VERIFY4args>(OP_VERIFY, {SetAttrs(0700, 1)});
  WRITE4args write;
  write.stateid = Sid(1, 6);
  write.offset = 1u << 30;
  write.stable = stable_how4::DATA_SYNC4;
  write.data = AsBytes("some data to write");
  ExpectArgsRoundTrip<WRITE4args>(OP_WRITE, write, [](const WRITE4args& a) {
    EXPECT_EQ(AsChars(a.data), "some data to write");
    EXPECT_EQ(a.stable, stable_how4::DATA_SYNC4);
  });
  ExpectArgsRoundTrip<RELEASE_LOCKOWNER4args>(OP_RELEASE_LOCKOWNER, {Owner(5, "lo")});
}

TEST(Nfs4Xdr, ArgsRoundTripOps40To58) {
  callback_sec_parms4 none;
  callback_sec_parms4 sys;
  sys.cb_secflavor = 1;
  sys.machinename = "client.example";
  sys.uid = 1000;
  sys.gid = 100;
  sys.gids = {4, 24, 27};
  callback_sec_parms4 gss;
  gss.cb_secflavor = 6;
  gss.gss_service = 2;
  gss.handle_from_server = std::string(16, 'S');
  gss.handle_from_client = "cb";
  ExpectArgsRoundTrip<BACKCHANNEL_CTL4args>(
      OP_BACKCHANNEL_CTL, {0x40000000, {none, sys, gss}}, [](const BACKCHANNEL_CTL4args& a) {
        ASSERT_EQ(a.sec_parms.size(), 3u);
        EXPECT_EQ(a.sec_parms[1].machinename, "client.example");
        EXPECT_EQ(a.sec_parms[1].gids, (std::vector<uint32_t>{4, 24, 27}));
        EXPECT_EQ(a.sec_parms[2].cb_secflavor, 6u);
        EXPECT_EQ(a.sec_parms[2].gss_service, 2u);
        EXPECT_EQ(a.sec_parms[2].handle_from_server, std::string(16, 'S'));
        EXPECT_EQ(a.sec_parms[2].handle_from_client, "cb");
      });
  ExpectArgsRoundTrip<BIND_CONN_TO_SESSION4args>(
      OP_BIND_CONN_TO_SESSION, {Session(3), channel_dir_from_client4::CDFC4_BACK_OR_BOTH, false});

  EXCHANGE_ID4args exchange;
  exchange.co_verifier = Verf(9);
  exchange.co_ownerid = AsBytes("owner");
  exchange.flags = EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;
  exchange.spa_how = state_protect_how4::SP4_MACH_CRED;
  exchange.spo_must_enforce = Bits({OP_EXCHANGE_ID, OP_CREATE_SESSION, OP_DESTROY_CLIENTID});
  exchange.spo_must_allow = Bits({OP_CLOSE});
  ExpectArgsRoundTrip<EXCHANGE_ID4args>(OP_EXCHANGE_ID, exchange, [](const EXCHANGE_ID4args& a) {
    EXPECT_EQ(a.spa_how, state_protect_how4::SP4_MACH_CRED);
    EXPECT_TRUE(a.spo_must_enforce.test(OP_DESTROY_CLIENTID));
    EXPECT_FALSE(a.client_impl_id.has_value());
  });
  exchange.spa_how = state_protect_how4::SP4_SSV;
  ExpectArgsRoundTrip<EXCHANGE_ID4args>(OP_EXCHANGE_ID, exchange);

  CREATE_SESSION4args create;
  create.clientid = 0x0102030405060708;
  create.sequence = 1;
  create.flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
  create.fore_chan_attrs = Channel(16);
  create.back_chan_attrs = Channel(2, 5);
  create.cb_program = 0x40000000;
  create.sec_parms = {sys};
  ExpectArgsRoundTrip<CREATE_SESSION4args>(OP_CREATE_SESSION, create,
                                           [](const CREATE_SESSION4args& a) {
                                             EXPECT_EQ(a.fore_chan_attrs, Channel(16));
                                             EXPECT_EQ(a.back_chan_attrs.rdma_ird, 5u);
                                             ASSERT_EQ(a.sec_parms.size(), 1u);
                                             EXPECT_EQ(a.sec_parms[0].uid, 1000u);
                                           });
  ExpectArgsRoundTrip<DESTROY_SESSION4args>(OP_DESTROY_SESSION, {Session(9)});
  ExpectArgsRoundTrip<FREE_STATEID4args>(OP_FREE_STATEID, {Sid(1, 0xfe)});
  GET_DIR_DELEGATION4args gdd;
  gdd.signal_deleg_avail = true;
  gdd.notification_types = Bits({1, 2});
  gdd.child_attr_delay = {1, 500};
  gdd.dir_attr_delay = {2, 0};
  gdd.child_attributes = Bits({FATTR4_SIZE});
  gdd.dir_attributes = Bits({FATTR4_CHANGE});
  ExpectArgsRoundTrip<GET_DIR_DELEGATION4args>(OP_GET_DIR_DELEGATION, gdd);
  ExpectArgsRoundTrip<SECINFO_NO_NAME4args>(OP_SECINFO_NO_NAME,
                                            {secinfo_style4::SECINFO_STYLE4_PARENT});
  ExpectArgsRoundTrip<SEQUENCE4args>(OP_SEQUENCE, {Session(1), 2, 3, 4, false});
  ExpectArgsRoundTrip<SET_SSV4args>(OP_SET_SSV, {AsBytes("ssv"), AsBytes("digest")});
  ExpectArgsRoundTrip<TEST_STATEID4args>(
      OP_TEST_STATEID, {{Sid(1, 1), Sid(2, 2), Sid(3, 3)}},
      [](const TEST_STATEID4args& a) { EXPECT_EQ(a.stateids.back(), Sid(3, 3)); });
  ExpectArgsRoundTrip<WANT_DELEGATION4args>(
      OP_WANT_DELEGATION, {OPEN4_SHARE_ACCESS_WANT_READ_DELEG, open_claim_type4::CLAIM_FH});
  ExpectArgsRoundTrip<WANT_DELEGATION4args>(OP_WANT_DELEGATION,
                                            {0, open_claim_type4::CLAIM_DELEG_PREV_FH});
  ExpectArgsRoundTrip<WANT_DELEGATION4args>(
      OP_WANT_DELEGATION,
      {0, open_claim_type4::CLAIM_PREVIOUS, open_delegation_type4::OPEN_DELEGATE_READ},
      [](const WANT_DELEGATION4args& a) {
        EXPECT_EQ(a.delegate_type, open_delegation_type4::OPEN_DELEGATE_READ);
      });
  ExpectArgsRoundTrip<DESTROY_CLIENTID4args>(OP_DESTROY_CLIENTID, {31});
  ExpectArgsRoundTrip<RECLAIM_COMPLETE4args>(OP_RECLAIM_COMPLETE, {true});
}

TEST(Nfs4Xdr, OperationsWithoutArguments) {
  for (uint32_t op :
       {OP_GETFH, OP_LOOKUPP, OP_PUTPUBFH, OP_PUTROOTFH, OP_READLINK, OP_RESTOREFH, OP_SAVEFH}) {
    ExpectArgsRoundTrip<std::monostate>(op, {});
  }
}

// The pNFS operations' arguments are left unread: the server's NOTSUPP ends the COMPOUND.
TEST(Nfs4Xdr, LayoutOperationsAreNotDecoded) {
  for (uint32_t op :
       {OP_GETDEVICEINFO, OP_GETDEVICELIST, OP_LAYOUTCOMMIT, OP_LAYOUTGET, OP_LAYOUTRETURN}) {
    const std::string bytes = Words({op, 1, 2, 3});
    xdr::XdrDecoder d(AsBytes(bytes));
    nfs_argop4 decoded;
    ASSERT_TRUE(Decode(d, &decoded));
    EXPECT_EQ(decoded.op, op);
    EXPECT_TRUE(std::holds_alternative<NotSupportedArgs>(decoded.args));
    EXPECT_EQ(d.remaining(), 12u);
  }
}

TEST(Nfs4Xdr, UnknownOperationDecodesWithoutArguments) {
  for (uint32_t op : {0u, 1u, 2u, 76u, 9999u, uint32_t{OP_ILLEGAL}}) {
    const std::string bytes = Words({op, 0xdeadbeef});
    xdr::XdrDecoder d(AsBytes(bytes));
    nfs_argop4 decoded;
    ASSERT_TRUE(Decode(d, &decoded)) << op;
    EXPECT_EQ(decoded.op, op);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(decoded.args));
    EXPECT_EQ(d.remaining(), 4u);
  }
  EXPECT_STREQ(OpName(9999), "ILLEGAL");
  EXPECT_STREQ(OpName(OP_ILLEGAL), "ILLEGAL");
  EXPECT_STREQ(OpName(OP_OPEN_DOWNGRADE), "OPEN_DOWNGRADE");
  EXPECT_STREQ(OpName(OP_RECLAIM_COMPLETE), "RECLAIM_COMPLETE");
}

// --- Round trips of every result ---

TEST(Nfs4Xdr, ResultsRoundTrip) {
  ExpectResRoundTrip<ACCESS4res>(OP_ACCESS, {nfsstat4::NFS4_OK, 0x3f, 0x1b},
                                 [](const ACCESS4res& r) { EXPECT_EQ(r.access, 0x1bu); });
  ExpectResRoundTrip<ACCESS4res>(OP_ACCESS, {nfsstat4::NFS4ERR_STALE, 1, 1},
                                 [](const ACCESS4res& r) { EXPECT_EQ(r.access, 0u); });
  ExpectResRoundTrip<CLOSE4res>(OP_CLOSE, {nfsstat4::NFS4_OK, Sid(3, 1)});
  ExpectResRoundTrip<COMMIT4res>(OP_COMMIT, {nfsstat4::NFS4_OK, Verf(4)});
  ExpectResRoundTrip<CREATE4res>(OP_CREATE, {nfsstat4::NFS4_OK, Cinfo(), Bits({FATTR4_MODE})});
  ExpectResRoundTrip<CREATE4res>(OP_CREATE, {nfsstat4::NFS4ERR_EXIST, {}, {}});

  GETATTR4res getattr;
  EncodeAttrs(AllBits(), FullAttrs(), &getattr.obj_attributes);
  ExpectResRoundTrip<GETATTR4res>(OP_GETATTR, getattr, [](const GETATTR4res& r) {
    // The values are owned by the result: the input is gone.
    Fattr4 f;
    ASSERT_EQ(DecodeAttrs(r.obj_attributes, &f), nfsstat4::NFS4_OK);
    EXPECT_EQ(f.owner, "alice@example.com");
  });
  ExpectResRoundTrip<GETFH4res>(OP_GETFH, {nfsstat4::NFS4_OK, OwnedFh()},
                                [](const GETFH4res& r) { EXPECT_EQ(r.object, OwnedFh()); });
  ExpectResRoundTrip<LINK4res>(OP_LINK, {nfsstat4::NFS4_OK, Cinfo()});

  LOCK4res lock;
  lock.lock_stateid = Sid(1, 0x11);
  ExpectResRoundTrip<LOCK4res>(OP_LOCK, lock);
  lock.status = nfsstat4::NFS4ERR_DENIED;
  lock.denied = {5, 10, nfs_lock_type4::READ_LT, Owner(3, "holder")};
  ExpectResRoundTrip<LOCK4res>(OP_LOCK, lock, [](const LOCK4res& r) {
    EXPECT_EQ(r.lock_stateid, stateid4{});
    EXPECT_EQ(AsChars(r.denied.owner.bytes()), "holder");
  });
  ExpectResRoundTrip<LOCKT4res>(OP_LOCKT, {nfsstat4::NFS4ERR_DENIED, lock.denied});
  ExpectResRoundTrip<LOCKT4res>(OP_LOCKT, {nfsstat4::NFS4_OK, {}});
  ExpectResRoundTrip<LOCKU4res>(OP_LOCKU, {nfsstat4::NFS4_OK, Sid(2, 0x22)});

  OPEN4res open;
  open.stateid = Sid(1, 0x33);
  open.cinfo = Cinfo();
  open.rflags = OPEN4_RESULT_LOCKTYPE_POSIX | OPEN4_RESULT_CONFIRM;
  open.attrset = Bits({FATTR4_MODE});
  ExpectResRoundTrip<OPEN4res>(OP_OPEN, open);
  open.delegation.delegation_type = open_delegation_type4::OPEN_DELEGATE_READ;
  open.delegation.stateid = Sid(1, 0x44);
  open.delegation.recall = true;
  open.delegation.permissions = Ace();
  ExpectResRoundTrip<OPEN4res>(OP_OPEN, open, [](const OPEN4res& r) {
    EXPECT_EQ(r.delegation.stateid, Sid(1, 0x44));
    EXPECT_EQ(r.delegation.permissions.who, "EVERYONE@");
  });
  open.delegation.delegation_type = open_delegation_type4::OPEN_DELEGATE_WRITE;
  open.delegation.space_limit_filesize = 1u << 30;
  ExpectResRoundTrip<OPEN4res>(OP_OPEN, open, [](const OPEN4res& r) {
    EXPECT_EQ(r.delegation.space_limit_filesize, 1u << 30);
  });
  open.delegation = {};
  open.delegation.delegation_type = open_delegation_type4::OPEN_DELEGATE_NONE_EXT;
  for (why_no_delegation4 why :
       {why_no_delegation4::WND4_NOT_WANTED, why_no_delegation4::WND4_CONTENTION,
        why_no_delegation4::WND4_RESOURCE, why_no_delegation4::WND4_IS_DIR}) {
    open.delegation.ond_why = why;
    open.delegation.ond_server_will_push_or_signal =
        why == why_no_delegation4::WND4_CONTENTION || why == why_no_delegation4::WND4_RESOURCE;
    ExpectResRoundTrip<OPEN4res>(
        OP_OPEN, open, [why](const OPEN4res& r) { EXPECT_EQ(r.delegation.ond_why, why); });
  }
  ExpectResRoundTrip<OPEN4res>(OP_OPEN, {nfsstat4::NFS4ERR_SHARE_DENIED, {}, {}, 0, {}, {}});
  ExpectResRoundTrip<OPEN_CONFIRM4res>(OP_OPEN_CONFIRM, {nfsstat4::NFS4_OK, Sid(2, 1)});
  ExpectResRoundTrip<OPEN_DOWNGRADE4res>(OP_OPEN_DOWNGRADE, {nfsstat4::NFS4_OK, Sid(3, 1)});

  READ4res read;
  read.eof = true;
  const std::string big(3000, 'r');  // over VarOpaquePieces' copy threshold: sent as a view
  read.data = {AsBytes(std::string_view("head-")), AsBytes(big)};
  ExpectResRoundTrip<READ4res>(OP_READ, read, [&big](const READ4res& r) {
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(r.DataString(), "head-" + big);
  });
  ExpectResRoundTrip<READ4res>(OP_READ, READ4res{});

  READDIR4res readdir;
  readdir.cookieverf = Verf(8);
  for (uint64_t i = 0; i < 3; ++i) {
    entry4 e;
    e.cookie = i + 3;
    e.name = "entry-" + std::to_string(i);
    Fattr4 f;
    f.fileid = 100 + i;
    f.mask = Bits({FATTR4_FILEID});
    EncodeAttrs(f.mask, f, &e.attrs);
    readdir.entries.push_back(std::move(e));
  }
  readdir.eof = true;
  ExpectResRoundTrip<READDIR4res>(OP_READDIR, readdir, [](const READDIR4res& r) {
    ASSERT_EQ(r.entries.size(), 3u);
    EXPECT_EQ(r.entries[2].name, "entry-2");
    Fattr4 f;
    ASSERT_EQ(DecodeAttrs(r.entries[2].attrs, &f), nfsstat4::NFS4_OK);
    EXPECT_EQ(f.fileid, 102u);
    EXPECT_TRUE(r.eof);
  });
  readdir.entries.clear();
  ExpectResRoundTrip<READDIR4res>(OP_READDIR, readdir);
  ExpectResRoundTrip<READLINK4res>(OP_READLINK, {nfsstat4::NFS4_OK, "/a/b/c"});
  ExpectResRoundTrip<REMOVE4res>(OP_REMOVE, {nfsstat4::NFS4_OK, Cinfo()});
  ExpectResRoundTrip<RENAME4res>(OP_RENAME, {nfsstat4::NFS4_OK, Cinfo(), {false, 1, 2}});

  SECINFO4res secinfo;
  secinfo.flavors = {{1, "", 0, 0}, {6, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 0, 2}};
  ExpectResRoundTrip<SECINFO4res>(OP_SECINFO, secinfo, [](const SECINFO4res& r) {
    ASSERT_EQ(r.flavors.size(), 2u);
    EXPECT_EQ(r.flavors[1].oid.size(), 9u);
    EXPECT_EQ(r.flavors[1].service, 2u);
  });
  ExpectResRoundTrip<SECINFO4res>(OP_SECINFO_NO_NAME, secinfo);

  ExpectResRoundTrip<SETATTR4res>(OP_SETATTR, {nfsstat4::NFS4_OK, Bits({FATTR4_MODE})});
  // SETATTR4res carries attrsset whatever the status.
  ExpectResRoundTrip<SETATTR4res>(
      OP_SETATTR, {nfsstat4::NFS4ERR_PERM, Bits({FATTR4_SIZE})},
      [](const SETATTR4res& r) { EXPECT_EQ(r.attrsset, Bits({FATTR4_SIZE})); });
  ExpectResRoundTrip<SETCLIENTID4res>(OP_SETCLIENTID, {nfsstat4::NFS4_OK, 5, Verf(6), {}});
  ExpectResRoundTrip<SETCLIENTID4res>(
      OP_SETCLIENTID, {nfsstat4::NFS4ERR_CLID_INUSE, 0, {}, {"tcp", "10.1.2.3.8.1"}},
      [](const SETCLIENTID4res& r) { EXPECT_EQ(r.client_using.addr, "10.1.2.3.8.1"); });
  ExpectResRoundTrip<WRITE4res>(OP_WRITE,
                                {nfsstat4::NFS4_OK, 512, stable_how4::FILE_SYNC4, Verf(3)});
  ExpectResRoundTrip<BIND_CONN_TO_SESSION4res>(
      OP_BIND_CONN_TO_SESSION,
      {nfsstat4::NFS4_OK, Session(2), channel_dir_from_server4::CDFS4_BOTH, false});

  EXCHANGE_ID4res exchange;
  exchange.clientid = 0x1234;
  exchange.sequenceid = 1;
  exchange.flags = EXCHGID4_FLAG_USE_NON_PNFS | EXCHGID4_FLAG_CONFIRMED_R;
  exchange.so_minor_id = 0;
  exchange.so_major_id = "dittofs";
  exchange.server_scope = "scope";
  exchange.server_impl_id = nfs_impl_id4{"dittofs.dev", "DittoFS 0.1", {1700000000, 0}};
  ExpectResRoundTrip<EXCHANGE_ID4res>(OP_EXCHANGE_ID, exchange, [](const EXCHANGE_ID4res& r) {
    EXPECT_EQ(r.so_major_id, "dittofs");
    ASSERT_TRUE(r.server_impl_id.has_value());
    EXPECT_EQ(r.server_impl_id->date.seconds, 1700000000);
  });
  exchange.spr_how = state_protect_how4::SP4_MACH_CRED;
  exchange.spo_must_enforce = Bits({OP_EXCHANGE_ID});
  exchange.server_impl_id.reset();
  ExpectResRoundTrip<EXCHANGE_ID4res>(OP_EXCHANGE_ID, exchange);

  ExpectResRoundTrip<CREATE_SESSION4res>(
      OP_CREATE_SESSION, {nfsstat4::NFS4_OK, Session(4), 1, 0, Channel(8), Channel(2, 1)},
      [](const CREATE_SESSION4res& r) { EXPECT_EQ(r.back_chan_attrs.rdma_ird, 1u); });
  ExpectResRoundTrip<GET_DIR_DELEGATION4res>(OP_GET_DIR_DELEGATION, {nfsstat4::NFS4_OK, true});
  ExpectResRoundTrip<GET_DIR_DELEGATION4res>(OP_GET_DIR_DELEGATION,
                                             {nfsstat4::NFS4ERR_NOTSUPP, false});
  ExpectResRoundTrip<SEQUENCE4res>(
      OP_SEQUENCE, {nfsstat4::NFS4_OK, Session(5), 2, 0, 15, 15, SEQ4_STATUS_CB_PATH_DOWN});
  ExpectResRoundTrip<SEQUENCE4res>(OP_SEQUENCE, {nfsstat4::NFS4ERR_BADSESSION});
  ExpectResRoundTrip<TEST_STATEID4res>(
      OP_TEST_STATEID, {nfsstat4::NFS4_OK, {nfsstat4::NFS4_OK, nfsstat4::NFS4ERR_BAD_STATEID}});
  WANT_DELEGATION4res want;
  want.delegation.delegation_type = open_delegation_type4::OPEN_DELEGATE_NONE_EXT;
  want.delegation.ond_why = why_no_delegation4::WND4_NOT_SUPP_FTYPE;
  ExpectResRoundTrip<WANT_DELEGATION4res>(OP_WANT_DELEGATION, want);

  // Status-only results.
  for (uint32_t op : {OP_PUTFH, OP_LOOKUP, OP_RENEW, OP_SAVEFH, OP_DESTROY_SESSION,
                      OP_RECLAIM_COMPLETE, OP_LAYOUTGET, OP_ILLEGAL}) {
    ExpectResRoundTrip<nfsstat4>(op, nfsstat4::NFS4ERR_NOTSUPP);
    ExpectResRoundTrip<nfsstat4>(op, nfsstat4::NFS4_OK);
  }
}

TEST(Nfs4Xdr, CompoundResultsDecodeWhole) {
  xdr::XdrEncoder e;
  e.U32(static_cast<uint32_t>(nfsstat4::NFS4ERR_NOENT));
  e.String("tag");
  e.U32(3);
  EncodeResop(e, {OP_PUTROOTFH, nfsstat4::NFS4_OK});
  GETATTR4res getattr;
  Fattr4 f;
  f.size = 5;
  f.mask = Bits({FATTR4_SIZE});
  EncodeAttrs(f.mask, f, &getattr.obj_attributes);
  EncodeResop(e, {OP_GETATTR, getattr});
  EncodeResop(e, {OP_LOOKUP, nfsstat4::NFS4ERR_NOENT});
  const std::string bytes = e.ToString();

  COMPOUND4res res;
  {
    Buffer input = Buffer::Copy(AsBytes(bytes));
    xdr::XdrDecoder d(input.view());
    ASSERT_TRUE(Decode(d, &res));
    EXPECT_EQ(d.remaining(), 0u);
  }
  EXPECT_EQ(res.status, nfsstat4::NFS4ERR_NOENT);
  EXPECT_EQ(res.tag, "tag");
  ASSERT_EQ(res.resarray.size(), 3u);
  EXPECT_EQ(res.resarray[2].status(), nfsstat4::NFS4ERR_NOENT);
  Fattr4 back;
  ASSERT_EQ(DecodeAttrs(std::get<GETATTR4res>(res.resarray[1].res).obj_attributes, &back),
            nfsstat4::NFS4_OK);
  EXPECT_EQ(back.size, 5u);

  for (size_t len = 0; len < bytes.size(); ++len) {
    Buffer prefix = Buffer::Copy(AsBytes(std::string_view(bytes).substr(0, len)));
    xdr::XdrDecoder t(prefix.view());
    COMPOUND4res partial;
    EXPECT_FALSE(Decode(t, &partial)) << len;
  }
}

TEST(Nfs4Xdr, ResultStatusAndEntrySize) {
  nfs_resop4 r;
  r.op = OP_WRITE;
  r.res = WRITE4res{nfsstat4::NFS4ERR_NOSPC};
  EXPECT_EQ(r.status(), nfsstat4::NFS4ERR_NOSPC);
  r.res = nfsstat4::NFS4ERR_ROFS;
  EXPECT_EQ(r.status(), nfsstat4::NFS4ERR_ROFS);

  // EncodedSize is what one more entry adds to a READDIR reply.
  READDIR4res readdir;
  nfs_resop4 empty{OP_READDIR, readdir};
  entry4 e;
  e.cookie = 1;
  e.name = "seven!!";
  Fattr4 f = FullAttrs();
  EncodeAttrs(AllBits(), f, &e.attrs);
  readdir.entries.push_back(e);
  nfs_resop4 one{OP_READDIR, readdir};
  EXPECT_EQ(Encoded(one).size() - Encoded(empty).size(), EncodedSize(e));
}

// --- Attributes ---

TEST(Nfs4Xdr, AttrsRoundTripEveryKnownAttribute) {
  const Fattr4 in = FullAttrs();
  fattr4 wire;
  EncodeAttrs(AllBits(), in, &wire);
  EXPECT_EQ(wire.attrmask, in.mask);
  Fattr4 out;
  ASSERT_EQ(DecodeAttrs(wire, &out), nfsstat4::NFS4_OK);
  EXPECT_EQ(out.mask, in.mask);
  EXPECT_EQ(out.supported_attrs, in.supported_attrs);
  EXPECT_EQ(out.change, in.change);
  EXPECT_EQ(out.fsid, in.fsid);
  EXPECT_EQ(out.rdattr_error, nfsstat4::NFS4ERR_ACCESS);
  EXPECT_EQ(out.filehandle, in.filehandle);
  EXPECT_EQ(out.maxfilesize, in.maxfilesize);
  EXPECT_EQ(out.mode, 04755u);
  EXPECT_EQ(out.owner_group, in.owner_group);
  EXPECT_EQ(out.rawdev, in.rawdev);
  EXPECT_EQ(out.time_access, in.time_access);
  EXPECT_EQ(out.time_access_set, in.time_access_set);
  EXPECT_EQ(out.time_modify_set, in.time_modify_set);
  EXPECT_EQ(out.mounted_on_fileid, 78u);
  EXPECT_EQ(out.suppattr_exclcreat, in.suppattr_exclcreat);
  EXPECT_TRUE(out.system && out.hidden && out.chown_restricted && out.named_attr);
  // Every field: the decoded values encode to the same bytes.
  fattr4 again;
  EncodeAttrs(AllBits(), out, &again);
  EXPECT_EQ(Hex(again.owned_vals), Hex(wire.owned_vals));

  // Each attribute on its own, too (its value ends exactly where the next would start).
  for (uint32_t bit = 0; bit < 96; ++bit) {
    if (!Fattr4Known(bit)) continue;
    fattr4 one;
    EncodeAttrs(Bits({bit}), in, &one);
    ASSERT_EQ(one.attrmask, Bits({bit})) << bit;
    Fattr4 back;
    EXPECT_EQ(DecodeAttrs(one, &back), nfsstat4::NFS4_OK) << bit;
  }
}

TEST(Nfs4Xdr, EncodeAttrsTakesWhatIsBothWantedAndPresentAndKnown) {
  Fattr4 in = FullAttrs();
  in.mask = Bits({FATTR4_TYPE, FATTR4_SIZE, FATTR4_FS_LOCATIONS, FATTR4_MOUNTED_ON_FILEID});
  fattr4 out;
  EncodeAttrs(Bits({FATTR4_SIZE, FATTR4_MODE, FATTR4_FS_LOCATIONS, FATTR4_MOUNTED_ON_FILEID, 90}),
              in, &out);
  EXPECT_EQ(out.attrmask, Bits({FATTR4_SIZE, FATTR4_MOUNTED_ON_FILEID}));
  EXPECT_EQ(out.owned_vals.size(), 16u);
  // Nothing in common: an empty bitmap (no words) and no values.
  EncodeAttrs(Bits({FATTR4_MODE}), in, &out);
  EXPECT_TRUE(out.attrmask.words.empty());
  EXPECT_TRUE(out.vals().empty());
  // A long want bitmap is fine; the output is trimmed.
  bitmap4 want;
  want.words.assign(kMaxNfs4BitmapWords, 0);
  want.words[0] = 1u << FATTR4_SIZE;
  EncodeAttrs(want, in, &out);
  EXPECT_EQ(out.attrmask.words.size(), 1u);

  EXPECT_TRUE(Fattr4Known(FATTR4_SUPPATTR_EXCLCREAT));
  EXPECT_TRUE(Fattr4Known(FATTR4_MOUNTED_ON_FILEID));
  EXPECT_TRUE(Fattr4Known(FATTR4_MODE_SET_MASKED));
  EXPECT_TRUE(Fattr4Known(FATTR4_QUOTA_USED));
  for (uint32_t bit : {uint32_t{FATTR4_FS_LOCATIONS}, uint32_t{FATTR4_MIMETYPE},
                       uint32_t{FATTR4_TIME_BACKUP}, 56u, 73u, 76u, 2000u}) {
    EXPECT_FALSE(Fattr4Known(bit)) << bit;
  }
}

TEST(Nfs4Xdr, QuotaAttributesRoundTrip) {
  Fattr4 in;
  in.mask = Bits({FATTR4_QUOTA_AVAIL_HARD, FATTR4_QUOTA_AVAIL_SOFT, FATTR4_QUOTA_USED});
  in.quota_avail_hard = 1 << 20;
  in.quota_avail_soft = 1 << 10;
  in.quota_used = 12345;
  fattr4 out;
  EncodeAttrs(in.mask, in, &out);
  EXPECT_EQ(out.owned_vals.size(), 24u);
  Fattr4 back;
  ASSERT_EQ(DecodeAttrs(out, &back), nfsstat4::NFS4_OK);
  EXPECT_EQ(back.quota_avail_hard, in.quota_avail_hard);
  EXPECT_EQ(back.quota_avail_soft, in.quota_avail_soft);
  EXPECT_EQ(back.quota_used, in.quota_used);
}

TEST(Nfs4Xdr, AclAttributeRoundTripsAndRefusesLyingCounts) {
  Fattr4 in;
  in.mask = Bits({FATTR4_ACL});
  in.acl = {nfsace4{ACE4_ACCESS_DENIED_ACE_TYPE, 0x3, 0x6, "alice@example.com"},
            nfsace4{ACE4_ACCESS_ALLOWED_ACE_TYPE, ACE4_IDENTIFIER_GROUP, 0x1, "GROUP@"}};
  fattr4 out;
  EncodeAttrs(in.mask, in, &out);
  // count, then per ACE type, flag, mask and the padded who.
  EXPECT_EQ(out.owned_vals.size(), 4u + (12 + 4 + 20) + (12 + 4 + 8));
  Fattr4 back;
  ASSERT_EQ(DecodeAttrs(out, &back), nfsstat4::NFS4_OK);
  EXPECT_EQ(back.acl, in.acl);
  // 10,000 ACEs claimed: more than an ACL may hold, and more than the bytes could carry.
  fattr4 lying;
  lying.attrmask = Bits({FATTR4_ACL});
  lying.owned_vals = std::string("\x00\x00\x27\x10", 4) + std::string(64, '\0');
  EXPECT_EQ(DecodeAttrs(lying, &back), nfsstat4::NFS4ERR_BADXDR);
  // A count the bytes cannot hold (three ACEs in 16 bytes).
  lying.owned_vals = std::string("\x00\x00\x00\x03", 4) + std::string(16, '\0');
  EXPECT_EQ(DecodeAttrs(lying, &back), nfsstat4::NFS4ERR_BADXDR);
}

// --- Hostile input ---

// A COMPOUND with arguments of many shapes, cut at every byte: the header or an operation
// fails, and nothing reads past the input.
TEST(Nfs4Xdr, TruncatedCompoundFailsAtEveryByte) {
  std::vector<nfs_argop4> ops = SequenceGetattrOps();
  OPEN4args open;
  open.owner = Owner(1, "o");
  open.opentype = opentype4::OPEN4_CREATE;
  open.mode = createmode4::EXCLUSIVE4_1;
  open.createattrs = SetAttrs(0600);
  open.file = "f";
  ops.push_back(Op(OP_OPEN, open));
  WRITE4args write;
  write.data = AsBytes("abc");
  ops.push_back(Op(OP_WRITE, write));
  ops.push_back(Op(OP_LOCK, LOCK4args{}));
  xdr::XdrEncoder e;
  EncodeCompound(e, "tagged", 1, ops);
  const std::string bytes = e.ToString();

  const auto decodes = [](std::string_view input) {
    Buffer copy = Buffer::Copy(AsBytes(input));
    xdr::XdrDecoder d(copy.view());
    COMPOUND4args_header h;
    if (!DecodeCompoundHeader(d, &h)) return false;
    for (uint32_t i = 0; i < h.numops; ++i) {
      nfs_argop4 op;
      if (!Decode(d, &op)) return false;
    }
    return d.remaining() == 0;
  };
  ASSERT_TRUE(decodes(bytes));
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(decodes(std::string_view(bytes).substr(0, len))) << len;
  }
}

TEST(Nfs4Xdr, BitmapsAreBounded) {
  const auto getattr = [](uint32_t words) {
    xdr::XdrEncoder e;
    e.U32(OP_GETATTR);
    e.U32(words);
    for (uint32_t i = 0; i < words; ++i) e.U32(0xffffffff);
    const std::string bytes = e.ToString();
    xdr::XdrDecoder d(AsBytes(bytes));
    nfs_argop4 op;
    const bool ok = Decode(d, &op);
    EXPECT_EQ(op.op, OP_GETATTR);  // known even when the arguments fail
    return ok;
  };
  EXPECT_TRUE(getattr(kMaxNfs4BitmapWords));
  EXPECT_FALSE(getattr(kMaxNfs4BitmapWords + 1));
  EXPECT_FALSE(getattr(1000));
  // A length the input cannot hold.
  const std::string lying = Words({OP_GETATTR, 50, 1});
  xdr::XdrDecoder d(AsBytes(lying));
  nfs_argop4 op;
  EXPECT_FALSE(Decode(d, &op));
}

// gss_cb_handles4's service is an rpc_gss_svc_t: none, integrity or privacy, nothing else.
TEST(Nfs4Xdr, CallbackGssServiceIsBounded) {
  const auto backchannel_ctl = [](uint32_t service) {
    const std::string bytes = Words({OP_BACKCHANNEL_CTL, 0x40000000, 1, 6, service, 0, 0});
    xdr::XdrDecoder d(AsBytes(bytes));
    nfs_argop4 op;
    return Decode(d, &op);
  };
  EXPECT_FALSE(backchannel_ctl(0));
  EXPECT_TRUE(backchannel_ctl(1));
  EXPECT_TRUE(backchannel_ctl(3));
  EXPECT_FALSE(backchannel_ctl(4));
}

TEST(Nfs4Xdr, AttrValuesMustFillTheirOpaqueExactly) {
  // size is a uint64: four bytes are too few, twelve too many.
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_SIZE}, Words({0}))), nfsstat4::NFS4ERR_BADXDR);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_SIZE}, Words({0, 1}))), nfsstat4::NFS4_OK);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_SIZE}, Words({0, 1, 2}))), nfsstat4::NFS4ERR_BADXDR);
  // No bits, but values.
  EXPECT_EQ(AttrsStatus(RawAttrs({}, Words({0}))), nfsstat4::NFS4ERR_BADXDR);
  // An owner whose length runs past the values.
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_MODE, FATTR4_OWNER}, Words({0644, 40}) + "root")),
            nfsstat4::NFS4ERR_BADXDR);
  // A boolean of 2.
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_HIDDEN}, Words({2}))), nfsstat4::NFS4ERR_BADXDR);
  // A type out of nfs_ftype4's range; an unknown rdattr_error.
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_TYPE}, Words({10}))), nfsstat4::NFS4ERR_BADXDR);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_RDATTR_ERROR}, Words({3}))), nfsstat4::NFS4ERR_BADXDR);
  // An embedded bitmap over the bound.
  std::string words = Words({kMaxNfs4BitmapWords + 1});
  words += std::string(4 * (kMaxNfs4BitmapWords + 1), '\0');
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_SUPPATTR_EXCLCREAT}, words)), nfsstat4::NFS4ERR_BADXDR);

  // The same lie inside a SETATTR: the arguments decode (the fattr4 is an opaque), and
  // DecodeAttrs refuses the values.
  SETATTR4args setattr;
  setattr.obj_attributes = RawAttrs({FATTR4_SIZE, FATTR4_MODE}, Words({0, 0}));
  const std::string bytes = Encoded(Op(OP_SETATTR, setattr));
  xdr::XdrDecoder d(AsBytes(bytes));
  nfs_argop4 op;
  ASSERT_TRUE(Decode(d, &op));
  Fattr4 f;
  EXPECT_EQ(DecodeAttrs(std::get<SETATTR4args>(op.args).obj_attributes, &f),
            nfsstat4::NFS4ERR_BADXDR);
}

TEST(Nfs4Xdr, OwnerStringsAreBounded) {
  // In an attribute.
  Fattr4 f;
  f.owner = std::string(NFS4_OPAQUE_LIMIT, 'a');
  f.mask = Bits({FATTR4_OWNER});
  fattr4 wire;
  EncodeAttrs(f.mask, f, &wire);
  EXPECT_EQ(AttrsStatus(wire), nfsstat4::NFS4_OK);
  f.owner += 'a';
  EncodeAttrs(f.mask, f, &wire);
  EXPECT_EQ(AttrsStatus(wire), nfsstat4::NFS4ERR_BADXDR);
  // As an open-owner.
  OPEN4args open;
  open.owner = Owner(1, std::string(NFS4_OPAQUE_LIMIT + 1, 'o'));
  open.file = "f";
  const std::string bytes = Encoded(Op(OP_OPEN, open));
  xdr::XdrDecoder d(AsBytes(bytes));
  nfs_argop4 op;
  EXPECT_FALSE(Decode(d, &op));
  EXPECT_EQ(op.op, OP_OPEN);
}

TEST(Nfs4Xdr, UnknownAttributesAreNotSupported) {
  for (uint32_t bit :
       {uint32_t{FATTR4_FS_LOCATIONS}, uint32_t{FATTR4_TIME_BACKUP}, 60u, 100u, 2047u}) {
    EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_SIZE, bit}, Words({0, 0, 0}))),
              nfsstat4::NFS4ERR_ATTRNOTSUPP)
        << bit;
  }
}

TEST(Nfs4Xdr, AttrValuesOutOfRangeAreInvalid) {
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_MODE}, Words({07777}))), nfsstat4::NFS4_OK);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_MODE}, Words({010000}))), nfsstat4::NFS4ERR_INVAL);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_TIME_MODIFY}, Words({0, 1, 999999999}))),
            nfsstat4::NFS4_OK);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_TIME_MODIFY}, Words({0, 1, 1000000000}))),
            nfsstat4::NFS4ERR_INVAL);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_TIME_ACCESS_SET}, Words({1, 0, 1, 1000000000}))),
            nfsstat4::NFS4ERR_INVAL);
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_TIME_ACCESS_SET}, Words({0}))), nfsstat4::NFS4_OK);
  // A settime4 arm out of range: what follows cannot be found.
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET}, Words({2, 0}))),
            nfsstat4::NFS4ERR_INVAL);
  // Malformed wins over out of range.
  EXPECT_EQ(AttrsStatus(RawAttrs({FATTR4_MODE}, Words({010000, 0}))), nfsstat4::NFS4ERR_BADXDR);
}

// Arguments with values out of their types' ranges.
TEST(Nfs4Xdr, OutOfRangeArgumentsFail) {
  const auto fails = [](const std::string& bytes) {
    Buffer input = Buffer::Copy(AsBytes(bytes));
    xdr::XdrDecoder d(input.view());
    nfs_argop4 op;
    return !Decode(d, &op);
  };
  std::string sid(16, '\0');
  // LOCK with locktype 5; SEQUENCE with cachethis 2; CREATE of type 10; OPEN with claim 7.
  EXPECT_TRUE(fails(Words({OP_LOCK, 5, 0, 0, 0, 0, 0, 0}) + sid + Words({0})));
  EXPECT_TRUE(fails(Words({OP_SEQUENCE}) + sid + Words({1, 0, 0, 2})));
  EXPECT_TRUE(fails(Words({OP_CREATE, 10})));
  OPEN4args open;
  open.file = "f";
  std::string bytes = Encoded(Op(OP_OPEN, open));
  ASSERT_FALSE(fails(bytes));
  bytes.replace(bytes.size() - 12, 4, Words({7}));  // claim, before "f"'s length and bytes
  EXPECT_TRUE(fails(bytes));
  // WANT_DELEGATION claims other than FH, PREVIOUS and DELEG_PREV_FH.
  EXPECT_TRUE(fails(Words({OP_WANT_DELEGATION, 0, 0})));
  EXPECT_FALSE(fails(Words({OP_WANT_DELEGATION, 0, 4})));
  // A callback flavor other than AUTH_NONE, AUTH_SYS and RPCSEC_GSS.
  EXPECT_TRUE(fails(Words({OP_BACKCHANNEL_CTL, 1, 1, 2})));
  EXPECT_FALSE(fails(Words({OP_BACKCHANNEL_CTL, 1, 1, 0})));
  // A channel direction of 4; an rdma_ird array of two.
  EXPECT_TRUE(fails(Words({OP_BIND_CONN_TO_SESSION}) + sid + Words({4, 0})));
  CREATE_SESSION4args session;
  bytes = Encoded(Op(OP_CREATE_SESSION, session));
  bytes.replace(4 + 16 + 24, 4, Words({2}));  // fore channel's ca_rdma_ird length
  EXPECT_TRUE(fails(bytes));
  // nseconds of 10^9 in GET_DIR_DELEGATION's delays.
  EXPECT_TRUE(fails(Words({OP_GET_DIR_DELEGATION, 0, 0, 0, 0, 1000000000, 0, 0, 0, 0, 0})));
  EXPECT_FALSE(fails(Words({OP_GET_DIR_DELEGATION, 0, 0, 0, 0, 999999999, 0, 0, 0, 0, 0})));
  // A tag over the bound; a name over the bound; WRITE data over the bound (its length).
  EXPECT_TRUE(fails(Words({OP_LOOKUP, kMaxNfs4Name + 1}) + std::string(kMaxNfs4Name + 1, 'n')));
  EXPECT_TRUE(fails(Words({OP_WRITE}) + sid + Words({0, 0, 0, kMaxNfs4Data + 1})));
  // More stateids than the input holds.
  EXPECT_TRUE(fails(Words({OP_TEST_STATEID, 1000}) + sid));
  // A file handle over NFS4_FHSIZE.
  EXPECT_TRUE(fails(Words({OP_PUTFH, NFS4_FHSIZE + 4}) + std::string(NFS4_FHSIZE + 4, 'h')));

  const std::string tag = Words({kMaxNfs4Tag + 4}) + std::string(kMaxNfs4Tag + 4, 't');
  const std::string header = tag + Words({1, 0});
  xdr::XdrDecoder d(AsBytes(header));
  COMPOUND4args_header h;
  EXPECT_FALSE(DecodeCompoundHeader(d, &h));
}

// --- The callback program ---

TEST(Nfs4Xdr, CallbackCompoundRoundTrip) {
  CB_COMPOUND4args args;
  args.tag = "cb";
  args.minorversion = 1;
  CB_SEQUENCE4args seq;
  seq.sessionid = Session(0x20);
  seq.sequenceid = 4;
  seq.highest_slotid = 1;
  seq.cachethis = true;
  seq.referring_call_lists = {{Session(0x30), {{1, 2}, {3, 4}}}};
  CB_RECALL4args recall;
  recall.stateid = Sid(1, 0x77);
  recall.truncate = true;
  recall.fh = OwnedFh();
  args.ops = {{OP_CB_SEQUENCE, seq}, {OP_CB_RECALL, recall}};
  xdr::XdrEncoder e;
  Encode(e, args);
  const std::string bytes = e.ToString();
  CB_COMPOUND4args back;
  {
    Buffer input = Buffer::Copy(AsBytes(bytes));
    xdr::XdrDecoder d(input.view());
    ASSERT_TRUE(Decode(d, &back));
    EXPECT_EQ(d.remaining(), 0u);
  }
  EXPECT_EQ(back.tag, "cb");
  ASSERT_EQ(back.ops.size(), 2u);
  const auto& s = std::get<CB_SEQUENCE4args>(back.ops[0].args);
  ASSERT_EQ(s.referring_call_lists.size(), 1u);
  EXPECT_EQ(s.referring_call_lists[0].calls[1].slotid, 4u);
  const auto& r = std::get<CB_RECALL4args>(back.ops[1].args);
  EXPECT_EQ(r.fh, OwnedFh());
  EXPECT_TRUE(r.truncate);
  for (size_t len = 0; len < bytes.size(); ++len) {
    xdr::XdrDecoder t(AsBytes(std::string_view(bytes).substr(0, len)));
    CB_COMPOUND4args partial;
    EXPECT_FALSE(Decode(t, &partial)) << len;
  }

  CB_COMPOUND4res res;
  res.tag = "cb";
  nfs_cb_resop4 seq_res;
  seq_res.op = OP_CB_SEQUENCE;
  seq_res.sequence = {nfsstat4::NFS4_OK, Session(0x20), 4, 0, 1, 1};
  nfs_cb_resop4 recall_res;
  recall_res.op = OP_CB_RECALL;
  recall_res.status = nfsstat4::NFS4ERR_BADHANDLE;
  nfs_cb_resop4 getattr_res;
  getattr_res.op = OP_CB_GETATTR;
  res.results = {seq_res, recall_res, getattr_res};
  res.status = nfsstat4::NFS4ERR_BADHANDLE;
  xdr::XdrEncoder f;
  Encode(f, res);
  const std::string res_bytes = f.ToString();
  // The golden: status, tag, three results (CB_GETATTR's fattr4 empty).
  EXPECT_EQ(Hex(res_bytes), Hex(Unhex("00002711 00000002 63620000 00000003"
                                      "0000000b 00000000 20212223 24252627 28292a2b 2c2d2e2f"
                                      "00000004 00000000 00000001 00000001"
                                      "00000004 00002711"
                                      "00000003 00000000 00000000 00000000")));
  CB_COMPOUND4res res_back;
  xdr::XdrDecoder g(AsBytes(res_bytes));
  ASSERT_TRUE(Decode(g, &res_back));
  EXPECT_EQ(g.remaining(), 0u);
  ASSERT_EQ(res_back.results.size(), 3u);
  EXPECT_EQ(res_back.results[0].sequence.sessionid, Session(0x20));
  EXPECT_EQ(res_back.results[0].sequence.target_highest_slotid, 1u);
  EXPECT_EQ(res_back.results[1].status, nfsstat4::NFS4ERR_BADHANDLE);
  for (size_t len = 0; len < res_bytes.size(); ++len) {
    xdr::XdrDecoder t(AsBytes(std::string_view(res_bytes).substr(0, len)));
    CB_COMPOUND4res partial;
    EXPECT_FALSE(Decode(t, &partial)) << len;
  }
  // An unknown status fails.
  const std::string unknown_status = Words({3, 0, 0});
  xdr::XdrDecoder bad(AsBytes(unknown_status));
  EXPECT_FALSE(Decode(bad, &res_back));
}

TEST(Nfs4Xdr, FileHandleCopy) {
  const std::string max(NFS4_FHSIZE, 'h');
  nfs_fh4_owned fh = nfs_fh4_owned::CopyFrom(AsBytes(max));
  EXPECT_EQ(fh.size, NFS4_FHSIZE);
  EXPECT_EQ(AsChars(fh.view()), max);
  EXPECT_EQ(nfs_fh4_owned::CopyFrom({}).size, 0);
  EXPECT_FALSE(fh == nfs_fh4_owned::CopyFrom(AsBytes(std::string_view("h"))));
}

}  // namespace
}  // namespace dittofs::nfs
