// SPDX-License-Identifier: Apache-2.0
// Writes a seed corpus for rpc_fuzz: one record-marked stream per file, each holding valid
// calls of every MOUNT v3 and NFSv3 procedure (with the root handle of the fuzz server), and of
// the port mapper.
// Usage: make_seeds OUTDIR

#include <cstdio>
#include <fstream>
#include <string>

#include "fuzz_server.h"
#include "nfs/common/file_handle.h"
#include "nfs/proto/mount3_types.h"
#include "nfs/proto/nfs3_types.h"
#include "rpc/message.h"
#include "rpc/record.h"

namespace dittofs::fuzz {
namespace {

std::string Framed(const std::string& record) {
  std::byte mark[4];
  rpc::EncodeRecordMark(static_cast<uint32_t>(record.size()), mark);
  return std::string(AsChars(ByteView(mark, 4))) + record;
}

void Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUTDIR\n");
    return 2;
  }
  std::string dir = argv[1];
  FuzzServer server;
  nfs::FileHandleCodec::Handle fh_bytes = server.handles().Encode(1, server.root());
  ByteView fh(fh_bytes.data(), fh_bytes.size());
  rpc::Credential cred;
  cred.flavor = rpc::AuthFlavor::kSys;
  cred.uid = 0;
  cred.gid = 0;
  cred.gids = {1, 2};
  cred.machine_name = "fuzz";
  uint32_t xid = 1;
  auto call = [&](uint32_t prog, uint32_t vers, uint32_t proc, auto&& encode_args) {
    xdr::XdrEncoder e;
    rpc::EncodeCallHeader(e, xid++, prog, vers, proc, cred);
    encode_args(e);
    return Framed(e.ToString());
  };
  auto none = [](xdr::XdrEncoder&) {};
  auto handle = [&](xdr::XdrEncoder& e) { e.VarOpaque(fh); };
  auto dirop = [&](std::string name) {
    return [&, name](xdr::XdrEncoder& e) {
      e.VarOpaque(fh);
      e.String(name);
    };
  };
  using namespace nfs;
  std::string all;
  for (uint32_t p = 0; p <= 5; ++p) {
    std::string s = call(MOUNT_PROGRAM, MOUNT_V3, p, [&](xdr::XdrEncoder& e) {
      if (p == MOUNTPROC3_MNT || p == MOUNTPROC3_UMNT) e.String("/export");
    });
    Write(dir, "mount" + std::to_string(p), s);
    all += s;
  }
  std::vector<std::pair<std::string, std::string>> nfs_calls = {
      {"null", call(NFS_PROGRAM, NFS_V3, NFSPROC3_NULL, none)},
      {"getattr", call(NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, handle)},
      {"lookup", call(NFS_PROGRAM, NFS_V3, NFSPROC3_LOOKUP, dirop("f"))},
      {"access", call(NFS_PROGRAM, NFS_V3, NFSPROC3_ACCESS,
                      [&](xdr::XdrEncoder& e) {
                        e.VarOpaque(fh);
                        e.U32(0x3f);
                      })},
      {"create", call(NFS_PROGRAM, NFS_V3, NFSPROC3_CREATE,
                      [&](xdr::XdrEncoder& e) {
                        e.VarOpaque(fh);
                        e.String("f");
                        e.U32(0);  // UNCHECKED
                        e.U32(1);
                        e.U32(0644);
                        e.U32(0);
                        e.U32(0);
                        e.U32(0);
                        e.U32(0);
                        e.U32(0);
                      })},
      {"mkdir", call(NFS_PROGRAM, NFS_V3, NFSPROC3_MKDIR,
                     [&](xdr::XdrEncoder& e) {
                       e.VarOpaque(fh);
                       e.String("d");
                       e.U32(1);
                       e.U32(0755);
                       e.U32(0);
                       e.U32(0);
                       e.U32(0);
                       e.U32(0);
                       e.U32(0);
                     })},
      {"symlink", call(NFS_PROGRAM, NFS_V3, NFSPROC3_SYMLINK,
                       [&](xdr::XdrEncoder& e) {
                         e.VarOpaque(fh);
                         e.String("l");
                         for (int i = 0; i < 6; ++i) e.U32(0);
                         e.String("target");
                       })},
      {"mknod", call(NFS_PROGRAM, NFS_V3, NFSPROC3_MKNOD,
                     [&](xdr::XdrEncoder& e) {
                       e.VarOpaque(fh);
                       e.String("p");
                       e.U32(7);  // NF3FIFO
                       for (int i = 0; i < 6; ++i) e.U32(0);
                     })},
      {"readdir", call(NFS_PROGRAM, NFS_V3, NFSPROC3_READDIR,
                       [&](xdr::XdrEncoder& e) {
                         e.VarOpaque(fh);
                         e.U64(0);
                         e.U64(0);
                         e.U32(4096);
                       })},
      {"readdirplus", call(NFS_PROGRAM, NFS_V3, NFSPROC3_READDIRPLUS,
                           [&](xdr::XdrEncoder& e) {
                             e.VarOpaque(fh);
                             e.U64(0);
                             e.U64(0);
                             e.U32(4096);
                             e.U32(32768);
                           })},
      {"setattr", call(NFS_PROGRAM, NFS_V3, NFSPROC3_SETATTR,
                       [&](xdr::XdrEncoder& e) {
                         e.VarOpaque(fh);
                         e.U32(1);
                         e.U32(0777);
                         for (int i = 0; i < 5; ++i) e.U32(0);
                         e.U32(0);
                       })},
      {"fsstat", call(NFS_PROGRAM, NFS_V3, NFSPROC3_FSSTAT, handle)},
      {"fsinfo", call(NFS_PROGRAM, NFS_V3, NFSPROC3_FSINFO, handle)},
      {"pathconf", call(NFS_PROGRAM, NFS_V3, NFSPROC3_PATHCONF, handle)},
      {"remove", call(NFS_PROGRAM, NFS_V3, NFSPROC3_REMOVE, dirop("f"))},
      {"rmdir", call(NFS_PROGRAM, NFS_V3, NFSPROC3_RMDIR, dirop("d"))},
      {"rename", call(NFS_PROGRAM, NFS_V3, NFSPROC3_RENAME,
                      [&](xdr::XdrEncoder& e) {
                        e.VarOpaque(fh);
                        e.String("a");
                        e.VarOpaque(fh);
                        e.String("b");
                      })},
      {"link", call(NFS_PROGRAM, NFS_V3, NFSPROC3_LINK,
                    [&](xdr::XdrEncoder& e) {
                      e.VarOpaque(fh);
                      e.VarOpaque(fh);
                      e.String("x");
                    })},
      {"readlink", call(NFS_PROGRAM, NFS_V3, NFSPROC3_READLINK, handle)},
      {"read", call(NFS_PROGRAM, NFS_V3, NFSPROC3_READ,
                    [&](xdr::XdrEncoder& e) {
                      e.VarOpaque(fh);
                      e.U64(0);
                      e.U32(100);
                    })},
      {"write", call(NFS_PROGRAM, NFS_V3, NFSPROC3_WRITE,
                     [&](xdr::XdrEncoder& e) {
                       e.VarOpaque(fh);
                       e.U64(0);
                       e.U32(5);
                       e.U32(2);
                       e.String("hello");
                     })},
      {"commit", call(NFS_PROGRAM, NFS_V3, NFSPROC3_COMMIT,
                      [&](xdr::XdrEncoder& e) {
                        e.VarOpaque(fh);
                        e.U64(0);
                        e.U32(0);
                      })},
  };
  for (auto& [name, bytes] : nfs_calls) {
    Write(dir, "nfs_" + name, bytes);
    all += bytes;
  }
  // The port mapper: PMAP v2 GETPORT, SET and DUMP; RPCBIND v3 GETADDR and v4 GETADDRLIST.
  const auto pmap = [](uint32_t prog, uint32_t vers, uint32_t prot, uint32_t port) {
    return [=](xdr::XdrEncoder& e) {
      e.U32(prog);
      e.U32(vers);
      e.U32(prot);
      e.U32(port);
    };
  };
  const auto rpcb = [](uint32_t prog, uint32_t vers, std::string netid, std::string addr) {
    return [=](xdr::XdrEncoder& e) {
      e.U32(prog);
      e.U32(vers);
      e.String(netid);
      e.String(addr);
      e.String("fuzz");
    };
  };
  std::vector<std::pair<std::string, std::string>> portmap_calls = {
      {"getport", call(100000, 2, 3, pmap(NFS_PROGRAM, NFS_V3, 6, 0))},
      {"set", call(100000, 2, 1, pmap(300001, 1, 17, 4242))},
      {"dump2", call(100000, 2, 4, none)},
      {"getaddr", call(100000, 3, 3, rpcb(NFS_PROGRAM, NFS_V3, "tcp", ""))},
      {"set3", call(100000, 3, 1, rpcb(300002, 1, "tcp6", "::1.16.146"))},
      {"addrlist", call(100000, 4, 11, rpcb(MOUNT_PROGRAM, MOUNT_V3, "udp", ""))},
  };
  for (auto& [name, bytes] : portmap_calls) {
    Write(dir, "portmap_" + name, bytes);
    all += bytes;
  }
  // NLM (version 4 and 1) and NSM: a lock's life, share reservations, FREE_ALL, SM_NOTIFY.
  const auto alock = [&](bool wide) {
    return [&, wide](xdr::XdrEncoder& e) {
      e.String("fuzzhost");
      e.VarOpaque(fh);
      e.String("owner@fuzzhost");
      e.I32(42);
      if (wide) {
        e.U64(0);
        e.U64(100);
      } else {
        e.U32(0);
        e.U32(100);
      }
    };
  };
  const auto lockargs = [&](bool wide, bool block) {
    return [&, wide, block](xdr::XdrEncoder& e) {
      e.String("cookie");
      e.Bool(block);
      e.Bool(true);
      alock(wide)(e);
      e.Bool(false);
      e.I32(3);
    };
  };
  const auto testargs = [&](xdr::XdrEncoder& e) {
    e.String("cookie");
    e.Bool(true);
    alock(true)(e);
  };
  const auto unlockargs = [&](xdr::XdrEncoder& e) {
    e.String("cookie");
    alock(true)(e);
  };
  const auto shareargs = [&](xdr::XdrEncoder& e) {
    e.String("cookie");
    e.String("fuzzhost");
    e.VarOpaque(fh);
    e.String("dos-owner");
    e.U32(2);
    e.U32(3);
    e.Bool(false);
  };
  const auto notify = [](xdr::XdrEncoder& e) {
    e.String("fuzzhost");
    e.I32(5);
  };
  std::vector<std::pair<std::string, std::string>> nlm_calls = {
      {"lock4", call(100021, 4, 2, lockargs(true, false))},
      {"lock4_block", call(100021, 4, 2, lockargs(true, true))},
      {"lock1", call(100021, 1, 2, lockargs(false, false))},
      {"test4", call(100021, 4, 1, testargs)},
      {"cancel4", call(100021, 4, 3, lockargs(true, true))},
      {"unlock4", call(100021, 4, 4, unlockargs)},
      {"lock_msg4", call(100021, 4, 7, lockargs(true, false))},
      {"share4", call(100021, 4, 20, shareargs)},
      {"unshare4", call(100021, 4, 21, shareargs)},
      {"free_all4", call(100021, 4, 23, notify)},
      {"sm_notify", call(100024, 1, 6, notify)},
      {"sm_stat", call(100024, 1, 1, [](xdr::XdrEncoder& e) { e.String("fuzzhost"); })},
  };
  for (auto& [name, bytes] : nlm_calls) {
    Write(dir, "nlm_" + name, bytes);
    all += bytes;
  }
  // RFC 9289's probe: NULL with AUTH_TLS (empty body) and an AUTH_NONE verifier.
  {
    xdr::XdrEncoder e;
    for (uint32_t w : {xid++, 0u, 2u, uint32_t{NFS_PROGRAM}, 3u, 0u, 7u, 0u, 0u, 0u}) e.U32(w);
    std::string probe = Framed(e.ToString());
    Write(dir, "tls_probe", probe);
    all += probe;
  }
  Write(dir, "all", all);
  return 0;
}

}  // namespace
}  // namespace dittofs::fuzz

int main(int argc, char** argv) { return dittofs::fuzz::Main(argc, argv); }
