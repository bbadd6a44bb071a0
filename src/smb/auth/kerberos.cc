// SPDX-License-Identifier: Apache-2.0
#include "smb/auth/kerberos.h"

#include "gss/gss.h"

namespace dittofs::smb::auth {
namespace {

class GssKerberosContext final : public KerberosContext {
 public:
  explicit GssKerberosContext(gss::Keytab& keytab) : keytab_(keytab) {}

  Result<Step> Accept(ByteView token) override {
    std::shared_ptr<const gss::Credential> cred = keytab_.Current();
    gss::Context::Step s = context_.Accept(*cred, token);
    if (GSS_ERROR(s.major)) {
      return Status(Errc::kAccess, "kerberos: " + gss::ErrorText(s.major, s.minor));
    }
    if (s.complete) principal_ = std::move(s.principal);
    return Step{.done = s.complete, .output = std::move(s.output)};
  }

  const std::string& principal() const override { return principal_; }
  Result<std::vector<std::byte>> SessionKey() const override { return context_.SessionKey(); }
  Result<std::vector<std::byte>> GetMic(ByteView message) const override {
    return context_.GetMic(message);
  }
  Status VerifyMic(ByteView message, ByteView mic) const override {
    uint32_t minor = 0;
    uint32_t major = context_.VerifyMic(message, mic, &minor);
    if (GSS_ERROR(major)) {
      return Status(Errc::kAccess, "kerberos: mechListMIC: " + gss::ErrorText(major, minor));
    }
    return Status::Ok();
  }

 private:
  gss::Keytab& keytab_;
  gss::Context context_;
  std::string principal_;
};

}  // namespace

std::unique_ptr<KerberosContext> NewKerberosContext(gss::Keytab& keytab) {
  return std::make_unique<GssKerberosContext>(keytab);
}

}  // namespace dittofs::smb::auth
