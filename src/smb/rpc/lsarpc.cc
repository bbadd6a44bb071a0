// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/lsarpc.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <utility>

#include "base/random.h"
#include "smb/rpc/ndr.h"

namespace dittofs::smb::rpc {
namespace {

using security::Sid;
using Handle = std::array<std::byte, 20>;

const SyntaxId kLsa = MakeSyntaxId(0x12345778, 0x1234, 0xABCD,
                                   {0xEF, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB}, 0, 0);

// NTSTATUS values (MS-ERREF 2.3.1).
constexpr uint32_t kStatusSuccess = 0x00000000, kStatusSomeNotMapped = 0x00000107,
                   kStatusInvalidHandle = 0xC0000008, kStatusInvalidParameter = 0xC000000D,
                   kStatusNoneMapped = 0xC0000073, kStatusInsufficientResources = 0xC000009A;

// Operations (MS-LSAD 3.1.4, MS-LSAT 3.1.4).
enum Opnum : uint16_t {
  kLsarClose = 0,
  kLsarOpenPolicy = 6,
  kLsarQueryInformationPolicy = 7,
  kLsarLookupNames = 14,
  kLsarLookupSids = 15,
  kLsarOpenPolicy2 = 44,
  kLsarGetUserName = 45,
  kLsarQueryInformationPolicy2 = 46,
  kLsarLookupSids2 = 57,
  kLsarLookupNames2 = 58,
  kLsarLookupNames3 = 68,
  kLsarLookupSids3 = 76,
  kLsarLookupNames4 = 77,
};

// POLICY_INFORMATION_CLASS values served (MS-LSAD 2.2.4.1).
constexpr uint16_t kPolicyPrimaryDomainInformation = 3, kPolicyAccountDomainInformation = 5,
                   kPolicyDnsDomainInformation = 12;

// Bounds from the IDL's [range] (MS-LSAT 3.1.4.8, 3.1.4.11), and on what one pipe keeps.
constexpr uint32_t kMaxSids = 20480;
constexpr uint32_t kMaxNames = 1000;
constexpr uint32_t kMaxNameChars = 32767;  // what RPC_UNICODE_STRING's 16-bit Length allows
constexpr size_t kMaxHandles = 64;
// An answer larger than this is refused with STATUS_INSUFFICIENT_RESOURCES rather than queued,
// so that it stays under the pipe's bound on unread answers (4 MiB): 20480 SIDs whose names
// average 60 characters fit.
constexpr size_t kMaxAnswer = 3 << 20;

// The three generations of each lookup's [out] array: LSAPR_TRANSLATED_NAMES / _EX and
// LSAPR_TRANSLATED_SIDS / _EX / _EX2 (MS-LSAT 2.2.19-2.2.25).
enum class Shape { kPlain, kEx, kEx2 };

// The referenced-domain list of one lookup: each domain once, in order of first use.
class DomainList {
 public:
  // DomainIndex of `domain`: -1 when absent.
  int32_t IndexOf(const std::optional<LsaDomain>& domain) {
    if (!domain) return -1;
    auto it = std::find(domains_.begin(), domains_.end(), *domain);
    if (it != domains_.end()) return static_cast<int32_t>(it - domains_.begin());
    domains_.push_back(*domain);
    return static_cast<int32_t>(domains_.size() - 1);
  }
  // [out] PLSAPR_REFERENCED_DOMAIN_LIST* (MS-LSAT 2.2.12): never null.
  void Write(NdrWriter& n) const {
    const auto count = static_cast<uint32_t>(domains_.size());
    n.Pointer(true);
    n.U32(count);  // Entries
    n.Pointer(count > 0);
    n.U32(count);  // MaxEntries
    if (count == 0) return;
    n.U32(count);  // Domains' conformance
    for (const LsaDomain& d : domains_) {
      n.UnicodeString(d.name);
      n.Pointer(true);
    }
    for (const LsaDomain& d : domains_) {
      n.UnicodeStringBuffer(d.name);
      n.Sid(d.sid);
    }
  }

