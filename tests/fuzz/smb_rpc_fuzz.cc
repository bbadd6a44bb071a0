// SPDX-License-Identifier: Apache-2.0
// The named pipes of IPC$ (DCE/RPC PDUs, NDR requests) over hostile bytes: srvsvc and lsarpc
// each get the whole input, cut into writes of the sizes its first bytes say, after a valid
// bind so that requests reach the NDR decoders. (lsarpc's policy handles are random, so calls
// that take one are decoded in full and then refused; LsarLookupSids3, LsarLookupNames4 and
// LsarGetUserName take none and run to the end.)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smb/rpc/lsarpc.h"
#include "smb/rpc/srvsvc.h"

namespace {

// A bind of one interface in NDR20 (C706 12.6.4.3), call id 1: `uuid` and `version` are the
// abstract syntax's.
std::vector<uint8_t> Bind(const uint8_t (&uuid)[16], uint8_t version) {
  std::vector<uint8_t> pdu = {
      5,    0,    11,   3,    0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0,  // header, frag_length 72
      0xB8, 0x10, 0xB8, 0x10, 0,    0, 0, 0,                           // max frags, assoc group
      1,    0,    0,    0,                                             // one context
      0,    0,    1,    0,                                             // id 0, one transfer syntax
  };
  pdu.insert(pdu.end(), uuid, uuid + 16);
  pdu.insert(pdu.end(), {version, 0, 0, 0});
  pdu.insert(pdu.end(), {0x04, 0x5D, 0x88, 0x8A, 0xEB, 0x1C, 0xC9, 0x11, 0x9F, 0xE8,
                         0x08, 0x00, 0x2B, 0x10, 0x48, 0x60, 2,    0,    0,    0});  // NDR v2
  return pdu;
}

const uint8_t kSrvsvc[16] = {0xC8, 0x4F, 0x32, 0x4B, 0x70, 0x16, 0xD3, 0x01,
                             0x12, 0x78, 0x5A, 0x47, 0xBF, 0x6E, 0xE1, 0x88};  // v3.0
const uint8_t kLsa[16] = {0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xCD, 0xAB,
                          0xEF, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB};  // v0.0

template <typename Pipe>
void Feed(Pipe& pipe, const std::vector<uint8_t>& bind, const uint8_t* data, size_t size) {
  (void)pipe.Write({reinterpret_cast<const std::byte*>(bind.data()), bind.size()});
  bool more = false;
  (void)pipe.Read(1 << 20, &more);
  size_t at = 0;
  while (at < size) {
    const size_t chunk = std::min<size_t>(size - at, 1 + data[at] * 4);
    (void)pipe.Write({reinterpret_cast<const std::byte*>(data + at), chunk});
    (void)pipe.Read(1 + (data[at] * 37) % 8192, &more);
    at += chunk;
  }
}

dittofs::smb::rpc::LsaAccounts FuzzAccounts() {
  using dittofs::smb::security::ParseSid;
  using dittofs::smb::security::SidMap;
  return {SidMap(*ParseSid("S-1-5-21-1-2-3")),
          "FUZZ",
          "WORKGROUP",
          [](uint32_t uid) -> std::optional<std::string> {
            if (uid % 3 == 0) return std::nullopt;
            return "user" + std::to_string(uid);
          },
          [](uint32_t gid) -> std::optional<std::string> { return "group" + std::to_string(gid); },
          [](std::string_view name) -> std::optional<uint32_t> {
            if (name.size() < 2) return std::nullopt;
            return static_cast<uint32_t>(name.size() * 1000);
          },
          [](std::string_view name) -> std::optional<uint32_t> {
            if (name.empty() || name[0] != 'g') return std::nullopt;
            return static_cast<uint32_t>(name.size());
          }};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using dittofs::smb::rpc::ShareInfo;
  dittofs::smb::rpc::SrvsvcPipe srvsvc(
      [] {
        return std::vector<ShareInfo>{{"export", 0, "a share", "", 0xFFFFFFFF, 0},
                                      {"IPC$", 0x80000003, "IPC", "", 0xFFFFFFFF, 0}};
      },
      "FUZZ");
  Feed(srvsvc, Bind(kSrvsvc, 3), data, size);
  dittofs::smb::rpc::LsarpcPipe lsarpc(FuzzAccounts(), "fuzzer");
  Feed(lsarpc, Bind(kLsa, 0), data, size);
  return 0;
}
