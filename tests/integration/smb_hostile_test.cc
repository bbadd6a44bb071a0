// SPDX-License-Identifier: Apache-2.0
// Hostile input against the SMB adapter, over the wire: a dfs child process, raw TCP sockets
// from this test, and a tiny SMB2 client written here from MS-SMB2 (framing §2.1, the header
// §2.2.1, NEGOTIATE §2.2.3, SESSION_SETUP §2.2.5) with an NTLMv2 logon from MS-NLMP 3.3.2.
// Each case checks the exact NTSTATUS or that the server closed the connection (recv returns
// 0), and then that the server still serves a fresh smbclient session. At the end, the
// server's log has no error lines and it stops with exit code 0.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nettle/md4.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dfs_process.h"
#ifdef DFS_WITH_LIBNFS
#include "nfs_client.h"
#endif
#include "shell.h"
#include "smb/auth/crypto.h"
#include "smb/auth/spnego.h"
#include "smb/crypto/crypto.h"
#include "smb_fuzz_messages.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

using namespace fuzz::smbmsg;

// NTSTATUS values (MS-ERREF 2.3.1).
constexpr uint32_t kSuccess = 0, kMoreProcessing = 0xC0000016, kInvalidParameter = 0xC000000D,
                   kLogonFailure = 0xC000006D, kUserSessionDeleted = 0xC0000203,
                   kNetworkNameDeleted = 0xC00000C9, kAccessDenied = 0xC0000022,
                   kObjectNameNotFound = 0xC0000034;

uint16_t Le16(const Bytes& b, size_t at) {
  return at + 2 <= b.size() ? static_cast<uint16_t>(b[at] | (b[at + 1] << 8)) : 0;
}
uint32_t Le32(const Bytes& b, size_t at) {
  return at + 4 <= b.size() ? Le16(b, at) | (uint32_t{Le16(b, at + 2)} << 16) : 0;
}
uint64_t Le64(const Bytes& b, size_t at) { return Le32(b, at) | (uint64_t{Le32(b, at + 4)} << 32); }
ByteView View(const Bytes& b) {
  return ByteView(reinterpret_cast<const std::byte*>(b.data()), b.size());
}
Bytes FromView(ByteView v) {
  Bytes b(v.size());
  if (!v.empty()) std::memcpy(b.data(), v.data(), v.size());
  return b;
}

// MD4(UTF-16LE(password)) (MS-NLMP 3.3.1 NTOWFv1).
Bytes NtHash(const std::string& password) {
  Bytes utf16 = Utf16(password);
  md4_ctx ctx;
  md4_init(&ctx);
  md4_update(&ctx, utf16.size(), utf16.data());
  Bytes out(16);
  md4_digest(&ctx, out.size(), out.data());
  return out;
}

// One raw SMB2 connection over direct TCP.
class Wire {
 public:
  enum class Got { kFrame, kClosed, kTimeout };

  explicit Wire(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Wire() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }

  bool SendRaw(const Bytes& b) {
    return send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size());
  }
  // The message in a Direct TCP frame (§2.1): a zero byte, then a 24-bit big-endian length.
  bool Send(const Bytes& m, uint8_t type = 0) {
    Bytes f = {type, static_cast<uint8_t>(m.size() >> 16), static_cast<uint8_t>(m.size() >> 8),
               static_cast<uint8_t>(m.size())};
    f.insert(f.end(), m.begin(), m.end());
    return SendRaw(f);
  }

  // One frame's message, or that the peer closed, within `timeout`.
  Got Recv(Bytes* message, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    Bytes head;
    Got g = ReadExactly(4, &head, timeout);
    if (g != Got::kFrame) return g;
    const size_t n = (size_t{head[1]} << 16) | (size_t{head[2]} << 8) | head[3];
    return ReadExactly(n, message, timeout);
  }
  // Whether the server closed the connection (reading gets end of file, or a reset), without
  // answering first.
  bool Closed() {
    Bytes m;
    return Recv(&m) == Got::kClosed;
  }

  // Sends one request (or chain) and returns the first response's message; empty when the
  // connection closed instead.
  Bytes Call(const Bytes& m) {
    if (!Send(m)) return {};
    Bytes r;
    if (Recv(&r) != Got::kFrame) return {};
    return r;
  }
  static uint32_t StatusOf(const Bytes& response) { return Le32(response, 8); }

  // As Call, for a request that may wait for a lease break: skips interim (STATUS_PENDING)
  // answers, acknowledges lease breaks sent to this connection (§2.2.23.2, §2.2.24.2) and
  // skips their acknowledgements' answers. `tree`: the acknowledgements' tree.
  Bytes CallAcking(const Bytes& m, uint32_t tree) {
    if (!Send(m)) return {};
    const uint64_t mid = Le64(m, 24);
    Bytes answer;
    int acks = 0;  // acknowledgements sent whose answers are still to come
    while (answer.empty() || acks > 0) {
      Bytes r;
      if (Recv(&r) != Got::kFrame) return {};
      const uint16_t command = Le16(r, 12);
      const bool async = (Le32(r, 16) & 2) != 0;
      if (async && StatusOf(r) == 0x103) continue;  // STATUS_PENDING
      if (command == 0x12 && Le64(r, 24) == ~uint64_t{0} && Le16(r, 64) == 44) {
        if (Le32(r, 64 + 4) & 1) {  // SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED
          Bytes ack;
          Le(ack, 36, 2);
          Le(ack, 0, 2);
          Le(ack, 0, 4);
          ack.insert(ack.end(), r.begin() + 64 + 8, r.begin() + 64 + 24);  // LeaseKey
          Le(ack, Le32(r, 64 + 28), 4);                                    // NewLeaseState
          Le(ack, 0, 8);
          if (!Send(Message(H(0x12, tree), ack))) return {};
          ++acks;
        }
        continue;
      }
      if (command == 0x12) {
        --acks;  // an acknowledgement's answer (they may pass the request's)
        continue;
      }
      if (Le64(r, 24) == mid) answer = std::move(r);
    }
    return answer;
  }

  Hdr H(uint16_t command, uint32_t tree = 0) {
    Hdr h;
    h.command = command;
    h.message_id = next_mid_++;
    h.session_id = session_;
    h.tree_id = tree;
    return h;
  }

  uint32_t Negotiate(std::vector<uint16_t> dialects = {0x0202, 0x0210}, bool posix = false) {
    const Bytes m = Message(H(0), NegotiateBody(dialects, 1, posix));
    Bytes r = Call(m);
    if (r.size() >= 64 + 6) dialect_ = Le16(r, 64 + 4);
    if (r.size() >= 64 + 28) capabilities_ = Le32(r, 64 + 24);
    // The signing algorithm the server chose (SMB2_SIGNING_CAPABILITIES, MS-SMB2 2.2.4.1.7);
    // AES-CMAC when it names none.
    if (dialect_ == 0x0311 && r.size() >= 64 + 64) {
      size_t at = Le32(r, 64 + 60);
      for (uint16_t n = Le16(r, 64 + 6); n > 0 && at + 8 <= r.size(); --n) {
        const uint16_t type = Le16(r, at), length = Le16(r, at + 2);
        if (type == 8 && length >= 4 && at + 12 <= r.size()) {
          signing_ = static_cast<smb::crypto::SigningAlgorithm>(Le16(r, at + 10));
        }
        at += (8 + length + 7) / 8 * 8;
      }
    }
    preauth_.Update(View(m));  // 3.1.1's preauth integrity hash (MS-SMB2 3.2.5.2)
    preauth_.Update(View(r));
    return r.empty() ? ~0u : StatusOf(r);
  }

  // NTLMv2 in SPNEGO (MS-NLMP 3.1.5.1.2, 3.3.2): the final status. `security_mode` 2 asks the
  // server to require signing. With `bind_to` (a 3.1.1 connection of the same client, logged
  // on), binds its session to this connection instead (MS-SMB2 3.2.4.2.3: the binding flag,
  // requests signed with the session's key); this connection then signs with the channel's key.
  uint32_t Logon(const std::string& user, const std::string& password, uint8_t security_mode = 1,
                 const Wire* bind_to = nullptr) {
    smb::crypto::PreauthHash preauth = preauth_;
    if (bind_to != nullptr) session_ = bind_to->session_;
    const auto setup = [&](const Bytes& token) {
      Bytes m = Message(H(1), SessionSetupBody(token, security_mode));
      if (bind_to == nullptr) return m;
      m[64 + 2] = 1;  // SMB2_SESSION_FLAG_BINDING
      return SignedWith(std::move(m), bind_to->signing_, bind_to->signing_key_);
    };
    const Bytes first = setup(SpnegoInit(NtlmNegotiate()));
    Bytes r = Call(first);
    if (r.empty()) return ~0u;
    preauth.Update(View(first));
    preauth.Update(View(r));
    if (StatusOf(r) != kMoreProcessing) return StatusOf(r);
    session_ = Le64(r, 40);
    const Bytes token(r.begin() + std::min<size_t>(r.size(), Le16(r, 64 + 4)),
                      r.begin() + std::min<size_t>(r.size(), Le16(r, 64 + 4) + Le16(r, 64 + 6)));
    Result<smb::auth::NegotiationToken> parsed = smb::auth::ParseNegotiationToken(View(token));
    if (!parsed.ok() || parsed->is_init || !parsed->resp.response_token) return ~1u;
    const Bytes challenge = FromView(*parsed->resp.response_token);
    if (challenge.size() < 48) return ~2u;
    const Bytes server_challenge(challenge.begin() + 24, challenge.begin() + 32);
    const size_t ti_len = Le16(challenge, 40), ti_off = Le32(challenge, 44);
    if (ti_off + ti_len > challenge.size()) return ~3u;
    const Bytes target_info(challenge.begin() + ti_off, challenge.begin() + ti_off + ti_len);

    const Bytes user16 = Utf16(user);
    const smb::auth::Key16 key =
        smb::auth::ResponseKeyNt(View(NtHash(password)), View(user16), ByteView{});
    Bytes temp = {1, 1, 0, 0, 0, 0, 0, 0};
    const uint64_t now =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                      .count() *
                                  10000000 +
                              116444736000000000LL);
    Le(temp, now, 8);
    for (int i = 0; i < 8; ++i) temp.push_back(static_cast<uint8_t>(0x11 * (i + 1)));
    Le(temp, 0, 4);
    temp.insert(temp.end(), target_info.begin(), target_info.end());
    Le(temp, 0, 4);
    const ByteView key_view(key.data(), key.size());
    const smb::auth::Key16 proof = smb::auth::HmacMd5(key_view, View(server_challenge), View(temp));
    Bytes nt(reinterpret_cast<const uint8_t*>(proof.data()),
             reinterpret_cast<const uint8_t*>(proof.data()) + 16);
    nt.insert(nt.end(), temp.begin(), temp.end());
    Bytes lm(24, 0);

    // AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) without Version or MIC: payload from offset 64.
    Bytes m = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
    Le(m, 3, 4);
    std::vector<const Bytes*> fields = {&lm, &nt, nullptr, &user16, nullptr, nullptr};
    size_t offset = 64;
    for (const Bytes* f : fields) {
      const size_t n = f ? f->size() : 0;
      Le(m, n, 2);
      Le(m, n, 2);
      Le(m, offset, 4);
      offset += n;
    }
    Le(m, 0x00000001 | 0x4 | 0x200 | 0x8000 | 0x80000 | 0x20000000 | 0x80000000, 4);
    for (const Bytes* f : fields) {
      if (f) m.insert(m.end(), f->begin(), f->end());
    }
    const Bytes last = setup(SpnegoResp(m));
    r = Call(last);
    if (r.empty()) return ~0u;
    if (StatusOf(r) == kSuccess && dialect_ == 0x0311) {
      // Without key exchange the session key is NTLMv2's SessionBaseKey (MS-NLMP 3.3.2); 3.1.1
      // derives the signing key from it and the preauth hash of the exchange (MS-SMB2 3.2.5.3).
      preauth.Update(View(last));
      const smb::auth::Key16 base = smb::auth::HmacMd5(key_view, ByteView(proof.data(), 16), {});
      signing_key_ =
          smb::crypto::DeriveKeys(0x0311, ByteView(base.data(), base.size()),
                                  ByteView(preauth.value().data(), preauth.value().size()),
                                  smb::crypto::Cipher::kNone)
              .signing;
    }
    return StatusOf(r);
  }

  // Signs `m` with the session's 3.1.1 signing key, when it has one.
  Bytes Signed(Bytes m) const { return SignedWith(std::move(m), signing_, signing_key_); }
  static Bytes SignedWith(Bytes m, smb::crypto::SigningAlgorithm alg, ByteView key) {
    if (key.empty()) return m;
    m[16] |= 0x08;  // SMB2_FLAGS_SIGNED
    std::span<std::byte> bytes(reinterpret_cast<std::byte*>(m.data()), m.size());
    (void)smb::crypto::Sign(alg, key, bytes);
    return m;
  }
  // Whether a response carries a valid signature by this connection's key.
  bool SignedByServer(const Bytes& r) const {
    return (Le32(r, 16) & 0x08) != 0 && !signing_key_.empty() &&
           smb::crypto::Verify(signing_, signing_key_, View(r));
  }

  // 3.1.1 sessions sign it, as MS-SMB2 3.3.5.7 requires.
  uint32_t TreeConnect(const std::string& share, uint32_t* tree) {
    Bytes r = Call(Signed(Message(H(3), TreeConnectBody("\\\\127.0.0.1\\" + share))));
    if (r.empty()) return ~0u;
    *tree = Le32(r, 36);
    return StatusOf(r);
  }

  uint64_t session() const { return session_; }
  void set_session(uint64_t id) { session_ = id; }
  uint64_t next_mid() const { return next_mid_; }
  void set_next_mid(uint64_t mid) { next_mid_ = mid; }

 private:
  Got ReadExactly(size_t n, Bytes* out, std::chrono::milliseconds timeout) {
    out->assign(n, 0);
    if (n == 0) return Got::kFrame;
    size_t got = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Got::kTimeout;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return Got::kTimeout;
      const ssize_t k = recv(fd_, out->data() + got, n - got, 0);
      if (k == 0) return Got::kClosed;
      if (k < 0) return errno == ECONNRESET ? Got::kClosed : Got::kTimeout;
      got += static_cast<size_t>(k);
    }
    return Got::kFrame;
  }

  int fd_ = -1;
  bool connected_ = false;
  uint64_t next_mid_ = 0;
  uint16_t dialect_ = 0;

 public:
  uint32_t capabilities_ = 0;  // the server's, from NEGOTIATE

 private:
  smb::crypto::PreauthHash preauth_;
  std::vector<std::byte> signing_key_;  // 3.1.1 sessions only
  smb::crypto::SigningAlgorithm signing_ = smb::crypto::SigningAlgorithm::kAesCmac;
  uint64_t session_ = 0;
};

class SmbHostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Shell("command -v smbclient").exit_code != 0) return;
    DfsOptions options;
    options.shares.resize(2);
    options.shares[1].name = "/sealed";
    options.shares[1].smb_encrypt = true;
    Result<std::unique_ptr<DfsProcess>> started = DfsProcess::Start(DFS_BINARY, options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value().release();
    ASSERT_NE(server_->smb_port(), 0) << server_->Log();
    ASSERT_FALSE(server_->admin_password().empty()) << server_->Log();
  }
  static void TearDownTestSuite() {
    if (server_ == nullptr) return;
    const std::string log = server_->Log();
    EXPECT_EQ(log.find("CHECK failed"), std::string::npos) << log;
    EXPECT_EQ(log.find("ERROR"), std::string::npos) << log;
    EXPECT_EQ(log.find("[error]"), std::string::npos) << log;
    Result<int> code = server_->Stop();
    EXPECT_TRUE(code.ok() && *code == 0)
        << (code.ok() ? std::to_string(*code) : code.status().ToString()) << server_->Log();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "smbclient is not installed";
  }
  // After each case, a fresh smbclient session still lists the share.
  void TearDown() override {
    if (server_ == nullptr || HasFatalFailure()) return;
    ShellRun r =
        Shell("smbclient //127.0.0.1/export -s /dev/null -p " +
              std::to_string(server_->smb_port()) + " -U 'admin%" + server_->admin_password() +
              "' --option='netbios name=localhost' -m SMB3 -c ls");
    EXPECT_EQ(r.exit_code, 0) << r.output << server_->Log();
    EXPECT_NE(r.output.find("blocks of size"), std::string::npos) << r.output;
  }

  static uint16_t port() { return server_->smb_port(); }
  static const std::string& password() { return server_->admin_password(); }

  // A connection logged on as admin with a tree connect to export.
  static std::unique_ptr<Wire> LoggedOn(uint32_t* tree, uint8_t security_mode = 1) {
    auto w = std::make_unique<Wire>(port());
    EXPECT_TRUE(w->connected());
    EXPECT_EQ(w->Negotiate(), kSuccess);
    EXPECT_EQ(w->Logon("admin", password(), security_mode), kSuccess);
    if (tree != nullptr && security_mode == 1) {
      EXPECT_EQ(w->TreeConnect("export", tree), kSuccess);
    }
    return w;
  }

  static DfsProcess* server_;
};

DfsProcess* SmbHostileTest::server_ = nullptr;

Bytes NegotiateMessage(uint64_t mid = 0) {
  Hdr h;
  h.message_id = mid;
  return Message(h, NegotiateBody({0x0202, 0x0210}));
}

