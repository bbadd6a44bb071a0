// SPDX-License-Identifier: Apache-2.0
#include "nfs/common/caller.h"

#include <gtest/gtest.h>

namespace dittofs::nfs {
namespace {

// Knows one user, alice (uid 1000).
class OneUserDirectory final : public core::UserDirectory {
 public:
  Result<core::UserRecord> FindUser(std::string_view name) const override {
    if (name != "alice") return Errc::kNotFound;
    return core::UserRecord{"alice", 1000, 1000, {50}, true};
  }
  Result<core::UserRecord> FindWindowsUser(std::string_view name) const override {
    return FindUser(name);
  }
  Result<core::UserRecord> FindKerberosUser(std::string_view principal) const override {
    return FindUser(principal);
  }
  Result<core::UserRecord> FindUserByUid(uint32_t uid) const override {
    if (uid != 1000) return Errc::kNotFound;
    return FindUser("alice");
  }
  Result<core::GroupRecord> FindGroup(std::string_view) const override { return Errc::kNotFound; }
  Result<core::GroupRecord> FindGroupByGid(uint32_t) const override { return Errc::kNotFound; }
};

rpc::CallContext Call(rpc::AuthFlavor flavor, uint32_t uid) {
  rpc::CallContext call;
  call.client_address = "10.0.0.7";
  call.cred.flavor = flavor;
  call.cred.uid = uid;
  call.cred.gid = 100;
  call.cred.gids = {100, 50};
  return call;
}

// AUTH_SYS callers are their wire ids, unnamed; AUTH_NONE callers are anonymous.
TEST(CallerTest, AuthSysCallersKeepTheirWireIds) {
  core::Caller sys = CallerOf(Call(rpc::AuthFlavor::kSys, 1000));
  EXPECT_EQ(sys.auth, core::AuthMethod::kSys);
  EXPECT_FALSE(sys.anonymous());
  EXPECT_EQ(sys.uid, 1000u);
  EXPECT_EQ(sys.gid, 100u);
  EXPECT_EQ(sys.groups, (std::vector<uint32_t>{100, 50}));
  EXPECT_EQ(sys.user_name, "");
  EXPECT_EQ(sys.client_address, "10.0.0.7");
  EXPECT_TRUE(CallerOf(Call(rpc::AuthFlavor::kNone, 65534)).anonymous());
}

TEST(CallerTest, DescriptionNamesTheUserTheDirectoryKnows) {
  OneUserDirectory users;
  EXPECT_EQ(DescribeCaller(Call(rpc::AuthFlavor::kSys, 1000), &users),
            "10.0.0.7 as uid 1000 (alice)");
  EXPECT_EQ(DescribeCaller(Call(rpc::AuthFlavor::kSys, 1001), &users), "10.0.0.7 as uid 1001");
  EXPECT_EQ(DescribeCaller(Call(rpc::AuthFlavor::kSys, 1000), nullptr), "10.0.0.7 as uid 1000");
  EXPECT_EQ(DescribeCaller(Call(rpc::AuthFlavor::kNone, 65534), &users), "10.0.0.7 as anonymous");
}

}  // namespace
}  // namespace dittofs::nfs