 private:
  std::vector<LsaDomain> domains_;
};

// What a lookup answers with when it does not look up (a bad handle, too large an answer):
// no domains, no translations, MappedCount 0.
std::vector<std::byte> LookupRefused(uint32_t status) {
  NdrWriter n;
  n.Pointer(false);  // ReferencedDomains
  n.U32(0);          // Translated*.Entries
  n.Pointer(false);
  n.U32(0);  // MappedCount
  n.U32(status);
  return std::move(n.out);
}

uint32_t LookupStatus(size_t count, size_t mapped) {
  if (mapped == count) return kStatusSuccess;
  return mapped == 0 ? kStatusNoneMapped : kStatusSomeNotMapped;
}

// Reads an [in, out] Translated* array that MUST be ignored on input, to reach the parameters
// after it. Clients send it empty; whatever it holds is bounds-checked and dropped.
void SkipTranslatedNames(NdrReader& r, Shape shape) {
  const uint32_t entries = r.U32();
  if (r.U32() == 0) return;
  if (entries > kMaxSids) return r.Fail();
  r.Conformance(entries);
  std::vector<uint32_t> lengths;
  for (uint32_t i = 0; i < entries && r.ok(); ++i) {
    r.U16();  // Use
    bool present = false;
    const uint32_t length = r.UnicodeString(&present);
    if (present) lengths.push_back(length);
    r.U32();                              // DomainIndex
    if (shape != Shape::kPlain) r.U32();  // Flags
  }
  for (uint32_t length : lengths) r.UnicodeStringBuffer(length, kMaxNameChars);
}

void SkipTranslatedSids(NdrReader& r, Shape shape) {
  const uint32_t entries = r.U32();
  if (r.U32() == 0) return;
  if (entries > kMaxNames) return r.Fail();
  r.Conformance(entries);
  uint32_t sids = 0;
  for (uint32_t i = 0; i < entries && r.ok(); ++i) {
    r.U16();  // Use
    if (shape == Shape::kEx2) {
      if (r.U32() != 0) ++sids;  // Sid
    } else {
      r.U32();  // RelativeId
    }
    r.U32();                              // DomainIndex
    if (shape != Shape::kPlain) r.U32();  // Flags
  }
  for (uint32_t i = 0; i < sids && r.ok(); ++i) r.Sid();
}

// The [in] parameters after the arrays of every lookup: LookupLevel (every level searches what
// this server knows), MappedCount (ignored on input), and for the _EX and _EX2 generations
// LookupOptions and ClientRevision (no options are defined that this server would change for).
void SkipLookupOptions(NdrReader& r, Shape shape) {
  r.U16();
  r.U32();
  if (shape != Shape::kPlain) {
    r.U32();
    r.U32();
  }
}

// The LSA interface of one pipe instance, with its open policy handles.
class LsaInterface final : public RpcInterface {
 public:
  LsaInterface(LsaAccounts accounts, std::string user_name)
      : accounts_(std::move(accounts)), user_name_(std::move(user_name)) {}

  SyntaxId syntax() const override { return kLsa; }
  RpcAnswer Call(uint16_t opnum, ByteView stub) override;

 private:
  RpcAnswer OpenPolicy(NdrReader& r, bool v2);
  RpcAnswer Close(NdrReader& r);
  RpcAnswer QueryInformationPolicy(NdrReader& r);
  RpcAnswer LookupSids(NdrReader& r, Shape shape, bool with_handle);
  RpcAnswer LookupNames(NdrReader& r, Shape shape, bool with_handle);
  RpcAnswer GetUserName(NdrReader& r);

  bool IsOpen(ByteView handle) const {
    return std::any_of(handles_.begin(), handles_.end(), [&](const Handle& h) {
      return handle.size() == h.size() && std::memcmp(handle.data(), h.data(), h.size()) == 0;
    });
  }

