// SPDX-License-Identifier: Apache-2.0
// QUERY_INFO and SET_INFO of SMB2_0_INFO_QUOTA (MS-SMB2 3.3.5.20.4 and 3.3.5.21.4, MS-FSA
// 2.1.5.21): the share's user and group quotas (core/quota.h, docs/quotas.md) as
// FILE_QUOTA_INFORMATION entries, a SID each, in bytes: the soft limit is the threshold and
// the hard limit the limit.

#include <algorithm>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "smb/security/sid.h"
#include "smb/server/connection.h"
#include "smb/wire/smb2.h"

namespace dittofs::smb {
namespace {

uint64_t OrNone(uint64_t limit) { return limit == 0 ? wire::kQuotaNone : limit; }

// A threshold or limit from the wire: "none" (all ones) and "remove the entry" (all ones but
// the last bit, MS-FSCC 2.4.41) both mean no limit, 0 in the runtime's terms.
uint64_t FromWire(uint64_t limit) { return limit >= wire::kQuotaNone - 1 ? 0 : limit; }

}  // namespace

Reply Connection::QueryQuota(Open& open, core::Vfs& vfs, const core::Caller& caller, ByteView input,
                             uint32_t output_length) {
  Result<wire::QueryQuotaInfo> query = wire::DecodeQueryQuotaInfo(input);
  if (!query.ok()) return Fail(wire::kStatusInvalidParameter);
  core::QuotaTable& quotas = vfs.quotas();
  const bool unix_sids = open.tree->posix.load();
  const auto sid_of = [&](core::QuotaKind kind, uint32_t id) {
    std::vector<std::byte> bytes;
    const bool user = kind == core::QuotaKind::kUser;
    security::AppendSid(
        unix_sids ? (user ? security::SidMap::UnixUserSid(id) : security::SidMap::UnixGroupSid(id))
                  : (user ? server_.sids.UserSid(id) : server_.sids.GroupSid(id)),
        bytes);
    return bytes;
  };
  // A user sees their own quota and their groups'; root sees every one (as quota(1) and
  // repquota(8) do).
  const auto visible = [&](core::QuotaKind kind, uint32_t id) {
    if (caller.is_root()) return true;
    return kind == core::QuotaKind::kUser ? id == caller.uid : caller.InGroup(id);
  };
  const auto entry_of = [&](const core::QuotaEntry& q, std::vector<std::byte> sid) {
    wire::QuotaInformation e;
    e.sid = std::move(sid);
    e.used = q.used_bytes;
    e.threshold = OrNone(q.limits.soft_bytes);
    e.limit = OrNone(q.limits.hard_bytes);
    return e;
  };

  std::vector<wire::QuotaInformation> answer;
  size_t start = 0;
  const bool listed = !query->sid_list.empty();
  if (listed) {
    // One entry per SID asked for, in order; a SID that names no user or group here, or one
    // the caller may not see, has nothing used and no limits.
    for (ByteView bytes : query->sid_list) {
      std::optional<security::Sid> sid = security::ReadSid(bytes, 0);
      if (!sid) return Fail(wire::kStatusInvalidParameter);
      core::QuotaEntry q;
      if (std::optional<security::UnixId> who = server_.sids.UnixOf(*sid)) {
        const core::QuotaKind kind = who->group ? core::QuotaKind::kGroup : core::QuotaKind::kUser;
        if (visible(kind, who->id)) q = quotas.Get(kind, who->id);
      }
      answer.push_back(entry_of(q, std::vector<std::byte>(bytes.begin(), bytes.end())));
    }
  } else {
    // The users and groups with usage or limits, in a fixed order (users, then groups, by id),
    // from where the last enumeration on this open stopped.
    std::vector<core::QuotaEntry> all = quotas.Report();
    std::erase_if(all, [&](const core::QuotaEntry& q) {
      return q.kind == core::QuotaKind::kShare || !visible(q.kind, q.id);
    });
    std::sort(all.begin(), all.end(), [](const core::QuotaEntry& a, const core::QuotaEntry& b) {
      return std::pair(a.kind, a.id) < std::pair(b.kind, b.id);
    });
    for (const core::QuotaEntry& q : all) answer.push_back(entry_of(q, sid_of(q.kind, q.id)));
    if (!query->start_sid.empty()) {
      auto at = std::find_if(answer.begin(), answer.end(), [&](const wire::QuotaInformation& e) {
        return std::equal(e.sid.begin(), e.sid.end(), query->start_sid.begin(),
                          query->start_sid.end());
      });
      start = static_cast<size_t>(at - answer.begin());
    } else if (!query->restart_scan) {
      MutexLock lock(&open.mu);
      start = open.next_quota;
    }
    if (start >= answer.size()) return Fail(wire::kStatusNoMoreEntries);
    answer.erase(answer.begin(), answer.begin() + static_cast<ptrdiff_t>(start));
  }
  if (query->return_single && answer.size() > 1) answer.resize(1);
  // As many as fit, each but the last padded to 8 bytes.
  size_t fit = 0, used = 0;
  for (const wire::QuotaInformation& e : answer) {
    const size_t at = (used + 7) & ~size_t{7};
    if (at + wire::QuotaInformationSize(e) > output_length) break;
    used = at + wire::QuotaInformationSize(e);
    ++fit;
  }
  if (fit == 0) return Fail(wire::kStatusBufferTooSmall);
  answer.resize(fit);
  if (!listed) {
    MutexLock lock(&open.mu);
    open.next_quota = start + fit;
  }
  Bytes out;
  wire::EncodeQuotaList(answer, out);
  Reply reply;
  wire::EncodeOutputBufferResponse(out, reply.body);
  return reply;
}

Reply Connection::SetQuota(core::Vfs& vfs, const core::Caller& caller, ByteView buffer) {
  Result<std::vector<wire::QuotaInformation>> entries = wire::DecodeQuotaList(buffer);
  if (!entries.ok()) return Fail(wire::kStatusInvalidParameter);
  // Limits are the administrator's: root here, as for dfsctl quota set.
  if (!caller.is_root()) return Fail(wire::kStatusAccessDenied);
  for (const wire::QuotaInformation& e : *entries) {
    std::optional<security::Sid> sid = security::ReadSid(e.sid, 0);
    if (!sid) return Fail(wire::kStatusInvalidParameter);
    std::optional<security::UnixId> who = server_.sids.UnixOf(*sid);
    if (!who) return Fail(wire::kStatusInvalidParameter);  // no user or group of ours
    const core::QuotaKind kind = who->group ? core::QuotaKind::kGroup : core::QuotaKind::kUser;
    // Bytes only: the file limits and the grace stay as they are.
    core::QuotaLimits limits = vfs.quotas().Get(kind, who->id).limits;
    limits.soft_bytes = FromWire(e.threshold);
    limits.hard_bytes = FromWire(e.limit);
    if (Status s = vfs.quotas().SetLimits(kind, who->id, limits); !s.ok()) return Fail(s);
  }
  Reply reply;
  wire::EncodeSetInfoResponse(reply.body);
  return reply;
}

}  // namespace dittofs::smb
