// SPDX-License-Identifier: Apache-2.0
#pragma once

// The server state that must outlive the process: what lets clients take their state back
// after a restart. Opens, locks and leases themselves live in memory (core/state) and die with
// the process; what stays is who the clients were and what they may reclaim:
//
//   * NFSv4 client records (RFC 8881 §8.4.2.1, RFC 7530 §9.6.3.2): the clients that had state
//     before a restart may reclaim it during the grace period, others may not;
//   * NSM monitored hosts (the NLM side of NFSv3 locking): after a restart the server notifies
//     each of them (SM_NOTIFY) so that they reclaim their locks;
//   * SMB durable and persistent handles (MS-SMB2 3.3.5.9.7, 3.3.5.9.10): opens a client may
//     reconnect to after the server (or its connection) went away.
//
// One StateStore serves the whole server (client records are not per share). Each table maps
// byte-string keys to byte-string values, whose format the layer that owns the table chooses.
// Writes are durable when they return: state changes are rare (a client's first contact, its
// first lock, a durable open) and a reclaim must never find less than what was granted.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace dittofs::stores {

// The numbers are stored; never renumber them.
enum class StateTable : uint8_t {
  kClients = 1,         // NFSv4 clients, by client owner
  kNsmHosts = 2,        // hosts NSM monitors, by host name
  kDurableHandles = 3,  // SMB durable and persistent handles, by create GUID / file id
};

inline constexpr size_t kMaxStateKeySize = 1024;
inline constexpr size_t kMaxStateValueSize = 64 << 10;

struct StateEntry {
  std::string key;
  std::string value;
  friend bool operator==(const StateEntry&, const StateEntry&) = default;
};

// All methods are safe to call concurrently.
class StateStore {
 public:
  virtual ~StateStore() = default;

  // Sets `key` to `value` in `table`, durably. Errc::kInvalid when the key is empty or over
  // kMaxStateKeySize, Errc::kTooBig when the value is over kMaxStateValueSize.
  virtual Status Put(StateTable table, std::string_view key, std::string_view value) = 0;
  // Removes `key` durably; ok when it was absent.
  virtual Status Delete(StateTable table, std::string_view key) = 0;
  // Removes every one of `keys` durably, in one write where the backend can (one synced write,
  // one transaction) rather than one per key; ok for keys that were absent. All or none of
  // them are gone when it fails, on the backends that write once.
  virtual Status DeleteMany(StateTable table, const std::vector<std::string>& keys);
  // Errc::kNotFound when absent.
  virtual Result<std::string> Get(StateTable table, std::string_view key) = 0;
  // Every entry of `table`, in byte order of their keys (bytes compare unsigned).
  virtual Result<std::vector<StateEntry>> List(StateTable table) = 0;

  // The server's start count: each call returns a number larger than any returned before,
  // by this store or by an earlier open of it, durably (a crash never makes it repeat). It
  // feeds what a restart must change: the NFSv4 boot verifier and client id epoch, the NSM
  // state number.
  virtual Result<uint64_t> NextEpoch() = 0;
};

// Checks a Put's arguments against the limits above (for the backends).
Status CheckStateEntry(std::string_view key, std::string_view value);

// Forgets everything at exit: for tests and for memory-only servers.
std::unique_ptr<StateStore> NewMemoryStateStore();

}  // namespace dittofs::stores
