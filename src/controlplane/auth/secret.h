// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>

namespace dittofs::controlplane::auth {

// Length of the generated first-start admin password, in characters (about 114 bits).
inline constexpr size_t kGeneratedPasswordLength = 20;

// `bytes` bytes from the operating system's CSPRNG, as lowercase hex (2 * bytes characters).
// Used for the `dfs init` JWT secret (at least 32 bytes) and token ids.
// REQUIRES: bytes > 0. Thread-safe.
std::string GenerateSecret(size_t bytes);

// A random password of kGeneratedPasswordLength characters for the first-start admin account,
// drawn uniformly from letters and digits without look-alikes (0/O, 1/l/I) plus "-_.", and
// holding at least one lowercase letter, uppercase letter and digit so that any reasonable
// password policy accepts it. Safe to paste into a shell, YAML or JSON unquoted. Thread-safe.
std::string GeneratePassword();

}  // namespace dittofs::controlplane::auth
