// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "metrics/metrics.h"
#include "rpc/auth.h"
#include "rpc/channel.h"
#include "rpc/message.h"
#include "rpc/reply_cache.h"
#include "trace/trace.h"
#include "xdr/xdr.h"

namespace dittofs::rpc {

// What a handler knows of the call beyond its arguments.
struct CallContext {
  uint32_t xid = 0;
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  Credential cred;
  std::string client_address;  // the peer's IP address, no port
  uint16_t client_port = 0;
  std::string server_address;  // the address the client reached: empty when unknown (UDP)
  // The call came inside TLS (RFC 9289), and the subject of the certificate the client
  // presented (mutual TLS; empty when it showed none). The view is valid during the call.
  bool tls = false;
  std::string_view tls_peer_subject;
  // The connection the call came on, for calls back to the client over it (the NFSv4.1
  // backchannel); null when the transport has none. Valid during the call; to keep it,
  // hold channel->shared_from_this() (or weak_from_this()). A kept channel may outlive its
  // connection and its server (its calls then fail), but calls on it must not race with the
  // server's destruction.
  Channel* channel = nullptr;
  // For a procedure with `cache_if`: the handler sets *keep_reply to have its reply cached
  // (null otherwise).
  bool* keep_reply = nullptr;
  // A handler that refuses the call as not protected enough for what it touches (a share that
  // requires TLS, reached over a plain connection) sets *denied to the auth_stat to answer
  // (MSG_DENIED, AUTH_ERROR) instead of its results. Never null during a call.
  AuthStat* denied = nullptr;
  // The call's trace span (docs/tracing.md), for the handler to add what only it knows (the
  // share, the protocol's status); it records only when the call is sampled. Never null
  // during a call.
  trace::Span* span = nullptr;
};

// Decodes the arguments from `args` and encodes the results into `results`. Returns
// kGarbageArgs when the arguments do not decode (results are then discarded), else kSuccess.
using ProcedureHandler =
    std::function<AcceptStat(const CallContext&, xdr::XdrDecoder& args, xdr::XdrEncoder& results)>;

struct Procedure {
  const char* name = "";
  ProcedureHandler handler;
  // Non-idempotent procedures (CREATE, REMOVE, RENAME, ...) have their replies cached, so a
  // retransmitted call is answered from the cache instead of being executed twice.
  bool cached = false;
  // Quick and never blocking on data I/O (metadata reads): the transport may run it on the
  // thread that received it, saving a hand-off to a worker.
  bool fast = false;
  // Procedures some of whose calls change state (an NFSv4.0 COMPOUND holding a CREATE or a
  // CLOSE): when this says a call may be such (from its arguments), a retransmission is looked
  // up in the reply cache, and the reply is kept if the handler sets *keep_reply.
  std::function<bool(ByteView args)> cache_if;
  // Filled by Dispatcher::Add: the procedure's Prometheus metrics (calls, calls not answered
  // SUCCESS, and how long the handler took).
  metrics::Counter* calls = nullptr;
  metrics::Counter* errors = nullptr;
  metrics::Histogram* duration = nullptr;
  // Filled by Dispatcher::Add: the name of the call's trace span ("nfs.v3.READ").
  std::string span_name;
};

// One version of one program: the table from procedure number to handler. Procedures with an
// empty handler are answered PROC_UNAVAIL.
struct ProgramVersion {
  uint32_t prog = 0;
  uint32_t vers = 0;
  std::vector<Procedure> procedures;
  // Served now (Dispatcher::SetEnabled); a version that is not is answered as one that is not
  // registered. Shared so that the table's copies see one flag.
  std::shared_ptr<std::atomic<bool>> enabled = std::make_shared<std::atomic<bool>>(true);
};

struct ConnectionInfo {
  std::string peer_address;
  uint16_t peer_port = 0;
  std::string local_address;   // the server's, where the client reached it; empty if unknown
  Channel* channel = nullptr;  // see CallContext::channel; owned by the transport
  bool tls = false;            // see CallContext::tls
  std::string tls_peer_subject;
};

// Routes calls to the registered program tables and produces replies. Handle is safe to call
// concurrently from any number of threads; Add and AddAuthFlavor are not (register everything
// before serving).
class Dispatcher {
 public:
  explicit Dispatcher(size_t reply_cache_entries = 8192);

  void Add(ProgramVersion program);
  // Serves a registered program version, or stops serving it (calls of it are then answered
  // PROG_MISMATCH with the versions still served, or PROG_UNAVAIL when none is). Any thread,
  // while serving. False when no such version is registered.
  bool SetEnabled(uint32_t prog, uint32_t vers, bool enabled);
  // Accepts calls whose credential is of `flavor`, as `handler` decides; replaces an earlier
  // handler of the flavor. Calls of a flavor without a handler are denied with AUTH_TOOWEAK,
  // before their program is looked at. A dispatcher starts with no flavor at all.
  void AddAuthFlavor(AuthFlavor flavor, AuthHandler handler);
  // The flavors with a handler, strongest first (by number: RPCSEC_GSS 6 before AUTH_SYS 1
  // before AUTH_NONE 0), as MOUNT advertises them (RFC 2623 section 2.7).
  std::vector<uint32_t> Flavors() const;
  // Serves RPCSEC_GSS (flavor 6) through `gss`, which must outlive the dispatcher; null stops.
  // Register before serving.
  void SetGss(GssAuthenticator* gss) { gss_ = gss; }

  // Processes one record. Returns false when no reply must be sent (not a call, or a
  // retransmission of a call still in progress); else `reply` holds the encoded reply.
  // REQUIRES: `record` outlives `reply` (replies may borrow from it).
  bool Handle(const ConnectionInfo& conn, ByteView record, xdr::XdrEncoder* reply);

  // Whether `record` is a call of a procedure marked `fast` (looks at the header only).
  bool IsFast(ByteView record) const;

  const ReplyCache& reply_cache() const { return cache_; }

 private:
  // The rest of Handle once the caller is known: the program, version and procedure, the reply
  // cache, the handler and the reply (protected through `gss` when not null).
  bool HandleProgram(CallContext& ctx, const CallHeader& h, const ConnectionInfo& conn,
                     xdr::XdrDecoder d, const GssCall* gss, xdr::XdrEncoder* reply);
  // The handler of the call's credential flavor, or null when none is registered.
  const AuthHandler* FlavorHandler(uint32_t flavor) const;

  // prog -> vers -> table
  std::map<uint32_t, std::map<uint32_t, ProgramVersion>> programs_;
  // flavor -> handler; a few entries, scanned in order
  std::vector<std::pair<uint32_t, AuthHandler>> flavors_;
  ReplyCache cache_;
  GssAuthenticator* gss_ = nullptr;  // may be null: no RPCSEC_GSS
};

}  // namespace dittofs::rpc
