// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "nfs/proto/mount3_types.h"
#include "nfs/proto/nfs3_types.h"
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

template <typename T>
std::string EncodeToString(const T& value) {
  xdr::XdrEncoder e;
  Encode(e, value);
  std::string out = e.ToString();
  EXPECT_EQ(out.size(), e.size());
  return out;
}

// Decodes `bytes` from a heap block of exactly that size, so ASan sees any over-read, and
// expects a successful decode to consume all of it. The views in *out point into that block:
// pass `input` to keep it alive while they are used.
template <typename T>
bool DecodeExactly(std::string_view bytes, T* out, Buffer* input = nullptr) {
  Buffer copy = Buffer::Copy(AsBytes(bytes));
  xdr::XdrDecoder d(copy.view());
  bool ok = Decode(d, out);
  EXPECT_EQ(ok, d.ok());
  if (ok) {
    EXPECT_EQ(d.remaining(), 0u);
  }
  if (input != nullptr) *input = std::move(copy);
  return ok;
}

// The codec contract for one value: it round-trips to equal fields and identical bytes, the
// decode consumes exactly the encoding, and every strict prefix of the encoding fails.
template <typename T>
void ExpectCodec(const T& value) {
  std::string bytes = EncodeToString(value);
  ASSERT_EQ(bytes.size() % 4, 0u);

  // Views in a decoded T point into `input`, which outlives `decoded`.
  xdr::XdrDecoder d(AsBytes(bytes));
  T decoded;
  ASSERT_TRUE(Decode(d, &decoded)) << Hex(bytes);
  EXPECT_EQ(d.remaining(), 0u);
  EXPECT_TRUE(decoded == value) << Hex(bytes);
  EXPECT_EQ(Hex(EncodeToString(decoded)), Hex(bytes));

  for (size_t len = 0; len < bytes.size(); ++len) {
    T partial;
    EXPECT_FALSE(DecodeExactly(std::string_view(bytes).substr(0, len), &partial))
        << "a " << len << "-byte prefix of " << bytes.size() << " bytes decoded";
  }
}

template <typename T>
bool DecodeHex(std::string_view hex, T* out, Buffer* input = nullptr) {
  return DecodeExactly(Unhex(hex), out, input);
}

// --- Sample values ---

constexpr std::string_view kHandle20 =
    "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14";
constexpr std::string_view kHandle20Hex = "00000014 01020304 05060708 090a0b0c 0d0e0f10 11121314";

nfs_fh3 Fh(std::string_view bytes = kHandle20) { return {AsBytes(bytes)}; }
nfs_fh3_owned OwnedFh(std::string_view bytes = "\xaa\xbb\xcc\xdd\xee") {
  return nfs_fh3_owned::CopyFrom(AsBytes(bytes));
}

constexpr std::string_view kFattr3Hex =
    "00000001 000001a4 00000001 000003e8 00000064"            // type NF3REG, mode, nlink, uid, gid
    "00000001 23456789 00000000 00001000"                     // size, used
    "00000000 00000000"                                       // rdev
    "00000000 00000007 00000000 0000002a"                     // fsid, fileid
    "00000001 00000002 00000003 00000004 00000005 00000006";  // atime, mtime, ctime

fattr3 Attr() {
  return fattr3{.type = ftype3::NF3REG,
                .mode = 0644,
                .nlink = 1,
                .uid = 1000,
                .gid = 100,
                .size = 0x123456789,
                .used = 4096,
                .rdev = {},
                .fsid = 7,
                .fileid = 42,
                .atime = {1, 2},
                .mtime = {3, 4},
                .ctime = {5, 6}};
}

fattr3 DirAttr() {
  fattr3 a = Attr();
  a.type = ftype3::NF3DIR;
  a.mode = 0755;
  a.nlink = 2;
  a.rdev = {8, 9};
  return a;
}

wcc_data Wcc() { return {wcc_attr{.size = 10, .mtime = {11, 12}, .ctime = {13, 14}}, DirAttr()}; }

sattr3 FullSattr() {
  return sattr3{.mode = 0600,
                .uid = 0,
                .gid = 5,
                .size = 1ull << 40,
                .atime = set_time3{.server_time = false, .time = {100, 200}},
                .mtime = set_time3{.server_time = true}};
}

writeverf3 Verf(uint8_t seed) {
  writeverf3 v;
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::byte(seed + i);
  return v;
}

diropargs3 Where(std::string_view name = "file.txt") { return {Fh(), name}; }

// --- Golden byte vectors, written out from the RFC 1813 layouts ---

