// SPDX-License-Identifier: Apache-2.0
#pragma once

// DITTOFS_ASAN is defined when this code is built with AddressSanitizer, by g++
// (__SANITIZE_ADDRESS__) or by clang (__has_feature; clang 14 has no __SANITIZE_ADDRESS__).
// Tests use it for what ASan changes: RSS figures, leaks of libraries that no caller can free.

#if defined(__SANITIZE_ADDRESS__)
#define DITTOFS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DITTOFS_ASAN 1
#endif
#endif
