// SPDX-License-Identifier: Apache-2.0
#pragma once

// The SMB adapter's connection, session, tree-connect and open state (MS-SMB2 §3.3.1), shared
// by its files. Not part of the adapter's interface.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "core/identity.h"
#include "core/shares.h"
#include "core/types.h"
#include "core/vfs.h"
#include "net/stream/stream_server.h"
#include "smb/auth/acceptor.h"
#include "smb/crypto/crypto.h"
#include "smb/rpc/pipe.h"
#include "smb/server/smb_server.h"
#include "smb/server/streams.h"
#include "smb/wire/messages.h"
#include "smb/wire/smb2.h"

namespace dittofs::smb {

using Bytes = std::vector<std::byte>;

struct Tree {
  uint32_t id = 0;
  core::ShareId share = 0;
  std::string name;  // as the client named it, without the server
  bool ipc = false;
  bool writable = false;  // the caller may change the share
  // TreeConnect.EncryptData (MS-SMB2 3.3.5.7): every request on the tree arrives encrypted.
  bool encrypt = false;
  // The share's access-based enumeration (SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM).
  bool access_based_enumeration = false;
  // The share is continuously available (SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY): its opens may
  // be persistent handles.
  bool continuously_available = false;
  // The share requires signing: every request on the tree arrives signed (or encrypted), and
  // every response is signed.
  bool require_signing = false;
  // A POSIX tree ([POSIX-SMB2]): the connection negotiated the POSIX extensions and a CREATE on
  // this tree carried the POSIX create context. Names then match case-sensitively and may hold
  // any character but '\\' and NUL.
  std::atomic<bool> posix{false};
};

// One directory enumeration's position (QUERY_DIRECTORY).
struct Enumeration {
  bool started = false;
  bool done = false;
  std::string pattern;
  uint64_t cookie = 0;                      // the runtime's position after the entries fetched
  int dots = 0;                             // "." and ".." given so far
  std::vector<core::DirListEntry> pending;  // fetched, not yet returned
};

using LeaseKey = std::array<std::byte, 16>;

// A lease (MS-SMB2 §3.3.1.12): one client's (ClientGuid's) caching of one file under one key,
// shared by every open the client makes with that key. Its grant lives in the share's
// LeaseTable; this is what SMB adds (key, epochs, the opens using it).
struct Lease {
  uint64_t holder = 0;  // the LeaseTable holder: unique to this (client, key)
  core::ShareId share = 0;
  uint64_t file = 0;  // the inode the key is bound to
  LeaseKey key{};
  bool v2 = false;
  LeaseKey parent{};
  bool has_parent = false;
  // Guarded by ServerContext::leases_mu.
  core::LeaseTable::GrantId grant = 0;
  uint8_t state = 0;        // what the client may cache now
  uint8_t breaking_to = 0;  // while breaking (acknowledgement awaited)
  bool breaking = false;
  uint16_t epoch = 0;  // SMB's lease epoch (v2)
  int opens = 0;
  std::weak_ptr<net::StreamConnection> connection;  // where its breaks go
  class Connection* handler = nullptr;              // valid while `connection` is
  std::weak_ptr<struct Session> session;
  // Its client's connection was lost and its durable opens wait for a reconnect (durable.h):
  // a break cannot be answered, and scavenges them instead.
  bool disconnected = false;
};

inline constexpr size_t kLockSequences = 64;
inline constexpr uint8_t kNoLockSequence = 0xFF;
inline std::array<uint8_t, kLockSequences> NoLockSequences() {
  std::array<uint8_t, kLockSequences> none;
  none.fill(kNoLockSequence);
  return none;
}

struct Open {
  uint64_t id = 0;  // FileId.Persistent and FileId.Volatile alike
  std::shared_ptr<Tree> tree;
  core::FileId file;
  core::OpenTable::OpenId state_open = 0;  // 0 for pipes
  uint32_t access = 0;                     // granted
  uint32_t share_access = 0;               // the share modes it was opened with
  bool directory = false;
  bool delete_on_close = false;  // FILE_DELETE_ON_CLOSE
  core::OpenContext via;
  // The open's caching: an oplock (its own grant; `oplock` the level granted) or a lease.
  core::LeaseTable::GrantId grant = 0;
  uint8_t oplock = 0;
  std::shared_ptr<Lease> lease;
  std::unique_ptr<rpc::RpcPipe> pipe;  // a pipe of IPC$: srvsvc or lsarpc
  // An open of a named stream of `file` (docs/streams.md): reads, writes and size changes go
  // to the stream (`stream->name`); `stream_open` is its open in ServerContext::streams.
  // Null for the default data stream. Set at CREATE, never changed.
  std::shared_ptr<StreamNode> stream;
  core::OpenTable::OpenId stream_open = 0;
  // Set by CloseOpen before it releases the open's locks: a LOCK that raced with the close
  // sees it once it holds its ranges, and gives them back.
  std::atomic<bool> closed{false};
  // Written to, or its size set: its close tells the directory's leases that the entry's
  // listed size and times changed (as Windows breaks the parent's lease on that close).
  std::atomic<bool> modified{false};