  LsaAccounts accounts_;
  std::string user_name_;
  std::vector<Handle> handles_;  // at most kMaxHandles
};

RpcAnswer LsaInterface::Call(uint16_t opnum, ByteView stub) {
  NdrReader r(stub);
  switch (opnum) {
    case kLsarClose:
      return Close(r);
    case kLsarOpenPolicy:
      return OpenPolicy(r, false);
    case kLsarOpenPolicy2:
      return OpenPolicy(r, true);
    case kLsarQueryInformationPolicy:
    case kLsarQueryInformationPolicy2:
      return QueryInformationPolicy(r);
    case kLsarLookupSids:
      return LookupSids(r, Shape::kPlain, true);
    case kLsarLookupSids2:
      return LookupSids(r, Shape::kEx, true);
    case kLsarLookupSids3:
      return LookupSids(r, Shape::kEx, false);
    case kLsarLookupNames:
      return LookupNames(r, Shape::kPlain, true);
    case kLsarLookupNames2:
      return LookupNames(r, Shape::kEx, true);
    case kLsarLookupNames3:
      return LookupNames(r, Shape::kEx2, true);
    case kLsarLookupNames4:
      return LookupNames(r, Shape::kEx2, false);
    case kLsarGetUserName:
      return GetUserName(r);
    default:
      return RpcAnswer::Fault(kNcaOpRangeError);
  }
}

// LsarOpenPolicy (MS-LSAD 3.1.4.4.2): SystemName is a [unique] wchar_t* (one character);
// LsarOpenPolicy2 (3.1.4.4.1): a [unique, string] wchar_t*. Both ignore SystemName and
// ObjectAttributes, and every handle may look up, so DesiredAccess is not read either: only
// the fixed fields of ObjectAttributes are checked to be there.
RpcAnswer LsaInterface::OpenPolicy(NdrReader& r, bool v2) {
  if (v2) {
    (void)r.UniqueString();
  } else if (r.U32() != 0) {
    r.U16();
  }
  for (int i = 0; i < 6; ++i) r.U32();  // LSAPR_OBJECT_ATTRIBUTES' fixed fields
  if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
  NdrWriter n;
  if (handles_.size() >= kMaxHandles) {
    n.Bytes(Handle{});
    n.U32(kStatusInsufficientResources);
    return {std::move(n.out)};
  }
  // A context handle (C706 appendix N): attributes 0 and a UUID, here random.
  Handle h{};
  const uint64_t a = RandomU64(), b = RandomU64();
  std::memcpy(h.data() + 4, &a, 8);
  std::memcpy(h.data() + 12, &b, 8);
  handles_.push_back(h);
  n.Bytes(h);
  n.U32(kStatusSuccess);
  return {std::move(n.out)};
}

// LsarClose (MS-LSAD 3.1.4.9.4): the handle comes back zeroed.
RpcAnswer LsaInterface::Close(NdrReader& r) {
  ByteView handle = r.ContextHandle();
  if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
  const bool open = IsOpen(handle);
  std::erase_if(handles_, [&](const Handle& h) {
    return std::memcmp(handle.data(), h.data(), h.size()) == 0;
  });
  NdrWriter n;
  n.Bytes(Handle{});
  n.U32(open ? kStatusSuccess : kStatusInvalidHandle);
  return {std::move(n.out)};
}

// LsarQueryInformationPolicy/2 (MS-LSAD 3.1.4.4.3/4): the [out] PLSAPR_POLICY_INFORMATION* is
// a unique pointer to a union whose discriminant is the 16-bit information class. A
// standalone server's primary domain is its workgroup, with no SID (MS-LSAD 3.1.1.1).
RpcAnswer LsaInterface::QueryInformationPolicy(NdrReader& r) {
  ByteView handle = r.ContextHandle();
  const uint16_t info_class = r.U16();
  if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
  NdrWriter n;
  const bool served = info_class == kPolicyPrimaryDomainInformation ||
                      info_class == kPolicyAccountDomainInformation ||
                      info_class == kPolicyDnsDomainInformation;
  if (!IsOpen(handle) || !served) {
    n.Pointer(false);
    n.U32(IsOpen(handle) ? kStatusInvalidParameter : kStatusInvalidHandle);
    return {std::move(n.out)};
  }
  n.Pointer(true);
  n.U16(info_class);
  n.Align(4);  // the arm: a structure of pointers, aligned to 4 (C706 14.3.8)
  switch (info_class) {
    case kPolicyPrimaryDomainInformation:  // LSAPR_POLICY_PRIMARY_DOM_INFO
      n.UnicodeString(accounts_.domain_name);
      n.Pointer(false);  // Sid
      n.UnicodeStringBuffer(accounts_.domain_name);
      break;
    case kPolicyAccountDomainInformation:  // LSAPR_POLICY_ACCOUNT_DOM_INFO
      n.UnicodeString(accounts_.netbios_name);
      n.Pointer(true);
      n.UnicodeStringBuffer(accounts_.netbios_name);
      n.Sid(accounts_.sids.domain());
      break;
    default:  // LSAPR_POLICY_DNS_DOMAIN_INFO: no DNS domain or forest
      n.UnicodeString(accounts_.domain_name);
      n.UnicodeString("");                   // DnsDomainName
      n.UnicodeString("");                   // DnsForestName
      n.Bytes(std::array<std::byte, 16>{});  // DomainGuid
      n.Pointer(false);                      // Sid
      n.UnicodeStringBuffer(accounts_.domain_name);
      n.UnicodeStringBuffer("");
      n.UnicodeStringBuffer("");
      break;
  }
  n.U32(kStatusSuccess);
  return {std::move(n.out)};
}

// LsarLookupSids (MS-LSAT 3.1.4.11), LsarLookupSids2 (3.1.4.10), LsarLookupSids3 (3.1.4.9).
RpcAnswer LsaInterface::LookupSids(NdrReader& r, Shape shape, bool with_handle) {
  ByteView handle = with_handle ? r.ContextHandle() : ByteView();
  // SidEnumBuffer: LSAPR_SID_ENUM_BUFFER (2.2.18).
  const uint32_t entries = r.U32();
  const bool array = r.U32() != 0;
  if (entries > kMaxSids || (entries > 0 && !array)) return RpcAnswer::Fault(kNcaProtoError);
  std::vector<bool> present;
  if (array) {
    r.Conformance(entries);
    for (uint32_t i = 0; i < entries && r.ok(); ++i) present.push_back(r.U32() != 0);
  }
  std::vector<std::optional<Sid>> sids;
  for (size_t i = 0; i < present.size() && r.ok(); ++i) {
    sids.push_back(present[i] ? std::optional<Sid>(r.Sid()) : std::nullopt);
  }
  SkipTranslatedNames(r, shape);
  SkipLookupOptions(r, shape);
  if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
  if (with_handle && !IsOpen(handle)) return {LookupRefused(kStatusInvalidHandle)};

  DomainList domains;
  struct Name {
    SidNameUse use;
    std::string name;
    int32_t domain;
  };
  std::vector<Name> names;
  size_t mapped = 0;
  for (const std::optional<Sid>& sid : sids) {
    if (!sid) {
      names.push_back({SidNameUse::kUnknown, "", -1});
      continue;
    }
    LsaTranslation t = LookupSid(accounts_, *sid);
    if (t.use != SidNameUse::kUnknown) ++mapped;
    names.push_back({t.use, std::move(t.name), domains.IndexOf(t.domain)});
  }
  NdrWriter n;
  domains.Write(n);
  // TranslatedNames: LSAPR_TRANSLATED_NAMES / _EX.
  const auto count = static_cast<uint32_t>(names.size());
  n.U32(count);
  n.Pointer(count > 0);
  if (count > 0) {
    n.U32(count);
    for (const Name& name : names) {
      n.U16(static_cast<uint16_t>(name.use));
      n.UnicodeString(name.name);
      n.U32(static_cast<uint32_t>(name.domain));
      if (shape != Shape::kPlain) n.U32(0);  // Flags
    }
    for (const Name& name : names) n.UnicodeStringBuffer(name.name);
  }
  n.U32(static_cast<uint32_t>(mapped));
  n.U32(LookupStatus(names.size(), mapped));
  if (n.out.size() > kMaxAnswer) return {LookupRefused(kStatusInsufficientResources)};
  return {std::move(n.out)};
}

// LsarLookupNames (MS-LSAT 3.1.4.8), 2 (3.1.4.7), 3 (3.1.4.6) and 4 (3.1.4.5).
RpcAnswer LsaInterface::LookupNames(NdrReader& r, Shape shape, bool with_handle) {
  ByteView handle = with_handle ? r.ContextHandle() : ByteView();
  // Count, then Names: a [size_is(Count)] array of RPC_UNICODE_STRING.
  const uint32_t count = r.U32();
  if (count > kMaxNames) return RpcAnswer::Fault(kNcaProtoError);
  r.Conformance(count);
  std::vector<std::pair<bool, uint32_t>> fields;  // Buffer not null, Length in characters
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    bool present = false;
    const uint32_t length = r.UnicodeString(&present);
    if (!present && length > 0) r.Fail();
    fields.emplace_back(present, length);
  }
  std::vector<std::string> wanted;
  for (size_t i = 0; i < fields.size() && r.ok(); ++i) {
    wanted.push_back(fields[i].first ? r.UnicodeStringBuffer(fields[i].second, kMaxNameChars)
                                     : std::string());
  }
  SkipTranslatedSids(r, shape);
  SkipLookupOptions(r, shape);
  if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
  if (with_handle && !IsOpen(handle)) return {LookupRefused(kStatusInvalidHandle)};

