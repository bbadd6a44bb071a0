// SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for the whole SMB2 connection (src/smb/server): one smb::Connection per
// input, over a fake stream connection, serving one memory share "/export" with guest logons
// allowed, so that an anonymous NTLMSSP logon reaches the file commands.
//
// The input is a sequence of messages, each a 2-byte big-endian length and that many bytes
// (an SMB2 message, a compound chain, an SMB1 NEGOTIATE or a TRANSFORM_HEADER, without the
// Direct TCP prefix, which DirectTcpFramer's own tests cover). Before a message goes in, the
// 8-byte markers of smb_fuzz_messages.h become the session and file ids the connection handed
// out so far, so seeds (make_smb_seeds) reach past SESSION_SETUP and CREATE. Messages run
// inline (RunOnWorker), in order, until the connection closes itself; then OnClose cleans up,
// as the stream server does.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/log.h"
#include "core/identity.h"
#include "core/share.h"
#include "core/shares.h"
#include "smb/auth/acceptor.h"
#include "smb/server/connection.h"
#include "smb_fuzz_messages.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"

namespace dittofs::smb {

// Reaches Connection::Process (connection.h befriends it), as a worker would run it.
class ConnectionTestPeer {
 public:
  static void Process(Connection& c, Buffer message) { c.Process(std::move(message)); }
};

}  // namespace dittofs::smb

namespace {

using namespace dittofs;

// One user, "alice", whose NT hash is MS-NLMP 4.2.2.1.2's NTOWFv1("Password").
class OneUser final : public core::UserDirectory {
 public:
  Result<core::UserRecord> FindUser(std::string_view name) const override {
    if (name != "alice") return Status(Errc::kNotFound, "no such user");
    core::UserRecord u;
    u.name = "alice";
    u.uid = 1000;
    u.gid = 1000;
    u.nt_hash = std::string("\xa4\xf4\x9c\x40\x65\x10\xbd\xca\xb6\x82\x4e\xe7\xc3\x0f\xd8\x52", 16);
    return u;
  }
  Result<core::UserRecord> FindWindowsUser(std::string_view name) const override {
    return FindUser(name == "ALICE" ? "alice" : name);
  }
  Result<core::UserRecord> FindKerberosUser(std::string_view) const override {
    return Status(Errc::kNotFound, "no such user");
  }
  Result<core::UserRecord> FindUserByUid(uint32_t uid) const override {
    if (uid == 1000) return FindUser("alice");
    return Status(Errc::kNotFound, "no such user");
  }
  Result<core::GroupRecord> FindGroup(std::string_view) const override {
    return Status(Errc::kNotFound, "no such group");
  }
  Result<core::GroupRecord> FindGroupByGid(uint32_t) const override {
    return Status(Errc::kNotFound, "no such group");
  }
};

// Runs work inline, keeps what is sent, and closes as the stream server does: OnClose runs
// from within Close.
class FakeStream final : public net::StreamConnection {
 public:
  const std::string& peer_address() const override { return address_; }
  uint16_t peer_port() const override { return 445; }
  void Send(std::unique_ptr<net::OutgoingMessage> message) override {
    if (closed) return;
    std::vector<std::byte> bytes(message->header.begin(),
                                 message->header.begin() + message->header_size);
    for (ByteView p : message->pieces) bytes.insert(bytes.end(), p.begin(), p.end());
    sent.push_back(std::move(bytes));
  }
  void RunOnWorker(Task work) override { work(); }
  void WakeBy(std::chrono::steady_clock::time_point) override {}
  void Close() override {
    if (closed) return;
    closed = true;
    if (handler != nullptr) handler->OnClose();
  }
  // SMB never switches a connection to TLS (only ONC RPC's STARTTLS does).
  void StartTransform(std::unique_ptr<net::StreamTransform>) override { Close(); }
  net::TransportSecurity security() const override { return {}; }

  net::StreamHandler* handler = nullptr;
  bool closed = false;
  std::vector<std::vector<std::byte>> sent;

