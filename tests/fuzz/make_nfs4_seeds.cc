// SPDX-License-Identifier: Apache-2.0
// Writes a seed corpus for nfs4_xdr_fuzz: COMPOUND arguments holding each operation (4.1,
// behind a SEQUENCE; a few 4.0 ones), operations whose attribute lists hold every attribute
// the codec carries, and replies (COMPOUND4res, CB_COMPOUND4res) and callback arguments.
// Usage: make_nfs4_seeds OUTDIR

#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "nfs/proto/nfs4_types.h"

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

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_nfs4_seeds OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[1];
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
