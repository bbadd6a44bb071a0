// SPDX-License-Identifier: Apache-2.0
// RpcClient against the real TCP server and against raw sockets that misbehave, and the
// backchannel: the server calling a client over the client's own connection.
#include "rpc/rpc_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "rpc/blocking_client.h"
#include "rpc/record.h"
#include "rpc/tcp_server.h"
#include "testing/status_matchers.h"

namespace dittofs::rpc {
namespace {

using dittofs::testing::StatusIs;
using std::chrono::milliseconds;

constexpr uint32_t kProg = 200002;
constexpr uint32_t kCallbackProg = 400100;

// Program kProg version 1: 0 NULL; 1 ECHO (an opaque back); 2 SLEEP (sleeps its u32 argument's
// milliseconds, then returns it); 3 FAIL (SYSTEM_ERR); 4 HOLD (keeps the call's channel in
// `held`).
struct TestProgram {
  std::mutex mu;
  std::shared_ptr<Channel> held;

  void AddTo(Dispatcher& d) {
    ProgramVersion v{kProg, 1, {}};
    v.procedures.resize(5);
    v.procedures[0] = {"NULL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                         return AcceptStat::kSuccess;
                       }};
    v.procedures[1] = {"ECHO", [](const CallContext&, xdr::XdrDecoder& a, xdr::XdrEncoder& r) {
                         ByteView data = a.VarOpaque(8u << 20);
                         if (!a.ok()) return AcceptStat::kGarbageArgs;
                         r.VarOpaque(data);
                         return AcceptStat::kSuccess;
                       }};
    v.procedures[2] = {"SLEEP", [](const CallContext&, xdr::XdrDecoder& a, xdr::XdrEncoder& r) {
                         uint32_t ms = a.U32();
                         if (!a.ok()) return AcceptStat::kGarbageArgs;
                         std::this_thread::sleep_for(milliseconds(ms));
                         r.U32(ms);
                         return AcceptStat::kSuccess;
                       }};
    v.procedures[3] = {"FAIL", [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                         return AcceptStat::kSystemErr;
                       }};
    v.procedures[4] = {"HOLD", [this](const CallContext& ctx, xdr::XdrDecoder&, xdr::XdrEncoder&) {
                         std::lock_guard lock(mu);
                         held = ctx.channel == nullptr ? nullptr : ctx.channel->shared_from_this();
                         return AcceptStat::kSuccess;
                       }};
    d.Add(v);
    d.AddAuthFlavor(AuthFlavor::kNone, AuthNone);
  }
  std::shared_ptr<Channel> Held() {
    std::lock_guard lock(mu);
    return held;
  }
};

OutgoingCall Proc(uint32_t proc, milliseconds timeout = milliseconds(5000)) {
  OutgoingCall c;
  c.prog = kProg;
  c.vers = 1;
  c.proc = proc;
  c.timeout = timeout;
  return c;
}

xdr::XdrEncoder U32(uint32_t v) {
  xdr::XdrEncoder e;
  e.U32(v);
  return e;
}

std::future<Result<Reply>> CallAsync(Channel& channel, const OutgoingCall& call,
                                     xdr::XdrEncoder args) {
  auto promise = std::make_shared<std::promise<Result<Reply>>>();
  std::future<Result<Reply>> f = promise->get_future();
  channel.Call(call, std::move(args),
               [promise](Result<Reply> r) { promise->set_value(std::move(r)); });
  return f;
}

Result<Reply> Wait(std::future<Result<Reply>>& f, milliseconds limit = milliseconds(10000)) {
  if (f.wait_for(limit) != std::future_status::ready)
    return Status(Errc::kInternal, "no completion");
  return f.get();
}

uint32_t ResultU32(const Result<Reply>& r) {
  if (!r.ok()) return 0xffffffff;
  xdr::XdrDecoder d(r->results);
  uint32_t v = d.U32();
  return d.ok() ? v : 0xfffffffe;
}

class RpcClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    program_.AddTo(dispatcher_);
    TcpServerOptions o;
    o.stream.bind_address = "127.0.0.1";
    o.stream.worker_threads = 8;
    auto s = StartRpcTcpServer(o, dispatcher_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  std::shared_ptr<RpcClient> Client(uint16_t port) {
    RpcClientOptions o;
    o.port = port;
    o.connect_timeout = milliseconds(2000);
    return RpcClient::Create(o);
  }

  TestProgram program_;
  Dispatcher dispatcher_;
  std::unique_ptr<net::StreamServer> server_;
};

TEST_F(RpcClientTest, CallsAndGetsReplies) {
  auto client = Client(server_->port());
  auto f = CallAsync(*client, Proc(2), U32(3));
  Result<Reply> r = Wait(f);
  ASSERT_OK(r);
  EXPECT_EQ(ResultU32(r), 3u);
}

TEST_F(RpcClientTest, ManyConcurrentCallsFromManyThreads) {
  auto client = Client(server_->port());
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::future<Result<Reply>>> futures(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int n = t * kPerThread + i;
        futures[n] = CallAsync(*client, Proc(2), U32(n % 7));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int n = 0; n < kThreads * kPerThread; ++n) {
    Result<Reply> r = Wait(futures[n]);
    ASSERT_OK(r);
    EXPECT_EQ(ResultU32(r), static_cast<uint32_t>(n % 7));
  }
}

TEST_F(RpcClientTest, RepliesOvertakeOneAnother) {
  auto client = Client(server_->port());
  auto slow = CallAsync(*client, Proc(2), U32(400));
  auto fast = CallAsync(*client, Proc(2), U32(0));
  ASSERT_OK(Wait(fast));
  EXPECT_EQ(slow.wait_for(milliseconds(0)), std::future_status::timeout);  // still running
  Result<Reply> r = Wait(slow);
  EXPECT_EQ(ResultU32(r), 400u);
}

TEST_F(RpcClientTest, LargeArgumentsAndResults) {
  auto client = Client(server_->port());
  std::string big(1u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  xdr::XdrEncoder args;
  args.VarOpaque(AsBytes(big));
  auto f = CallAsync(*client, Proc(1), std::move(args));
  Result<Reply> r = Wait(f);
  ASSERT_OK(r);
  xdr::XdrDecoder d(r->results);
  ByteView echoed = d.VarOpaque(2u << 20);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(AsChars(echoed), big);
}

TEST_F(RpcClientTest, RefusalsMapToErrors) {
  auto client = Client(server_->port());
  OutgoingCall no_prog = Proc(0);
  no_prog.prog = 999;
  OutgoingCall no_vers = Proc(0);
  no_vers.vers = 7;
  OutgoingCall sys = Proc(0);
  sys.cred.flavor = AuthFlavor::kSys;  // the server takes AUTH_NONE only: AUTH_TOOWEAK
  struct Case {
    OutgoingCall call;
    xdr::XdrEncoder args;
    Errc want;
  };
  std::vector<Case> cases;
  cases.push_back({no_prog, {}, Errc::kNotFound});
  cases.push_back({no_vers, {}, Errc::kNotSupported});
  cases.push_back({Proc(50), {}, Errc::kInvalid});  // PROC_UNAVAIL
  cases.push_back({Proc(2), {}, Errc::kInternal});  // GARBAGE_ARGS: SLEEP without its argument
  cases.push_back({Proc(3), {}, Errc::kIo});        // SYSTEM_ERR
  cases.push_back({sys, {}, Errc::kAccess});        // MSG_DENIED
  for (Case& c : cases) {
    auto f = CallAsync(*client, c.call, std::move(c.args));
    EXPECT_THAT(Wait(f), StatusIs(c.want)) << CallName(c.call);
  }
}

TEST_F(RpcClientTest, CloseFailsPendingAndLaterCalls) {
  auto client = Client(server_->port());
  auto pending = CallAsync(*client, Proc(2), U32(600));
  std::this_thread::sleep_for(milliseconds(100));  // sent
  auto start = std::chrono::steady_clock::now();
  client->Close();
  EXPECT_THAT(Wait(pending), StatusIs(Errc::kUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  auto later = CallAsync(*client, Proc(0), {});
  EXPECT_EQ(later.wait_for(milliseconds(0)), std::future_status::ready);  // failed at once
  EXPECT_THAT(Wait(later), StatusIs(Errc::kUnavailable));
}

TEST_F(RpcClientTest, ClientsShareAnIoThread) {
  ClientIo io;
  RpcClientOptions o;
  o.port = server_->port();
  auto a = RpcClient::Create(o, &io);
  auto b = RpcClient::Create(o, &io);
  auto fa = CallAsync(*a, Proc(2), U32(1));
  auto fb = CallAsync(*b, Proc(2), U32(2));
  EXPECT_EQ(ResultU32(Wait(fa)), 1u);
  EXPECT_EQ(ResultU32(Wait(fb)), 2u);
  a->Close();
  b->Close();
}

TEST_F(RpcClientTest, AClientMayBeDroppedInItsOwnCompletion) {
  auto client = Client(server_->port());
  Channel* channel = client.get();
  auto last_holder = std::make_shared<std::shared_ptr<RpcClient>>(std::move(client));
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> f = done->get_future();
  channel->Call(Proc(2), U32(1), [last_holder, done](Result<Reply> r) {
    last_holder->reset();  // destroys the client on its own I/O thread
    done->set_value(r.status());
  });
  ASSERT_EQ(f.wait_for(milliseconds(10000)), std::future_status::ready);
  EXPECT_OK(f.get());
}

// A listening socket the test drives by hand: it accepts, reads records and answers (or not)
// as each test wants.
class RawPeer {
 public:
  // On `port` (0: a free one).
  explicit RawPeer(uint16_t port = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    CHECK(setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0) << "reuseaddr";
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) << "bind";
    CHECK(listen(fd_, 16) == 0) << "listen";
    socklen_t len = sizeof(addr);
    CHECK(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) << "getsockname";
    port_ = ntohs(addr.sin_port);
  }
  ~RawPeer() {
    if (conn_ >= 0) close(conn_);
    close(fd_);
  }
  uint16_t port() const { return port_; }
  bool Accept(int timeout_ms = 5000) {
    if (conn_ >= 0) close(conn_);
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return false;
    conn_ = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_ >= 0;
  }
  void Hangup() {
    close(conn_);
    conn_ = -1;
  }
  // Reads one record; empty on EOF or timeout.
  std::string ReadRecord(int timeout_ms = 5000) {
    std::string mark = ReadN(4, timeout_ms);
    if (mark.size() != 4) return "";
    uint32_t h = LoadBe32(reinterpret_cast<const std::byte*>(mark.data()));
    return ReadN(h & ~kLastFragment, timeout_ms);
  }
  void SendRecord(std::string_view record) { SendRaw(BlockingClient::Fragment(record, true)); }
  void SendRaw(std::string_view bytes) {
    CHECK(send(conn_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()))
        << "send";
  }

 private:
  std::string ReadN(size_t n, int timeout_ms) {
    std::string out;
    while (out.size() < n) {
      pollfd p{conn_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) != 1) return "";
      char buf[65536];
      ssize_t got = read(conn_, buf, std::min(sizeof(buf), n - out.size()));
      if (got <= 0) return "";
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
  int fd_ = -1;
  int conn_ = -1;
  uint16_t port_ = 0;
};

uint32_t XidOf(const std::string& record) {
  return record.size() < 4 ? 0 : LoadBe32(reinterpret_cast<const std::byte*>(record.data()));
}

std::string SuccessReply(uint32_t xid, uint32_t value) {
  xdr::XdrEncoder e;
  EncodeAcceptedReply(e, xid, AcceptStat::kSuccess);
  e.U32(value);
  return e.ToString();
}

TEST(RpcClientRawTest, TimesOutAtTheDeadlineWhenThePeerNeverAnswers) {
  RawPeer peer;
  RpcClientOptions o;
  o.port = peer.port();
  auto client = RpcClient::Create(o);
  auto start = std::chrono::steady_clock::now();
  auto f = CallAsync(*client, Proc(0, milliseconds(300)), {});
  ASSERT_TRUE(peer.Accept());
  EXPECT_NE(peer.ReadRecord(), "");  // the call arrived, and is never answered
  EXPECT_THAT(Wait(f), StatusIs(Errc::kTimedOut));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(2000));
  // The connection stays: the next call goes over it and is answered.
  auto next = CallAsync(*client, Proc(0), {});
  std::string call = peer.ReadRecord();
  ASSERT_NE(call, "");
  peer.SendRecord(SuccessReply(XidOf(call), 9));
  EXPECT_EQ(ResultU32(Wait(next)), 9u);
}

TEST(RpcClientRawTest, RefusedConnectionFailsAtOnce) {
  uint16_t port;
  {
    RawPeer gone;
    port = gone.port();
  }
  RpcClientOptions o;
  o.port = port;
  auto client = RpcClient::Create(o);
  auto start = std::chrono::steady_clock::now();
  auto f = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  EXPECT_THAT(Wait(f), StatusIs(Errc::kUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST(RpcClientRawTest, AfterAFailedConnectCallsFailAtOnceUntilTheWaitIsOver) {
  uint16_t port;
  {
    RawPeer gone;
    port = gone.port();
  }
  RpcClientOptions o;
  o.port = port;
  o.reconnect_initial = milliseconds(400);
  auto client = RpcClient::Create(o);
  auto refused = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  EXPECT_THAT(Wait(refused), StatusIs(Errc::kUnavailable));
  auto failed_at = std::chrono::steady_clock::now();  // the wait started before this
  // The peer is back at once, but within the wait no connect is tried: the call fails, saying
  // when the next connect will be.
  RawPeer back(port);
  auto second = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  Result<Reply> waiting = Wait(second);
  EXPECT_THAT(waiting, StatusIs(Errc::kUnavailable));
  EXPECT_NE(waiting.status().message().find("next connect"), std::string::npos)
      << waiting.status().ToString();
  EXPECT_FALSE(back.Accept(100)) << "a connect was tried within the wait";
  // Once the wait is over, a call connects, and a connection ends the waits.
  std::this_thread::sleep_until(failed_at + milliseconds(450));
  auto c = CallAsync(*client, Proc(0), {});
  ASSERT_TRUE(back.Accept());
  std::string call = back.ReadRecord();
  ASSERT_NE(call, "");
  back.SendRecord(SuccessReply(XidOf(call), 6));
  EXPECT_EQ(ResultU32(Wait(c)), 6u);
}

TEST(RpcClientRawTest, CallsPastMaxPendingFailAtOnceWithBusy) {
  RawPeer peer;
  RpcClientOptions o;
  o.port = peer.port();
  o.max_pending = 2;
  auto client = RpcClient::Create(o);
  auto a = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  auto b = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  auto start = std::chrono::steady_clock::now();
  auto third = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  EXPECT_THAT(Wait(third), StatusIs(Errc::kBusy));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  // Once the two are answered, calls go again.
  ASSERT_TRUE(peer.Accept());
  for (int i = 0; i < 2; ++i) {
    std::string call = peer.ReadRecord();
    ASSERT_NE(call, "");
    peer.SendRecord(SuccessReply(XidOf(call), 7));
  }
  EXPECT_EQ(ResultU32(Wait(a)), 7u);
  EXPECT_EQ(ResultU32(Wait(b)), 7u);
  auto c = CallAsync(*client, Proc(0), {});
  std::string call = peer.ReadRecord();
  ASSERT_NE(call, "");
  peer.SendRecord(SuccessReply(XidOf(call), 8));
  EXPECT_EQ(ResultU32(Wait(c)), 8u);
}

TEST(RpcClientRawTest, ClosedConnectionFailsPendingCallsAndTheNextCallReconnects) {
  RawPeer peer;
  RpcClientOptions o;
  o.port = peer.port();
  auto client = RpcClient::Create(o);
  auto start = std::chrono::steady_clock::now();
  auto a = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  auto b = CallAsync(*client, Proc(0, milliseconds(5000)), {});
  ASSERT_TRUE(peer.Accept());
  EXPECT_NE(peer.ReadRecord(), "");
  peer.Hangup();
  EXPECT_THAT(Wait(a), StatusIs(Errc::kUnavailable));
  EXPECT_THAT(Wait(b), StatusIs(Errc::kUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
  // A new connection for the next call.
  auto c = CallAsync(*client, Proc(0), {});
  ASSERT_TRUE(peer.Accept());
  std::string call = peer.ReadRecord();
  ASSERT_NE(call, "");
  peer.SendRecord(SuccessReply(XidOf(call), 5));
  EXPECT_EQ(ResultU32(Wait(c)), 5u);
}

TEST(RpcClientRawTest, MalformedRepliesAreIgnoredOrFailTheirCall) {
  RawPeer peer;
  RpcClientOptions o;
  o.port = peer.port();
  auto client = RpcClient::Create(o);
  auto f = CallAsync(*client, Proc(0), {});
  ASSERT_TRUE(peer.Accept());
  std::string call = peer.ReadRecord();
  uint32_t xid = XidOf(call);
  peer.SendRecord("");                                                    // empty
  peer.SendRecord("\x01\x02");                                            // short
  peer.SendRecord(SuccessReply(xid + 1, 1));                              // nobody's xid
  peer.SendRecord(std::string(64, '\xff'));                               // garbage
  EXPECT_EQ(f.wait_for(milliseconds(200)), std::future_status::timeout);  // all ignored
  std::string bad = SuccessReply(xid, 0).substr(0, 10);  // the right xid, cut short
  peer.SendRecord(bad);
  EXPECT_THAT(Wait(f), StatusIs(Errc::kIo));
  // The connection still carries calls.
  auto g = CallAsync(*client, Proc(0), {});
  call = peer.ReadRecord();
  peer.SendRecord(SuccessReply(XidOf(call), 3));
  EXPECT_EQ(ResultU32(Wait(g)), 3u);
  // A reply longer than max_record_size breaks the framing: the connection closes and its
  // calls fail.
  auto h = CallAsync(*client, Proc(0), {});
  EXPECT_NE(peer.ReadRecord(), "");
  std::byte mark[4];
  StoreBe32(mark, 0x7fffffff | kLastFragment);
  peer.SendRaw(std::string(AsChars(ByteView(mark, 4))));
  EXPECT_THAT(Wait(h), StatusIs(Errc::kUnavailable));
}

// The backchannel: a handler keeps its connection's channel; the server then calls the client
// over that connection, and the client's reply comes back to the server's callback.
TEST_F(RpcClientTest, BackchannelCallsTheClientOverItsConnection) {
  BlockingClient c = std::move(BlockingClient::Connect(server_->port())).value();
  xdr::XdrEncoder hold;
  EncodeCallHeader(hold, 1, kProg, 1, 4, Credential{});
  ASSERT_OK(c.SendRecord(hold.ToString()));
  ASSERT_OK_AND_ASSIGN(std::string reply, c.ReadRecord());
  EXPECT_EQ(XidOf(reply), 1u);
  std::shared_ptr<Channel> channel = program_.Held();
  ASSERT_NE(channel, nullptr);

  OutgoingCall cb;
  cb.prog = kCallbackProg;
  cb.vers = 1;
  cb.proc = 1;
  auto f = CallAsync(*channel, cb, U32(77));
  // The client receives the server's CALL on its own connection...
  ASSERT_OK_AND_ASSIGN(std::string call, c.ReadRecord());
  xdr::XdrDecoder d(AsBytes(call));
  CallHeader h;
  ASSERT_EQ(DecodeCallHeader(d, &h), HeaderOutcome::kOk);
  EXPECT_EQ(h.prog, kCallbackProg);
  EXPECT_EQ(h.vers, 1u);
  EXPECT_EQ(h.proc, 1u);
  EXPECT_EQ(d.U32(), 77u);
  // ... and its reply goes to the server's callback, not to the dispatcher.
  ASSERT_OK(c.SendRecord(SuccessReply(h.xid, 78)));
  Result<Reply> r = Wait(f);
  ASSERT_OK(r);
  EXPECT_EQ(ResultU32(r), 78u);
  // The connection still serves calls.
  xdr::XdrEncoder null;
  EncodeCallHeader(null, 2, kProg, 1, 0, Credential{});
  ASSERT_OK(c.SendRecord(null.ToString()));
  ASSERT_OK_AND_ASSIGN(reply, c.ReadRecord());
  EXPECT_EQ(XidOf(reply), 2u);
}

TEST_F(RpcClientTest, BackchannelCallTimesOutWhenTheClientDoesNotAnswer) {
  BlockingClient c = std::move(BlockingClient::Connect(server_->port())).value();
  xdr::XdrEncoder hold;
  EncodeCallHeader(hold, 1, kProg, 1, 4, Credential{});
  ASSERT_OK(c.SendRecord(hold.ToString()));
  ASSERT_OK(c.ReadRecord());
  std::shared_ptr<Channel> channel = program_.Held();
  ASSERT_NE(channel, nullptr);
  OutgoingCall cb;
  cb.prog = kCallbackProg;
  cb.vers = 1;
  cb.timeout = milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto f = CallAsync(*channel, cb, {});
  ASSERT_OK(c.ReadRecord());  // received, never answered
  EXPECT_THAT(Wait(f), StatusIs(Errc::kTimedOut));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(2000));
}

TEST_F(RpcClientTest, BackchannelCallFailsWhenTheConnectionCloses) {
  std::shared_ptr<Channel> channel;
  std::future<Result<Reply>> f;
  OutgoingCall cb;
  cb.prog = kCallbackProg;
  cb.vers = 1;
  cb.timeout = milliseconds(10000);
  auto start = std::chrono::steady_clock::now();
  {
    BlockingClient c = std::move(BlockingClient::Connect(server_->port())).value();
    xdr::XdrEncoder hold;
    EncodeCallHeader(hold, 1, kProg, 1, 4, Credential{});
    ASSERT_OK(c.SendRecord(hold.ToString()));
    ASSERT_OK(c.ReadRecord());
    channel = program_.Held();
    ASSERT_NE(channel, nullptr);
    f = CallAsync(*channel, cb, {});
    ASSERT_OK(c.ReadRecord());
  }  // the client hangs up
  EXPECT_THAT(Wait(f), StatusIs(Errc::kUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
  // A call on the closed connection fails at once.
  auto later = CallAsync(*channel, cb, {});
  EXPECT_EQ(later.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_THAT(Wait(later), StatusIs(Errc::kUnavailable));
}

TEST_F(RpcClientTest, AKeptChannelOutlivesItsServer) {
  BlockingClient c = std::move(BlockingClient::Connect(server_->port())).value();
  xdr::XdrEncoder hold;
  EncodeCallHeader(hold, 1, kProg, 1, 4, Credential{});
  ASSERT_OK(c.SendRecord(hold.ToString()));
  ASSERT_OK(c.ReadRecord());
  std::shared_ptr<Channel> channel = program_.Held();
  ASSERT_NE(channel, nullptr);
  OutgoingCall cb;
  cb.prog = kCallbackProg;
  cb.vers = 1;
  auto pending = CallAsync(*channel, cb, {});
  ASSERT_OK(c.ReadRecord());
  server_.reset();  // with the connection open and a call pending on it
  EXPECT_THAT(Wait(pending), StatusIs(Errc::kUnavailable));
  auto later = CallAsync(*channel, cb, {});
  EXPECT_THAT(Wait(later), StatusIs(Errc::kUnavailable));
}

}  // namespace
}  // namespace dittofs::rpc
