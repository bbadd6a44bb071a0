// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small NFSv4 client for over-the-wire tests, on the project's own XDR (nfs/proto): it sends
// COMPOUNDs and decodes their replies, keeps a 4.1 session's slot sequence or a 4.0 client id,
// and can send a call again byte for byte (a retransmission). Not thread-safe; one per
// connection.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "nfs/proto/nfs4_types.h"
#include "rpc/blocking_client.h"

namespace dittofs::integration {

class Nfs4TestClient {
 public:
  // Connects to 127.0.0.1:`port`, speaking minor version `minor`, as uid/gid `uid`.
  static Result<std::unique_ptr<Nfs4TestClient>> Connect(uint16_t port, uint32_t minor,
                                                         uint32_t uid = 0);

  uint32_t minor() const { return minor_; }
  nfs::clientid4 clientid() const { return clientid_; }
  const nfs::sessionid4& sessionid() const { return sessionid_; }

  // Sends one COMPOUND and decodes its reply.
  Result<nfs::COMPOUND4res> Compound(const std::vector<nfs::nfs_argop4>& ops,
                                     std::string_view tag = "");
  // The last call's record (header and arguments) and its reply's bytes (results only).
  const std::string& last_call() const { return last_call_; }
  // Sends `call` (a whole record from last_call()) again and returns the reply's results.
  Result<std::string> Resend(const std::string& call);
  // Sends arbitrary COMPOUND arguments (possibly malformed) and returns the reply's results,
  // or the RPC refusal as an error.
  Result<std::string> CallRaw(const std::string& args);

  // 4.1: EXCHANGE_ID and CREATE_SESSION under `owner` (with `backchannel`, the connection
  // also carries the server's callbacks). 4.0: SETCLIENTID and its CONFIRM. Called again, the
  // connection becomes another client's (the earlier one is left as it is).
  // 4.1 clients then send RECLAIM_COMPLETE, as real ones do, unless `reclaim` (a client
  // about to reclaim after a restart sends it when done).
  Status Establish(std::string_view owner, bool backchannel = false, bool reclaim = false);

  // 4.1 backchannel: callbacks the server sent on this connection are answered as they
  // arrive (CB_NULL; CB_COMPOUND with CB_SEQUENCE and CB_RECALL, each NFS4_OK). The recalls
  // seen so far, oldest first; WaitForRecall reads the connection until one arrives.
  const std::vector<nfs::CB_RECALL4args>& recalls() const { return recalls_; }
  Result<nfs::CB_RECALL4args> WaitForRecall(int timeout_ms);
  // 4.2: the CB_OFFLOADs of asynchronous COPYs (refused in a CB_COMPOUND of minor version 1,
  // as Linux refuses it); WaitForOffload reads the connection until one arrives.
  const std::vector<nfs::CB_OFFLOAD4args>& offloads() const { return offloads_; }
  Result<nfs::CB_OFFLOAD4args> WaitForOffload(int timeout_ms);
  // The next `n` CB_OFFLOADs are answered NFS4ERR_DELAY (and not kept), as by a client that
  // could not take them; how many were refused so far.
  void RefuseOffloads(int n) { refuse_offloads_ = n; }
  int refused_offloads() const { return refused_offloads_; }
  // 4.1: the SEQUENCE for the next call on `slot` (its sequence id advanced).
  nfs::nfs_argop4 Sequence(uint32_t slot = 0, bool cachethis = true);
  // A SEQUENCE with an explicit sequence id (for misordered and replayed calls).
  nfs::nfs_argop4 SequenceAt(uint32_t slot, uint32_t seqid, bool cachethis = true);
  uint32_t slot_seqid(uint32_t slot) const { return slot_seqids_.at(slot); }
  // Prepends SEQUENCE for 4.1 (nothing for 4.0).
  std::vector<nfs::nfs_argop4> InSession(std::vector<nfs::nfs_argop4> ops);

  // PUTROOTFH + LOOKUPs of each component of `path` ("/export/dir").
  static std::vector<nfs::nfs_argop4> Walk(std::string_view path);

  // 4.0: the next seqid of open-owner `owner` (tracked per owner name).
  uint32_t NextOpenSeqid(const std::string& owner);

 private:
  Nfs4TestClient(rpc::BlockingClient c, uint32_t minor, uint32_t uid)
      : conn_(std::move(c)), minor_(minor), uid_(uid) {}

  rpc::BlockingClient conn_;
  uint32_t minor_;
  uint32_t uid_;
  uint32_t xid_ = 1000;
  nfs::clientid4 clientid_ = 0;
  nfs::sessionid4 sessionid_{};
  std::vector<uint32_t> slot_seqids_;
  std::vector<std::pair<std::string, uint32_t>> owner_seqids_;
  std::string last_call_;
  std::vector<nfs::CB_OFFLOAD4args> offloads_;
  int refuse_offloads_ = 0;
  int refused_offloads_ = 0;
  std::vector<nfs::CB_RECALL4args> recalls_;

  // Whether `record` is a call (a callback) rather than a reply; if so, answers it.
  Result<bool> AnswerIfCallback(const std::string& record);
};

// Operation builders.
nfs::nfs_argop4 Op(uint32_t op);  // an operation without arguments
template <typename Args>
nfs::nfs_argop4 Op(uint32_t op, Args args) {
  nfs::nfs_argop4 o;
  o.op = op;
  o.args = std::move(args);
  return o;
}
nfs::nfs_argop4 PutRootFh();
nfs::nfs_argop4 GetFh();
nfs::nfs_argop4 Lookup(std::string_view name);
nfs::nfs_argop4 PutFh(const nfs::nfs_fh4_owned& fh);
nfs::nfs_argop4 GetAttr(std::initializer_list<uint32_t> bits);
// OPEN by name in the current directory; `create` as UNCHECKED4 with mode 0644.
nfs::nfs_argop4 OpenByName(std::string_view name, uint32_t access, uint32_t deny,
                           const std::string& owner, nfs::clientid4 clientid, bool create,
                           uint32_t seqid = 0);
nfs::nfs_argop4 Write(const nfs::stateid4& sid, uint64_t offset, std::string_view data,
                      nfs::stable_how4 stable = nfs::stable_how4::FILE_SYNC4);
nfs::nfs_argop4 Read(const nfs::stateid4& sid, uint64_t offset, uint32_t count);
nfs::nfs_argop4 Close(const nfs::stateid4& sid, uint32_t seqid = 0);
nfs::nfs_argop4 LockNew(const nfs::stateid4& open, uint32_t open_seqid, const std::string& owner,
                        nfs::clientid4 clientid, bool write, uint64_t offset, uint64_t length);
nfs::nfs_argop4 LockU(const nfs::stateid4& lock, uint32_t seqid, uint64_t offset, uint64_t length);

// The result of operation `op` in `res` (the first of that operation), or null.
template <typename T>
const T* ResultOf(const nfs::COMPOUND4res& res, uint32_t op) {
  for (const auto& r : res.resarray) {
    if (r.op == op) return std::get_if<T>(&r.res);
  }
  return nullptr;
}
// The attributes GETATTR returned in `res`, decoded.
std::optional<nfs::Fattr4> AttrsOf(const nfs::COMPOUND4res& res);
// Each operation of `res` with its status ("PUTROOTFH:0 LOOKUP:2"), for failure messages.
std::string Describe(const nfs::COMPOUND4res& res);
// The file handle GETFH returned in `res`.
std::optional<nfs::nfs_fh4_owned> FhOf(const nfs::COMPOUND4res& res);

}  // namespace dittofs::integration