  DomainList domains;
  std::vector<std::pair<LsaTranslation, int32_t>> found;
  size_t mapped = 0;
  for (const std::string& name : wanted) {
    LsaTranslation t = LookupName(accounts_, name);
    if (t.use != SidNameUse::kUnknown) ++mapped;
    const int32_t index = domains.IndexOf(t.domain);
    found.emplace_back(std::move(t), index);
  }
  NdrWriter n;
  domains.Write(n);
  // TranslatedSids: LSAPR_TRANSLATED_SIDS / _EX / _EX2.
  n.U32(count);
  n.Pointer(count > 0);
  if (count > 0) {
    n.U32(count);
    for (const auto& [t, index] : found) {
      const bool known = t.use != SidNameUse::kUnknown;
      n.U16(static_cast<uint16_t>(t.use));
      if (shape == Shape::kEx2) {
        n.Pointer(known);
      } else {
        // The RID within the domain at DomainIndex; a domain itself has none.
        const bool account = known && t.use != SidNameUse::kDomain && !t.sid.sub.empty();
        n.U32(account ? t.sid.sub.back() : 0);
      }
      n.U32(static_cast<uint32_t>(index));
      if (shape != Shape::kPlain) n.U32(0);  // Flags
    }
    if (shape == Shape::kEx2) {
      for (const auto& [t, index] : found) {
        if (t.use != SidNameUse::kUnknown) n.Sid(t.sid);
      }
    }
  }
  n.U32(static_cast<uint32_t>(mapped));
  n.U32(LookupStatus(wanted.size(), mapped));
  if (n.out.size() > kMaxAnswer) return {LookupRefused(kStatusInsufficientResources)};
  return {std::move(n.out)};
}

// LsarGetUserName (MS-LSAT 3.1.4.4): UserName is [in, out] PRPC_UNICODE_STRING*, DomainName
// [in, out, unique] PRPC_UNICODE_STRING*; what the client sends in them is ignored.
RpcAnswer LsaInterface::GetUserName(NdrReader& r) {
  (void)r.UniqueString();  // SystemName
  const auto skip_string = [&r] {
    if (r.U32() == 0) return;
    bool present = false;
    const uint32_t length = r.UnicodeString(&present);
    if (present) r.UnicodeStringBuffer(length, kMaxNameChars);
  };
  skip_string();
  const bool domain_wanted = r.U32() != 0;
  if (domain_wanted) skip_string();
  if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
  NdrWriter n;
  n.Pointer(true);
  n.UnicodeString(user_name_);
  n.UnicodeStringBuffer(user_name_);
  n.Pointer(domain_wanted);
  if (domain_wanted) {
    n.Pointer(true);
    n.UnicodeString(accounts_.netbios_name);
    n.UnicodeStringBuffer(accounts_.netbios_name);
  }
  n.U32(kStatusSuccess);
  return {std::move(n.out)};
}

}  // namespace

LsarpcPipe::LsarpcPipe(LsaAccounts accounts, std::string user_name)
    : RpcPipe("\\PIPE\\lsass",
              std::make_unique<LsaInterface>(std::move(accounts), std::move(user_name))) {}

}  // namespace dittofs::smb::rpc
