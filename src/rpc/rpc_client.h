// SPDX-License-Identifier: Apache-2.0
#pragma once

// An asynchronous ONC RPC client over TCP, for the calls the server makes to its clients
// (NLM GRANTED, NSM NOTIFY, NFSv4.0 CB_RECALL).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "rpc/call_table.h"
#include "rpc/channel.h"

namespace dittofs::rpc {

// One I/O thread that drives the connections of any number of RpcClients (and runs their
// completions). REQUIRES: every client made on it is closed (or destroyed) before it is
// destroyed. It may be destroyed on its own thread (from a completion): the thread then ends
// by itself.
class ClientIo {
 public:
  ClientIo();
  ~ClientIo();
  ClientIo(const ClientIo&) = delete;
  ClientIo& operator=(const ClientIo&) = delete;

  struct State;  // the io_context and its thread, in the .cc
  State& state() { return *state_; }

 private:
  // Shared with the thread, which outlives this object when it is destroyed on that thread.
  std::shared_ptr<State> state_;
};

struct RpcClientOptions {
  std::string host = "127.0.0.1";  // an address or a name, resolved at each connect
  uint16_t port = 0;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  size_t max_record_size = 4u << 20;  // a longer reply closes the connection
  // After a connect fails, calls fail at once (Errc::kUnavailable) for this long before the
  // next connect is tried; the wait doubles with each failure in a row, up to reconnect_max,
  // and ends with a connection. A peer that is gone then costs one connect per wait, not one
  // per call (a client that went away while the server had callbacks queued for it).
  std::chrono::milliseconds reconnect_initial{std::chrono::milliseconds(500)};
  std::chrono::milliseconds reconnect_max{std::chrono::seconds(30)};
  // Calls waiting for their replies (or to be sent) at once; a call past this fails at once
  // with Errc::kBusy, so a peer that does not answer cannot make the server keep unbounded
  // calls.
  size_t max_pending = 1024;
};

// Calls procedures of one peer over one TCP connection, made when the first call needs it and
// made again by the first call after it broke (after a failed connect, only once the
// reconnect wait has passed: see RpcClientOptions). Calls are sent as they come and replies are
// matched by xid, in any order. When the connection fails or cannot be made, every call
// pending on it fails with Errc::kUnavailable; each call also fails with Errc::kTimedOut when
// its reply does not come within its OutgoingCall::timeout (the connection stays).
// No thread waits for a reply: completions run on the I/O thread (see Channel::Call).
// Call and Close are safe to call concurrently from any thread.
class RpcClient final : public Channel {
 public:
  // Shared, because a client is a Channel: whoever sends callbacks to a host holds it.
  // `io` (may be null: the client runs a ClientIo of its own) must outlive the client.
  static std::shared_ptr<RpcClient> Create(const RpcClientOptions& options, ClientIo* io = nullptr);
  // Closes the client; waits for its own I/O thread (if any) to end, unless called on it.
  ~RpcClient() override;

  void Call(const OutgoingCall& call, xdr::XdrEncoder args, ReplyCallback done) override;
  // Fails every pending call (Errc::kUnavailable) on this thread, closes the connection, and
  // fails later calls at once. Idempotent.
  void Close();

  struct Impl;  // in the .cc
  RpcClient(std::unique_ptr<ClientIo> own_io, std::shared_ptr<Impl> impl);

 private:
  std::unique_ptr<ClientIo> own_io_;  // null when the client runs on a shared ClientIo
  // Shared with the I/O operations in flight, which may outlive the client by a moment.
  std::shared_ptr<Impl> impl_;
};

}  // namespace dittofs::rpc
