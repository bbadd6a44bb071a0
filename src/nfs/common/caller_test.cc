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

rpc::CallContext GssCall(rpc::RpcGssService service) {
  rpc::CallContext call = Call(rpc::AuthFlavor::kGss, 1000);
  call.cred.gss_service = static_cast<uint32_t>(service);
  call.cred.gss_principal = "alice@DFS.TEST";
  call.cred.user_name = "alice";
  return call;
}

// RPCSEC_GSS callers run as their mapped user, by Kerberos; machine principals anonymous.
TEST(CallerOf, KerberosCallersAreTheirUserOrAnonymous) {
  rpc::CallContext call = GssCall(rpc::RpcGssService::kPrivacy);
  core::Caller c = CallerOf(call);
  EXPECT_EQ(c.auth, core::AuthMethod::kKerberos);
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.user_name, "alice");
  call.cred.gss_anonymous = true;
  call.cred.user_name.clear();
  EXPECT_TRUE(CallerOf(call).anonymous());
  EXPECT_EQ(DescribeCaller(GssCall(rpc::RpcGssService::kNone), nullptr),
            "10.0.0.7 as alice@DFS.TEST (uid 1000)");
}

// A share's flavors: sys takes AUTH_SYS and AUTH_NONE; a Kerberos service takes itself and
// stronger ones, never weaker ones.
TEST(AcceptsFlavor, FollowsTheSharesSecurity) {
  core::ShareOptions sys;
  core::ShareOptions krb5p;
  krb5p.security = core::NfsSecurity{.sys = false, .krb5p = true};
  core::ShareOptions krb5;
  krb5.security = core::NfsSecurity{.sys = false, .krb5 = true};
  rpc::CallContext as_sys = Call(rpc::AuthFlavor::kSys, 1000);
  rpc::CallContext as_none = Call(rpc::AuthFlavor::kNone, 65534);
  EXPECT_TRUE(AcceptsFlavor(as_sys, sys));
  EXPECT_TRUE(AcceptsFlavor(as_none, sys));
  EXPECT_FALSE(AcceptsFlavor(GssCall(rpc::RpcGssService::kPrivacy), sys));
  EXPECT_FALSE(AcceptsFlavor(as_sys, krb5p));
  EXPECT_FALSE(AcceptsFlavor(GssCall(rpc::RpcGssService::kNone), krb5p));
  EXPECT_FALSE(AcceptsFlavor(GssCall(rpc::RpcGssService::kIntegrity), krb5p));
  EXPECT_TRUE(AcceptsFlavor(GssCall(rpc::RpcGssService::kPrivacy), krb5p));
  EXPECT_TRUE(AcceptsFlavor(GssCall(rpc::RpcGssService::kNone), krb5));
  EXPECT_TRUE(AcceptsFlavor(GssCall(rpc::RpcGssService::kIntegrity), krb5));
  EXPECT_TRUE(WrongSecurity(as_sys, krb5));
  EXPECT_EQ(MountFlavors(sys), (std::vector<uint32_t>{1}));
  core::ShareOptions all;
  all.security = core::NfsSecurity{.sys = true, .krb5 = true, .krb5i = true, .krb5p = true};
  EXPECT_EQ(MountFlavors(all), (std::vector<uint32_t>{390005, 390004, 390003, 1}));
}

}  // namespace
}  // namespace dittofs::nfs
