// SPDX-License-Identifier: Apache-2.0
// Writes a seed corpus for nfs4_xdr_fuzz: COMPOUND arguments holding each operation (4.1,
// behind a SEQUENCE; a few 4.0 ones), operations whose attribute lists hold every attribute
// the codec carries, and replies (COMPOUND4res, CB_COMPOUND4res) and callback arguments.
// With SERVER_OUTDIR it also writes seeds for nfs4_server_fuzz there: record-marked RPC
// streams of whole client sessions (4.1: EXCHANGE_ID, CREATE_SESSION, then open, write, lock,
// read, unlock, close under SEQUENCE; 4.0: SETCLIENTID and stateless walks), whose ids are
// the ones that target's fixed instance number gives.
// Usage: make_nfs4_seeds OUTDIR [SERVER_OUTDIR]

#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "nfs/proto/nfs4_types.h"
#include "rpc/message.h"
#include "rpc/record.h"

namespace dittofs::fuzz {
namespace {

using namespace nfs;

void Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

template <typename Args>
nfs_argop4 Op(uint32_t op, Args args) {
  nfs_argop4 o;
  o.op = op;
  o.args = std::move(args);
  return o;
}

std::string Compound(uint32_t minor, const std::vector<nfs_argop4>& ops) {
  xdr::XdrEncoder e;
  EncodeCompound(e, "seed", minor, ops);
  return e.ToString();
}

// Every attribute the codec carries, with values.
fattr4 AllAttrs() {
  Fattr4 f;
  for (uint32_t bit = 0; bit < 32 * kFattr4Words; ++bit) {
    if (Fattr4Known(bit)) f.mask.set(bit);
  }
  f.supported_attrs = f.mask;
  f.type = nfs_ftype4::NF4REG;
  f.size = 4096;
  f.mode = 0644;
  f.owner = "owner@example.com";
  f.owner_group = "group@example.com";
  f.filehandle = nfs_fh4_owned::CopyFrom(AsBytes(std::string_view("fh")));
  f.time_access_set = {time_how4::SET_TO_CLIENT_TIME4, {1700000000, 5}};
  f.time_modify = {1700000000, 6};
  f.suppattr_exclcreat = f.mask;
  f.acl = {{ACE4_ACCESS_DENIED_ACE_TYPE, 0x3, 0x6, "someone@example.com"},
           {ACE4_ACCESS_ALLOWED_ACE_TYPE, ACE4_IDENTIFIER_GROUP, 0x1, "GROUP@"},
           {ACE4_ACCESS_ALLOWED_ACE_TYPE, 0, 0x1F07FF, "OWNER@"}};
  f.mode_set_masked = 0020;
  f.mode_set_mask = 0070;
  fattr4 out;
  EncodeAttrs(f.mask, f, &out);
  return out;
}

// Mode and size, as clients set them.
fattr4 SetAttrs() {
  Fattr4 f;
  f.mode = 0600;
  f.size = 0;
  f.mask.set(FATTR4_SIZE);
  f.mask.set(FATTR4_MODE);
  fattr4 out;
  EncodeAttrs(f.mask, f, &out);
  return out;
}

// nfs4_server_fuzz's instance number: its first client id, and that client's first session.
constexpr uint32_t kFuzzBoot = 0xdf5;
constexpr clientid4 kFirstClient = (uint64_t{kFuzzBoot} << 32) | 1;

// One COMPOUND as a record-marked RPC call.
std::string Call(uint32_t xid, uint32_t minor, const std::vector<nfs_argop4>& ops) {
  xdr::XdrEncoder e;
  rpc::Credential cred;
  cred.flavor = rpc::AuthFlavor::kSys;
  cred.uid = 0;
  cred.gid = 0;
  cred.machine_name = "fuzz";
  rpc::EncodeCallHeader(e, xid, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, cred);
  EncodeCompound(e, "seed", minor, ops);
  const std::string record = e.ToString();
  std::byte mark[4];
  rpc::EncodeRecordMark(static_cast<uint32_t>(record.size()), mark);
  return std::string(AsChars(ByteView(mark, 4))) + record;
}

void WriteServerSeeds(const std::string& dir) {
  const nfs_argop4 root = Op(OP_PUTROOTFH, std::monostate{});
  const nfs_argop4 share = Op(OP_LOOKUP, LOOKUP4args{"export"});
  stateid4 current;  // the current stateid (RFC 8881 §16.2.3.1.2)
  current.seqid = 1;
  state_owner4 owner;
  owner.clientid = kFirstClient;
  owner.owned = "fuzz-owner";

  EXCHANGE_ID4args exchange;
  exchange.co_ownerid = AsBytes(std::string_view("fuzz41"));
  CREATE_SESSION4args create;
  create.clientid = kFirstClient;
  create.sequence = 1;
  create.fore_chan_attrs = {0, 1u << 20, 1u << 20, 64u << 10, 16, 8, std::nullopt};
  create.back_chan_attrs = {0, 4096, 4096, 0, 2, 1, std::nullopt};
  SEQUENCE4args seq;
  StoreBe64(seq.sessionid.data(), kFirstClient);
  StoreBe32(seq.sessionid.data() + 8, kFuzzBoot);
  StoreBe32(seq.sessionid.data() + 12, 1);
  seq.cachethis = true;
  auto sequence = [&](uint32_t n) {
    SEQUENCE4args s = seq;
    s.sequenceid = n;
    return Op(OP_SEQUENCE, s);
  };
  OPEN4args open;
  open.share_access = OPEN4_SHARE_ACCESS_BOTH;
  open.owner = owner;
  open.opentype = opentype4::OPEN4_CREATE;
  open.mode = createmode4::UNCHECKED4;
  open.claim = open_claim_type4::CLAIM_NULL;
  open.file = "f";
  WRITE4args write;
  write.stateid = current;
  write.stable = stable_how4::FILE_SYNC4;
  write.data = AsBytes(std::string_view("fuzzed bytes"));
  LOCK4args lock;
  lock.locktype = nfs_lock_type4::WRITE_LT;
  lock.length = 10;
  lock.new_lock_owner = true;
  lock.open_stateid = current;
  lock.lock_owner = owner;
  lock.lock_owner.owned = "fuzz-lock-owner";
  LOCKU4args unlock;
  unlock.locktype = nfs_lock_type4::WRITE_LT;
  unlock.lock_stateid = current;
  unlock.length = 10;
  READ4args read{current, 0, 100};
  // Sessions, then RECLAIM_COMPLETE (before any OPEN, as RFC 8881 §18.51.3 asks).
  std::string v41 =
      Call(1, 1, {Op(OP_EXCHANGE_ID, exchange)}) + Call(2, 1, {Op(OP_CREATE_SESSION, create)}) +
      Call(3, 1, {sequence(1), Op(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{})}) +
      Call(4, 1,
           {sequence(2), root, share, Op(OP_OPEN, open), Op(OP_GETFH, std::monostate{}),
            Op(OP_WRITE, write), Op(OP_LOCK, lock), Op(OP_READ, read), Op(OP_LOCKU, unlock)}) +
      Call(5, 1,
           {sequence(3), root, share, Op(OP_OPEN, open), Op(OP_CLOSE, CLOSE4args{0, current})}) +
      Call(6, 1, {sequence(4), Op(OP_DESTROY_SESSION, DESTROY_SESSION4args{seq.sessionid})});
  Write(dir, "session-4.1", v41);
  // The same client in 4.2, reaching 4.2's operations on the file it opened.
  SETXATTR4args colour;
  colour.name = "colour";
  colour.value = AsBytes(std::string_view("blue"));
  std::string v42 =
      Call(1, 2, {Op(OP_EXCHANGE_ID, exchange)}) + Call(2, 2, {Op(OP_CREATE_SESSION, create)}) +
      Call(3, 2, {sequence(1), Op(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{})}) +
      Call(4, 2,
           {sequence(2), root, share, Op(OP_OPEN, open), Op(OP_WRITE, write),
            Op(OP_ALLOCATE, ALLOCATE4args{current, 0, 8192}),
            Op(OP_DEALLOCATE, DEALLOCATE4args{current, 2, 4}),
            Op(OP_SEEK, SEEK4args{current, 0, data_content4::NFS4_CONTENT_HOLE}),
            Op(OP_READ_PLUS, READ_PLUS4args{current, 0, 100}), Op(OP_SETXATTR, colour),
            Op(OP_LISTXATTRS, LISTXATTRS4args{0, 100}), Op(OP_SAVEFH, std::monostate{}),
            Op(OP_CLONE, CLONE4args{current, current, 0, 100, 5}),
            Op(OP_COPY, COPY4args{current, current, 0, 200, 5, true, true, {}})}) +
      Call(5, 2, {sequence(3), Op(OP_DESTROY_SESSION, DESTROY_SESSION4args{seq.sessionid})});
  Write(dir, "session-4.2", v42);

  SETCLIENTID4args setclientid;
  setclientid.id = AsBytes(std::string_view("fuzz40"));
  setclientid.cb_program = 0x40000000;
  setclientid.cb_location = {"tcp", "127.0.0.1.0.1"};
  GETATTR4args getattr;
  for (uint32_t bit = 0; bit < 64; ++bit) getattr.attr_request.set(bit);
  READDIR4args readdir;
  readdir.dircount = 4096;
  readdir.maxcount = 8192;
  readdir.attr_request = getattr.attr_request;
  std::string v40 =
      Call(1, 0, {Op(OP_SETCLIENTID, setclientid)}) +
      Call(2, 0, {Op(OP_SETCLIENTID_CONFIRM, SETCLIENTID_CONFIRM4args{kFirstClient, {}})}) +
      Call(3, 0,
           {root, Op(OP_GETATTR, getattr), Op(OP_READDIR, readdir), share, Op(OP_GETATTR, getattr),
            Op(OP_READDIR, readdir)}) +
      Call(4, 0, {Op(OP_RENEW, RENEW4args{kFirstClient})});
  Write(dir, "walk-4.0", v40);
}

int Main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: make_nfs4_seeds OUTDIR [SERVER_OUTDIR]\n");
    return 2;
  }
  const std::string dir = argv[1];
  if (argc == 3) WriteServerSeeds(argv[2]);
  const fattr4 all = AllAttrs();
  state_owner4 owner;
  owner.clientid = 1;
  owner.owned = "owner";

