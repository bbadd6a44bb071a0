// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace dittofs::controlplane::auth {

// Returns `line` with credentials replaced by "***", for loggers to apply to anything that may
// carry a request body or header. It is a safety net, not a licence to log secrets:
//  * the value of a key naming a credential (password, passwd, secret, token, authorization,
//    api_key, apikey, credential, nt_hash, nthash, private_key; any case, as a substring of the
//    key) in JSON ("password": "x"), key=value or key: value form. true, false and null are
//    kept, so "must_change_password": true still reads;
//  * an Authorization value keeps its scheme: "Authorization: Basic ***";
//  * "Bearer <token>" anywhere, and anything shaped like a JWT ("eyJ...x.y.z");
//  * Argon2 encoded hashes ("$argon2id$***"), and standalone runs of exactly 32 hex digits
//    (NT and LM hashes; an MD5 in a log line is redacted too, which we accept).
// Linear in the length of `line`. Thread-safe.
std::string Redact(std::string_view line);

}  // namespace dittofs::controlplane::auth
