// SPDX-License-Identifier: Apache-2.0
#pragma once

// The checks of `dfs kerberos check`: whether a keytab makes a working Kerberos setup for a
// service (nfs for RPCSEC_GSS, cifs for SMB).

#include <string>
#include <vector>

namespace dittofs::gss {

struct KeytabReport {
  std::vector<std::string> principals;  // in the keytab, each once, in order
  std::vector<std::string> notes;       // what is fine, in plain words
  std::vector<std::string> problems;    // what stops clients, in plain words; empty: all good
};

// Reads `keytab`, lists its principals, looks for one for `service_principal` (or, when empty,
// for <service>/<hostname>), and acquires an acceptor credential from it as the server would.
KeytabReport CheckKeytab(const std::string& keytab, const std::string& service_principal,
                         const std::string& hostname, const std::string& service = "nfs");

}  // namespace dittofs::gss
