// SPDX-License-Identifier: Apache-2.0
#include "rpc/portmap/portmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

namespace dittofs::rpc {
namespace {

// RFC 1833 section 3.1: the protocol numbers of PMAP version 2.
constexpr uint32_t kIpprotoTcp = 6;
constexpr uint32_t kIpprotoUdp = 17;
// RFC 1833 section 2.1: netconfig semantics of rpcb_entry.
constexpr uint32_t kNcTpiClts = 1;     // connectionless (udp)
constexpr uint32_t kNcTpiCotsOrd = 3;  // connection-oriented with orderly release (tcp)

// Bounds on what a caller may send: netids are short ("tcp6"), universal addresses at most an
// IPv6 text form and a port, owners a user name or number.
constexpr size_t kMaxNetid = 32;
constexpr size_t kMaxUaddr = 64;
constexpr size_t kMaxOwner = 256;

std::string_view NetidOfProtocol(uint32_t prot) {
  switch (prot) {
    case kIpprotoTcp:
      return "tcp";
    case kIpprotoUdp:
      return "udp";
    default:
      return "";
  }
}

bool IsTcp(std::string_view netid) { return netid == "tcp" || netid == "tcp6"; }

// SET and UNSET change the map: only processes on this host may.
bool IsLocal(std::string_view address) {
  if (address.starts_with("::ffff:")) address.remove_prefix(7);
  return address.starts_with("127.") || address == "::1";
}

// The host part of the addresses a caller is given: the address it reached this service at
// (the same host serves every registered program), or "0.0.0.0" when that is not known (UDP).
std::string HostFor(const CallContext& call, std::string_view netid) {
  if (!call.server_address.empty()) return call.server_address;
  return netid.ends_with('6') ? "::" : "0.0.0.0";
}

struct Rpcb {
  uint32_t prog = 0, vers = 0;
  std::string_view netid, addr, owner;
};

bool DecodeRpcb(xdr::XdrDecoder& d, Rpcb* r) {
  r->prog = d.U32();
  r->vers = d.U32();
  r->netid = d.String(kMaxNetid);
  r->addr = d.String(kMaxUaddr);
  r->owner = d.String(kMaxOwner);
  return d.ok();
}

struct Pmap {
  uint32_t prog = 0, vers = 0, prot = 0, port = 0;
};

bool DecodePmap(xdr::XdrDecoder& d, Pmap* p) {
  p->prog = d.U32();
  p->vers = d.U32();
  p->prot = d.U32();
  p->port = d.U32();
  return d.ok();
}

AcceptStat Void(const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
  return AcceptStat::kSuccess;
}

}  // namespace

std::string UniversalAddress(std::string_view host, uint16_t port) {
  if (host.starts_with("::ffff:") && host.find('.') != std::string_view::npos) {
    host.remove_prefix(7);
  }
  return fmt::format("{}.{}.{}", host, port >> 8, port & 0xFF);
}

std::optional<uint16_t> PortOfUniversalAddress(std::string_view uaddr) {
  const size_t last = uaddr.rfind('.');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const size_t before = uaddr.rfind('.', last - 1);
  if (before == std::string_view::npos) return std::nullopt;
  // The host: four numbers for IPv4, an IPv6 text form (with ':') otherwise.
  const std::string_view host = uaddr.substr(0, before);
  if (host.find(':') == std::string_view::npos && std::count(host.begin(), host.end(), '.') != 3) {
    return std::nullopt;
  }
  const auto number = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v > 255) {
      return std::nullopt;
    }
    return v;
  };
  const std::optional<unsigned> hi = number(uaddr.substr(before + 1, last - before - 1));
  const std::optional<unsigned> lo = number(uaddr.substr(last + 1));
  if (!hi || !lo) return std::nullopt;
  return static_cast<uint16_t>(*hi << 8 | *lo);
}