TEST(Nfs3Golden, Fattr3SizeMatchesLayout) {
  EXPECT_EQ(Unhex(kFattr3Hex).size(), kFattr3Size);
  EXPECT_EQ(Hex(EncodeToString(Attr())), Hex(Unhex(kFattr3Hex)));
}

TEST(Nfs3Golden, GetattrArgsWithTwentyByteHandle) {
  GETATTR3args args{Fh()};
  EXPECT_EQ(Hex(EncodeToString(args)), Hex(Unhex(kHandle20Hex)));
  GETATTR3args decoded;
  Buffer input;
  ASSERT_TRUE(DecodeHex(kHandle20Hex, &decoded, &input));
  EXPECT_EQ(AsChars(decoded.object.data), kHandle20);
}

TEST(Nfs3Golden, LookupArgsPadsTheName) {
  LOOKUP3args args{{Fh("\x01\x02\x03"), "foo"}};
  std::string want = Unhex("00000003 01020300  00000003 666f6f00");
  EXPECT_EQ(Hex(EncodeToString(args)), Hex(want));
  LOOKUP3args decoded;
  Buffer input;
  ASSERT_TRUE(DecodeExactly(want, &decoded, &input));
  EXPECT_EQ(decoded.what.name, "foo");
  EXPECT_EQ(decoded.what.dir.data.size(), 3u);
}

TEST(Nfs3Golden, LookupResFailureWithoutAttributes) {
  LOOKUP3res res = LOOKUP3res::Failure(nfsstat3::NFS3ERR_NOENT);
  constexpr std::string_view kWant = "00000002 00000000";  // NFS3ERR_NOENT, attributes_follow FALSE
  EXPECT_EQ(Hex(EncodeToString(res)), Hex(Unhex(kWant)));
  LOOKUP3res decoded;
  Buffer input;
  ASSERT_TRUE(DecodeHex(kWant, &decoded, &input));
  EXPECT_EQ(decoded.status, nfsstat3::NFS3ERR_NOENT);
  EXPECT_FALSE(decoded.resfail.dir_attributes.has_value());
}

TEST(Nfs3Golden, GetattrResOkCarriesFattr3) {
  GETATTR3res res = GETATTR3res::Success({Attr()});
  std::string want = Unhex("00000000") + Unhex(kFattr3Hex);
  EXPECT_EQ(Hex(EncodeToString(res)), Hex(want));
  GETATTR3res decoded;
  Buffer input;
  ASSERT_TRUE(DecodeExactly(want, &decoded, &input));
  EXPECT_EQ(decoded.resok.obj_attributes, Attr());
}

TEST(Nfs3Golden, SetattrArgs) {
  SETATTR3args args{.object = Fh("\x0a\x0b\x0c\x0d"),
                    .new_attributes = {.mode = 0644,
                                       .size = 0,
                                       .atime = set_time3{.time = {0x10, 0x20}},
                                       .mtime = set_time3{.server_time = true}},
                    .guard = nfstime3{5, 6}};
  constexpr std::string_view kWant =
      "00000004 0a0b0c0d"            // object
      "00000001 000001a4"            // set_mode3 TRUE 0644
      "00000000 00000000"            // set_uid3, set_gid3 FALSE
      "00000001 00000000 00000000"   // set_size3 TRUE 0
      "00000002 00000010 00000020"   // set_atime SET_TO_CLIENT_TIME
      "00000001"                     // set_mtime SET_TO_SERVER_TIME
      "00000001 00000005 00000006";  // sattrguard3 check TRUE, obj_ctime
  EXPECT_EQ(Hex(EncodeToString(args)), Hex(Unhex(kWant)));
  SETATTR3args decoded;
  Buffer input;
  ASSERT_TRUE(DecodeHex(kWant, &decoded, &input));
  EXPECT_TRUE(decoded == args);
}

TEST(Nfs3Golden, ReaddirResIsALinkedList) {
  READDIR3resok ok{.dir_attributes = std::nullopt,
                   .cookieverf = Verf(1),
                   .entries = {{3, ".", 1}, {4, "hello", 2}},
                   .eof = true};
  READDIR3res res = READDIR3res::Success(ok);
  constexpr std::string_view kWant =
      "00000000"                                      // NFS3_OK
      "00000000"                                      // dir_attributes absent
      "01020304 05060708"                             // cookieverf
      "00000001"                                      // entries follows
      "00000000 00000003 00000001 2e000000"           // fileid 3, name "."
      "00000000 00000001"                             // cookie 1
      "00000001"                                      // nextentry follows
      "00000000 00000004 00000005 68656c6c 6f000000"  // fileid 4, name "hello"
      "00000000 00000002"                             // cookie 2
      "00000000"                                      // no nextentry
      "00000001";                                     // eof
  EXPECT_EQ(Hex(EncodeToString(res)), Hex(Unhex(kWant)));
  READDIR3res decoded;
  Buffer input;
  ASSERT_TRUE(DecodeHex(kWant, &decoded, &input));
  EXPECT_TRUE(decoded == res);
}

