// SPDX-License-Identifier: Apache-2.0
// NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT and IOCTL (MS-SMB2 §3.3.5.3
// to §3.3.5.8, §3.3.5.15).

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/casefold.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/random.h"
#include "smb/server/connection.h"
#include "smb/wire/le.h"
#include "smb/wire/utf16.h"

namespace dittofs::smb {
namespace {

constexpr size_t kMaxTreesPerSession = 1024;
constexpr size_t kMaxChannelsPerSession = 32;

// What the server offers a connection of `dialect` (MS-SMB2 3.3.5.4), told again by
// VALIDATE_NEGOTIATE_INFO: leasing and large MTU from 2.1, directory leases from 3.0, and
// encryption on 3.0 and 3.0.2, these two to a client that offers them too (3.1.1 negotiates
// encryption by context); multichannel from 3.0 to a client that offers it, when the server
// allows it; persistent handles from 3.0 to a client that offers them (they are granted on
// continuously available shares). Directory leases only for a client that asks: some clients
// that do not (python3-impacket 0.10) fail every CREATE on a server that offers them.
uint32_t ServerCapabilities(uint16_t dialect, uint32_t client_capabilities, bool multichannel) {
  uint32_t caps = 0;
  if (dialect >= wire::kSmb210) caps |= wire::kCapLargeMtu | wire::kCapLeasing;
  if (dialect >= wire::kSmb300 && (client_capabilities & wire::kCapDirectoryLeasing)) {
    caps |= wire::kCapDirectoryLeasing;
  }
  if ((dialect == wire::kSmb300 || dialect == wire::kSmb302) &&
      (client_capabilities & wire::kCapEncryption)) {
    caps |= wire::kCapEncryption;
  }
  if (multichannel && dialect >= wire::kSmb300 && (client_capabilities & wire::kCapMultiChannel)) {
    caps |= wire::kCapMultiChannel;
  }
  if (dialect >= wire::kSmb300 && (client_capabilities & wire::kCapPersistentHandles)) {
    caps |= wire::kCapPersistentHandles;
  }
  return caps;
}
constexpr uint32_t kStatusFsDriverRequired = 0xC000019C;

// The link speed of interface `name` in bits per second, as the kernel reports it (in Mb/s);
// 1 Gb/s when it does not (virtual interfaces, loopback).
uint64_t LinkSpeed(const char* name) {
  std::ifstream in(std::string("/sys/class/net/") + name + "/speed");
  int64_t mbps = 0;
  if (in >> mbps && mbps > 0) return static_cast<uint64_t>(mbps) * 1000000;
  return 1000000000;
}

// Whether interface `name` spreads its receiving over several queues (receive side scaling):
// the kernel lists one /sys/class/net/NAME/queues/rx-N per queue.
bool RssCapable(const char* name) {
  std::error_code error;
  int queues = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::string("/sys/class/net/") + name + "/queues", error)) {
    if (entry.path().filename().string().starts_with("rx-")) ++queues;
  }
  return queues > 1;
}

// FSCTL_QUERY_NETWORK_INTERFACE_INFO's answer (MS-SMB2 2.2.32.5, §3.3.5.15.11): one
// NETWORK_INTERFACE_INFO for each address clients can reach the server at: the address it is
// bound to, or, bound to every address, each address of each interface that is up (loopback
// only when there is nothing else). RSS_CAPABLE for an interface with several receive queues;
// never RDMA_CAPABLE (no SMB Direct).
Bytes NetworkInterfaces(const std::string& bind_address) {
  in_addr bound4{};
  in6_addr bound6{};
  const bool is4 = inet_pton(AF_INET, bind_address.c_str(), &bound4) == 1;
  const bool is6 = !is4 && inet_pton(AF_INET6, bind_address.c_str(), &bound6) == 1;
  const bool any = (is4 && bound4.s_addr == htonl(INADDR_ANY)) ||
                   (is6 && IN6_IS_ADDR_UNSPECIFIED(&bound6)) || (!is4 && !is6);
  struct Entry {
    uint32_t index;
    uint64_t speed;
    const sockaddr* addr;
    bool loopback;
    bool rss;
  };
  std::vector<Entry> entries;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || !(i->ifa_flags & IFF_UP)) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    if (!any) {
      if (family == AF_INET &&
          (!is4 ||
           reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr != bound4.s_addr)) {
        continue;
      }
      if (family == AF_INET6 &&
          (!is6 || std::memcmp(&reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr,
                               &bound6, sizeof bound6) != 0)) {
        continue;
      }
    }
    const uint32_t index = if_nametoindex(i->ifa_name);
    if (index == 0) continue;  // §3.3.5.15.11: never an interface without an index
    entries.push_back({index, LinkSpeed(i->ifa_name), i->ifa_addr,
                       (i->ifa_flags & IFF_LOOPBACK) != 0, RssCapable(i->ifa_name)});
  }
  if (any &&
      std::any_of(entries.begin(), entries.end(), [](const Entry& e) { return !e.loopback; })) {
    std::erase_if(entries, [](const Entry& e) { return e.loopback; });
  }
  Bytes out;
  wire::LeWriter w(out);
  for (size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    constexpr uint32_t kEntrySize = 152;             // 8-aligned already
    w.U32(k + 1 < entries.size() ? kEntrySize : 0);  // Next
    w.U32(e.index);
    w.U32(e.rss ? 0x1 : 0);  // Capability: RSS_CAPABLE (never RDMA_CAPABLE)
    w.U32(0);
    w.U64(e.speed);
    const size_t storage = out.size();  // SockAddr_Storage (2.2.32.5.1), 128 bytes
    if (e.addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(e.addr);
      w.U16(0x0002);  // InterNetwork
      w.U16(0);       // Port
      w.Bytes(ByteView(reinterpret_cast<const std::byte*>(&a->sin_addr), 4));
    } else {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(e.addr);
      w.U16(0x0017);  // InterNetworkV6
      w.U16(0);       // Port
      w.U32(0);       // FlowInfo
      w.Bytes(ByteView(reinterpret_cast<const std::byte*>(&a->sin6_addr), 16));
      w.U32(a->sin6_scope_id);
    }
    w.Zeros(128 - (out.size() - storage));
  }
  freeifaddrs(list);
  return out;
}

