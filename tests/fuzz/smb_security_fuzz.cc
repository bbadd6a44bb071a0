// SPDX-License-Identifier: Apache-2.0
// Windows security descriptors and SIDs from hostile bytes: a SET_INFO's descriptor decoded
// against a file with an ACL (every SECURITY_INFORMATION the first byte picks), the ACL it
// makes checked and encoded back, and the bytes read as a SID and parsed as a SID string.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/acl/acl.h"
#include "smb/security/descriptor.h"
#include "smb/security/sid.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dittofs;
  if (size == 0) return 0;
  const uint32_t sections = data[0] & 0x0F;
  const std::span<const std::byte> sd(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  static const smb::security::SidMap map(smb::security::Sid{5, {21, 7, 8, 9}});
  smb::security::FileSecurity file;
  file.uid = 1000;
  file.gid = 100;
  file.mode = 0640;
  file.directory = (data[0] & 0x10) != 0;
  file.acl.aces = {core::Ace{core::AceType::kAudit, core::kAceFailedAccess, core::kAceWriteData,
                             core::AceWho::kEveryone, 0},
                   core::Ace{core::AceType::kAllow, core::kAceFileInherit, core::kAceReadData,
                             core::AceWho::kUser, 2000}};
  smb::security::DecodedChange d = smb::security::DecodeSecurityDescriptor(sd, sections, file, map);
  if (d.change && d.change->acl) {
    if (!core::ValidateAcl(*d.change->acl).ok()) __builtin_trap();
    file.acl = *d.change->acl;
    (void)smb::security::EncodeSecurityDescriptor(file, sections, {&map, (data[0] & 0x20) != 0});
  }
  (void)smb::security::CarriesPosixMode(sd);
  size_t sid_size = 0;
  if (auto sid = smb::security::ReadSid(sd, 0, &sid_size)) {
    if (sid_size > sd.size()) __builtin_trap();
    (void)map.UnixOf(*sid);
    auto back = smb::security::ParseSid(smb::security::FormatSid(*sid));
    if (!back || !(*back == *sid)) __builtin_trap();
  }
  (void)smb::security::ParseSid(
      std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