TEST(Nfs3Golden, WriteArgs) {
  WRITE3args args{.file = Fh("\x01\x02\x03\x04"),
                  .offset = 0x100000000,
                  .count = 5,
                  .stable = stable_how::FILE_SYNC,
                  .data = AsBytes("abcde")};
  constexpr std::string_view kWant =
      "00000004 01020304 00000001 00000000 00000005 00000002 00000005 61626364 65000000";
  EXPECT_EQ(Hex(EncodeToString(args)), Hex(Unhex(kWant)));
}

TEST(Mount3Golden, MountResOk) {
  mountres3 res{.fhs_status = mountstat3::MNT3_OK,
                .mountinfo = {.fhandle = OwnedFh("\xde\xad\xbe\xef"), .auth_flavors = {1}}};
  constexpr std::string_view kWant = "00000000 00000004 deadbeef 00000001 00000001";
  EXPECT_EQ(Hex(EncodeToString(res)), Hex(Unhex(kWant)));
  mountres3 decoded;
  Buffer input;
  ASSERT_TRUE(DecodeHex(kWant, &decoded, &input));
  EXPECT_EQ(decoded, res);
}

TEST(Mount3Golden, MountResFailureHasNoBody) {
  mountres3 res{.fhs_status = mountstat3::MNT3ERR_ACCES};
  EXPECT_EQ(Hex(EncodeToString(res)), "0000000d");
}

TEST(Mount3Golden, Exports) {
  exports list{{.ex_dir = "/export", .ex_groups = {{"*"}}}};
  constexpr std::string_view kWant =
      "00000001 00000007 2f657870 6f727400"  // exportnode follows, ex_dir "/export"
      "00000001 00000001 2a000000 00000000"  // groupnode "*", end of groups
      "00000000";                            // end of exports
  EXPECT_EQ(Hex(EncodeToString(list)), Hex(Unhex(kWant)));
  exports decoded;
  Buffer input;
  ASSERT_TRUE(DecodeHex(kWant, &decoded, &input));
  EXPECT_EQ(decoded, list);
}

// --- Round trips of every args and res type (plus all-prefix truncation) ---

TEST(Nfs3Codec, Getattr) {
  ExpectCodec(GETATTR3args{Fh()});
  ExpectCodec(GETATTR3args{Fh("")});
  ExpectCodec(GETATTR3res::Success({Attr()}));
  ExpectCodec(GETATTR3res::Failure(nfsstat3::NFS3ERR_STALE));
}

TEST(Nfs3Codec, Setattr) {
  ExpectCodec(SETATTR3args{Fh(), FullSattr(), nfstime3{7, 8}});
  ExpectCodec(SETATTR3args{Fh(), sattr3{}, std::nullopt});
  ExpectCodec(SETATTR3res::Success({Wcc()}));
  ExpectCodec(SETATTR3res::Success({wcc_data{}}));
  ExpectCodec(SETATTR3res::Failure(nfsstat3::NFS3ERR_NOT_SYNC, {Wcc()}));
}

TEST(Nfs3Codec, Lookup) {
  ExpectCodec(LOOKUP3args{Where()});
  ExpectCodec(LOOKUP3args{Where("")});
  ExpectCodec(LOOKUP3res::Success({OwnedFh(), Attr(), DirAttr()}));
  ExpectCodec(LOOKUP3res::Success({OwnedFh(""), std::nullopt, std::nullopt}));
  ExpectCodec(LOOKUP3res::Failure(nfsstat3::NFS3ERR_NOENT, {DirAttr()}));
}

TEST(Nfs3Codec, Access) {
  ExpectCodec(ACCESS3args{Fh(), ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_EXECUTE});
  ExpectCodec(ACCESS3res::Success({Attr(), ACCESS3_READ}));
  ExpectCodec(ACCESS3res::Failure(nfsstat3::NFS3ERR_ACCES, {Attr()}));
}

TEST(Nfs3Codec, Readlink) {
  ExpectCodec(READLINK3args{Fh()});
  ExpectCodec(READLINK3res::Success({Attr(), "../target/of/link"}));
  ExpectCodec(READLINK3res::Failure(nfsstat3::NFS3ERR_INVAL, {std::nullopt}));
}

