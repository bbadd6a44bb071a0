// SPDX-License-Identifier: Apache-2.0
#pragma once

// GSS-API (RFC 2743) with MIT Kerberos V5 (RFC 4121) on the accepting side, for every protocol
// that takes Kerberos: RPCSEC_GSS (rpc/gss) and SMB's SPNEGO (smb/auth).
//   * Keytab: the acceptor credential from a keytab file, reacquired when the file changes.
//   * Context: one security context, accepted from the client's tokens, then used for
//     checksums (MICs), wrapping and the session key.

#include <gssapi/gssapi.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/mutex.h"
#include "base/posix_io.h"
#include "base/result.h"

namespace dittofs::gss {

// A GSS-API status in words ("Unspecified GSS failure: Key table entry not found").
std::string ErrorText(uint32_t major, uint32_t minor);

// Owns a buffer the GSS library allocated.
struct Buffer {
  gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();
  ByteView view() const { return {static_cast<const std::byte*>(buf.value), buf.length}; }
};

// A view of `bytes` as a GSS buffer (the library does not write input buffers).
inline gss_buffer_desc In(ByteView bytes) {
  return {bytes.size(), const_cast<std::byte*>(bytes.data())};
}

// An acceptor credential.
class Credential {
 public:
  explicit Credential(gss_cred_id_t cred) : cred_(cred) {}
  Credential(const Credential&) = delete;
  Credential& operator=(const Credential&) = delete;
  ~Credential();
  gss_cred_id_t get() const { return cred_; }

 private:
  gss_cred_id_t cred_;
};

struct KeytabOptions {
  std::string keytab;             // the service's keys
  std::string service_principal;  // accept as this principal only; empty: any in the keytab
  std::chrono::seconds check_interval{5};  // how often the keytab's stamp is looked at
};

// The acceptor credential from a keytab, reacquired when the keytab's stamp changes (looked at
// no more often than check_interval). A bad new keytab keeps the credential read before.
// Thread-safe; the contexts accepting with a credential share it while a reload replaces it.
class Keytab {
 public:
  // Errc::kNotFound when the keytab is absent, Errc::kInvalid when no credential can be had
  // from it (unreadable, no key for service_principal).
  static Result<std::unique_ptr<Keytab>> Open(KeytabOptions options);

  std::shared_ptr<const Credential> Current();
  const KeytabOptions& options() const { return options_; }

 private:
  Keytab(KeytabOptions options, gss_cred_id_t cred, FileStamp stamp);

  const KeytabOptions options_;
  Mutex mu_;
  std::shared_ptr<const Credential> cred_ GUARDED_BY(mu_);
  FileStamp stamp_ GUARDED_BY(mu_);  // of the keytab cred_ was acquired from
  std::chrono::steady_clock::time_point last_check_ GUARDED_BY(mu_);
};

// One security context on the accepting side. Not thread-safe: its owner serialises calls.
class Context {
 public:
  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  // What one gss_accept_sec_context call gave.
  struct Step {
    uint32_t major = 0, minor = 0;  // GSS_ERROR(major): refused; the context is unusable
    std::vector<std::byte> output;  // the token for the client (may be present on errors too)
    bool complete = false;          // established: principal and lifetime are set
    std::string principal;          // the client's ("alice@REALM")
    uint32_t lifetime = 0;          // seconds it stays valid; GSS_C_INDEFINITE
  };
  // Takes the client's next token.
  Step Accept(const Credential& cred, ByteView token);

  // The session key (GSS_C_INQ_SSPI_SESSION_KEY: the acceptor subkey when there is one, else
  // the initiator's subkey or the ticket's key), for protocols that key themselves from it.
  Result<std::vector<std::byte>> SessionKey() const;

  // A checksum of `message` (gss_get_mic); Errc::kInternal when the library fails.
  Result<std::vector<std::byte>> GetMic(ByteView message) const;
  // gss_verify_mic's major status (GSS_S_COMPLETE when `mic` is `message`'s checksum).
  uint32_t VerifyMic(ByteView message, ByteView mic, uint32_t* minor) const;

  gss_ctx_id_t get() const { return ctx_; }

 private:
  gss_ctx_id_t ctx_ = GSS_C_NO_CONTEXT;
};

}  // namespace dittofs::gss