// Multichannel (MS-SMB2 3.3.5.5, issue 15 item 7): a second connection of the same client binds
// the session and uses its tree and open, signing with its own channel key; the session's key
// does not sign there. Another user cannot bind it (STATUS_ACCESS_DENIED), nor a wrong password
// (STATUS_LOGON_FAILURE), and neither harms it. When the first connection goes, the session,
// its tree and its open live on over the second; a LOGOFF there ends it.
TEST_F(SmbHostileTest, BoundChannelKeepsTheSessionWhenTheFirstConnectionGoes) {
  static bool user_made = false;
  if (!user_made) {
    std::string error;
    ASSERT_TRUE(
        CreateUserViaApi(server_->api_port(), password(), "mallory", "Mallory-Pw-1", 1700, &error))
        << error;
    user_made = true;
  }
  auto first = std::make_unique<Wire>(port());
  ASSERT_EQ(first->Negotiate({0x0311}), kSuccess);
  EXPECT_NE(first->capabilities_ & 0x8, 0u);  // SMB2_GLOBAL_CAP_MULTI_CHANNEL
  ASSERT_EQ(first->Logon("admin", password()), kSuccess);
  uint32_t tree = 0;
  ASSERT_EQ(first->TreeConnect("export", &tree), kSuccess);
  Bytes r = first->Call(first->Signed(Message(first->H(5, tree), CreateBody("bound.txt", 5))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  const uint64_t fid = Le64(r, 64 + 64);
  const Bytes hello = {'h', 'e', 'l', 'l', 'o'};
  r = first->Call(first->Signed(Message(first->H(9, tree), WriteBody(fid, 0, hello))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);

  // Another user, then a wrong password: refused, on a connection that stays usable.
  Wire other(port());
  ASSERT_EQ(other.Negotiate({0x0311}), kSuccess);
  EXPECT_EQ(other.Logon("mallory", "Mallory-Pw-1", 1, first.get()), kAccessDenied);
  EXPECT_EQ(other.Logon("admin", "not-the-password", 1, first.get()), kLogonFailure);
  // Unbound, the session is not this connection's.
  other.set_session(first->session());
  r = other.Call(Message(other.H(8, tree), ReadBody(fid, 0, 5)));
  EXPECT_EQ(Wire::StatusOf(r), kUserSessionDeleted);

  auto second = std::make_unique<Wire>(port());
  ASSERT_EQ(second->Negotiate({0x0311}), kSuccess);
  ASSERT_EQ(second->Logon("admin", password(), 1, first.get()), kSuccess);
  EXPECT_EQ(second->session(), first->session());
  // The channel signs with its own key: the session's is refused here.
  r = second->Call(first->Signed(Message(second->H(8, tree), ReadBody(fid, 0, 5))));
  EXPECT_EQ(Wire::StatusOf(r), kAccessDenied);
  r = second->Call(second->Signed(Message(second->H(8, tree), ReadBody(fid, 0, 5))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  EXPECT_TRUE(second->SignedByServer(r));
  EXPECT_EQ(Bytes(r.begin() + 64 + 16, r.end()), hello);

  // The first connection goes; the session, its tree and its open stay on the second.
  first.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Bytes more = {' ', 'a', 'g', 'a', 'i', 'n'};
  r = second->Call(second->Signed(Message(second->H(9, tree), WriteBody(fid, 5, more))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = second->Call(second->Signed(Message(second->H(8, tree), ReadBody(fid, 0, 11))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  EXPECT_EQ(Bytes(r.begin() + 64 + 16, r.end()), Cat(hello, more));
  r = second->Call(second->Signed(Message(second->H(6, tree), CloseBody(fid))));
  EXPECT_EQ(Wire::StatusOf(r), kSuccess);
  r = second->Call(second->Signed(Message(second->H(5, tree), CreateBody("bound.txt", 1, 0x1040))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);  // delete on close
  r = second->Call(second->Signed(Message(second->H(6, tree), CloseBody(Le64(r, 64 + 64)))));
  EXPECT_EQ(Wire::StatusOf(r), kSuccess);

  // A LOGOFF ends it.
  r = second->Call(second->Signed(Message(second->H(2), EmptyBody())));
  EXPECT_EQ(Wire::StatusOf(r), kSuccess);
  r = second->Call(second->Signed(Message(second->H(5, tree), CreateBody("bound.txt", 3))));
  EXPECT_EQ(Wire::StatusOf(r), kUserSessionDeleted);
}

TEST_F(SmbHostileTest, HeaderCutAtEveryLengthClosesTheConnection) {
  const Bytes full = NegotiateMessage();
  for (size_t n = 1; n < 64; ++n) {
    SCOPED_TRACE(n);
    Wire w(port());
    ASSERT_TRUE(w.connected());
    ASSERT_TRUE(w.Send(Bytes(full.begin(), full.begin() + n)));
    EXPECT_TRUE(w.Closed());
  }
}

TEST_F(SmbHostileTest, BodyShorterThanStructureSizeIsInvalidParameter) {
  Wire w(port());
  // NEGOTIATE's fixed part is 36 bytes; 10 of them come.
  Bytes m = NegotiateMessage();
  m.resize(64 + 10);
  Bytes r = w.Call(m);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(Wire::StatusOf(r), kInvalidParameter);
  w.set_next_mid(1);
  EXPECT_EQ(w.Negotiate(), kSuccess);
  // SESSION_SETUP's is 24 (StructureSize 25); 8 come.
  Bytes s = Message(w.H(1), SessionSetupBody({}));
  s.resize(64 + 8);
  r = w.Call(s);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(Wire::StatusOf(r), kInvalidParameter);
}

TEST_F(SmbHostileTest, FramingViolationsCloseTheConnection) {
  {
    SCOPED_TRACE("a NetBIOS length of 16 MiB - 1");
    Wire w(port());
    ASSERT_TRUE(w.SendRaw({0x00, 0xFF, 0xFF, 0xFF}));
    EXPECT_TRUE(w.Closed());
  }
  for (uint8_t type : {0x81, 0x85, 0x01}) {
    SCOPED_TRACE(type);
    Wire w(port());
    ASSERT_TRUE(w.Send(NegotiateMessage(), type));
    EXPECT_TRUE(w.Closed());
  }
  {
    SCOPED_TRACE("garbage after the 4-byte header");
    std::mt19937 rng(7);
    Bytes garbage(300);
    for (uint8_t& b : garbage) b = static_cast<uint8_t>(rng());
    garbage[0] = 0x42;
    Wire w(port());
    ASSERT_TRUE(w.Send(garbage));
    EXPECT_TRUE(w.Closed());
  }
  {
    SCOPED_TRACE("an SMB2 header whose StructureSize is not 64");
    Bytes m = NegotiateMessage();
    m[4] = 63;
    Wire w(port());
    ASSERT_TRUE(w.Send(m));
    EXPECT_TRUE(w.Closed());
  }
}

TEST_F(SmbHostileTest, KeepalivesAreIgnored) {
  Wire w(port());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.Send({}));
  Bytes r;
  EXPECT_EQ(w.Recv(&r, std::chrono::milliseconds(300)), Wire::Got::kTimeout);
  EXPECT_EQ(w.Negotiate(), kSuccess);
  ASSERT_TRUE(w.Send({}));
  Bytes echo = Message(w.H(0x0D), EmptyBody());
  r = w.Call(echo);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(Wire::StatusOf(r), kSuccess);
}

TEST_F(SmbHostileTest, UnknownCommandIsRefused) {
  Wire w(port());
  ASSERT_EQ(w.Negotiate(), kSuccess);
  Bytes m = Message(w.H(0x55), EmptyBody());
  ASSERT_TRUE(w.Send(m));
  Bytes r;
  const Wire::Got g = w.Recv(&r);
  // MS-SMB2 3.3.5.2.6 says disconnect; STATUS_INVALID_PARAMETER is what the brief allows too.
  if (g == Wire::Got::kFrame) {
    EXPECT_EQ(Wire::StatusOf(r), kInvalidParameter);
  } else {
    EXPECT_EQ(g, Wire::Got::kClosed);
  }
}

TEST_F(SmbHostileTest, SecondNegotiateClosesTheConnection) {
  Wire w(port());
  ASSERT_EQ(w.Negotiate(), kSuccess);
  ASSERT_TRUE(w.Send(Message(w.H(0), NegotiateBody({0x0202, 0x0210}))));
  EXPECT_TRUE(w.Closed());
}

TEST_F(SmbHostileTest, SmbOneNegotiateAfterNegotiateClosesTheConnection) {
  Wire w(port());
  ASSERT_EQ(w.Negotiate(), kSuccess);
  // An SMB1 NEGOTIATE (MS-SMB 2.2.4.5.1) naming "SMB 2.002" and "SMB 2.???".
  Bytes smb1 = {0xFF, 'S', 'M', 'B', 0x72, 0, 0, 0, 0, 0x18, 0x53, 0xC8};
  Le(smb1, 0, 12);
  Le(smb1, 0xFFFF, 2);
  Le(smb1, 0xFEFF, 2);
  Le(smb1, 0, 4);
  smb1.push_back(0);  // WordCount
  Bytes dialects;
  for (const char* d : {"SMB 2.002", "SMB 2.???"}) {
    dialects.push_back(0x02);
    dialects.insert(dialects.end(), d, d + std::strlen(d) + 1);
  }
  Le(smb1, dialects.size(), 2);
  smb1.insert(smb1.end(), dialects.begin(), dialects.end());
  ASSERT_TRUE(w.Send(smb1));
  EXPECT_TRUE(w.Closed());
}

TEST_F(SmbHostileTest, ValidateNegotiateMismatchClosesTheConnection) {
  uint32_t tree = 0;
  std::unique_ptr<Wire> w = LoggedOn(&tree);
  // FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 2.2.31.4) with a ClientGuid that is not ours.
  Bytes input;
  Le(input, 0x7F, 4);
  for (int i = 0; i < 16; ++i) input.push_back(0x33);
  Le(input, 1, 2);
  Le(input, 2, 2);
  Le(input, 0x0202, 2);
  Le(input, 0x0210, 2);
  Bytes b;
  Le(b, 57, 2);
  Le(b, 0, 2);
  Le(b, 0x00140204, 4);
  Handle(b, ~uint64_t{0});
  Le(b, 120, 4);  // InputOffset
  Le(b, input.size(), 4);
  Le(b, 0, 4);  // MaxInputResponse
  Le(b, 0, 4);  // OutputOffset
  Le(b, 0, 4);
  Le(b, 1024, 4);  // MaxOutputResponse
  Le(b, 1, 4);     // SMB2_0_IOCTL_IS_FSCTL
  Le(b, 0, 4);
  b.insert(b.end(), input.begin(), input.end());
  ASSERT_TRUE(w->Send(Message(w->H(0x0B, tree), b)));
  EXPECT_TRUE(w->Closed());
}

// An FSCTL request (MS-SMB2 2.2.31) on `fid` with `input`.
Bytes IoctlBody(uint32_t code, uint64_t fid, const Bytes& input, uint32_t max_output = 65536) {
  Bytes b;
  Le(b, 57, 2);
  Le(b, 0, 2);
  Le(b, code, 4);
  Handle(b, fid);
  Le(b, input.empty() ? 0 : 120, 4);  // InputOffset
  Le(b, input.size(), 4);
  Le(b, 0, 4);  // MaxInputResponse
  Le(b, 0, 4);  // OutputOffset
  Le(b, 0, 4);
  Le(b, max_output, 4);
  Le(b, 1, 4);  // SMB2_0_IOCTL_IS_FSCTL
  Le(b, 0, 4);
  b.insert(b.end(), input.begin(), input.end());
  if (input.empty()) b.push_back(0);
  return b;
}

// FSCTL_QUERY_NETWORK_INTERFACE_INFO (§3.3.5.15.11, 2.2.32.5): the listening address (the
// test server's 127.0.0.1), neither RSS nor RDMA; on a real FileId, STATUS_INVALID_PARAMETER.
TEST_F(SmbHostileTest, NetworkInterfaceInfoNamesTheListeningAddress) {
  Wire w(port());
  ASSERT_EQ(w.Negotiate({0x0300}), kSuccess);
  ASSERT_EQ(w.Logon("admin", password()), kSuccess);
  uint32_t tree = 0;
  ASSERT_EQ(w.TreeConnect("export", &tree), kSuccess);
  Bytes r = w.Call(Message(w.H(0x0B, tree), IoctlBody(0x001401FC, ~uint64_t{0}, {})));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  const uint32_t out_off = Le32(r, 64 + 32), out_count = Le32(r, 64 + 36);
  ASSERT_EQ(out_count, 152u);  // one NETWORK_INTERFACE_INFO
  ASSERT_GE(r.size(), out_off + out_count);
  EXPECT_EQ(Le32(r, out_off), 0u);       // Next: the last
  EXPECT_NE(Le32(r, out_off + 4), 0u);   // IfIndex
  EXPECT_EQ(Le32(r, out_off + 8), 0u);   // Capability
  EXPECT_GT(Le64(r, out_off + 16), 0u);  // LinkSpeed
  EXPECT_EQ(Le16(r, out_off + 24), 2);   // InterNetwork
  EXPECT_EQ(Bytes(r.begin() + out_off + 28, r.begin() + out_off + 32), (Bytes{127, 0, 0, 1}));
  r = w.Call(Message(w.H(0x0B, tree), IoctlBody(0x001401FC, 5, {})));
  EXPECT_EQ(Wire::StatusOf(r), 0xC000000Du);
}

// A CREATE that meets a symbolic link answers STATUS_STOPPED_ON_SYMLINK with the link's
// target in the error response (MS-SMB2 2.2.2.2.1), and how much of the path lies beyond it.
TEST_F(SmbHostileTest, CreateThroughASymlinkStopsWithItsTarget) {
  uint32_t tree = 0;
  std::unique_ptr<Wire> w = LoggedOn(&tree);
  Bytes r = w->Call(Message(w->H(5, tree), CreateBody("link_here", 2)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  const uint64_t fid = Le64(r, 64 + 64);
  // FSCTL_SET_REPARSE_POINT: IO_REPARSE_TAG_SYMLINK, relative, "t" (substitute and print).
  Bytes reparse;
  Le(reparse, 0xA000000C, 4);
  Le(reparse, 12 + 4, 2);
  Le(reparse, 0, 2);
  for (int v : {0, 2, 2, 2}) Le(reparse, v, 2);
  Le(reparse, 1, 4);
  for (int k = 0; k < 2; ++k) {
    reparse.push_back('t');
    reparse.push_back(0);
  }
  r = w->Call(Message(w->H(0x0B, tree), IoctlBody(0x000900A4, fid, reparse, 0)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = w->Call(Message(w->H(6, tree), CloseBody(fid)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);

  for (const bool beyond : {false, true}) {
    SCOPED_TRACE(beyond);
    r = w->Call(Message(w->H(5, tree), CreateBody(beyond ? "link_here\\x\\y" : "link_here", 1)));
    ASSERT_EQ(Wire::StatusOf(r), 0x8000002Du);
    ASSERT_GE(r.size(), 64u + 8 + 32);
    const size_t e = 64;
    EXPECT_EQ(Le16(r, e), 9);
    EXPECT_EQ(r[e + 2], 0);                      // ErrorContextCount: not 3.1.1
    EXPECT_EQ(Le32(r, e + 4), 4u + 4 + 20 + 4);  // ByteCount
    EXPECT_EQ(Le32(r, e + 8), 4u + 20 + 4);      // SymLinkLength
    EXPECT_EQ(Le32(r, e + 12), 0x4C4D5953u);
    EXPECT_EQ(Le32(r, e + 16), 0xA000000Cu);
    EXPECT_EQ(Le16(r, e + 22), beyond ? 8 : 0);  // UnparsedPathLength: "\x\y"
    EXPECT_EQ(Le32(r, e + 32), 1u);              // SYMLINK_FLAG_RELATIVE
    EXPECT_EQ(r[e + 36], 't');
  }
  // Opened as itself (FILE_OPEN_REPARSE_POINT), it can go.
  r = w->Call(Message(w->H(5, tree), CreateBody("link_here", 1, 0x200000 | 0x1000)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = w->Call(Message(w->H(6, tree), CloseBody(Le64(r, 64 + 64))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = w->Call(Message(w->H(5, tree), CreateBody("link_here", 1, 0x200000)));
  EXPECT_EQ(Wire::StatusOf(r), 0xC0000034u);
}

TEST_F(SmbHostileTest, BadNextCommandClosesTheConnection) {
  for (uint32_t next : {70u, 4096u, 32u, 8u}) {
    SCOPED_TRACE(next);
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes chain = Chain({Message(w.H(0x0D), EmptyBody()), Message(w.H(0x0D), EmptyBody())});
    Put32(chain, 20, next);
    ASSERT_TRUE(w.Send(chain));
    EXPECT_TRUE(w.Closed());
  }
}

TEST_F(SmbHostileTest, RelatedChainFailsLikeItsFirstRequest) {
  uint32_t tree = 0;
  std::unique_ptr<Wire> w = LoggedOn(&tree);
  const uint64_t related = ~uint64_t{0};
  std::vector<Bytes> chain = {Message(w->H(5, tree), CreateBody("no_such_file", 1)),
                              Message(w->H(8, tree), ReadBody(related, 0, 100)),
                              Message(w->H(6, tree), CloseBody(related))};
  for (size_t i = 1; i < chain.size(); ++i) Put32(chain[i], 16, 0x4);  // RELATED_OPERATIONS
  ASSERT_TRUE(w->Send(Chain(chain)));
  Bytes r;
  ASSERT_EQ(w->Recv(&r), Wire::Got::kFrame);
  // The responses may come in one frame or several; collect three.
  std::vector<uint32_t> statuses;
  for (;;) {
    size_t at = 0;
    while (at + 64 <= r.size()) {
      statuses.push_back(Le32(r, at + 8));
      const uint32_t next = Le32(r, at + 20);
      if (next == 0) break;
      at += next;
    }
    if (statuses.size() >= 3 || w->Recv(&r) != Wire::Got::kFrame) break;
  }
  ASSERT_EQ(statuses.size(), 3u);
  EXPECT_EQ(statuses[0], kObjectNameNotFound);
  EXPECT_EQ(statuses[1], kObjectNameNotFound);
  EXPECT_EQ(statuses[2], kObjectNameNotFound);
}

// Sends a related chain (RELATED_OPERATIONS on all but the first) and returns the statuses of
// its responses, which may come in one frame or several.
std::vector<uint32_t> RelatedChainStatuses(Wire& w, std::vector<Bytes> chain) {
  for (size_t i = 1; i < chain.size(); ++i) Put32(chain[i], 16, 0x4);
  std::vector<uint32_t> statuses;
  if (!w.Send(Chain(chain))) return statuses;
  Bytes r;
  while (statuses.size() < chain.size() && w.Recv(&r) == Wire::Got::kFrame) {
    size_t at = 0;
    while (at + 64 <= r.size()) {
      statuses.push_back(Le32(r, at + 8));
      const uint32_t next = Le32(r, at + 20);
      if (next == 0) break;
      at += next;
    }
  }
  return statuses;
}

// The Linux cifs client removes a directory with CREATE + SET_INFO(FileDispositionInformation)
// + CLOSE in one related chain. When the SET_INFO fails (the directory is not empty) the CLOSE
// must still close: a leaked open kept a later, successful rmdir from removing the directory.
TEST_F(SmbHostileTest, RelatedCloseRunsAfterAFailedSetInfo) {
  constexpr uint32_t kDirectoryNotEmpty = 0xC0000101;
  uint32_t tree = 0;
  std::unique_ptr<Wire> w = LoggedOn(&tree);
  const uint64_t related = ~uint64_t{0};
  const uint32_t kDirectory = 0x1, kNonDirectory = 0x40, kDeleteOnClose = 0x1000;
  // FILE_READ_ATTRIBUTES | DELETE | SYNCHRONIZE, as the client asks for.
  const uint32_t kDeleteAccess = 0x00110080;
  Bytes r = w->Call(Message(w->H(5, tree), CreateBody("rmdir_me", 2, kDirectory)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = w->Call(Message(w->H(6, tree), CloseBody(Le64(r, 64 + 64))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = w->Call(Message(w->H(5, tree), CreateBody("rmdir_me\\f", 2, kNonDirectory)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = w->Call(Message(w->H(6, tree), CloseBody(Le64(r, 64 + 64))));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);

  auto rmdir = [&] {
    return RelatedChainStatuses(
        *w, {Message(w->H(5, tree), CreateBody("rmdir_me", 1, kDirectory, kDeleteAccess)),
             Message(w->H(0x11, tree), SetInfoBody(related, 1, 13, Bytes{1})),
             Message(w->H(6, tree), CloseBody(related))});
  };
  EXPECT_EQ(rmdir(), (std::vector<uint32_t>{kSuccess, kDirectoryNotEmpty, kSuccess}));
  // unlink f (CREATE with DELETE_ON_CLOSE + CLOSE), then the rmdir again.
  EXPECT_EQ(
      RelatedChainStatuses(
          *w, {Message(w->H(5, tree),
                       CreateBody("rmdir_me\\f", 1, kNonDirectory | kDeleteOnClose, kDeleteAccess)),
               Message(w->H(6, tree), CloseBody(related))}),
      (std::vector<uint32_t>{kSuccess, kSuccess}));
  EXPECT_EQ(rmdir(), (std::vector<uint32_t>{kSuccess, kSuccess, kSuccess}));
  r = w->Call(Message(w->H(5, tree), CreateBody("rmdir_me", 1, kDirectory)));
  EXPECT_EQ(Wire::StatusOf(r), kObjectNameNotFound);
}

TEST_F(SmbHostileTest, CreditAbuseClosesTheConnection) {
  {
    SCOPED_TRACE("a message id never granted");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    w.set_next_mid(5000);
    ASSERT_TRUE(w.Send(Message(w.H(0x0D), EmptyBody())));
    EXPECT_TRUE(w.Closed());
  }
  {
    SCOPED_TRACE("a message id used twice");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes r = w.Call(Message(w.H(0x0D), EmptyBody()));
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(Wire::StatusOf(r), kSuccess);
    w.set_next_mid(w.next_mid() - 1);
    ASSERT_TRUE(w.Send(Message(w.H(0x0D), EmptyBody())));
    EXPECT_TRUE(w.Closed());
  }
  {
    SCOPED_TRACE("a CreditCharge beyond the credits granted (2.1)");
    Wire w(port());
    Hdr h = w.H(0);
    h.credits = 1;
    Bytes r = w.Call(Message(h, NegotiateBody({0x0210})));
    ASSERT_FALSE(r.empty());
    ASSERT_EQ(Wire::StatusOf(r), kSuccess);
    ASSERT_EQ(Le16(r, 14), 1);  // one credit: message id 1
    Hdr e = w.H(0x0D);
    e.credit_charge = 8;
    ASSERT_TRUE(w.Send(Message(e, EmptyBody())));
    EXPECT_TRUE(w.Closed());
  }
}

TEST_F(SmbHostileTest, LyingSecurityBlobsAreRefusedCleanly) {
  auto expect_refused = [](uint32_t status) {
    EXPECT_TRUE(status == kInvalidParameter || status == kLogonFailure) << std::hex << status;
  };
  {
    SCOPED_TRACE("NTLMSSP NEGOTIATE whose DomainNameFields length is 0xFFFF");
    // The server never reads NEGOTIATE's domain and workstation (MS-NLMP 2.2.1.1: they carry
    // nothing unless NTLMSSP_NEGOTIATE_OEM_*_SUPPLIED, and old clients omit them), so the lie
    // may be ignored: the challenge comes, and the exchange goes on safely.
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes ntlm = NtlmNegotiate();
    Put32(ntlm, 12, Le32(ntlm, 12) | 0x1000);  // NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED
    Put16(ntlm, 16, 0xFFFF);
    Put16(ntlm, 18, 0xFFFF);
    Bytes r = w.Call(Message(w.H(1), SessionSetupBody(SpnegoInit(ntlm))));
    ASSERT_FALSE(r.empty());
    const uint32_t status = Wire::StatusOf(r);
    if (status != kMoreProcessing) expect_refused(status);
  }
  {
    SCOPED_TRACE("a SPNEGO token whose outer length is 0xFFFF");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes token = SpnegoInit(NtlmNegotiate());
    token[1] = 0x82;
    token.insert(token.begin() + 2, 0xFF);
    token[2] = 0xFF;
    token[3] = 0xFF;
    Bytes r = w.Call(Message(w.H(1), SessionSetupBody(token)));
    ASSERT_FALSE(r.empty());
    expect_refused(Wire::StatusOf(r));
  }
  {
    SCOPED_TRACE("SecurityBufferLength past the message");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes m = Message(w.H(1), SessionSetupBody(SpnegoInit(NtlmNegotiate())));
    Put16(m, 64 + 14, 0xFFFF);
    Bytes r = w.Call(m);
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(Wire::StatusOf(r), kInvalidParameter);
  }
  {
    SCOPED_TRACE("an AUTHENTICATE whose NtChallengeResponse length is 0xFFFF");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes r = w.Call(Message(w.H(1), SessionSetupBody(SpnegoInit(NtlmNegotiate()))));
    ASSERT_EQ(Wire::StatusOf(r), kMoreProcessing);
    w.set_session(Le64(r, 40));
    Bytes auth = NtlmAnonymousAuthenticate();
    Put16(auth, 20, 0xFFFF);
    Put16(auth, 22, 0xFFFF);
    r = w.Call(Message(w.H(1), SessionSetupBody(SpnegoResp(auth))));
    ASSERT_FALSE(r.empty());
    expect_refused(Wire::StatusOf(r));
  }
  {
    SCOPED_TRACE("an AUTHENTICATE whose UserName offset is 0xFFFFFFF0");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes r = w.Call(Message(w.H(1), SessionSetupBody(SpnegoInit(NtlmNegotiate()))));
    ASSERT_EQ(Wire::StatusOf(r), kMoreProcessing);
    w.set_session(Le64(r, 40));
    Bytes auth = NtlmAnonymousAuthenticate();
    Put16(auth, 36, 4);
    Put16(auth, 38, 4);
    Put32(auth, 40, 0xFFFFFFF0);
    r = w.Call(Message(w.H(1), SessionSetupBody(SpnegoResp(auth))));
    ASSERT_FALSE(r.empty());
    expect_refused(Wire::StatusOf(r));
  }
  {
    SCOPED_TRACE("an anonymous logon (guests are not allowed)");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    Bytes r = w.Call(Message(w.H(1), SessionSetupBody(SpnegoInit(NtlmNegotiate()))));
    ASSERT_EQ(Wire::StatusOf(r), kMoreProcessing);
    w.set_session(Le64(r, 40));
    r = w.Call(Message(w.H(1), SessionSetupBody(SpnegoResp(NtlmAnonymousAuthenticate()))));
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(Wire::StatusOf(r), kLogonFailure);
  }
}

TEST_F(SmbHostileTest, WrongPasswordIsLogonFailure) {
  {
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    EXPECT_EQ(w.Logon("admin", password() + "x"), kLogonFailure);
  }
  {
    // The right one works on this client, so the failure above is the password's.
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    EXPECT_EQ(w.Logon("admin", password()), kSuccess);
  }
  // impacket, a client nobody here wrote (Debian's python3-impacket).
  if (Shell("/usr/bin/python3 -c 'import impacket.smbconnection'").exit_code != 0) {
    GTEST_SKIP() << "python3-impacket is not installed";
  }
  const std::string script =
      "import sys\n"
      "from impacket.smbconnection import SMBConnection, SessionError\n"
      "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=int(sys.argv[1]))\n"
      "try:\n"
      "    c.login('admin', sys.argv[2])\n"
      "    print('LOGGED_ON')\n"
      "except SessionError as e:\n"
      "    print('ERROR %08x' % (e.getErrorCode() & 0xffffffff))\n";
  const std::string path = server_->dir() + "/impacket_login.py";
  std::ofstream(path) << script;
  ShellRun bad = Shell("/usr/bin/python3 " + path + " " + std::to_string(port()) + " 'wrong" +
                       password() + "'");
  EXPECT_NE(bad.output.find("ERROR c000006d"), std::string::npos) << bad.output;
  ShellRun good =
      Shell("/usr/bin/python3 " + path + " " + std::to_string(port()) + " '" + password() + "'");
  EXPECT_NE(good.output.find("LOGGED_ON"), std::string::npos) << good.output;
}

TEST_F(SmbHostileTest, ForeignSessionAndTreeIdsAreRefused) {
  uint32_t tree = 0;
  std::unique_ptr<Wire> a = LoggedOn(&tree);
  ASSERT_NE(a->session(), 0u);
  {
    SCOPED_TRACE("a session id that does not exist");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    w.set_session(0x1234567890ABCDEFull);
    uint32_t t = 0;
    EXPECT_EQ(w.TreeConnect("export", &t), kUserSessionDeleted);
  }
  {
    SCOPED_TRACE("a session id of another connection");
    Wire w(port());
    ASSERT_EQ(w.Negotiate(), kSuccess);
    w.set_session(a->session());
    uint32_t t = 0;
    EXPECT_EQ(w.TreeConnect("export", &t), kUserSessionDeleted);
    Bytes r = w.Call(Message(w.H(5, tree), CreateBody("x.txt")));
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(Wire::StatusOf(r), kUserSessionDeleted);
  }
  {
    SCOPED_TRACE("a tree id of another session on the same connection");
    const uint64_t first = a->session();
    a->set_session(0);
    ASSERT_EQ(a->Logon("admin", password()), kSuccess);
    ASSERT_NE(a->session(), first);
    Bytes r = a->Call(Message(a->H(5, tree), CreateBody("x.txt")));
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(Wire::StatusOf(r), kNetworkNameDeleted);
    // The tree still works in its own session.
    a->set_session(first);
    r = a->Call(Message(a->H(5, tree), CreateBody("x.txt")));
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(Wire::StatusOf(r), kSuccess);
  }
  {
    SCOPED_TRACE("a tree id never given");
    Bytes r = a->Call(Message(a->H(5, tree + 100), CreateBody("x.txt")));
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(Wire::StatusOf(r), kNetworkNameDeleted);
  }
}

TEST_F(SmbHostileTest, CorruptSignatureInASigningSessionIsRefused) {
  // SecurityMode SIGNING_REQUIRED in SESSION_SETUP: the session signs (MS-SMB2 3.3.5.5.3).
  std::unique_ptr<Wire> w = LoggedOn(nullptr, 2);
  {
    SCOPED_TRACE("signed, with a signature that is not the message's");
    Bytes m = Message(w->H(3), TreeConnectBody("\\\\127.0.0.1\\export"));
    Put32(m, 16, 0x8);  // SMB2_FLAGS_SIGNED
    for (size_t i = 48; i < 64; ++i) m[i] = static_cast<uint8_t>(0xA5 ^ i);
    ASSERT_TRUE(w->Send(m));
    Bytes r;
    const Wire::Got g = w->Recv(&r);
    if (g == Wire::Got::kFrame) {
      EXPECT_EQ(Wire::StatusOf(r), kAccessDenied);
    } else {
      EXPECT_EQ(g, Wire::Got::kClosed);
    }
  }
  {
    SCOPED_TRACE("not signed at all");
    Bytes r = w->Call(Message(w->H(3), TreeConnectBody("\\\\127.0.0.1\\export")));
    if (!r.empty()) {
      EXPECT_EQ(Wire::StatusOf(r), kAccessDenied);
    }
  }
  // smbclient with signing required works on the same server.
  ShellRun r = Shell("smbclient //127.0.0.1/export -s /dev/null -p " + std::to_string(port()) +
                     " -U 'admin%" + password() +
                     "' --option='netbios name=localhost' --option='client signing=required' "
                     "-m SMB2 -c ls");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// MS-SMB2 3.3.5.7: on 3.1.1, a session that is neither guest nor anonymous signs its
// TREE_CONNECT; an unsigned one ends the connection.
TEST_F(SmbHostileTest, UnsignedSmb311TreeConnectClosesTheConnection) {
  Wire w(port());
  ASSERT_EQ(w.Negotiate({0x0311}), kSuccess);
  ASSERT_EQ(w.Logon("admin", password()), kSuccess);
  ASSERT_TRUE(w.Send(Message(w.H(3), TreeConnectBody("\\\\127.0.0.1\\export"))));
  EXPECT_TRUE(w.Closed());
  // 3.0 has no such rule: the same unsigned tree connect is answered.
  Wire w30(port());
  ASSERT_EQ(w30.Negotiate({0x0300}), kSuccess);
  ASSERT_EQ(w30.Logon("admin", password()), kSuccess);
  uint32_t tree = 0;
  EXPECT_EQ(w30.TreeConnect("export", &tree), kSuccess);
}

// MS-SMB2 3.3.5.7 and 3.3.5.2.11: a share that needs encryption takes no session that cannot
// encrypt, and no unencrypted request on a tree whose connect said SMB2_SHAREFLAG_ENCRYPT_DATA.
TEST_F(SmbHostileTest, EncryptedShareRefusesWhatIsNotEncrypted) {
  uint32_t tree = 0;
  {
    SCOPED_TRACE("SMB 2.1 cannot encrypt: no tree connect");
    Wire w(port());
    ASSERT_EQ(w.Negotiate({0x0202, 0x0210}), kSuccess);
    ASSERT_EQ(w.Logon("admin", password()), kSuccess);
    EXPECT_EQ(w.TreeConnect("sealed", &tree), kAccessDenied);
    EXPECT_EQ(w.TreeConnect("export", &tree), kSuccess);  // the session itself is fine
  }
  {
    SCOPED_TRACE("SMB 3.0 without SMB2_GLOBAL_CAP_ENCRYPTION: no cipher, no tree connect");
    Wire w(port());
    Bytes m = Message(w.H(0), NegotiateBody({0x0300}));
    Put32(m, 64 + 8, 0x3F);  // Capabilities without ENCRYPTION (0x40)
    Bytes r = w.Call(m);
    ASSERT_EQ(Wire::StatusOf(r), kSuccess);
    ASSERT_EQ(w.Logon("admin", password()), kSuccess);
    EXPECT_EQ(w.TreeConnect("sealed", &tree), kAccessDenied);
  }
  {
    SCOPED_TRACE("SMB 3.0 with encryption: the tree asks for it, and a plain CREATE is refused");
    Wire w(port());
    ASSERT_EQ(w.Negotiate({0x0300}), kSuccess);
    ASSERT_EQ(w.Logon("admin", password()), kSuccess);
    Bytes r = w.Call(Message(w.H(3), TreeConnectBody("\\\\127.0.0.1\\sealed")));
    ASSERT_EQ(Wire::StatusOf(r), kSuccess);
    EXPECT_EQ(Le32(r, 64 + 4) & 0x8000, 0x8000u) << "SMB2_SHAREFLAG_ENCRYPT_DATA";
    tree = Le32(r, 36);
    r = w.Call(Message(w.H(5, tree), CreateBody("plain.txt", 2 /* create */)));
    ASSERT_GE(r.size(), 52u);
    // §3.3.4.1.4: the answer (STATUS_ACCESS_DENIED) goes sealed, in a TRANSFORM_HEADER.
    EXPECT_EQ(r[0], 0xFD);
    EXPECT_EQ(std::string(r.begin() + 1, r.begin() + 4), "SMB");
  }
  // The refused CREATE created nothing; an encrypting client sees the share.
  ShellRun r =
      Shell("smbclient //127.0.0.1/sealed -s /dev/null -p " + std::to_string(port()) +
            " -U 'admin%" + password() + "' --option='netbios name=localhost' -m SMB3 -c ls");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("plain.txt"), std::string::npos) << r.output;
}

// A client that sends CREATE and goes away at once: the open must not outlive the connection
// (its share mode would lock the file out for everyone until the server restarts).
// A blocking LOCK still waiting when its tree is disconnected: the disconnect closes both
// opens, which frees the range it waited for. It is answered (success, as Windows answers),
// and the range it was granted goes back at once: nothing is left locked for a later open.
TEST_F(SmbHostileTest, APendingLockGrantedAfterItsOpenClosedLeavesNoLock) {
  constexpr uint32_t kPending = 0x00000103, kExclusive = 2, kFailImmediately = 0x10;
  uint32_t tree = 0;
  std::unique_ptr<Wire> w = LoggedOn(&tree);
  Bytes r = w->Call(Message(w->H(5, tree), CreateBody("pending_lock", 3)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  const uint64_t first = Le64(r, 64 + 64);
  r = w->Call(Message(w->H(5, tree), CreateBody("pending_lock", 3)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  const uint64_t second = Le64(r, 64 + 64);
  r = w->Call(Message(w->H(10, tree), LockBody(first, 100, 10, kExclusive)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  // The second open's lock waits: an interim STATUS_PENDING.
  r = w->Call(Message(w->H(10, tree), LockBody(second, 100, 10, kExclusive)));
  ASSERT_EQ(Wire::StatusOf(r), kPending);
  // TREE_DISCONNECT: both answers come, in either order.
  ASSERT_TRUE(w->Send(Message(w->H(4, tree), EmptyBody())));
  std::map<uint16_t, uint32_t> answers;  // command -> status
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(w->Recv(&r), Wire::Got::kFrame);
    answers[Le16(r, 12)] = Wire::StatusOf(r);
  }
  EXPECT_EQ(answers[4], kSuccess);
  EXPECT_EQ(answers[10], kSuccess);
  // A new tree and open take the range at once.
  uint32_t tree2 = 0;
  ASSERT_EQ(w->TreeConnect("export", &tree2), kSuccess);
  r = w->Call(Message(w->H(5, tree2), CreateBody("pending_lock", 1)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  r = w->Call(
      Message(w->H(10, tree2), LockBody(Le64(r, 64 + 64), 100, 10, kExclusive | kFailImmediately)));
  EXPECT_EQ(Wire::StatusOf(r), kSuccess) << "a lock was left behind by the closed open";
}

TEST_F(SmbHostileTest, DisconnectRightAfterCreateLeavesNoOpen) {
  constexpr int kRounds = 40;
  for (int i = 0; i < kRounds; ++i) {
    uint32_t tree = 0;
    std::unique_ptr<Wire> w = LoggedOn(&tree);
    // Create, exclusive: no sharing at all.
    ASSERT_TRUE(w->Send(
        Message(w->H(5, tree), CreateBody("race_" + std::to_string(i), 2, 0x40, 0x0012019F, 0))));
    w.reset();  // closes the socket right away
  }
  uint32_t tree = 0;
  std::unique_ptr<Wire> w = LoggedOn(&tree);
  int locked_out = 0, created = 0;
  for (int i = 0; i < kRounds; ++i) {
    const std::string name = "race_" + std::to_string(i);
    uint32_t status = ~0u;
    Bytes r;
    // The server may still be finishing the first connection's work: a moment to settle.
    for (int attempt = 0; attempt < 20; ++attempt) {
      r = w->Call(Message(w->H(5, tree), CreateBody(name, 1, 0x40, 0x0012019F, 0)));
      ASSERT_FALSE(r.empty());
      status = Wire::StatusOf(r);
      if (status != 0xC0000043 /* STATUS_SHARING_VIOLATION */) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Never created (the connection went before the CREATE ran) or opened now.
    EXPECT_TRUE(status == kSuccess || status == kObjectNameNotFound) << name << std::hex << status;
    if (status == 0xC0000043) ++locked_out;
    if (status == kSuccess) {
      ++created;
      r = w->Call(Message(w->H(6, tree), CloseBody(Le64(r, 64 + 64))));
      EXPECT_EQ(Wire::StatusOf(r), kSuccess);
    }
  }
  EXPECT_EQ(locked_out, 0);
  std::printf("disconnect after CREATE: %d of %d files were created, %d stayed locked\n", created,
              kRounds, locked_out);
}

// A CREATE asking for a v2 lease (SMB2_CREATE_REQUEST_LEASE_V2, MS-SMB2 2.2.13.2.10) under a
// key of 16 bytes `key`, for `state`; `parent` (non-zero) names the parent directory's lease.
Bytes LeaseV2Create(std::string_view name, uint32_t options, uint8_t key, uint32_t state,
                    uint8_t parent = 0) {
  Bytes body = CreateBody(name, 3 /* open-if */, options);
  body[3] = 0xFF;  // RequestedOplockLevel: a lease
  Bytes data(16, key);
  Le(data, state, 4);
  Le(data, parent != 0 ? 0x4 : 0, 4);  // SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET
  Le(data, 0, 8);                      // LeaseDuration
  data.insert(data.end(), 16, parent);
  Le(data, 0, 2);  // Epoch
  Le(data, 0, 2);
  return WithCreateContext(std::move(body), {'R', 'q', 'L', 's'}, data);
}

// The lease state a CREATE response grants (its RqLs context), or -1 for none.
int64_t GrantedLease(const Bytes& r) {
  size_t at = Le32(r, 64 + 80);
  const size_t end = at + Le32(r, 64 + 84);
  while (at != 0 && at + 16 <= end && end <= r.size()) {
    const size_t name = at + Le16(r, at + 4), data = at + Le16(r, at + 10);
    if (Bytes(r.begin() + name, r.begin() + name + 4) == Bytes{'R', 'q', 'L', 's'}) {
      return Le32(r, data + 16);
    }
    if (Le32(r, at) == 0) break;
    at += Le32(r, at);
  }
  return -1;
}

// A lease break notification (§2.2.23.2) for `key` read within `timeout`: {current, new} state.
std::optional<std::pair<uint32_t, uint32_t>> LeaseBreak(Wire& w, uint8_t key,
                                                        std::chrono::milliseconds timeout) {
  Bytes r;
  if (w.Recv(&r, timeout) != Wire::Got::kFrame) return std::nullopt;
  EXPECT_EQ(Le16(r, 12), 0x12) << "an OPLOCK_BREAK";
  EXPECT_EQ(Le64(r, 24), ~uint64_t{0}) << "unsolicited";
  EXPECT_EQ(Le16(r, 64), 44) << "a lease break";
  EXPECT_EQ(Bytes(r.begin() + 64 + 8, r.begin() + 64 + 24), Bytes(16, key));
  return std::make_pair(Le32(r, 64 + 24), Le32(r, 64 + 28));
}

// Directory leases (SMB 3.x): a directory opened with a v2 lease asking for RWH gets RH, and any
// change of its names by another client breaks it to nothing, an NFSv3 CREATE as well as an
// SMB one, without waiting for the acknowledgement; the holder's own creates that name the
// directory's lease as their parent's leave it alone.
TEST_F(SmbHostileTest, DirectoryLeasesBreakOnChangesOfTheirNames) {
  uint32_t tree = 0;
  Wire w(port());
  ASSERT_TRUE(w.connected());
  ASSERT_EQ(w.Negotiate({0x0300}), kSuccess);
  EXPECT_NE(w.capabilities_ & 0x20, 0u) << "SMB2_GLOBAL_CAP_DIRECTORY_LEASING";
  ASSERT_EQ(w.Logon("admin", password()), kSuccess);
  ASSERT_EQ(w.TreeConnect("export", &tree), kSuccess);
  constexpr uint8_t kDirKey = 0xD1, kFileKey = 0xF1;
  constexpr uint32_t kRH = 0x3, kRWH = 0x7;
  Bytes r =
      w.Call(Message(w.H(5, tree), LeaseV2Create("leased", 0x1 /* directory */, kDirKey, kRWH)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  EXPECT_EQ(GrantedLease(r), kRH) << "a directory caches no writes";
  const uint64_t dir = Le64(r, 64 + 64);
  // Re-arms the directory's lease (after a break) through a second open under its key.
  auto rearm = [&] {
    Bytes again = w.Call(Message(w.H(5, tree), LeaseV2Create("leased", 0x1, kDirKey, kRH)));
    ASSERT_EQ(Wire::StatusOf(again), kSuccess);
    EXPECT_EQ(GrantedLease(again), kRH);
    ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(Le64(again, 64 + 64))))),
              kSuccess);
  };

  // The holder's own create, naming the directory's lease as its parent's: no break.
  r = w.Call(Message(w.H(5, tree), LeaseV2Create("leased\\mine", 0x40, kFileKey, kRWH, kDirKey)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(Le64(r, 64 + 64))))), kSuccess);
  EXPECT_FALSE(LeaseBreak(w, kDirKey, std::chrono::milliseconds(300))) << "no break of its own";

  // Another SMB client's create in the directory breaks it; the create is not held up.
  uint32_t other_tree = 0;
  std::unique_ptr<Wire> other = LoggedOn(&other_tree);
  r = other->Call(Message(other->H(5, other_tree), CreateBody("leased\\theirs")));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  ASSERT_EQ(
      Wire::StatusOf(other->Call(Message(other->H(6, other_tree), CloseBody(Le64(r, 64 + 64))))),
      kSuccess);
  std::optional<std::pair<uint32_t, uint32_t>> broken =
      LeaseBreak(w, kDirKey, std::chrono::seconds(5));
  ASSERT_TRUE(broken);
  EXPECT_EQ(*broken, std::make_pair(kRH, 0u));
  // Acknowledged (the break took H): then the lease can be had again.
  Bytes ack;
  Le(ack, 36, 2);
  Le(ack, 0, 2);
  Le(ack, 0, 4);
  ack.insert(ack.end(), 16, kDirKey);
  Le(ack, 0, 4);
  Le(ack, 0, 8);
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(0x12, tree), ack))), kSuccess);
  rearm();

#ifdef DFS_WITH_LIBNFS
  // An NFSv3 CREATE in the directory breaks it too, and is answered at once (no JUKEBOX).
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> nfs,
                       RawNfsClient::Connect(server_->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply root, nfs->Mnt("/export"));
  ASSERT_OK_AND_ASSIGN(LookupReply leased, nfs->Lookup(root.fh, "leased"));
  ASSERT_OK_AND_ASSIGN(CreatedReply made, nfs->Create(leased.fh, "from-nfs", GUARDED, sattr3{}));
  EXPECT_EQ(made.status, NFS3_OK);
  broken = LeaseBreak(w, kDirKey, std::chrono::seconds(5));
  ASSERT_TRUE(broken) << "an NFSv3 CREATE breaks the directory lease";
  EXPECT_EQ(*broken, std::make_pair(kRH, 0u));
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(0x12, tree), ack))), kSuccess);
  rearm();
  // And an NFSv3 REMOVE.
  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, nfs->Remove(leased.fh, "from-nfs"));
  EXPECT_EQ(removed.status, NFS3_OK);
  broken = LeaseBreak(w, kDirKey, std::chrono::seconds(5));
  ASSERT_TRUE(broken) << "an NFSv3 REMOVE breaks the directory lease";
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(0x12, tree), ack))), kSuccess);
#endif
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(dir)))), kSuccess);
}

// The SMB3 POSIX extensions, as the Linux client uses them (its "posix" mount): a CREATE with
// the POSIX create context gives the mode and gets links, mode, owner and group back; the
// tree then matches names case-sensitively and takes '/' as a separator; QUERY_INFO and
// QUERY_DIRECTORY answer class 100; a security descriptor with Unix SIDs sets owner, group
// and mode. Without the negotiate context none of it applies.
Bytes PosixCreate(std::string_view name, uint32_t disposition, uint32_t options, uint32_t mode,
                  uint32_t access = 0x0012019F, uint8_t lease_key = 0) {
  Bytes b = CreateBody(name, disposition, options, access);
  while ((64 + b.size()) % 8 != 0) b.push_back(0);
  Put32(b, 48, static_cast<uint32_t>(64 + b.size()));  // CreateContextsOffset
  Bytes ctx;
  Le(ctx, lease_key != 0 ? 40 : 0, 4);  // Next
  Le(ctx, 16, 2);                       // NameOffset
  Le(ctx, 16, 2);                       // NameLength
  Le(ctx, 0, 2);
  Le(ctx, 32, 2);  // DataOffset
  Le(ctx, 4, 4);   // DataLength
  ctx.insert(ctx.end(), kPosixGuid.begin(), kPosixGuid.end());
  Le(ctx, mode, 4);
  if (lease_key != 0) {
    // SMB2_CREATE_REQUEST_LEASE (§2.2.13.2.8) "RqLs" asking for read and handle caching.
    b[3] = 0xFF;  // RequestedOplockLevel: a lease
    Le(ctx, 0, 4);
    Le(ctx, 0, 4);   // Next
    Le(ctx, 16, 2);  // NameOffset
    Le(ctx, 4, 2);
    Le(ctx, 0, 2);
    Le(ctx, 24, 2);  // DataOffset
    Le(ctx, 32, 4);
    ctx.insert(ctx.end(), {'R', 'q', 'L', 's', 0, 0, 0, 0});
    for (int i = 0; i < 16; ++i) ctx.push_back(lease_key);
    Le(ctx, 0x1 | 0x2, 4);  // SMB2_LEASE_READ_CACHING | SMB2_LEASE_HANDLE_CACHING
    Le(ctx, 0, 4);
    Le(ctx, 0, 8);
  }
  Put32(b, 52, static_cast<uint32_t>(ctx.size()));
  return Cat(b, ctx);
}

// The POSIX create context's response data in a CREATE response, or empty.
Bytes PosixResponse(const Bytes& r) {
  size_t at = Le32(r, 64 + 80);
  const size_t end = at + Le32(r, 64 + 84);
  while (at != 0 && at + 16 <= end && end <= r.size()) {
    const uint32_t next = Le32(r, at);
    const size_t name = at + Le16(r, at + 4), data = at + Le16(r, at + 10);
    if (Le16(r, at + 6) == 16 && Bytes(r.begin() + name, r.begin() + name + 16) == kPosixGuid) {
      return Bytes(r.begin() + data, r.begin() + data + Le32(r, at + 12));
    }
    if (next == 0) break;
    at += next;
  }
  return {};
}

// The output buffer of a QUERY_INFO or QUERY_DIRECTORY response.
Bytes OutputOf(const Bytes& r) {
  const size_t at = Le16(r, 64 + 2), n = Le32(r, 64 + 4);
  if (at + n > r.size()) return {};
  return Bytes(r.begin() + at, r.begin() + at + n);
}

// Apple's extensions as macOS asks for them: an AAPL create context on the share's root gets
// the server's capabilities, the volume's and a model string; from then on the connection's
// FILE_ID_BOTH_DIR_INFORMATION entries carry the maximal access and the Unix mode. A malformed
// query is refused; another connection that did not ask gets plain entries.
Bytes AaplCreate(std::string_view name, uint32_t command, uint64_t bitmap, uint64_t caps,
                 size_t data_size = 24) {
  Bytes b = CreateBody(name, 1, 0x1, 0x00100081 /* list, read attributes, synchronize */);
  while ((64 + b.size()) % 8 != 0) b.push_back(0);
  Put32(b, 48, static_cast<uint32_t>(64 + b.size()));  // CreateContextsOffset
  Bytes ctx;
  Le(ctx, 0, 4);   // Next
  Le(ctx, 16, 2);  // NameOffset
  Le(ctx, 4, 2);   // NameLength
  Le(ctx, 0, 2);
  Le(ctx, 24, 2);  // DataOffset
  Le(ctx, static_cast<uint32_t>(data_size), 4);
  ctx.insert(ctx.end(), {'A', 'A', 'P', 'L', 0, 0, 0, 0});
  Bytes data;
  Le(data, command, 4);
  Le(data, 0, 4);
  Le(data, bitmap, 8);
  Le(data, caps, 8);
  data.resize(data_size);
  ctx.insert(ctx.end(), data.begin(), data.end());
  Put32(b, 52, static_cast<uint32_t>(ctx.size()));
  return Cat(b, ctx);
}

// The data of the create context named `tag` (4 characters) in a CREATE response, or empty.
Bytes ContextData(const Bytes& r, std::string_view tag) {
  size_t at = Le32(r, 64 + 80);
  const size_t end = at + Le32(r, 64 + 84);
  while (at != 0 && at + 16 <= end && end <= r.size()) {
    const uint32_t next = Le32(r, at);
    const size_t name = at + Le16(r, at + 4), data = at + Le16(r, at + 10);
    if (Le16(r, at + 6) == tag.size() && name + tag.size() <= r.size() &&
        std::equal(tag.begin(), tag.end(), r.begin() + name)) {
      return Bytes(r.begin() + data, r.begin() + data + Le32(r, at + 12));
    }
    if (next == 0) break;
    at += next;
  }
  return {};
}

TEST_F(SmbHostileTest, AppleExtensions) {
  const auto connect = [&](Wire& w, uint32_t* tree) {
    ASSERT_TRUE(w.connected());
    ASSERT_EQ(w.Negotiate({0x0300, 0x0311}), kSuccess);
    ASSERT_EQ(w.Logon("admin", password()), kSuccess);
    ASSERT_EQ(w.TreeConnect("export", tree), kSuccess);
  };
  Wire w(port());
  uint32_t tree = 0;
  connect(w, &tree);

  // macOS's query: server caps, volume caps and model; it reads directory attributes.
  constexpr uint64_t kReadDirAttr = 1, kUnixBased = 4, kFullSync = 4;
  Bytes r = w.Call(Message(w.H(5, tree), AaplCreate("", 1, 7, kReadDirAttr | kUnixBased)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  const uint64_t root = Le64(r, 64 + 64);
  Bytes aapl = ContextData(r, "AAPL");
  ASSERT_GE(aapl.size(), 40u);
  EXPECT_EQ(Le32(aapl, 0), 1u);  // kAAPL_SERVER_QUERY
  EXPECT_EQ(Le64(aapl, 8), 7u);  // all three answered
  EXPECT_EQ(Le64(aapl, 16), kReadDirAttr | kUnixBased);
  EXPECT_EQ(Le64(aapl, 24), kFullSync);
  const uint32_t model_bytes = Le32(aapl, 36);
  ASSERT_EQ(aapl.size(), (40 + model_bytes + 7) / 8 * 8);
  EXPECT_EQ(Bytes(aapl.begin() + 40, aapl.begin() + 40 + model_bytes), Utf16("DittoFS"));

  // A file made 0640, listed in class 37: the access its owner has, and its mode.
  Bytes made = w.Call(Message(w.H(5, tree), CreateBody("apple.txt", 5 /* overwrite-if */)));
  ASSERT_EQ(Wire::StatusOf(made), kSuccess);
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(Le64(made, 64 + 64))))),
            kSuccess);
  const auto entry = [&](Wire& c, uint32_t t, uint64_t dir) {
    Bytes q = c.Call(Message(c.H(14, t), QueryDirectoryBody(dir, 37, "apple.txt")));
    EXPECT_EQ(Wire::StatusOf(q), kSuccess);
    return OutputOf(q);
  };
  Bytes e = entry(w, tree, root);
  ASSERT_GE(e.size(), 104u);
  const uint32_t access = Le32(e, 64);
  EXPECT_EQ(access & 0x1u, 0x1u) << std::hex << access;                  // FILE_READ_DATA
  EXPECT_EQ(access & 0x2u, 0x2u) << std::hex << access;                  // FILE_WRITE_DATA
  EXPECT_EQ(access & 0x00100000u, 0x00100000u) << std::hex << access;    // SYNCHRONIZE
  EXPECT_EQ(e[68], 0);                                                   // no short name
  EXPECT_EQ(Le16(e, 94) & 0170000, 0100000) << std::oct << Le16(e, 94);  // a regular file
  EXPECT_NE(Le16(e, 94) & 0777, 0);

  // A query that is not 24 bytes, or another command, is refused.
  EXPECT_EQ(Wire::StatusOf(w.Call(Message(w.H(5, tree), AaplCreate("", 1, 7, 1, 16)))),
            kInvalidParameter);
  EXPECT_EQ(Wire::StatusOf(w.Call(Message(w.H(5, tree), AaplCreate("", 2, 0, 0)))),
            kInvalidParameter);

  // A connection that did not ask gets the standard entry: EaSize 0, Reserved2 0.
  Wire plain(port());
  uint32_t plain_tree = 0;
  connect(plain, &plain_tree);
  Bytes opened = plain.Call(Message(plain.H(5, plain_tree), CreateBody("", 1, 0x1, 0x00100081)));
  ASSERT_EQ(Wire::StatusOf(opened), kSuccess);
  e = entry(plain, plain_tree, Le64(opened, 64 + 64));
  ASSERT_GE(e.size(), 104u);
  EXPECT_EQ(Le32(e, 64), 0u);
  EXPECT_EQ(Le16(e, 94), 0u);
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(root)))), kSuccess);
}

// A SID S-1-`authority`-`sub`...
Bytes Sid(uint8_t authority, std::vector<uint32_t> sub) {
  Bytes s = {1, static_cast<uint8_t>(sub.size()), 0, 0, 0, 0, 0, authority};
  for (uint32_t v : sub) Le(s, v, 4);
  return s;
}

TEST_F(SmbHostileTest, PosixExtensions) {
  Wire w(port());
  ASSERT_TRUE(w.connected());
  ASSERT_EQ(w.Negotiate({0x0311}, /*posix=*/true), kSuccess);
  ASSERT_EQ(w.Logon("admin", password()), kSuccess);
  uint32_t tree = 0;
  ASSERT_EQ(w.TreeConnect("export", &tree), kSuccess);

  // mkdir with mode 0705: links, mode, owner S-1-22-1-0 and group S-1-22-2-0 come back.
  Bytes r = w.Call(Message(w.H(5, tree), PosixCreate("PosixDir", 2, 0x1, 0705)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  Bytes p = PosixResponse(r);
  ASSERT_EQ(p.size(), 12u + 32u);
  EXPECT_EQ(Le32(p, 8), 0705u);
  EXPECT_EQ(Bytes(p.begin() + 12, p.begin() + 28), Sid(22, {1, 0}));
  EXPECT_EQ(Bytes(p.begin() + 28, p.end()), Sid(22, {2, 0}));
  const uint64_t dir = Le64(r, 64 + 64);

  // Files named with '/' and differing only in case are two files.
  const uint32_t all = 0x0012019F | 0x40000 | 0x80000;  // and WRITE_DAC, WRITE_OWNER
  r = w.Call(Message(w.H(5, tree), PosixCreate("PosixDir/File", 2, 0x40, 0640, all)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  p = PosixResponse(r);
  ASSERT_EQ(p.size(), 44u);
  EXPECT_EQ(Le32(p, 0), 1u);  // links
  EXPECT_EQ(Le32(p, 8), 0640u);
  const uint64_t file = Le64(r, 64 + 64);
  r = w.Call(Message(w.H(5, tree), PosixCreate("PosixDir/file", 2, 0x40, 0600)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess) << "a name differing in case collided";
  EXPECT_EQ(Le32(PosixResponse(r), 8), 0600u);
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(Le64(r, 64 + 64))))), kSuccess);
  r = w.Call(Message(w.H(5, tree), PosixCreate("PosixDir\\FILE", 1, 0x40, 0)));
  EXPECT_EQ(Wire::StatusOf(r), kObjectNameNotFound);

  // FILE_POSIX_INFORMATION: inode at 52, links at 68, mode at 76, owner SID at 80.
  r = w.Call(Message(w.H(16, tree), QueryInfoBody(file, 1, 100)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  Bytes info = OutputOf(r);
  ASSERT_EQ(info.size(), 112u);
  EXPECT_EQ(Le32(info, 68), 1u);
  EXPECT_EQ(Le32(info, 76), 0640u);
  EXPECT_EQ(Bytes(info.begin() + 80, info.begin() + 96), Sid(22, {1, 0}));

  // SMB2_FIND_POSIX_INFORMATION: ".", "..", "File", "file", each with its mode.
  r = w.Call(Message(w.H(14, tree), QueryDirectoryBody(dir, 100, "*")));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  Bytes list = OutputOf(r);
  std::map<std::string, uint32_t> modes;
  for (size_t at = 0; at + 124 <= list.size();) {
    const uint32_t n = Le32(list, at + 120);
    std::string name;
    for (size_t i = 0; i < n; i += 2) name.push_back(static_cast<char>(list[at + 124 + i]));
    modes[name] = Le32(list, at + 8 + 76);
    if (Le32(list, at) == 0) break;
    at += Le32(list, at);
  }
  EXPECT_EQ(modes, (std::map<std::string, uint32_t>{
                       {".", 0705}, {"..", modes[".."]}, {"File", 0640}, {"file", 0600}}));

  // chown and chmod: owner S-1-22-1-1234, group S-1-22-2-567, mode from S-1-5-88-3-0604.
  Bytes sd = {1, 0, 0x04, 0x80};  // revision, self-relative with a DACL
  const Bytes owner = Sid(22, {1, 1234}), group = Sid(22, {2, 567});
  const Bytes mode_sid = Sid(5, {88, 3, 0604});
  Le(sd, 20, 4);
  Le(sd, 20 + owner.size(), 4);
  Le(sd, 0, 4);
  Le(sd, 20 + owner.size() + group.size(), 4);
  sd.insert(sd.end(), owner.begin(), owner.end());
  sd.insert(sd.end(), group.begin(), group.end());
  Bytes acl = {2, 0};
  Le(acl, 8 + 8 + mode_sid.size(), 2);
  Le(acl, 1, 2);
  Le(acl, 0, 2);
  acl.push_back(0);  // ACCESS_ALLOWED
  acl.push_back(0);
  Le(acl, 8 + mode_sid.size(), 2);
  Le(acl, 0, 4);
  acl.insert(acl.end(), mode_sid.begin(), mode_sid.end());
  sd.insert(sd.end(), acl.begin(), acl.end());
  Bytes set = Message(w.H(17, tree), SetInfoBody(file, 3, 0, sd));
  Put32(set, 64 + 12, 1 | 2 | 4);  // AdditionalInformation: owner, group, DACL
  ASSERT_EQ(Wire::StatusOf(w.Call(set)), kSuccess);
  info = OutputOf(w.Call(Message(w.H(16, tree), QueryInfoBody(file, 1, 100))));
  ASSERT_EQ(info.size(), 112u);
  EXPECT_EQ(Le32(info, 76), 0604u);
  EXPECT_EQ(Bytes(info.begin() + 80, info.begin() + 96), owner);
  EXPECT_EQ(Bytes(info.begin() + 96, info.end()), group);
  // A Windows SID names no Unix owner.
  Bytes windows = sd;
  windows[20 + 7] = 5;  // S-1-5-1-1234
  set = Message(w.H(17, tree), SetInfoBody(file, 3, 0, windows));
  Put32(set, 64 + 12, 1);
  EXPECT_EQ(Wire::StatusOf(w.Call(set)), 0xC000005Au);  // STATUS_INVALID_OWNER

  for (uint64_t fid : {file, dir}) {
    ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(fid)))), kSuccess);
  }

  // A symlink and a FIFO the way the Linux client makes them: an empty file, then a reparse
  // point (IO_REPARSE_TAG_NFS) set on it. Reopened, they are the runtime's symlink and FIFO:
  // the mode's type (2 symlink, 5 FIFO), the reparse tag, and the target read back.
  const auto make = [&](const std::string& name, const Bytes& reparse) {
    Bytes c = w.Call(Message(w.H(5, tree), PosixCreate(name, 2, 0x40, 0644)));
    EXPECT_EQ(Wire::StatusOf(c), kSuccess) << name;
    const uint64_t fid = Le64(c, 64 + 64);
    EXPECT_EQ(
        Wire::StatusOf(w.Call(Message(w.H(11, tree), IoctlBody(0x000900A4, fid, reparse, 4096)))),
        kSuccess)
        << name;
    EXPECT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(fid)))), kSuccess);
    c = w.Call(Message(w.H(5, tree), PosixCreate(name, 1, 0x200000 /* reparse point */, 0)));
    EXPECT_EQ(Wire::StatusOf(c), kSuccess) << name;
    return Le64(c, 64 + 64);
  };
  const Bytes target = Utf16("../PosixDir");
  Bytes nfs_link = {
      0x14, 0, 0, 0x80, static_cast<uint8_t>(8 + target.size()), 0, 0, 0, 0x4C, 0x4E, 0x4B, 0x01,
      0,    0, 0, 0};  // NFS_SPECFILE_LNK
  nfs_link.insert(nfs_link.end(), target.begin(), target.end());
  uint64_t fid = make("PosixDir/link", nfs_link);
  info = OutputOf(w.Call(Message(w.H(16, tree), QueryInfoBody(fid, 1, 100))));
  ASSERT_EQ(info.size(), 112u);
  EXPECT_EQ(Le32(info, 76) >> 12, 2u);        // a symlink
  EXPECT_EQ(Le32(info, 72), 0xA000000Cu);     // IO_REPARSE_TAG_SYMLINK
  EXPECT_EQ(Le32(info, 48) & 0x400, 0x400u);  // FILE_ATTRIBUTE_REPARSE_POINT
  r = w.Call(Message(w.H(11, tree), IoctlBody(0x000900A8, fid, {}, 4096)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  const size_t out_at = Le32(r, 64 + 32), out_len = Le32(r, 64 + 36);
  ASSERT_EQ(out_len, 20u + 2 * target.size());  // the substitute and the print name
  EXPECT_EQ(Le32(r, out_at), 0xA000000Cu);
  EXPECT_EQ(Bytes(r.begin() + out_at + 20, r.begin() + out_at + 20 + target.size()),
            Utf16("..\\PosixDir"));
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(fid)))), kSuccess);
  // Opened without FILE_OPEN_REPARSE_POINT, a symlink is not followed: STATUS_STOPPED_ON_SYMLINK
  // with the Symbolic Link Error Response ("SYML", the tag, the target) in SMB 3.1.1's one
  // error context (MS-SMB2 2.2.2.1).
  r = w.Call(Message(w.H(5, tree), PosixCreate("PosixDir/link", 1, 0, 0)));
  ASSERT_EQ(Wire::StatusOf(r), 0x8000002Du);
  ASSERT_GE(r.size(), 64u + 16 + 28 + 2 * target.size());
  EXPECT_EQ(r[64 + 2], 1u);  // ErrorContextCount
  EXPECT_EQ(Le32(r, 64 + 20), 0x4C4D5953u);
  EXPECT_EQ(Le32(r, 64 + 24), 0xA000000Cu);
  EXPECT_EQ(Bytes(r.begin() + 64 + 44, r.begin() + 64 + 44 + target.size()), Utf16("..\\PosixDir"));
  fid = make("PosixDir/fifo", {0x14, 0, 0, 0x80, 8, 0, 0, 0, 0x46, 0x49, 0x46, 0x4F, 0, 0, 0, 0});
  info = OutputOf(w.Call(Message(w.H(16, tree), QueryInfoBody(fid, 1, 100))));
  ASSERT_EQ(info.size(), 112u);
  EXPECT_EQ(Le32(info, 76), (5u << 12) | 0644u);  // a FIFO, the file's mode kept
  EXPECT_EQ(Le32(info, 72), 0x80000014u);         // IO_REPARSE_TAG_NFS
  ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(fid)))), kSuccess);

  // POSIX unlink: the name goes when the deleting open closes, though another open remains
  // (it still reads the file); by delete on close and by FILE_DISPOSITION_INFORMATION_EX.
  // The open that stays holds a read-handle lease, as the Linux client's opens do: the
  // removal breaks its handle caching first.
  for (const bool by_disposition : {false, true}) {
    r = w.Call(Message(w.H(5, tree), PosixCreate("PosixDir/held", 2, 0x40, 0644, 0x0012019F,
                                                 by_disposition ? 0x21 : 0x22)));
    ASSERT_EQ(Wire::StatusOf(r), kSuccess);
    const uint64_t held = Le64(r, 64 + 64);
    ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(9, tree), WriteBody(held, 0, {'h', 'i'})))),
              kSuccess);
    r = w.CallAcking(
        Message(w.H(5, tree), PosixCreate("PosixDir/held", 1, by_disposition ? 0x40 : 0x1040, 0)),
        tree);
    ASSERT_EQ(Wire::StatusOf(r), kSuccess);
    const uint64_t deleting = Le64(r, 64 + 64);
    if (by_disposition) {
      // FileDispositionInformationEx (64): FILE_DISPOSITION_DELETE | POSIX_SEMANTICS.
      ASSERT_EQ(Wire::StatusOf(w.CallAcking(
                    Message(w.H(17, tree), SetInfoBody(deleting, 1, 64, {3, 0, 0, 0})), tree)),
                kSuccess);
    }
    ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(deleting)))), kSuccess);
    r = w.Call(Message(w.H(5, tree), PosixCreate("PosixDir/held", 1, 0x40, 0)));
    EXPECT_EQ(Wire::StatusOf(r), kObjectNameNotFound) << "by disposition: " << by_disposition;
    r = w.Call(Message(w.H(8, tree), ReadBody(held, 0, 2)));
    ASSERT_EQ(Wire::StatusOf(r), kSuccess);
    EXPECT_EQ(Bytes(r.begin() + 80, r.begin() + 82), (Bytes{'h', 'i'}));
    ASSERT_EQ(Wire::StatusOf(w.Call(Message(w.H(6, tree), CloseBody(held)))), kSuccess);
  }

  // A connection without the negotiate context: no POSIX class, names match in any case.
  uint32_t plain_tree = 0;
  std::unique_ptr<Wire> plain = LoggedOn(&plain_tree);
  r = plain->Call(Message(plain->H(5, plain_tree), PosixCreate("POSIXDIR", 1, 0x1, 0777)));
  ASSERT_EQ(Wire::StatusOf(r), kSuccess);
  EXPECT_TRUE(PosixResponse(r).empty());
  const uint64_t plain_dir = Le64(r, 64 + 64);
  r = plain->Call(Message(plain->H(16, plain_tree), QueryInfoBody(plain_dir, 1, 100)));
  EXPECT_EQ(Wire::StatusOf(r), 0xC0000003u);  // STATUS_INVALID_INFO_CLASS
  r = plain->Call(Message(plain->H(14, plain_tree), QueryDirectoryBody(plain_dir, 100, "*")));
  EXPECT_EQ(Wire::StatusOf(r), 0xC0000003u);
  ASSERT_EQ(Wire::StatusOf(plain->Call(Message(plain->H(6, plain_tree), CloseBody(plain_dir)))),
            kSuccess);
}

}  // namespace
}  // namespace dittofs::integration