TEST(Nfs3Codec, Read) {
  ExpectCodec(READ3args{Fh(), 1ull << 33, 65536});
  READ3resok ok{.file_attributes = Attr(), .count = 7, .eof = true, .data = {AsBytes("payload")}};
  ExpectCodec(READ3res::Success(std::move(ok)));
  ExpectCodec(READ3res::Success({.file_attributes = std::nullopt, .count = 0, .eof = false}));
  ExpectCodec(READ3res::Failure(nfsstat3::NFS3ERR_IO, {Attr()}));
}

TEST(Nfs3Codec, Write) {
  ExpectCodec(WRITE3args{Fh(), 4096, 3, stable_how::UNSTABLE, AsBytes("xyz")});
  ExpectCodec(WRITE3args{Fh(), 0, 0, stable_how::DATA_SYNC, ByteView()});
  ExpectCodec(WRITE3res::Success({Wcc(), 3, stable_how::FILE_SYNC, Verf(9)}));
  ExpectCodec(WRITE3res::Failure(nfsstat3::NFS3ERR_NOSPC, {Wcc()}));
}

TEST(Nfs3Codec, Create) {
  ExpectCodec(CREATE3args{Where(), {createmode3::UNCHECKED, FullSattr(), {}}});
  ExpectCodec(CREATE3args{Where(), {createmode3::GUARDED, sattr3{.mode = 0644}, {}}});
  ExpectCodec(CREATE3args{Where(), {createmode3::EXCLUSIVE, {}, Verf(0x40)}});
  ExpectCodec(CREATE3res::Success({OwnedFh(), Attr(), Wcc()}));
  ExpectCodec(CREATE3res::Success({std::nullopt, std::nullopt, wcc_data{}}));
  ExpectCodec(CREATE3res::Failure(nfsstat3::NFS3ERR_EXIST, {Wcc()}));
}

TEST(Nfs3Codec, Mkdir) {
  ExpectCodec(MKDIR3args{Where("dir"), FullSattr()});
  ExpectCodec(MKDIR3res::Success({OwnedFh(), DirAttr(), Wcc()}));
  ExpectCodec(MKDIR3res::Failure(nfsstat3::NFS3ERR_DQUOT, {Wcc()}));
}

TEST(Nfs3Codec, Symlink) {
  ExpectCodec(SYMLINK3args{Where("link"), {sattr3{.mode = 0777}, "/some/where/else"}});
  ExpectCodec(SYMLINK3res::Success({OwnedFh(), Attr(), Wcc()}));
  ExpectCodec(SYMLINK3res::Failure(nfsstat3::NFS3ERR_NOTSUPP, {}));
}

TEST(Nfs3Codec, Mknod) {
  for (ftype3 type : {ftype3::NF3CHR, ftype3::NF3BLK}) {
    ExpectCodec(MKNOD3args{Where("dev"), {type, {FullSattr(), {1, 3}}, {}}});
  }
  for (ftype3 type : {ftype3::NF3SOCK, ftype3::NF3FIFO}) {
    ExpectCodec(MKNOD3args{Where("pipe"), {type, {}, sattr3{.uid = 7}}});
  }
  for (ftype3 type : {ftype3::NF3REG, ftype3::NF3DIR, ftype3::NF3LNK}) {
    ExpectCodec(MKNOD3args{Where("bad"), {type, {}, {}}});  // void arm; handler says BADTYPE
  }
  ExpectCodec(MKNOD3res::Success({OwnedFh(), Attr(), Wcc()}));
  ExpectCodec(MKNOD3res::Failure(nfsstat3::NFS3ERR_BADTYPE, {Wcc()}));
}

TEST(Nfs3Codec, Remove) {
  ExpectCodec(REMOVE3args{Where()});
  ExpectCodec(REMOVE3res::Success({Wcc()}));
  ExpectCodec(REMOVE3res::Failure(nfsstat3::NFS3ERR_ROFS, {Wcc()}));
}

TEST(Nfs3Codec, Rmdir) {
  ExpectCodec(RMDIR3args{Where("dir")});
  ExpectCodec(RMDIR3res::Success({Wcc()}));
  ExpectCodec(RMDIR3res::Failure(nfsstat3::NFS3ERR_NOTEMPTY, {Wcc()}));
}

TEST(Nfs3Codec, Rename) {
  ExpectCodec(RENAME3args{Where("a"), {Fh("\x09\x08"), "bb"}});
  ExpectCodec(RENAME3res::Success({Wcc(), wcc_data{}}));
  ExpectCodec(RENAME3res::Failure(nfsstat3::NFS3ERR_XDEV, {wcc_data{}, Wcc()}));
}

TEST(Nfs3Codec, Link) {
  ExpectCodec(LINK3args{Fh("\x01"), Where("hardlink")});
  ExpectCodec(LINK3res::Success({Attr(), Wcc()}));
  ExpectCodec(LINK3res::Failure(nfsstat3::NFS3ERR_MLINK, {Attr(), Wcc()}));
}

