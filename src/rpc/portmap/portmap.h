// SPDX-License-Identifier: Apache-2.0
#pragma once

// The embedded port mapper: program 100000, PMAP version 2 and RPCBIND versions 3 and 4
// (RFC 1833), so that clients that ask where a program listens (the Linux NFS client for
// NFS, MOUNT and NLM when no port is given; rpcinfo; showmount) find this server's programs
// without a host rpcbind. It answers for what the server registered in it; local processes
// (callers on a loopback address) may SET and UNSET mappings of their own, never the
// server's. CALLIT, BCAST and
// INDIRECT (calls forwarded to other programs: a traffic amplifier) are not served.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "rpc/dispatch.h"

namespace dittofs::rpc {

inline constexpr uint32_t kPortmapProgram = 100000;

// One registration: a program version on a transport ("tcp", "udp", "tcp6", "udp6").
struct PortMapping {
  uint32_t prog = 0;
  uint32_t vers = 0;
  std::string netid;
  uint16_t port = 0;
  std::string owner;  // "superuser" for the server's own, else what a SET named
  // Registered by the server itself (Register): no caller may UNSET it, so no local process
  // can take over the NFS port's name.
  bool server = false;
};

class PortmapService {
 public:
  // At most this many mappings; a SET beyond it fails.
  static constexpr size_t kMaxMappings = 1024;

  // Adds (or replaces) the mapping of `prog`, `vers` on `netid`. Thread-safe.
  void Register(uint32_t prog, uint32_t vers, std::string_view netid, uint16_t port,
                std::string_view owner = "superuser");
  // Removes every mapping of `prog` (of `vers` only, when given). Thread-safe.
  void Unregister(uint32_t prog, std::optional<uint32_t> vers = std::nullopt);

  // The port of `prog` on `netid` (any netid when empty): of version `vers` when registered,
  // else (unless `exact`) of another version of the program, so that the client's call gets
  // PROG_MISMATCH with the versions there are; 0 when the program is not there at all.
  uint16_t Find(uint32_t prog, uint32_t vers, std::string_view netid, bool exact) const;
  std::vector<PortMapping> Dump() const;

  // The dispatch tables of program 100000, versions 2, 3 and 4.
  std::vector<ProgramVersion> Programs();

 private:
  mutable Mutex mu_;
  std::vector<PortMapping> mappings_ GUARDED_BY(mu_);
};

// RFC 1833 universal addresses: "h1.h2.h3.h4.p1.p2" for IPv4, the IPv6 text form then
// ".p1.p2" for IPv6. `host` is an IP address as text (an IPv4-mapped IPv6 address counts as
// IPv4).
std::string UniversalAddress(std::string_view host, uint16_t port);
// The port of a universal address; nullopt when it is not one.
std::optional<uint16_t> PortOfUniversalAddress(std::string_view uaddr);

}  // namespace dittofs::rpc
