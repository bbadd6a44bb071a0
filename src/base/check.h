// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sstream>

namespace dittofs::internal {

// Collects a message and aborts the process when destroyed. Used only by CHECK.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <typename T>
  CheckFailure& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

struct Voidify {
  void operator&(CheckFailure&) {}
};

}  // namespace dittofs::internal

// CHECK(invariant) << "what failed, on what"; a failed CHECK is a bug and aborts.
#define CHECK(cond)                         \
  (cond) ? (void)0                          \
         : ::dittofs::internal::Voidify() & \
               ::dittofs::internal::CheckFailure(__FILE__, __LINE__, #cond)