TEST(Nfs3Codec, Readdir) {
  ExpectCodec(READDIR3args{Fh(), 12345, Verf(3), 4096});
  ExpectCodec(READDIR3res::Success({DirAttr(), Verf(4), {{1, "a", 10}, {2, "bcde", 11}}, false}));
  ExpectCodec(READDIR3res::Success({std::nullopt, Verf(0), {}, true}));
  ExpectCodec(READDIR3res::Failure(nfsstat3::NFS3ERR_BAD_COOKIE, {DirAttr()}));
}

TEST(Nfs3Codec, Readdirplus) {
  ExpectCodec(READDIRPLUS3args{Fh(), 0, Verf(0), 1024, 32768});
  std::vector<entryplus3> entries = {{1, "with-both", 10, Attr(), OwnedFh()},
                                     {2, "attr-only", 11, Attr(), std::nullopt},
                                     {3, "handle-only", 12, std::nullopt, OwnedFh("\x01\x02")},
                                     {4, "neither", 13, std::nullopt, std::nullopt}};
  ExpectCodec(READDIRPLUS3res::Success({DirAttr(), Verf(5), entries, true}));
  ExpectCodec(READDIRPLUS3res::Failure(nfsstat3::NFS3ERR_TOOSMALL, {std::nullopt}));
}

TEST(Nfs3Codec, Fsstat) {
  ExpectCodec(FSSTAT3args{Fh()});
  ExpectCodec(FSSTAT3res::Success({DirAttr(), 1, 2, 3, 4, 5, 6, 7}));
  ExpectCodec(FSSTAT3res::Failure(nfsstat3::NFS3ERR_SERVERFAULT, {std::nullopt}));
}

TEST(Nfs3Codec, Fsinfo) {
  ExpectCodec(FSINFO3args{Fh()});
  ExpectCodec(FSINFO3res::Success({DirAttr(), 1048576, 65536, 4096, 1048576, 65536, 4096, 8192,
                                   ~uint64_t{0}, nfstime3{0, 1},
                                   FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME}));
  ExpectCodec(FSINFO3res::Failure(nfsstat3::NFS3ERR_BADHANDLE, {std::nullopt}));
}

TEST(Nfs3Codec, Pathconf) {
  ExpectCodec(PATHCONF3args{Fh()});
  ExpectCodec(PATHCONF3res::Success({Attr(), 32000, 255, true, true, false, true}));
  ExpectCodec(PATHCONF3res::Failure(nfsstat3::NFS3ERR_JUKEBOX, {Attr()}));
}

TEST(Nfs3Codec, Commit) {
  ExpectCodec(COMMIT3args{Fh(), 0, 0});
  ExpectCodec(COMMIT3res::Success({Wcc(), Verf(0x77)}));
  ExpectCodec(COMMIT3res::Failure(nfsstat3::NFS3ERR_IO, {Wcc()}));
}

TEST(Nfs3Codec, EveryStatusRoundTrips) {
  for (nfsstat3 status :
       {nfsstat3::NFS3ERR_PERM,        nfsstat3::NFS3ERR_NOENT,       nfsstat3::NFS3ERR_IO,
        nfsstat3::NFS3ERR_NXIO,        nfsstat3::NFS3ERR_ACCES,       nfsstat3::NFS3ERR_EXIST,
        nfsstat3::NFS3ERR_XDEV,        nfsstat3::NFS3ERR_NODEV,       nfsstat3::NFS3ERR_NOTDIR,
        nfsstat3::NFS3ERR_ISDIR,       nfsstat3::NFS3ERR_INVAL,       nfsstat3::NFS3ERR_FBIG,
        nfsstat3::NFS3ERR_NOSPC,       nfsstat3::NFS3ERR_ROFS,        nfsstat3::NFS3ERR_MLINK,
        nfsstat3::NFS3ERR_NAMETOOLONG, nfsstat3::NFS3ERR_NOTEMPTY,    nfsstat3::NFS3ERR_DQUOT,
        nfsstat3::NFS3ERR_STALE,       nfsstat3::NFS3ERR_REMOTE,      nfsstat3::NFS3ERR_BADHANDLE,
        nfsstat3::NFS3ERR_NOT_SYNC,    nfsstat3::NFS3ERR_BAD_COOKIE,  nfsstat3::NFS3ERR_NOTSUPP,
        nfsstat3::NFS3ERR_TOOSMALL,    nfsstat3::NFS3ERR_SERVERFAULT, nfsstat3::NFS3ERR_BADTYPE,
        nfsstat3::NFS3ERR_JUKEBOX}) {
    SCOPED_TRACE(ToString(status));
    EXPECT_NE(ToString(status), "NFS3ERR_<unknown>");
    ExpectCodec(GETATTR3res::Failure(status));
  }
}

