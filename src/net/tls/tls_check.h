// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace dittofs::net {

// What `dfs tls check` finds in a server's certificate files.
struct TlsFilesReport {
  // Each problem in plain words ("key.pem does not match the certificate"); empty when fine.
  std::vector<std::string> problems;
  // One line about a good setup: the certificate's subject, names, expiry, the client CA.
  std::string summary;
};

// Looks at the certificate, its key and (when not empty) the CA that signs the clients'
// certificates: files missing or unreadable, PEM that does not parse, a key that does not match
// the certificate, a certificate expired or not yet valid, one that names no host (no
// subjectAltName, no CN), and a CA that does not verify the certificate.
TlsFilesReport CheckTlsFiles(const std::string& cert_file, const std::string& key_file,
                             const std::string& client_ca_file);

}  // namespace dittofs::net