 private:
  const std::string address_ = "127.0.0.1";
};

uint64_t Le64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint32_t Le32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Learns the session ids and file ids of a reply (a Direct TCP frame holding a chain).
// DFS_SMB_FUZZ_TRACE=1 prints each response (to check seeds).
const bool verbose = std::getenv("DFS_SMB_FUZZ_TRACE") != nullptr;

void Learn(const std::vector<std::byte>& frame, std::vector<uint64_t>* sessions,
           std::vector<uint64_t>* files) {
  size_t at = 4;
  while (at + 64 <= frame.size()) {
    const std::byte* h = frame.data() + at;
    if (std::memcmp(h, "\xFESMB", 4) != 0) return;  // sealed: nothing to learn
    const uint32_t status = Le32(h + 8);
    const uint16_t command = static_cast<uint16_t>(Le32(h + 12) & 0xFFFF);
    const uint32_t next = Le32(h + 20);
    const uint64_t sid = Le64(h + 40);
    if (verbose) std::fprintf(stderr, "  <- command %u status %08x\n", command, status);
    if (command == 1 && (status == 0 || status == 0xC0000016) && sid != 0) {
      if (std::find(sessions->begin(), sessions->end(), sid) == sessions->end())
        sessions->push_back(sid);
    }
    if (command == 5 && status == 0 && at + 64 + 80 <= frame.size()) {
      files->push_back(Le64(h + 64 + 64));
    }
    if (next == 0 || next > frame.size() - at) return;
    at += next;
  }
}

// Replaces every marker with the id it names (those not handed out yet stay as they are).
void Substitute(std::vector<std::byte>& m, const std::vector<uint64_t>& sessions,
                const std::vector<uint64_t>& files) {
  for (size_t i = 0; i + 8 <= m.size(); ++i) {
    const bool session = std::memcmp(&m[i], fuzz::smbmsg::kSessionMarker, 6) == 0;
    const bool file = !session && std::memcmp(&m[i], fuzz::smbmsg::kFileMarker, 6) == 0;
    if (!session && !file) continue;
    const size_t index = static_cast<uint8_t>(m[i + 6]) | (static_cast<uint8_t>(m[i + 7]) << 8);
    const std::vector<uint64_t>& ids = session ? sessions : files;
    if (index >= ids.size()) continue;
    uint64_t id = ids[index];
    for (int k = 0; k < 8; ++k) m[i + k] = static_cast<std::byte>(id >> (8 * k));
    i += 7;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Every refused message logs a line at info; the fuzzer makes millions.
  log::SetLevel(verbose ? log::Level::kDebug : log::Level::kError);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static OneUser* users = new OneUser;
  static std::vector<std::byte>* negotiate_token =
      new std::vector<std::byte>(smb::auth::NegotiateToken());

  // A fresh share each time: what one input wrote does not steer the next.
  core::ShareTable shares;
  core::ShareOptions share_options;
  share_options.squash = core::Squash::kNone;
  auto share = core::Share::Open(1, "/export", stores::NewMemoryMetadataStore(),
                                 stores::NewMemoryBlockStore(), share_options);
  CHECK(share.ok()) << share.status().ToString();
  shares.Add(std::move(share).value());

  smb::ServerContext context;
  context.options.allow_guest = true;
  context.options.max_io = 1u << 20;
  context.env.shares = &shares;
  context.env.users = users;
  std::memset(context.server_guid.data(), 0x5A, context.server_guid.size());
  context.negotiate_token = *negotiate_token;

  FakeStream stream;
  {
    smb::Connection connection(context, stream);
    stream.handler = &connection;
    std::vector<uint64_t> sessions, files;
    size_t at = 0;
    while (at + 2 <= size && !stream.closed) {
      size_t n = (size_t{data[at]} << 8) | data[at + 1];
      at += 2;
      n = std::min(n, size - at);
      std::vector<std::byte> m(reinterpret_cast<const std::byte*>(data + at),
                               reinterpret_cast<const std::byte*>(data + at + n));
      at += n;
      Substitute(m, sessions, files);
      if (verbose && m.size() >= 14) {
        std::fprintf(stderr, "-> command %u (%zu bytes)\n", static_cast<unsigned>(m[12]), m.size());
      }
      const size_t seen = stream.sent.size();
      smb::ConnectionTestPeer::Process(connection, Buffer::Copy(m));
      for (size_t i = seen; i < stream.sent.size(); ++i) Learn(stream.sent[i], &sessions, &files);
    }
    // The connection ends: its sessions and opens are closed.
    if (verbose && stream.closed) std::fprintf(stderr, "  closed by the server\n");
    stream.Close();
    stream.handler = nullptr;
  }
  return 0;
}