TEST(Mount3Codec, RoundTrips) {
  ExpectCodec(mountres3{mountstat3::MNT3_OK, {OwnedFh(), {1, 6, 390003}}});
  ExpectCodec(mountres3{mountstat3::MNT3_OK, {OwnedFh(""), {}}});
  for (mountstat3 status :
       {mountstat3::MNT3ERR_PERM, mountstat3::MNT3ERR_NOENT, mountstat3::MNT3ERR_IO,
        mountstat3::MNT3ERR_ACCES, mountstat3::MNT3ERR_NOTDIR, mountstat3::MNT3ERR_INVAL,
        mountstat3::MNT3ERR_NAMETOOLONG, mountstat3::MNT3ERR_NOTSUPP,
        mountstat3::MNT3ERR_SERVERFAULT}) {
    ExpectCodec(mountres3{.fhs_status = status});
  }
  ExpectCodec(mountlist{});
  ExpectCodec(mountlist{{"client1", "/export"}, {"client2.example.com", "/export/sub"}});
  ExpectCodec(exports{});
  ExpectCodec(exports{{"/a", {}}, {"/b", {{"10.0.0.0/8"}, {"admin-hosts"}}}});
  ExpectCodec(groups{{"x"}});

  xdr::XdrEncoder e;
  EncodeDirpath(e, "/export/home");
  std::string bytes = e.ToString();
  xdr::XdrDecoder d(AsBytes(bytes));
  dirpath path;
  ASSERT_TRUE(DecodeDirpath(d, &path));
  EXPECT_EQ(path, "/export/home");
}

// --- Hostile input ---

TEST(Nfs3Hostile, HandleLongerThan64BytesIsRejected) {
  std::string handle64(64, '\x5a');
  GETATTR3args ok;
  EXPECT_TRUE(DecodeExactly(EncodeToString(GETATTR3args{Fh(handle64)}), &ok));

  // Encode a 65-byte handle by hand: nfs_fh3 is opaque<NFS3_FHSIZE>.
  xdr::XdrEncoder e;
  e.VarOpaque(AsBytes(std::string(65, '\x5a')));
  std::string bytes = e.ToString();
  GETATTR3args args;
  EXPECT_FALSE(DecodeExactly(bytes, &args));
  LOOKUP3res res;  // the same bound on a handle the client receives
  EXPECT_FALSE(DecodeExactly(Unhex("00000000") + bytes + Unhex("00000000 00000000"), &res));
  mountres3 mnt;
  EXPECT_FALSE(DecodeExactly(Unhex("00000000") + bytes + Unhex("00000000"), &mnt));
}

TEST(Nfs3Hostile, BadUnionDiscriminantsAreRejected) {
  const std::string fh = Unhex("00000004 01020304");
  const std::string name = Unhex("00000001 61000000");
  LOOKUP3res lookup;
  EXPECT_FALSE(DecodeHex("00000002 00000002", &lookup));  // post_op_attr bool 2
  EXPECT_FALSE(DecodeHex("00000007 00000000", &lookup));  // nfsstat3 7 does not exist
  EXPECT_FALSE(DecodeHex("0000271a 00000000", &lookup));  // nor does 10010
  EXPECT_TRUE(DecodeHex("00002711 00000000", &lookup));   // 10001 is NFS3ERR_BADHANDLE

  CREATE3args create;
  EXPECT_FALSE(DecodeExactly(fh + name + Unhex("00000003"), &create));  // createmode3 3
  EXPECT_TRUE(DecodeExactly(fh + name + Unhex("00000002 00000000 00000000"), &create));

  MKNOD3args mknod;
  EXPECT_FALSE(DecodeExactly(fh + name + Unhex("00000000"), &mknod));  // ftype3 0
  EXPECT_FALSE(DecodeExactly(fh + name + Unhex("00000008"), &mknod));  // ftype3 8

  const std::string no_attrs = Unhex("00000000 00000000 00000000 00000000");  // mode..size
  SETATTR3args setattr;
  EXPECT_FALSE(DecodeExactly(fh + no_attrs + Unhex("00000003 00000000 00000000"), &setattr));
  EXPECT_FALSE(DecodeExactly(fh + no_attrs + Unhex("00000000 00000000 00000002"), &setattr));
  EXPECT_TRUE(DecodeExactly(fh + no_attrs + Unhex("00000000 00000000 00000000"), &setattr));

  WRITE3args write;  // stable_how 3
  EXPECT_FALSE(DecodeExactly(fh + Unhex("00000000 00000000 00000000 00000003 00000000"), &write));

  GETATTR3res getattr;  // ftype3 0 inside fattr3
  std::string attr = Unhex(kFattr3Hex);
  attr[3] = 0;
  EXPECT_FALSE(DecodeExactly(Unhex("00000000") + attr, &getattr));

  mountres3 mnt;
  EXPECT_FALSE(DecodeHex("00000003", &mnt));  // mountstat3 3 does not exist
}