void PortmapService::Register(uint32_t prog, uint32_t vers, std::string_view netid, uint16_t port,
                              std::string_view owner) {
  MutexLock lock(&mu_);
  for (PortMapping& m : mappings_) {
    if (m.prog == prog && m.vers == vers && m.netid == netid) {
      m.port = port;
      m.owner = std::string(owner);
      m.server = true;
      return;
    }
  }
  mappings_.push_back({prog, vers, std::string(netid), port, std::string(owner), true});
}

void PortmapService::Unregister(uint32_t prog, std::optional<uint32_t> vers) {
  MutexLock lock(&mu_);
  std::erase_if(mappings_,
                [&](const PortMapping& m) { return m.prog == prog && (!vers || m.vers == *vers); });
}

uint16_t PortmapService::Find(uint32_t prog, uint32_t vers, std::string_view netid,
                              bool exact) const {
  MutexLock lock(&mu_);
  uint16_t other = 0;
  for (const PortMapping& m : mappings_) {
    if (m.prog != prog || (!netid.empty() && m.netid != netid)) continue;
    if (m.vers == vers) return m.port;
    if (other == 0) other = m.port;
  }
  return exact ? 0 : other;
}

std::vector<PortMapping> PortmapService::Dump() const {
  MutexLock lock(&mu_);
  return mappings_;
}

