// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace dittofs {

// The release this build is (CMakeLists.txt's project version; change both together).
inline constexpr const char* kVersion = "0.1.0";

}  // namespace dittofs