  OPEN4args open;
  open.share_access = OPEN4_SHARE_ACCESS_BOTH;
  open.owner = owner;
  open.opentype = opentype4::OPEN4_CREATE;
  open.createattrs = SetAttrs();
  open.file = "file";
  CREATE4args create;
  create.objtype = nfs_ftype4::NF4LNK;
  create.linkdata = "target";
  create.objname = "link";
  create.createattrs = SetAttrs();
  LOCK4args lock;
  lock.new_lock_owner = true;
  lock.lock_owner = owner;
  lock.length = ~uint64_t{0};
  WRITE4args write;
  write.data = AsBytes(std::string_view("data"));
  EXCHANGE_ID4args exchange;
  exchange.co_ownerid = AsBytes(std::string_view("client"));
  exchange.spa_how = state_protect_how4::SP4_MACH_CRED;
  exchange.client_impl_id = nfs_impl_id4{"example.com", "client 1.0", {}};
  callback_sec_parms4 sys;
  sys.cb_secflavor = 1;
  sys.machinename = "client";
  sys.gids = {1, 2};
  CREATE_SESSION4args session;
  session.fore_chan_attrs.maxoperations = 16;
  session.sec_parms = {sys, callback_sec_parms4{}};
  SETCLIENTID4args setclientid;
  setclientid.id = AsBytes(std::string_view("client"));
  setclientid.cb_location = {"tcp", "127.0.0.1.3.232"};
  GETATTR4args getattr;
  getattr.attr_request = all.attrmask;
  READDIR4args readdir;
  readdir.maxcount = 8192;
  readdir.attr_request = all.attrmask;
  const nfs_argop4 putrootfh = Op(OP_PUTROOTFH, std::monostate{});
  const nfs_argop4 getfh = Op(OP_GETFH, std::monostate{});
  const nfs_argop4 lookup = Op(OP_LOOKUP, LOOKUP4args{"name"});
  const nfs_argop4 getattr_op = Op(OP_GETATTR, getattr);
  const nfs_argop4 open_op = Op(OP_OPEN, open);
  const nfs_argop4 write_op = Op(OP_WRITE, write);
  const nfs_argop4 close = Op(OP_CLOSE, CLOSE4args{});