TEST(Nfs3Hostile, FilenameLongerThanTheBoundIsRejected) {
  std::string longest(kMaxFilename3Bytes, 'n');
  std::string too_long(kMaxFilename3Bytes + 1, 'n');
  LOOKUP3args args;
  EXPECT_TRUE(DecodeExactly(EncodeToString(LOOKUP3args{Where(longest)}), &args));
  EXPECT_EQ(args.what.name.size(), kMaxFilename3Bytes);
  EXPECT_FALSE(DecodeExactly(EncodeToString(LOOKUP3args{Where(too_long)}), &args));
  RENAME3args rename;
  EXPECT_FALSE(DecodeExactly(EncodeToString(RENAME3args{Where(), Where(too_long)}), &rename));

  std::string long_path(kMaxNfspath3Bytes + 1, 'p');
  SYMLINK3args symlink;
  EXPECT_FALSE(DecodeExactly(EncodeToString(SYMLINK3args{Where(), {{}, long_path}}), &symlink));
  long_path.pop_back();
  EXPECT_TRUE(DecodeExactly(EncodeToString(SYMLINK3args{Where(), {{}, long_path}}), &symlink));

  std::string long_dirpath(MNTPATHLEN + 1, 'd');
  xdr::XdrEncoder e;
  EncodeDirpath(e, long_dirpath);
  std::string bytes = e.ToString();
  xdr::XdrDecoder d(AsBytes(bytes));
  dirpath path;
  EXPECT_FALSE(DecodeDirpath(d, &path));
  mountlist hosts;
  EXPECT_FALSE(
      DecodeExactly(EncodeToString(mountlist{{std::string(MNTNAMLEN + 1, 'h'), "/"}}), &hosts));
}

TEST(Nfs3Hostile, HugeCountsAreRejected) {
  const std::string fh = Unhex("00000004 01020304");
  LOOKUP3args lookup;  // name length 0xffffffff
  EXPECT_FALSE(DecodeExactly(fh + Unhex("ffffffff 61616161"), &lookup));
  WRITE3args write;  // data length 0xffffffff
  EXPECT_FALSE(
      DecodeExactly(fh + Unhex("00000000 00000000 00000004 00000000 ffffffff 61616161"), &write));
  // A length just over the 64 MiB WRITE bound fails before looking for the bytes.
  xdr::XdrEncoder e;
  e.U32(4);
  e.FixedOpaque(AsBytes("\x01\x02\x03\x04"));
  e.U64(0);
  e.U32(0);
  e.U32(0);
  e.U32(static_cast<uint32_t>(kMaxWrite3DataBytes + 1));
  EXPECT_FALSE(DecodeExactly(e.ToString(), &write));
  mountres3 mnt;  // auth_flavors count 0xffffffff, and one over the bound of 64
  EXPECT_FALSE(DecodeHex("00000000 00000000 ffffffff 00000001", &mnt));
  std::string many = Unhex("00000000 00000000 00000041");
  for (int i = 0; i < 65; ++i) many += Unhex("00000001");
  EXPECT_FALSE(DecodeExactly(many, &mnt));
  READDIR3res readdir;  // entry name length 0xffffffff
  EXPECT_FALSE(DecodeHex("00000000 00000000 00000000 00000000 00000001 00000000 00000001 ffffffff",
                         &readdir));
}

TEST(Nfs3Hostile, MountListsAreBounded) {
  mountlist hosts(kMaxMountListEntries);
  mountlist decoded;
  EXPECT_TRUE(DecodeExactly(EncodeToString(hosts), &decoded));
  EXPECT_EQ(decoded.size(), kMaxMountListEntries);
  hosts.emplace_back();
  EXPECT_FALSE(DecodeExactly(EncodeToString(hosts), &decoded));

  exports list{{"/", groups(kMaxMountListEntries + 1)}};
  exports decoded_exports;
  EXPECT_FALSE(DecodeExactly(EncodeToString(list), &decoded_exports));
}

// --- Sizes for READDIR count and READDIRPLUS dircount/maxcount ---

// The encoded size of a resok: its result's size less the 4-byte nfsstat3 in front.
size_t ResokSize(const READDIR3resok& ok) {
  return EncodeToString(READDIR3res::Success(ok)).size() - 4;
}
size_t ResokSize(const READDIRPLUS3resok& ok) {
  return EncodeToString(READDIRPLUS3res::Success(ok)).size() - 4;
}

