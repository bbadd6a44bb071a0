// SPDX-License-Identifier: Apache-2.0

#include "smb/server/persistent.h"

#include <gtest/gtest.h>

#include "base/record_codec.h"
#include "smb/wire/smb2.h"

namespace dittofs::smb {
namespace {

PersistedOpen Sample() {
  PersistedOpen p;
  p.id = 0x0123456789ABCDEFull;
  p.share = "/export";
  p.file = {42, 7};
  p.parent = {1, 0};
  p.leaf = "report.docx";
  p.path = "dir\\report.docx";
  p.access = 0x0012019F;
  p.share_access = 0x3;
  p.delete_on_close = true;
  p.timeout_ms = 120'000;
  p.create_guid.fill(std::byte{0xC1});
  p.client_guid.fill(std::byte{0xC2});
  p.caller.uid = 2001;
  p.caller.gid = 100;
  p.caller.groups = {100, 27, 4};
  p.caller.user_name = "alice";
  p.caller.auth = core::AuthMethod::kNtlm;
  p.oplock = wire::kOplockLease;
  PersistedOpen::LeasePart lease;
  lease.key.fill(std::byte{0x4B});
  lease.state = 7;
  lease.v2 = true;
  lease.epoch = 3;
  lease.has_parent = true;
  lease.parent.fill(std::byte{0x50});
  p.lease = lease;
  p.locks = {{0, 10, true}, {100, 1, false}, {~uint64_t{0} - 5, 5, true}};
  return p;
}

void ExpectSame(const PersistedOpen& a, const PersistedOpen& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.share, b.share);
  EXPECT_EQ(a.file, b.file);
  EXPECT_EQ(a.parent, b.parent);
  EXPECT_EQ(a.leaf, b.leaf);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.access, b.access);
  EXPECT_EQ(a.share_access, b.share_access);
  EXPECT_EQ(a.delete_on_close, b.delete_on_close);
  EXPECT_EQ(a.directory, b.directory);
  EXPECT_EQ(a.timeout_ms, b.timeout_ms);
  EXPECT_EQ(a.create_guid, b.create_guid);
  EXPECT_EQ(a.client_guid, b.client_guid);
  EXPECT_EQ(a.caller.uid, b.caller.uid);
  EXPECT_EQ(a.caller.gid, b.caller.gid);
  EXPECT_EQ(a.caller.groups, b.caller.groups);
  EXPECT_EQ(a.caller.user_name, b.caller.user_name);
  EXPECT_EQ(a.caller.auth, b.caller.auth);
  EXPECT_EQ(a.oplock, b.oplock);
  EXPECT_EQ(a.lease, b.lease);
  EXPECT_EQ(a.locks, b.locks);
}

TEST(PersistedOpenTest, RoundTripsWithALease) {
  const PersistedOpen p = Sample();
  Result<PersistedOpen> back = DecodePersistedOpen(EncodePersistedOpen(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(p, *back);
}

TEST(PersistedOpenTest, RoundTripsWithAnOplockAndNoLocks) {
  PersistedOpen p = Sample();
  p.lease.reset();
  p.oplock = wire::kOplockBatch;
  p.locks.clear();
  p.caller.groups.clear();
  p.delete_on_close = false;
  p.directory = true;
  Result<PersistedOpen> back = DecodePersistedOpen(EncodePersistedOpen(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSame(p, *back);
}

TEST(PersistedOpenTest, KeysSortByIdAndAreEightBytes) {
  EXPECT_EQ(PersistedOpenKey(1).size(), 8u);
  EXPECT_LT(PersistedOpenKey(1), PersistedOpenKey(2));
  EXPECT_LT(PersistedOpenKey(0xFF), PersistedOpenKey(0x100));
}

// A record cut anywhere, or with a byte more, is refused (never read past its end).
TEST(PersistedOpenTest, RefusesEveryTruncationAndTrailingBytes) {
  const std::string whole = EncodePersistedOpen(Sample());
  for (size_t n = 0; n < whole.size(); ++n) {
    EXPECT_FALSE(DecodePersistedOpen(std::string_view(whole).substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(DecodePersistedOpen(whole + "x").ok());
}

TEST(PersistedOpenTest, RefusesLyingCountsAndUnknownVersions) {
  std::string bad = EncodePersistedOpen(Sample());
  bad[0] = 2;  // a version this server does not know
  EXPECT_FALSE(DecodePersistedOpen(bad).ok());

  PersistedOpen p = Sample();
  p.lease.reset();
  p.oplock = 0;
  p.locks.clear();
  p.caller.groups.clear();
  p.caller.user_name.clear();
  std::string value = EncodePersistedOpen(p);
  // The last four bytes are the lock count: claim a million locks that are not there.
  value.replace(value.size() - 4, 4, std::string("\x40\x42\x0F\x00", 4));
  EXPECT_FALSE(DecodePersistedOpen(value).ok());
  // A string length past the end (the share name's, right after version and id).
  std::string lying = EncodePersistedOpen(p);
  lying.replace(9, 4, std::string("\xFF\xFF\xFF\x7F", 4));
  EXPECT_FALSE(DecodePersistedOpen(lying).ok());
}

}  // namespace
}  // namespace dittofs::smb
