// SPDX-License-Identifier: Apache-2.0
#include "base/time_text.h"

#include <time.h>

namespace dittofs {

std::string FormatUtc(int64_t unix_seconds, const char* format) {
  const time_t seconds = static_cast<time_t>(unix_seconds);
  struct tm utc {};
  char text[64];
  if (gmtime_r(&seconds, &utc) == nullptr || strftime(text, sizeof(text), format, &utc) == 0) {
    return "";
  }
  return text;
}

}  // namespace dittofs
