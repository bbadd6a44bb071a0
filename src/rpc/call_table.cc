// SPDX-License-Identifier: Apache-2.0
#include "rpc/call_table.h"

#include <fmt/format.h>

#include "base/random.h"

namespace dittofs::rpc {

std::string CallName(const OutgoingCall& call) {
  return fmt::format("prog {} vers {} proc {}", call.prog, call.vers, call.proc);
}

CallTable::CallTable() : next_xid_(static_cast<uint32_t>(RandomU64())) {}

CallTable::~CallTable() { Close(Status(Errc::kUnavailable, "the channel is gone")); }

std::optional<xdr::XdrEncoder> CallTable::Start(const OutgoingCall& call, xdr::XdrEncoder args,
                                                Clock::time_point deadline, ReplyCallback done) {
  uint32_t xid = 0;
  Status closed;
  {
    MutexLock lock(&mu_);
    if (closed_) {
      closed = *closed_;
    } else {
      // Skip xids still in use (after 2^32 calls, one may be waiting for a very late reply).
      do {
        xid = next_xid_++;
      } while (calls_.contains(xid));
      calls_.emplace(xid, Pending{call, deadline, 0, std::move(done)});
      deadlines_.emplace(deadline, xid);
    }
  }
  if (!closed.ok()) {
    done(Status(closed.code(), CallName(call) + ": " + closed.message()));
    return std::nullopt;
  }
  xdr::XdrEncoder record;
  if (call.security == nullptr) {
    EncodeCallHeader(record, xid, call.prog, call.vers, call.proc, call.cred);
    record.Append(std::move(args));
    return record;
  }
  EncodeCallPrefix(record, xid, call.prog, call.vers, call.proc);
  Result<uint32_t> seq = call.security->Protect(record, std::move(args));
  if (!seq.ok()) {
    Fail(xid, Status(seq.status().code(), CallName(call) + ": " + seq.status().message()));
    return std::nullopt;
  }
  {
    MutexLock lock(&mu_);
    // Its reply cannot have come: the record is not sent yet. It may have expired, though.
    if (auto it = calls_.find(xid); it != calls_.end()) it->second.seq = *seq;
  }
  return record;
}

bool CallTable::IsPending(uint32_t xid) const {
  MutexLock lock(&mu_);
  return calls_.contains(xid);
}

std::optional<CallTable::Pending> CallTable::TakeLocked(uint32_t xid) {
  auto it = calls_.find(xid);
  if (it == calls_.end()) return std::nullopt;
  Pending p = std::move(it->second);
  calls_.erase(it);
  deadlines_.erase({p.deadline, xid});
  return p;
}

std::vector<CallTable::Pending> CallTable::TakeAllLocked() {
  std::vector<Pending> all;
  all.reserve(calls_.size());
  for (auto& [xid, p] : calls_) all.push_back(std::move(p));
  calls_.clear();
  deadlines_.clear();
  return all;
}

bool CallTable::Complete(Buffer record) {
  if (record.size() < 4) return false;
  xdr::XdrDecoder d(record.view());
  ReplyHeader header;
  bool decoded = DecodeReplyHeader(d, &header);
  std::optional<Pending> p;
  {
    MutexLock lock(&mu_);
    p = TakeLocked(LoadBe32(record.data()));
  }
  if (!p) return false;
  std::string name = CallName(p->call);
  if (!decoded) {
    p->done(Status(Errc::kIo, name + ": malformed reply"));
    return true;
  }
  Status status = ReplyStatus(header, name);
  if (!status.ok()) {
    p->done(std::move(status));
    return true;
  }
  ByteView results = d.rest();
  Reply reply{std::move(record), results};  // moving a Buffer keeps its bytes in place
  if (p->call.security != nullptr) {
    Result<Reply> checked = p->call.security->CheckReply(p->seq, header.verf_flavor,
                                                         header.verf_body, std::move(reply));
    if (!checked.ok()) {
      p->done(Status(checked.status().code(), name + ": " + checked.status().message()));
    } else {
      p->done(std::move(checked).value());
    }
    return true;
  }
  p->done(std::move(reply));
  return true;
}

bool CallTable::Fail(uint32_t xid, Status status) {
  std::optional<Pending> p;
  {
    MutexLock lock(&mu_);
    p = TakeLocked(xid);
  }
  if (!p) return false;
  p->done(std::move(status));
  return true;
}

void CallTable::Expire(Clock::time_point now) {
  std::vector<Pending> expired;
  {
    MutexLock lock(&mu_);
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      std::optional<Pending> p = TakeLocked(deadlines_.begin()->second);
      expired.push_back(std::move(*p));
    }
  }
  for (Pending& p : expired) {
    p.done(Status(Errc::kTimedOut, fmt::format("{}: no reply within {} ms", CallName(p.call),
                                               p.call.timeout.count())));
  }
}

std::optional<CallTable::Clock::time_point> CallTable::NextDeadline() const {
  MutexLock lock(&mu_);
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void CallTable::FailAll(const Status& status) {
  std::vector<Pending> all;
  {
    MutexLock lock(&mu_);
    all = TakeAllLocked();
  }
  for (Pending& p : all) p.done(Status(status.code(), CallName(p.call) + ": " + status.message()));
}

void CallTable::Close(const Status& status) {
  std::vector<Pending> all;
  {
    MutexLock lock(&mu_);
    if (!closed_) closed_ = status;
    all = TakeAllLocked();
  }
  for (Pending& p : all) p.done(Status(status.code(), CallName(p.call) + ": " + status.message()));
}

size_t CallTable::pending() const {
  MutexLock lock(&mu_);
  return calls_.size();
}

}  // namespace dittofs::rpc
