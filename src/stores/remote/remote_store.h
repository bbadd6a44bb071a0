// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::stores {

// Keys longer than this are rejected with Errc::kInvalid.
inline constexpr size_t kMaxRemoteKeySize = 512;

// One object found by RemoteStore::List.
struct ObjectInfo {
  std::string key;
  uint64_t size = 0;

  friend bool operator==(const ObjectInfo&, const ObjectInfo&) = default;
};

// A RemoteStore keeps immutable objects under string keys on a durable remote (an object store,
// a directory); content-addressed chunks end up here. An object is replaced only as a whole.
//
// Keys are printable ASCII (0x21..0x7e), at most kMaxRemoteKeySize bytes, made of non-empty
// components separated by single '/': no leading or trailing '/', no "." or ".." component
// (see ValidateRemoteKey). Every backend rejects other keys with Errc::kInvalid, so a key that
// works on one backend works on all of them.
// All methods are safe to call concurrently from any thread.
class RemoteStore {
 public:
  virtual ~RemoteStore() = default;

  // Stores `data` under `key`, replacing any object there; durable on return.
  virtual Status Put(std::string_view key, ByteView data) = 0;
  // `length` bytes from `offset` (to the end when `length` is nullopt); Errc::kNotFound when
  // there is no such object. A range past the end returns what exists (possibly nothing).
  virtual Result<Buffer> Get(std::string_view key, uint64_t offset = 0,
                             std::optional<uint64_t> length = std::nullopt) = 0;
  // Deleting an absent object succeeds.
  virtual Status Delete(std::string_view key) = 0;
  // Every object whose key starts with `prefix` (any string, not only whole components), in
  // byte order of the keys.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;
  // Requests sent again after a failed one (a timeout, a refused connection, HTTP 429 or 5xx)
  // since the store was opened; 0 for a backend that does not retry.
  virtual uint64_t Retries() const { return 0; }
};

// Ok when `key` is a valid RemoteStore key (see RemoteStore), else Errc::kInvalid saying why.
inline Status ValidateRemoteKey(std::string_view key) {
  if (key.empty()) return Status(Errc::kInvalid, "remote key is empty");
  if (key.size() > kMaxRemoteKeySize) {
    return Status(Errc::kInvalid, "remote key longer than 512 bytes");
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return Status(Errc::kInvalid,
                    "remote key " + std::string(key.substr(0, 64)) + ": not printable ASCII");
    }
  }
  size_t start = 0;
  for (;;) {
    size_t slash = key.find('/', start);
    std::string_view component =
        key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (component.empty() || component == "." || component == "..") {
      return Status(Errc::kInvalid,
                    "remote key " + std::string(key) + ": empty, \".\" or \"..\" component");
    }
    if (slash == std::string_view::npos) return Status::Ok();
    start = slash + 1;
  }
}

}  // namespace dittofs::stores