  const std::vector<nfs_argop4> ops = {
      Op(OP_ACCESS, ACCESS4args{0x3f}),
      close,
      Op(OP_COMMIT, COMMIT4args{}),
      Op(OP_CREATE, create),
      Op(OP_DELEGPURGE, DELEGPURGE4args{}),
      Op(OP_DELEGRETURN, DELEGRETURN4args{}),
      getattr_op,
      getfh,
      Op(OP_LINK, LINK4args{"link"}),
      Op(OP_LOCK, lock),
      Op(OP_LOCKT, LOCKT4args{nfs_lock_type4::WRITE_LT, 0, 1, owner}),
      Op(OP_LOCKU, LOCKU4args{}),
      lookup,
      Op(OP_LOOKUPP, std::monostate{}),
      Op(OP_NVERIFY, NVERIFY4args{all}),
      open_op,
      Op(OP_OPENATTR, OPENATTR4args{}),
      Op(OP_OPEN_CONFIRM, OPEN_CONFIRM4args{}),
      Op(OP_OPEN_DOWNGRADE, OPEN_DOWNGRADE4args{}),
      Op(OP_PUTFH, PUTFH4args{AsBytes(std::string_view("handle"))}),
      Op(OP_PUTPUBFH, std::monostate{}),
      putrootfh,
      Op(OP_READ, READ4args{}),
      Op(OP_READDIR, readdir),
      Op(OP_READLINK, std::monostate{}),
      Op(OP_REMOVE, REMOVE4args{"name"}),
      Op(OP_RENAME, RENAME4args{"a", "b"}),
      Op(OP_RENEW, RENEW4args{}),
      Op(OP_RESTOREFH, std::monostate{}),
      Op(OP_SAVEFH, std::monostate{}),
      Op(OP_SECINFO, SECINFO4args{"name"}),
      Op(OP_SETATTR, SETATTR4args{{}, all}),
      Op(OP_SETCLIENTID, setclientid),
      Op(OP_SETCLIENTID_CONFIRM, SETCLIENTID_CONFIRM4args{}),
      Op(OP_VERIFY, VERIFY4args{all}),
      write_op,
      Op(OP_RELEASE_LOCKOWNER, RELEASE_LOCKOWNER4args{owner}),
      Op(OP_BACKCHANNEL_CTL, BACKCHANNEL_CTL4args{1, {sys}}),
      Op(OP_BIND_CONN_TO_SESSION, BIND_CONN_TO_SESSION4args{}),
      Op(OP_EXCHANGE_ID, exchange),
      Op(OP_CREATE_SESSION, session),
      Op(OP_DESTROY_SESSION, DESTROY_SESSION4args{}),
      Op(OP_FREE_STATEID, FREE_STATEID4args{}),
      Op(OP_GET_DIR_DELEGATION, GET_DIR_DELEGATION4args{}),
      Op(OP_LAYOUTGET, NotSupportedArgs{}),
      Op(OP_SECINFO_NO_NAME, SECINFO_NO_NAME4args{}),
      Op(OP_SET_SSV, SET_SSV4args{}),
      Op(OP_TEST_STATEID, TEST_STATEID4args{{stateid4{}, stateid4{}}}),
      Op(OP_WANT_DELEGATION, WANT_DELEGATION4args{}),
      Op(OP_DESTROY_CLIENTID, DESTROY_CLIENTID4args{}),
      Op(OP_RECLAIM_COMPLETE, RECLAIM_COMPLETE4args{}),
  };
  const nfs_argop4 sequence = Op(OP_SEQUENCE, SEQUENCE4args{});
  for (const nfs_argop4& op : ops) {
    Write(dir, std::string("op-") + OpName(op.op), Compound(1, {sequence, op}));
  }
  // NFSv4.2's operations, each after a SEQUENCE, and a file's whole 4.2 life in one COMPOUND.
  COPY4args copy;
  copy.count = 10;
  copy.source_server = {netloc4{netloc_type4::NL4_NETADDR, "", "tcp", "127.0.0.1.8.1"}};
  SETXATTR4args setxattr;
  setxattr.name = "colour";
  setxattr.value = AsBytes(std::string_view("blue"));
  const std::vector<nfs_argop4> ops42 = {
      Op(OP_ALLOCATE, ALLOCATE4args{{}, 0, 4096}),
      Op(OP_COPY, copy),
      Op(OP_COPY_NOTIFY, NotSupportedArgs{}),
      Op(OP_DEALLOCATE, DEALLOCATE4args{{}, 0, 4096}),
      Op(OP_OFFLOAD_CANCEL, OFFLOAD_CANCEL4args{}),
      Op(OP_OFFLOAD_STATUS, OFFLOAD_STATUS4args{}),
      Op(OP_READ_PLUS, READ_PLUS4args{{}, 0, 4096}),
      Op(OP_SEEK, SEEK4args{{}, 0, data_content4::NFS4_CONTENT_HOLE}),
      Op(OP_CLONE, CLONE4args{{}, {}, 0, 0, 0}),
      Op(OP_GETXATTR, GETXATTR4args{"colour"}),
      Op(OP_SETXATTR, setxattr),
      Op(OP_LISTXATTRS, LISTXATTRS4args{0, 4096}),
      Op(OP_REMOVEXATTR, REMOVEXATTR4args{"colour"}),
  };
  for (const nfs_argop4& op : ops42) {
    Write(dir, std::string("op42-") + OpName(op.op), Compound(2, {sequence, op}));
  }
  Write(dir, "file-4.2",
        Compound(2, {sequence, putrootfh, open_op, write_op, Op(OP_SAVEFH, std::monostate{}),
                     Op(OP_DEALLOCATE, DEALLOCATE4args{{}, 0, 4}),
                     Op(OP_SEEK, SEEK4args{{}, 0, data_content4::NFS4_CONTENT_DATA}),
                     Op(OP_READ_PLUS, READ_PLUS4args{{}, 0, 100}), Op(OP_CLONE, CLONE4args{}),
                     Op(OP_COPY, COPY4args{}), Op(OP_SETXATTR, setxattr),
                     Op(OP_LISTXATTRS, LISTXATTRS4args{0, 100}), close}));
  Write(dir, "mount-4.0", Compound(0, {putrootfh, getfh, lookup, getattr_op}));
  Write(dir, "open-write-close-4.1", Compound(1, {sequence, putrootfh, open_op, write_op, close}));