// MS-NLMP 3.3.1: NTOWFv1 of the empty password, MD4(UTF-16LE("")): the Guest account's.
constexpr auth::NtHash kEmptyPasswordHash = {
    std::byte{0x31}, std::byte{0xd6}, std::byte{0xcf}, std::byte{0xe0},
    std::byte{0xd1}, std::byte{0x6a}, std::byte{0xe9}, std::byte{0x31},
    std::byte{0xb7}, std::byte{0x3c}, std::byte{0x59}, std::byte{0xd7},
    std::byte{0xe0}, std::byte{0xc0}, std::byte{0x89}, std::byte{0xc0}};

// The Guest account's name, as Windows spells it, whatever the case.
bool IsGuestName(std::string_view user) { return FoldCase(user) == FoldCase("guest"); }

uint64_t NowFiletime() {
  const Timespec now = Now();
  return wire::ToFiletime(now.sec, now.nsec);
}

}  // namespace

Reply Connection::Negotiate(Exchange& x) {
  Result<wire::NegotiateRequest> req = wire::DecodeNegotiate(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  bool again;
  {
    MutexLock lock(&mu_);
    again = negotiated_;
  }
  if (again) {
    // §3.3.5.3.1: a second NEGOTIATE breaks the connection. Not under mu_: Close runs OnClose.
    stream_.Close();
    Reply r;
    r.none = true;
    return r;
  }
  static constexpr uint16_t kOurs[] = {wire::kSmb311, wire::kSmb302, wire::kSmb300, wire::kSmb210,
                                       wire::kSmb202};
  uint16_t dialect = 0;
  for (uint16_t d : kOurs) {
    if (std::find(req->dialects.begin(), req->dialects.end(), d) != req->dialects.end()) {
      dialect = d;
      break;
    }
  }
  if (dialect == 0) return Fail(wire::kStatusNotSupported);

  wire::NegotiateResponse r;
  r.dialect = dialect;
  r.security_mode =
      wire::kSigningEnabled | (server_.options.require_signing ? wire::kSigningRequired : 0);
  r.server_guid = server_.server_guid;
  r.capabilities = ServerCapabilities(dialect, req->capabilities, server_.options.multichannel);
  crypto::Cipher cipher = crypto::Cipher::kNone;
  std::optional<crypto::SigningAlgorithm> signing;
  bool posix = false;
  if (r.capabilities & wire::kCapEncryption) cipher = crypto::Cipher::kAes128Ccm;
  const uint32_t io = dialect == wire::kSmb202 ? 65536 : server_.options.max_io;
  r.max_transact = r.max_read = r.max_write = io;
  r.system_time = NowFiletime();
  r.security_buffer = server_.negotiate_token;

  if (dialect == wire::kSmb311) {
    // §3.3.5.3.1 / §3.3.5.2.5: the preauth integrity context must be there, with SHA-512.
    bool preauth = false;
    for (const wire::NegotiateContext& c : req->contexts) {
      wire::LeReader cr(c.data);
      switch (c.type) {
        case wire::kCtxPreauth: {
          const uint16_t count = cr.U16();
          cr.U16();  // SaltLength
          for (uint16_t i = 0; i < count && cr.ok(); ++i) preauth |= cr.U16() == wire::kHashSha512;
          if (!cr.ok() || count == 0) return Fail(wire::kStatusInvalidParameter);
          break;
        }
        case wire::kCtxEncryption: {
          const uint16_t count = cr.U16();
          if (count == 0) return Fail(wire::kStatusInvalidParameter);
          for (uint16_t i = 0; i < count && cr.ok(); ++i) {
            const uint16_t id = cr.U16();
            if (cipher == crypto::Cipher::kNone && id >= 1 && id <= 4 && cr.ok()) {
              cipher = static_cast<crypto::Cipher>(id);
            }
          }
          if (!cr.ok()) return Fail(wire::kStatusInvalidParameter);
          break;
        }
        case wire::kCtxSigning: {
          const uint16_t count = cr.U16();
          if (count == 0) return Fail(wire::kStatusInvalidParameter);
          for (uint16_t i = 0; i < count && cr.ok(); ++i) {
            const uint16_t id = cr.U16();
            if (!signing && cr.ok() && id <= 2) {
              signing = id == 0 ? crypto::SigningAlgorithm::kHmacSha256
                                : static_cast<crypto::SigningAlgorithm>(id);
            }
          }
          if (!cr.ok()) return Fail(wire::kStatusInvalidParameter);
          break;
        }
        case wire::kCtxPosix:
          posix = true;
          break;
        default:
          break;  // others (compression, netname, transport, RDMA) are declined by silence
      }
    }
    if (!preauth) return Fail(wire::kStatusInvalidParameter);
    Bytes ctx;
    wire::LeWriter w(ctx);
    w.U16(1);
    w.U16(32);
    w.U16(wire::kHashSha512);
    for (int i = 0; i < 4; ++i) w.U64(RandomU64());
    r.contexts.emplace_back(wire::kCtxPreauth, std::move(ctx));
    bool client_sent_encryption = false, client_sent_signing = false;
    for (const wire::NegotiateContext& c : req->contexts) {
      client_sent_encryption |= c.type == wire::kCtxEncryption;
      client_sent_signing |= c.type == wire::kCtxSigning;
    }
    if (client_sent_encryption) {
      Bytes e;
      wire::LeWriter ew(e);
      ew.U16(1);
      ew.U16(static_cast<uint16_t>(cipher));  // 0: none in common
      r.contexts.emplace_back(wire::kCtxEncryption, std::move(e));
    }
    if (client_sent_signing && signing) {
      Bytes sc;
      wire::LeWriter sw(sc);
      sw.U16(1);
      sw.U16(*signing == crypto::SigningAlgorithm::kHmacSha256 ? 0
                                                               : static_cast<uint16_t>(*signing));
      r.contexts.emplace_back(wire::kCtxSigning, std::move(sc));
    }
    if (posix) {
      for (const wire::NegotiateContext& c : req->contexts) {
        if (c.type == wire::kCtxPosix) {
          r.contexts.emplace_back(wire::kCtxPosix, Bytes(c.data.begin(), c.data.end()));
          break;
        }
      }
    }
  }
  {
    MutexLock lock(&mu_);
    negotiated_ = true;
    dialect_ = dialect;
    client_capabilities_ = req->capabilities;
    client_security_mode_ = req->security_mode;
    client_guid_ = req->client_guid;
    cipher_ = cipher;
    signing_ = signing;
    posix_ = posix;
    if (dialect == wire::kSmb311) preauth_.Update(x.message);
  }
  Reply reply;
  wire::EncodeNegotiateResponse(r, reply.body);
  return reply;
}

Reply Connection::SessionSetup(Exchange& x) {
  Result<wire::SessionSetupRequest> req = wire::DecodeSessionSetup(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  uint16_t dialect;
  crypto::Cipher cipher;
  crypto::SigningAlgorithm signing_alg;
  std::array<std::byte, 16> client_guid;
  {
    MutexLock lock(&mu_);
    if (!negotiated_) return Fail(wire::kStatusInvalidParameter);
    dialect = dialect_;
    cipher = cipher_;
    signing_alg = crypto::SigningFor(dialect_, signing_);
    client_guid = client_guid_;
  }
  // §3.3.5.5: binding a session of another connection to this one (step 4) needs a 3.x
  // dialect and multichannel; a binding flag with SessionId 0 sets up a new session (step 3).
  const bool binding = (req->flags & wire::kSessionBinding) && x.header.session_id != 0;
  if (binding && (dialect < wire::kSmb300 || !server_.options.multichannel)) {
    // Signed with the session's key when that key signed the request, so that the client
    // believes the refusal.
    x.session = SignerElsewhere(x);
    x.foreign_session = x.session != nullptr;
    return Fail(wire::kStatusRequestNotAccepted);
  }

  // Wrong passwords count per (user name, client address) in the throttle the REST API's
  // logins use too: a locked-out pair is refused before its password is looked at.
  core::LoginThrottle* const throttle = server_.env.throttle;
  const int64_t now = Now().sec;
  const bool guests = GuestsWelcome();
  std::string tried;  // the user name the client authenticated as, once the acceptor read it
  bool throttled = false;
  const auth::NtHashLookup lookup = [&](std::string_view user,
                                        std::string_view) -> Result<auth::NtHash> {
    tried = std::string(user);
    if (throttle != nullptr) {
      Status allowed = throttle->Check(user, peer_, now);
      if (!allowed.ok()) {
        throttled = true;
        return allowed;
      }
    }
    Result<core::UserRecord> u = server_.env.users->FindWindowsUser(user);
    if (!u.ok() && u.status().code() == Errc::kNotFound && guests && IsGuestName(user)) {
      return kEmptyPasswordHash;  // the Guest account, which has no password
    }
    if (!u.ok()) return u.status();
    if (u->nt_hash.size() != 16) return Status(Errc::kNotFound, "no SMB password");
    auth::NtHash h;
    std::memcpy(h.data(), u->nt_hash.data(), 16);
    return h;
  };
  // The answer to a failed authentication (step.status()), once the session is forgotten.
  const auto refused = [&](const Status& status) -> Reply {
    const Errc code = status.code();
    if (code == Errc::kNotSupported) {
      // No mechanism in common: SPNEGO's reject goes with the status.
      Reply reply;
      reply.status = wire::kStatusNotSupported;
      wire::EncodeSessionSetupResponse(0, auth::RejectToken(), reply.body);
      return reply;
    }
    if (throttled) {
      LOG_INFO("smb {}: logon refused: too many failures", peer_);
      return LogonFailure(server_.options.max_failure_delay);
    }
    if (code != Errc::kAccess) return Fail(wire::kStatusInvalidParameter);
    // A wrong password: the first is answered STATUS_LOGON_FAILURE, later each time the pair
    // failed again.
    std::chrono::milliseconds delay{0};
    if (throttle != nullptr && !tried.empty()) {
      throttle->RecordFailure(tried, peer_, now);
      const int failures = throttle->RecentFailures(tried, peer_, now);
      delay = std::min(server_.options.failure_delay * std::max(0, failures - 1),
                       server_.options.max_failure_delay);
    }
    return LogonFailure(delay);
  };
  if (binding) return BindSession(x, *req, lookup, refused);

  std::shared_ptr<Session> session = x.session;
  if (x.header.session_id == 0) {
    MutexLock lock(&mu_);
    if (sessions_.size() >= server_.options.max_sessions_per_connection) {
      return Fail(wire::kStatusInsufficientResources);
    }
    session = std::make_shared<Session>();
    session->id = NewId();
    {
      MutexLock slock(&session->mu);
      session->preauth = preauth_;
    }
    sessions_[session->id] = session;
  } else if (!session) {
    x.session = SignerElsewhere(x);
    x.foreign_session = x.session != nullptr;
    return Fail(wire::kStatusUserSessionDeleted);
  }
  x.session = session;

  Result<auth::Acceptor::Step> step = Status(Errc::kInternal);
  {
    MutexLock lock(&session->mu);
    if (!session->acceptor) {
      auth::ServerNames names;
      names.netbios_computer = server_.options.netbios_name;
      names.netbios_domain = server_.options.domain;
      session->acceptor = std::make_unique<auth::Acceptor>(names, server_.options.mechanisms);
    }
    if (dialect == wire::kSmb311 && !session->valid.load()) session->preauth.Update(x.message);
    step = session->acceptor->Accept(req->security_buffer, lookup);
  }
  // §3.3.5.5.3: a failed authentication ends the session, also one that was valid (a failed
  // re-authentication, on any of its channels): its opens close.
  const auto forget = [&] {
    if (session->valid.exchange(false)) return EndSession(session, /*lost=*/false);
    MutexLock lock(&mu_);
    sessions_.erase(session->id);
  };
  if (!step.ok()) {
    LOG_INFO("smb {}: session setup failed: {}", peer_, step.status().ToString());
    {
      MutexLock lock(&session->mu);
      session->acceptor.reset();
    }
    forget();
    return refused(step.status());
  }
  Reply reply;
  if (!step->done) {
    reply.status = wire::kStatusMoreProcessingRequired;
    wire::EncodeSessionSetupResponse(0, step->output, reply.body);
    return reply;
  }
  const auth::Authenticated& who = *step->result;
  core::Caller caller;
  caller.client_address = peer_;
  uint16_t flags = 0;
  bool guest = false;
  Result<core::UserRecord> user = UserOf(who);
  if (who.anonymous ||
      (!user.ok() && user.status().code() == Errc::kNotFound && guests && IsGuestName(who.user))) {
    // Anonymous, or the Guest account: admitted only when some share takes guests; they run
    // as each share's anonymous identity (anon_uid/anon_gid).
    if (!guests) {
      forget();
      return Fail(wire::kStatusLogonFailure);
    }
    caller.auth = core::AuthMethod::kNone;
    flags = who.anonymous ? wire::kSessionIsNull : wire::kSessionIsGuest;
    guest = true;
  } else {
    Result<core::Principal> principal =
        user.ok() ? user->LogOn(MethodOf(who)) : Result<core::Principal>(user.status());
    if (!principal.ok()) {
      LOG_INFO("smb {}: logon of {} refused: {}", peer_, who.user, principal.status().ToString());
      forget();
      return Fail(principal.status().code() == Errc::kAccess ? wire::kStatusAccountDisabled
                                                             : wire::kStatusLogonFailure);
    }
    static_cast<core::Principal&>(caller) = *principal;
    if (throttle != nullptr) throttle->RecordSuccess(who.user, peer_, now);
  }
  const bool encrypt = server_.options.encrypt && !guest;
  if (encrypt && dialect < wire::kSmb300) {
    forget();
    return Fail(wire::kStatusAccessDenied);
  }
  bool first = false;
  {
    MutexLock lock(&session->mu);
    session->caller = caller;
    session->guest = guest;
    session->acceptor.reset();
    first = !session->valid.load();
    if (!session->valid.load()) {
      // First authentication: the keys (§3.3.5.5.3). Re-authentication keeps them.
      if (!guest) {
        const ByteView key = KeyOf(who);
        session->keys = crypto::DeriveKeys(
            dialect, key, session->preauth.value(),
            cipher == crypto::Cipher::kNone ? crypto::Cipher::kAes128Ccm : cipher);
        session->signing_required =
            server_.options.require_signing || (req->security_mode & wire::kSigningRequired);
        session->encrypt = encrypt && cipher != crypto::Cipher::kNone;
        if (cipher != crypto::Cipher::kNone)
          session->encryptor.emplace(cipher, session->keys.encrypt);
      }
      session->dialect = dialect;
      session->signing_alg = signing_alg;
      session->cipher = cipher;
      session->client_guid = client_guid;
      session->channels.push_back({this, stream_.weak_from_this()});
      session->state = Session::State::kValid;
      session->valid.store(true);
    }
  }
  if (first && req->previous_session_id != 0 && req->previous_session_id != session->id && !guest) {
    EndPreviousSession(req->previous_session_id, caller.uid);
  }
  if (session->encrypt) flags |= wire::kSessionEncrypt;
  LOG_DEBUG("smb {}: session {:x} for {}", peer_, session->id, guest ? "guest" : who.user);
  wire::EncodeSessionSetupResponse(flags, step->output, reply.body);
  return reply;
}

Result<core::UserRecord> Connection::UserOf(const auth::Authenticated& who) const {
  if (who.anonymous) return Status(Errc::kNotFound, "anonymous");
  // A Kerberos principal names its user as NFS's do (FindKerberosUser: "alice@REALM" is alice
  // in the realms taken); a principal with an instance (host/x@REALM) is nobody's.
  if (!who.principal.empty()) return server_.env.users->FindKerberosUser(who.principal);
  return server_.env.users->FindWindowsUser(who.user);
}

core::AuthMethod Connection::MethodOf(const auth::Authenticated& who) {
  return who.principal.empty() ? core::AuthMethod::kNtlm : core::AuthMethod::kKerberos;
}

bool Connection::GuestsWelcome() {
  if (server_.options.allow_guest) return true;
  for (const std::shared_ptr<core::Share>& share : server_.env.shares->All()) {
    std::shared_ptr<core::Vfs> vfs = share->vfs();
    if (vfs && vfs->options().smb.guest_ok) return true;
  }
  return false;
}

Reply Connection::LogonFailure(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) return Fail(wire::kStatusLogonFailure);
  auto wait = std::make_shared<Wait>();
  Timer* timer = &server_.timer;
  wait->start = [timer, delay](std::function<void(Status)> resume) -> std::function<bool()> {
    const Timer::Id id = timer->After(delay, [resume] { resume(Status::Ok()); });
    return [timer, id, resume] {
      if (!timer->Cancel(id)) return false;  // ran already: its answer is on its way
      resume(Status(Errc::kBusy));
      return true;
    };
  };
  // Cancelled or not, the logon failed.
  wait->finish = [](Status) { return Fail(wire::kStatusLogonFailure); };
  Reply reply;
  reply.wait = std::move(wait);
  return reply;
}

void Connection::EndPreviousSession(uint64_t id, uint32_t uid) {
  // MS-SMB2 3.3.5.5.3: a client that lost its connection names the session it had there; when
  // it was the same user's, that session ends as by a LOGOFF (its opens close, and their
  // waiting CHANGE_NOTIFYs are answered STATUS_NOTIFY_CLEANUP).
  std::shared_ptr<Session> previous = FindSessionAnywhere(id);
  if (!previous) return;
  {
    MutexLock lock(&previous->mu);
    if (!previous->valid.load() || previous->caller.uid != uid) return;
  }
  LOG_DEBUG("smb {}: session {:x} ends: its client reconnected", peer_, id);
  previous->valid.store(false);
  EndSession(previous, /*lost=*/true);  // its durable opens wait for this client
}

std::shared_ptr<Session> Connection::FindSessionAnywhere(uint64_t id) {
  MutexLock all(&server_.connections_mu);
  for (Connection* c : server_.connections) {
    MutexLock lock(&c->mu_);
    auto it = c->sessions_.find(id);
    if (it != c->sessions_.end()) return it->second;
  }
  return nullptr;
}

std::shared_ptr<Session> Connection::SignerElsewhere(const Exchange& x) {
  if (!x.header.is_signed() || x.header.session_id == 0 || x.encrypted) return nullptr;
  std::shared_ptr<Session> session = FindSessionAnywhere(x.header.session_id);
  if (!session || !session->valid.load() || session->keys.signing.empty() ||
      !crypto::Verify(session->signing_alg, session->keys.signing, x.message)) {
    return nullptr;
  }
  return session;
}

void Connection::EndSession(const std::shared_ptr<Session>& session, bool lost) {
  std::vector<Channel> channels;
  {
    MutexLock lock(&session->mu);
    channels.swap(session->channels);
  }
  {
    // This connection keeps the channel's key until it closes: a LOGOFF's answer is signed
    // with it.
    MutexLock lock(&mu_);
    sessions_.erase(session->id);
  }
  for (const Channel& channel : channels) {
    if (channel.connection == this) continue;
    std::shared_ptr<net::StreamConnection> alive = channel.stream.lock();
    if (!alive) continue;  // closing: its OnClose took the session already
    MutexLock lock(&channel.connection->mu_);
    channel.connection->sessions_.erase(session->id);
    channel.connection->channel_keys_.erase(session->id);
  }
  CloseSession(*session, lost);
}

Reply Connection::BindSession(Exchange& x, const wire::SessionSetupRequest& req,
                              const auth::NtHashLookup& lookup,
                              const std::function<Reply(const Status&)>& failed) {
  const uint64_t id = x.header.session_id;
  uint16_t dialect;
  crypto::Cipher cipher;
  std::array<std::byte, 16> client_guid;
  std::shared_ptr<Session> session;
  std::shared_ptr<auth::Acceptor> acceptor;
  {
    MutexLock lock(&mu_);
    dialect = dialect_;
    cipher = cipher_;
    client_guid = client_guid_;
    // A session bound here already is no binding (its re-authentication carries no flag).
    if (sessions_.count(id) != 0) return Fail(wire::kStatusRequestNotAccepted);
    auto it = bindings_.find(id);
    if (it != bindings_.end()) {
      session = it->second.session;
      acceptor = it->second.acceptor;
    }
  }
  const auto drop = [&] {
    MutexLock lock(&mu_);
    bindings_.erase(id);
  };
  if (!session) {
    // §3.3.5.5 step 4: the session, from any connection (GlobalSessionTable).
    session = FindSessionAnywhere(id);
    if (!session) return Fail(wire::kStatusUserSessionDeleted);
    if (!x.header.is_signed()) return Fail(wire::kStatusInvalidParameter);
    // A session still authenticating, or a guest's, has no key to verify the request with.
    if (!session->valid.load()) return Fail(wire::kStatusRequestNotAccepted);
    {
      MutexLock lock(&session->mu);
      if (session->guest) return Fail(wire::kStatusNotSupported);
    }
    // §3.3.5.2.4: a binding request is signed with Session.SigningKey.
    if (!crypto::Verify(session->signing_alg, session->keys.signing, x.message)) {
      return Fail(wire::kStatusAccessDenied);
    }
    x.session = session;  // the answers are signed from now on (§3.3.4.1.1)
    if (session->dialect != dialect) return Fail(wire::kStatusInvalidParameter);
    {
      // Windows' limit (MS-SMB2 <product behavior>: 32 channels a session), which clients
      // expect.
      MutexLock lock(&session->mu);
      if (session->channels.size() >= kMaxChannelsPerSession) {
        return Fail(wire::kStatusInsufficientResources);
      }
    }
    // The channels of a session are one client's (its leases are keyed by ClientGuid), and
    // decrypt with its cipher.
    if (session->client_guid != client_guid) return Fail(wire::kStatusUserSessionDeleted);
    if (session->cipher != cipher) return Fail(wire::kStatusInvalidParameter);
    auth::ServerNames names;
    names.netbios_computer = server_.options.netbios_name;
    names.netbios_domain = server_.options.domain;
    acceptor = std::make_shared<auth::Acceptor>(names, server_.options.mechanisms);
    MutexLock lock(&mu_);
    Binding& b = bindings_[id];
    b.session = session;
    b.acceptor = acceptor;
    b.preauth = preauth_;  // 3.1.1: the binding's hash starts from the connection's
  } else {
    if (!x.header.is_signed() ||
        !crypto::Verify(session->signing_alg, session->keys.signing, x.message)) {
      drop();
      return Fail(wire::kStatusAccessDenied);
    }
    x.session = session;
  }
  x.binding = true;
  if (dialect == wire::kSmb311) {
    MutexLock lock(&mu_);
    auto it = bindings_.find(id);
    if (it != bindings_.end()) it->second.preauth.Update(x.message);
  }
  Result<auth::Acceptor::Step> step = acceptor->Accept(req.security_buffer, lookup);
  if (!step.ok()) {
    LOG_INFO("smb {}: binding of session {:x} failed: {}", peer_, id, step.status().ToString());
    drop();
    return failed(step.status());
  }
  Reply reply;
  if (!step->done) {
    reply.status = wire::kStatusMoreProcessingRequired;
    wire::EncodeSessionSetupResponse(0, step->output, reply.body);
    return reply;
  }
  crypto::PreauthHash preauth;
  {
    MutexLock lock(&mu_);
    auto it = bindings_.find(id);
    if (it != bindings_.end()) preauth = it->second.preauth;
    bindings_.erase(id);
  }
  // §3.3.5.5.3: the channel is the session's only when the client authenticated as its user.
  const auth::Authenticated& who = *step->result;
  Result<core::UserRecord> user = UserOf(who);
  Result<core::Principal> principal =
      user.ok() ? user->LogOn(MethodOf(who)) : Result<core::Principal>(user.status());
  bool same;
  {
    MutexLock lock(&session->mu);
    same = principal.ok() && principal->uid == session->caller.uid;
  }
  if (!same) {
    LOG_INFO("smb {}: binding of session {:x} refused: another user", peer_, id);
    return Fail(wire::kStatusAccessDenied);
  }
  // Channel.SigningKey: derived as the session's keys, from this authentication's session key
  // (and, for 3.1.1, the binding's preauth hash).
  const ByteView key = KeyOf(who);
  Bytes signing =
      crypto::DeriveKeys(dialect, key, preauth.value(),
                         cipher == crypto::Cipher::kNone ? crypto::Cipher::kAes128Ccm : cipher)
          .signing;
  {
    MutexLock lock(&mu_);
    if (closed_) return Fail(wire::kStatusUserSessionDeleted);
    MutexLock session_lock(&session->mu);
    if (!session->valid.load() || session->channels.empty()) {
      return Fail(wire::kStatusUserSessionDeleted);  // it ended meanwhile
    }
    sessions_[id] = session;
    channel_keys_[id] = std::move(signing);
    session->channels.push_back({this, stream_.weak_from_this()});
  }
  LOG_DEBUG("smb {}: session {:x} bound for {}", peer_, id, who.user);
  wire::EncodeSessionSetupResponse(session->encrypt ? wire::kSessionEncrypt : 0, step->output,
                                   reply.body);
  return reply;
}

Reply Connection::Logoff(Exchange& x) {
  if (!wire::DecodeEmpty(x.message).ok()) return Fail(wire::kStatusInvalidParameter);
  // The session ends on every channel. Durable opens outlive a LOGOFF too: the client may
  // reconnect them from a new session (smb2.durable-open.reopen4).
  EndSession(x.session, /*lost=*/true);
  Reply reply;
  wire::EncodeEmptyResponse(reply.body);
  return reply;
}

Reply Connection::TreeConnect(Exchange& x) {
  Result<wire::TreeConnectRequest> req = wire::DecodeTreeConnect(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  // "\\server\share": the share is what follows the last backslash.
  const std::string& path = req->path;
  const size_t slash = path.find_last_of('\\');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || path.size() < 3 || path.compare(0, 2, "\\\\") != 0) {
    return Fail(wire::kStatusBadNetworkName);
  }
  auto tree = std::make_shared<Tree>();
  tree->name = name;
  const core::Caller caller = CallerOf(*x.session);
  bool guest;
  {
    MutexLock lock(&x.session->mu);
    guest = x.session->guest;
  }
  uint16_t dialect;
  crypto::Cipher cipher;
  {
    MutexLock lock(&mu_);
    dialect = dialect_;
    cipher = cipher_;
  }
  if (dialect == wire::kSmb311 && !guest && !x.header.is_signed() && !x.encrypted) {
    // MS-SMB2 3.3.5.7: a 3.1.1 session that is neither guest nor anonymous signs (or
    // encrypts) its TREE_CONNECT; one that does not is cut off. Not under mu_: Close runs
    // OnClose.
    LOG_INFO("smb {}: an unsigned 3.1.1 tree connect: closing", peer_);
    stream_.Close();
    Reply r;
    r.none = true;
    return r;
  }
  if (FoldCase(name) == FoldCase("IPC$")) {
    tree->ipc = true;  // guests too: listing the shares needs it
  } else {
    const std::string folded = FoldCase(name);
    std::shared_ptr<core::Share> found;
    for (const std::shared_ptr<core::Share>& share : server_.env.shares->All()) {
      std::string_view n = share->name();
      while (!n.empty() && n.front() == '/') n.remove_prefix(1);
      if (FoldCase(n) == folded) {
        found = share;
        break;
      }
    }
    if (!found) return Fail(wire::kStatusBadNetworkName);
    Result<core::ShareUse> use = UseShare(server_, found->id());
    if (!use.ok()) {
      return Fail(use.status().code() == Errc::kUnavailable ? wire::kStatusInsufficientResources
                                                            : wire::kStatusBadNetworkName);
    }
    const core::SmbShareOptions& smb = use->vfs().options().smb;
    // Guests and anonymous sessions only where the share (or the server, for every share)
    // takes them.
    if (guest && !smb.guest_ok && !server_.options.allow_guest) {
      LOG_INFO("smb {}: guest tree connect to {} refused: the share takes no guests", peer_, name);
      return Fail(wire::kStatusAccessDenied);
    }
    if (!use->vfs().CheckMount(caller).ok()) return Fail(wire::kStatusAccessDenied);
    if (smb.encrypt && !x.session->encrypt) {
      // MS-SMB2 3.3.5.7 and 3.3.5.2.11: Share.EncryptData with RejectUnencryptedAccess (we
      // have no unencrypted access): a 2.x session, a connection without a cipher in common,
      // or a session without keys (guest, anonymous) cannot use the share.
      if (dialect < wire::kSmb300 || cipher == crypto::Cipher::kNone || guest ||
          !x.session->encryptor) {
        LOG_INFO("smb {}: tree connect to {} refused: the share needs encryption", peer_, name);
        return Fail(wire::kStatusAccessDenied);
      }
      tree->encrypt = true;
    }
    if (smb.require_signing) {
      // The share requires signing: what cannot sign (guests) does not connect, and the tree
      // connect itself must come signed (or encrypted) as every later request on the tree.
      if (guest || x.session->keys.signing.empty() || (!x.header.is_signed() && !x.encrypted)) {
        LOG_INFO("smb {}: tree connect to {} refused: the share needs signing", peer_, name);
        return Fail(wire::kStatusAccessDenied);
      }
      tree->require_signing = true;
    }
    tree->share = found->id();
    tree->writable = use->vfs().CheckChange(caller).ok();
    tree->access_based_enumeration = smb.access_based_enumeration;
    tree->continuously_available = smb.continuously_available;
  }
  tree->encrypt = tree->encrypt || x.session->encrypt;
  {
    MutexLock lock(&x.session->mu);
    if (x.session->trees.size() >= kMaxTreesPerSession) {
      return Fail(wire::kStatusInsufficientResources);
    }
    tree->id = x.session->next_tree++;
    x.session->trees[tree->id] = tree;
  }
  x.tree = tree;
  Reply reply;
  const uint32_t maximal = tree->ipc        ? 0x001F01FF
                           : tree->writable ? wire::kFileAllAccess
                                            : 0x001200A9;  // read, execute, attributes, control
  wire::EncodeTreeConnectResponse(
      tree->ipc ? wire::kShareTypePipe : wire::kShareTypeDisk,
      (tree->encrypt ? wire::kShareFlagEncrypt : 0) |
          (tree->access_based_enumeration ? wire::kShareFlagAccessBasedDirectoryEnum : 0),
      tree->continuously_available ? wire::kShareCapContinuousAvailability : 0, maximal,
      reply.body);
  return reply;
}

Reply Connection::TreeDisconnect(Exchange& x) {
  if (!wire::DecodeEmpty(x.message).ok()) return Fail(wire::kStatusInvalidParameter);
  std::vector<std::shared_ptr<Open>> closing;
  {
    MutexLock lock(&x.session->mu);
    x.session->trees.erase(x.tree->id);
    for (auto it = x.session->opens.begin(); it != x.session->opens.end();) {
      if (it->second->tree == x.tree) {
        closing.push_back(it->second);
        it = x.session->opens.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& open : closing) CloseOpen(*x.session, *open);
  Reply reply;
  wire::EncodeEmptyResponse(reply.body);
  return reply;
}

Reply Connection::Ioctl(Exchange& x) {
  Result<wire::IoctlRequest> req = wire::DecodeIoctl(x.message);
  if (!req.ok()) return Fail(wire::kStatusInvalidParameter);
  if (!(req->flags & wire::kIoctlIsFsctl)) return Fail(wire::kStatusNotSupported);
  // §3.3.5.15: the controls of the server, not of a file, carry a FileId of all ones.
  if ((req->ctl_code == wire::kFsctlDfsGetReferrals ||
       req->ctl_code == wire::kFsctlQueryNetworkInterfaceInfo ||
       req->ctl_code == wire::kFsctlValidateNegotiateInfo) &&
      !req->handle.is_related_placeholder()) {
    return Fail(wire::kStatusInvalidParameter);
  }
  Reply reply;
  Bytes output;
  switch (req->ctl_code) {
    case wire::kFsctlValidateNegotiateInfo: {
      // §3.3.5.15.12: what the client says it negotiated must be what we saw, else the
      // connection was tampered with and is closed.
      wire::LeReader r(req->input);
      const uint32_t caps = r.U32();
      ByteView guid = r.Bytes(16);
      const uint16_t mode = r.U16();
      const uint16_t count = r.U16();
      std::vector<uint16_t> dialects;
      for (uint16_t i = 0; i < count && r.ok(); ++i) dialects.push_back(r.U16());
      if (!r.ok()) return Fail(wire::kStatusInvalidParameter);
      uint16_t dialect;
      bool same;
      {
        MutexLock lock(&mu_);
        dialect = dialect_;
        same = caps == client_capabilities_ && mode == client_security_mode_ &&
               std::memcmp(guid.data(), client_guid_.data(), 16) == 0;
      }
      if (!same || dialect == wire::kSmb311) {
        stream_.Close();  // not under mu_: Close runs OnClose, which takes it
        reply.none = true;
        return reply;
      }
      wire::LeWriter w(output);
      // caps: the client's, as negotiated
      w.U32(ServerCapabilities(dialect, caps, server_.options.multichannel));
      w.Bytes(server_.server_guid);
      w.U16(wire::kSigningEnabled | (server_.options.require_signing ? wire::kSigningRequired : 0));
      w.U16(dialect);
      break;
    }
    case wire::kFsctlPipeTransceive: {
      Result<std::shared_ptr<Open>> open = FindOpen(x, req->handle);
      if (!open.ok()) return Fail(wire::kStatusFileClosed);
      if (!(*open)->pipe) return Fail(wire::kStatusInvalidDeviceRequest);
      MutexLock lock(&(*open)->mu);
      if (!(*open)->pipe->Write(req->input).ok()) return Fail(wire::kStatusInvalidParameter);
      bool more = false;
      output = (*open)->pipe->Read(req->max_output_response, &more);
      if (more) reply.status = wire::kStatusBufferOverflow;
      break;
    }
    case wire::kFsctlDfsGetReferrals:
      return Fail(kStatusFsDriverRequired);
    case wire::kFsctlQueryNetworkInterfaceInfo:
      // §3.3.5.15.11: the interfaces a multichannel client may add channels over (answered
      // with multichannel off too: clients only list them then). Its FileId is all ones and
      // names no open, so it must not fall to the lookup below (STATUS_FILE_CLOSED made the
      // Linux client log "error -9 on ioctl to get interface list" at every mount).
      if (dialect() < wire::kSmb300) return Fail(wire::kStatusNotSupported);
      output = NetworkInterfaces(server_.options.stream.bind_address);
      break;
    default: {
      // The file system controls on an open file (files.cc).
      Result<std::shared_ptr<Open>> open = FindOpen(x, req->handle);
      if (!open.ok()) return Fail(OpenLookupStatus(open.status()));
      return FileControl(x, **open, *req);
    }
  }
  if (output.size() > req->max_output_response) return Fail(wire::kStatusBufferTooSmall);
  wire::EncodeIoctlResponse(req->ctl_code, req->handle, output, reply.body);
  return reply;
}

}  // namespace dittofs::smb