TEST(Nfs3Sizes, ReaddirEntrySizesAreExact) {
  READDIR3resok ok{.dir_attributes = DirAttr(), .cookieverf = Verf(1), .eof = false};
  size_t expected = kDirlistResokOverhead + EncodedSize(ok.dir_attributes);
  EXPECT_EQ(ResokSize(ok), expected);
  for (std::string name : {"", "a", "ab", "abc", "abcd", "abcde", "a-much-longer-file-name"}) {
    entry3 entry{7, name, 9};
    EXPECT_EQ(EncodedSize(entry), 24 + XdrPadded(name.size()));
    expected += EncodedSize(entry);
    ok.entries.push_back(entry);
    EXPECT_EQ(ResokSize(ok), expected);
  }
}

TEST(Nfs3Sizes, ReaddirplusEntrySizesAreExact) {
  READDIRPLUS3resok ok{.dir_attributes = std::nullopt, .cookieverf = Verf(1), .eof = true};
  size_t expected = kDirlistResokOverhead + EncodedSize(ok.dir_attributes);
  EXPECT_EQ(ResokSize(ok), expected);
  std::vector<entryplus3> entries = {{1, "x", 1, Attr(), OwnedFh()},
                                     {2, "yy", 2, std::nullopt, OwnedFh(std::string(64, 'h'))},
                                     {3, "zzz", 3, Attr(), std::nullopt},
                                     {4, "wwww", 4, std::nullopt, std::nullopt}};
  for (const entryplus3& entry : entries) {
    EXPECT_EQ(DirInfoSize(entry), EncodedSize(entry3{entry.fileid, entry.name, entry.cookie}));
    EXPECT_EQ(EncodedSize(entry), DirInfoSize(entry) + EncodedSize(entry.name_attributes) +
                                      EncodedSize(entry.name_handle));
    expected += EncodedSize(entry);
    ok.entries.push_back(entry);
    EXPECT_EQ(ResokSize(ok), expected);
  }
  EXPECT_EQ(EncodedSize(post_op_attr(Attr())), 4 + kFattr3Size);
  EXPECT_EQ(EncodedSize(post_op_fh3(OwnedFh("\x01\x02\x03\x04\x05"))), 4u + 4u + 8u);
}

// --- Ownership ---

TEST(Nfs3Ownership, ReadDataIsEncodedWithoutACopy) {
  auto block = std::make_shared<Buffer>(Buffer::Copy(AsBytes(std::string(8192, 'r'))));
  auto block2 = std::make_shared<Buffer>(Buffer::Copy(AsBytes(std::string(4096, 's'))));
  READ3resok ok{.file_attributes = Attr(), .count = 12288, .eof = false};
  ok.data = {block->view(), block2->view()};
  ok.holds = {block, block2};
  READ3res res = READ3res::Success(std::move(ok));
  xdr::XdrEncoder e;
  Encode(e, res);
  int borrowed = 0;
  for (ByteView segment : e.Segments()) {
    borrowed += segment.data() == block->data() || segment.data() == block2->data();
  }
  EXPECT_EQ(borrowed, 2);

  std::string bytes = e.ToString();
  READ3res decoded;
  Buffer input;
  ASSERT_TRUE(DecodeExactly(bytes, &decoded, &input));
  EXPECT_TRUE(decoded == res);
}

TEST(Nfs3Ownership, DecodedRequestsViewTheInput) {
  std::string bytes = EncodeToString(WRITE3args{Fh(), 0, 4, stable_how::UNSTABLE, AsBytes("data")});
  xdr::XdrDecoder d(AsBytes(bytes));
  WRITE3args args;
  ASSERT_TRUE(Decode(d, &args));
  const std::byte* begin = AsBytes(bytes).data();
  EXPECT_GE(args.data.data(), begin);
  EXPECT_LT(args.data.data(), begin + bytes.size());
  EXPECT_GE(args.file.data.data(), begin);
}

TEST(Nfs3Ownership, OwnedHandleCopiesItsBytes) {
  std::string source = "\x01\x02\x03";
  nfs_fh3_owned fh = nfs_fh3_owned::CopyFrom(AsBytes(source));
  source[0] = '\x09';
  EXPECT_EQ(fh.size, 3);
  EXPECT_EQ(fh.view()[0], std::byte{1});
  EXPECT_EQ(fh, OwnedFh("\x01\x02\x03"));
  EXPECT_NE(fh, OwnedFh("\x01\x02"));
}

}  // namespace
}  // namespace dittofs::nfs