  // Replies: a COMPOUND4res, a CB_COMPOUND4res; and CB_COMPOUND4args.
  xdr::XdrEncoder reply;
  reply.U32(0);
  reply.String("seed");
  reply.U32(3);
  EncodeResop(reply, {OP_SEQUENCE, SEQUENCE4res{}});
  EncodeResop(reply, {OP_GETATTR, GETATTR4res{nfsstat4::NFS4_OK, all}});
  OPEN4res opened;
  opened.delegation.delegation_type = open_delegation_type4::OPEN_DELEGATE_WRITE;
  EncodeResop(reply, {OP_OPEN, opened});
  Write(dir, "compound-reply", reply.ToString());

  CB_COMPOUND4res cb_res;
  nfs_cb_resop4 cb_seq;
  cb_seq.op = OP_CB_SEQUENCE;
  nfs_cb_resop4 cb_recall;
  cb_recall.op = OP_CB_RECALL;
  cb_res.results = {cb_seq, cb_recall};
  xdr::XdrEncoder cb_reply;
  Encode(cb_reply, cb_res);
  Write(dir, "cb-reply", cb_reply.ToString());

  CB_COMPOUND4args cb_args;
  CB_SEQUENCE4args cb_sequence;
  cb_sequence.referring_call_lists = {{sessionid4{}, {{1, 0}}}};
  cb_args.ops = {{OP_CB_SEQUENCE, cb_sequence}, {OP_CB_RECALL, CB_RECALL4args{}}};
  xdr::XdrEncoder cb_call;
  Encode(cb_call, cb_args);
  Write(dir, "cb-call", cb_call.ToString());
  return 0;
}

}  // namespace
}  // namespace dittofs::fuzz

int main(int argc, char** argv) { return dittofs::fuzz::Main(argc, argv); }