  Mutex mu;
  core::FileId parent GUARDED_BY(mu);  // where its name is, for renames and delete on close
  std::string leaf GUARDED_BY(mu);
  std::string path GUARDED_BY(mu);  // from the share root, '\'-separated, no leading '\'
  Enumeration enumeration GUARDED_BY(mu);
  uint64_t position GUARDED_BY(mu) = 0;  // FilePositionInformation
  size_t next_ea GUARDED_BY(mu) = 0;     // Open.NextEaEntry (MS-FSA 2.1.5.12.12)
  size_t next_quota GUARDED_BY(mu) = 0;  // where a quota enumeration goes on (MS-FSA 2.1.5.21)
  // MS-FSA 2.1.5.14.2: once a client sets the change time through this open, later changes
  // through it leave that time as set (Open.UserSetChangeTime).
  bool user_set_change_time GUARDED_BY(mu) = false;
  // POSIX unlink semantics (an open of a POSIX tree that asked for deletion): its name goes
  // when this open closes, even while others are open (they keep the file, as an orphan).
  bool posix_delete GUARDED_BY(mu) = false;
  // A durable handle (durable.h): when its connection is lost, the open waits (for
  // `durable_timeout_ms`) for its client to reconnect it, instead of closing. Set at its CREATE.
  bool durable = false;
  bool durable_v2 = false;  // DH2Q: reconnected by CreateGuid too
  // A persistent handle (persistent.h): a durable open of a continuously available share whose
  // state is kept in the server's state store, from its CREATE to its close, and comes back
  // after a restart. Set at its CREATE.
  bool persistent = false;
  uint32_t durable_timeout_ms = 0;
  std::array<std::byte, 16> create_guid{};  // DH2Q's (whether durability was granted or not)
  // Open.IsReplayEligible (MS-SMB2 3.3.5.9.10): a durable v2 open that no request but a CREATE
  // replay has used yet; a replay of its CREATE (same ClientGuid and CreateGuid) gets it back.
  std::atomic<bool> replay_eligible{false};
  uint32_t create_action = 0;  // what its CREATE answered (opened, created, overwritten...)
  // SMB2_CREATE_APP_INSTANCE_ID (MS-SMB2 3.3.5.9.13): a later open of the same file by the same
  // application instance from another client closes this one. All zeros: none.
  std::array<std::byte, 16> app_instance{};
  // Open.ChannelSequence (MS-SMB2 3.3.5.2.10): the newest ChannelSequence of a request on it.
  uint16_t channel_sequence GUARDED_BY(mu) = 0;
  // Where the breaks of its oplock go (the connection and session it is reached through),
  // moved to the reconnecting connection when a durable open is reconnected.
  std::shared_ptr<struct BreakTarget> break_target;
  // The LOCK sequence numbers (4 bits) of its last successful LOCK at each LockSequenceIndex
  // 1 to 64 (MS-SMB2 3.3.5.14); kNoLockSequence where none is valid.
  std::array<uint8_t, kLockSequences> lock_sequence GUARDED_BY(mu) = NoLockSequences();
  // Its CHANGE_NOTIFY watch (notify.h), from the first request to the close.
  std::shared_ptr<class NotifyWatch> notify GUARDED_BY(mu);
};

// A connection a session is bound to (MS-SMB2 3.3.1.14, Channel): the one it was set up on,
// and each one a binding SESSION_SETUP added (multichannel). Its signing key is kept by the
// connection (Connection::channel_keys_).
struct Channel {
  class Connection* connection = nullptr;  // valid while `stream` is
  std::weak_ptr<net::StreamConnection> stream;
};

struct Session {
  uint64_t id = 0;
  Mutex mu;
  // The connections it is bound to, the first where it was set up; empty until the session is
  // valid. The session ends when its last channel goes (or by a LOGOFF on any).
  std::vector<Channel> channels GUARDED_BY(mu);
  enum class State { kInProgress, kValid } state GUARDED_BY(mu) = State::kInProgress;
  std::unique_ptr<auth::Acceptor> acceptor GUARDED_BY(mu);
  crypto::PreauthHash preauth GUARDED_BY(mu);  // 3.1.1
  core::Caller caller GUARDED_BY(mu);
  bool guest GUARDED_BY(mu) = false;
  // Set once the session is valid; read without the mutex afterwards (never changed while
  // valid, except by re-authentication, which keeps the keys).
  std::atomic<bool> valid{false};
  bool signing_required = false;
  bool encrypt = false;
  // Session.Connection's dialect, signing algorithm and cipher (a channel must have the same
  // dialect and cipher; a binding request is verified with the session's key and algorithm).
  uint16_t dialect = 0;
  crypto::SigningAlgorithm signing_alg = crypto::SigningAlgorithm::kHmacSha256;
  crypto::Cipher cipher = crypto::Cipher::kNone;
  std::array<std::byte, 16> client_guid{};  // Session.Connection.ClientGuid
  crypto::SessionKeys keys;
  std::optional<crypto::Encryptor> encryptor;
  std::map<uint32_t, std::shared_ptr<Tree>> trees GUARDED_BY(mu);
  uint32_t next_tree GUARDED_BY(mu) = 1;
  std::map<uint64_t, std::shared_ptr<Open>> opens GUARDED_BY(mu);
};

// What `caller` may do to the object (`writable`: whether the tree lets it change anything):
// MAXIMUM_ALLOWED's answer, MxAc's, and Apple's directory attributes' (files.cc).
uint32_t MaximalAccess(core::Vfs& vfs, const core::Caller& caller, const core::Attr& attr,
                       bool writable);
// The answer to a CREATE's MxAc context (MS-SMB2 2.2.14.2.5): success, and `maximal`.
Bytes MaximalAccessContext(uint32_t maximal);

// Named streams and EAs (docs/streams.md).
// Writes `data` at `offset` of the stream `open` is of (`data` set), or gives the stream the
// size `size`; the NTSTATUS: STATUS_DISK_FULL past kMaxXattrValue (files.cc).
uint32_t ChangeStream(core::Vfs& vfs, const core::Caller& caller, Open& open, uint64_t offset,
                      const ByteView* data, uint64_t size);
// Closes the stream open of `open`; the stream goes when that was its last open and it was
// marked for deletion (streams.cc).
void CloseStreamOpen(StreamTable& streams, core::Vfs& vfs, const core::Caller& caller, Open& open);
// Removes the named streams of `file` that have no opens (an overwrite of the file).
Status RemoveStreams(core::Vfs& vfs, const core::Caller& caller, StreamTable& streams,
                     uint64_t share, core::FileId file);
// The NTSTATUS for a failure of SetEas: STATUS_INVALID_EA_NAME, STATUS_EA_TOO_LARGE for a value
// or a count past the runtime's bounds.
uint32_t EaStatus(const Status& s);

}  // namespace dittofs::smb
