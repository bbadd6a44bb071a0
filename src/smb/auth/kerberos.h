// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kerberos V5 under SPNEGO for SMB2 (MS-SPNG, RFC 4121 through GSS-API): the Acceptor asks a
// KerberosContext to accept the client's AP-REQ; NewKerberosContext makes one that accepts
// with the keys of a gss::Keytab.

#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace dittofs::gss {
class Keytab;
}

namespace dittofs::smb::auth {

// One Kerberos security context being accepted. Not thread-safe.
class KerberosContext {
 public:
  virtual ~KerberosContext() = default;

  struct Step {
    bool done = false;              // false: the mechanism needs another token from the client
    std::vector<std::byte> output;  // the token for the client (an AP-REP when done)
  };
  // Takes the client's mechanism token (an InitialContextToken carrying an AP-REQ).
  // Errc::kAccess when the ticket is refused: not for us, expired, replayed, a skewed clock.
  virtual Result<Step> Accept(ByteView token) = 0;

  // Once done: the client's principal ("alice@REALM") and the session key.
  virtual const std::string& principal() const = 0;
  virtual Result<std::vector<std::byte>> SessionKey() const = 0;
  // The mechanism's checksums, for SPNEGO's mechListMIC.
  virtual Result<std::vector<std::byte>> GetMic(ByteView message) const = 0;
  virtual Status VerifyMic(ByteView message, ByteView mic) const = 0;
};

// A context accepting with `keytab`'s keys (the keytab outlives it).
std::unique_ptr<KerberosContext> NewKerberosContext(gss::Keytab& keytab);

}  // namespace dittofs::smb::auth