std::vector<ProgramVersion> PortmapService::Programs() {
  // SET and UNSET, shared by every version: a local caller's change of the map.
  const auto set = [this](const CallContext& call, uint32_t prog, uint32_t vers,
                          std::string_view netid, std::optional<uint16_t> port,
                          std::string_view owner) {
    if (!IsLocal(call.client_address) || netid.empty() || !port || *port == 0) return false;
    MutexLock lock(&mu_);
    for (const PortMapping& m : mappings_) {
      // RFC 1833: a SET of a program version already mapped on the transport fails.
      if (m.prog == prog && m.vers == vers && m.netid == netid) return m.port == *port;
    }
    if (mappings_.size() >= kMaxMappings) return false;
    mappings_.push_back({prog, vers, std::string(netid), *port, std::string(owner)});
    return true;
  };
  const auto unset = [this](const CallContext& call, uint32_t prog, uint32_t vers,
                            std::string_view netid) {
    if (!IsLocal(call.client_address)) return false;
    MutexLock lock(&mu_);
    const size_t before = mappings_.size();
    std::erase_if(mappings_, [&](const PortMapping& m) {
      return !m.server && m.prog == prog && m.vers == vers && (netid.empty() || m.netid == netid);
    });
    return mappings_.size() != before;
  };

  std::vector<ProgramVersion> out;

  // Version 2 (RFC 1833 section 3): transports by protocol number, ports as numbers.
  ProgramVersion v2{kPortmapProgram, 2, {}};
  v2.procedures.resize(6);
  v2.procedures[0] = {"NULL", Void, false, true};
  v2.procedures[1] = {
      "SET", [set](const CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
        Pmap p;
        if (!DecodePmap(d, &p)) return AcceptStat::kGarbageArgs;
        const std::string_view netid = NetidOfProtocol(p.prot);
        e.Bool(p.port <= 0xFFFF &&
               set(call, p.prog, p.vers, netid, static_cast<uint16_t>(p.port), "unknown"));
        return AcceptStat::kSuccess;
      }};
  v2.procedures[2] = {"UNSET",
                      [unset](const CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
                        Pmap p;
                        if (!DecodePmap(d, &p)) return AcceptStat::kGarbageArgs;
                        // Version 2's UNSET removes the version on every transport.
                        e.Bool(unset(call, p.prog, p.vers, ""));
                        return AcceptStat::kSuccess;
                      }};
  v2.procedures[3] = {"GETPORT",
                      [this](const CallContext&, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
                        Pmap p;
                        if (!DecodePmap(d, &p)) return AcceptStat::kGarbageArgs;
                        const std::string_view netid = NetidOfProtocol(p.prot);
                        e.U32(netid.empty() ? 0 : Find(p.prog, p.vers, netid, false));
                        return AcceptStat::kSuccess;
                      },
                      false, true};
  v2.procedures[4] = {"DUMP",
                      [this](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder& e) {
                        for (const PortMapping& m : Dump()) {
                          if (m.netid != "tcp" && m.netid != "udp") continue;
                          e.Bool(true);
                          e.U32(m.prog);
                          e.U32(m.vers);
                          e.U32(IsTcp(m.netid) ? kIpprotoTcp : kIpprotoUdp);
                          e.U32(m.port);
                        }
                        e.Bool(false);
                        return AcceptStat::kSuccess;
                      },
                      false, true};
  out.push_back(std::move(v2));

  // Versions 3 and 4 (RFC 1833 section 2): transports by netid, universal addresses.
  for (uint32_t vers : {3u, 4u}) {
    ProgramVersion p{kPortmapProgram, vers, {}};
    p.procedures.resize(vers == 3 ? 9 : 13);
    p.procedures[0] = {"NULL", Void, false, true};
    p.procedures[1] = {
        "SET", [set](const CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
          Rpcb r;
          if (!DecodeRpcb(d, &r)) return AcceptStat::kGarbageArgs;
          e.Bool(set(call, r.prog, r.vers, r.netid, PortOfUniversalAddress(r.addr), r.owner));
          return AcceptStat::kSuccess;
        }};
    p.procedures[2] = {"UNSET",
                       [unset](const CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
                         Rpcb r;
                         if (!DecodeRpcb(d, &r)) return AcceptStat::kGarbageArgs;
                         e.Bool(unset(call, r.prog, r.vers, r.netid));
                         return AcceptStat::kSuccess;
                       }};
    const auto getaddr = [this](bool exact) {
      return [this, exact](const CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
        Rpcb r;
        if (!DecodeRpcb(d, &r)) return AcceptStat::kGarbageArgs;
        const uint16_t port = Find(r.prog, r.vers, r.netid, exact);
        e.String(port == 0 ? std::string() : UniversalAddress(HostFor(call, r.netid), port));
        return AcceptStat::kSuccess;
      };
    };
    p.procedures[3] = {"GETADDR", getaddr(false), false, true};
    p.procedures[4] = {"DUMP",
                       [this](const CallContext& call, xdr::XdrDecoder&, xdr::XdrEncoder& e) {
                         for (const PortMapping& m : Dump()) {
                           e.Bool(true);
                           e.U32(m.prog);
                           e.U32(m.vers);
                           e.String(m.netid);
                           e.String(UniversalAddress(HostFor(call, m.netid), m.port));
                           e.String(m.owner);
                         }
                         e.Bool(false);
                         return AcceptStat::kSuccess;
                       },
                       false, true};
    p.procedures[6] = {"GETTIME",
                       [](const CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder& e) {
                         e.U32(static_cast<uint32_t>(std::time(nullptr)));
                         return AcceptStat::kSuccess;
                       },
                       false, true};
    if (vers == 4) {
      p.procedures[9] = {"GETVERSADDR", getaddr(true), false, true};
      p.procedures[11] = {"GETADDRLIST",
                          [this](const CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
                            Rpcb r;
                            if (!DecodeRpcb(d, &r)) return AcceptStat::kGarbageArgs;
                            for (const PortMapping& m : Dump()) {
                              if (m.prog != r.prog || m.vers != r.vers) continue;
                              e.Bool(true);
                              e.String(UniversalAddress(HostFor(call, m.netid), m.port));
                              e.String(m.netid);
                              e.U32(IsTcp(m.netid) ? kNcTpiCotsOrd : kNcTpiClts);
                              e.String(m.netid.ends_with('6') ? "inet6" : "inet");
                              e.String(IsTcp(m.netid) ? "tcp" : "udp");
                            }
                            e.Bool(false);
                            return AcceptStat::kSuccess;
                          },
                          false, true};
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace dittofs::rpc
