// SPDX-License-Identifier: Apache-2.0
#include "gss/gss.h"

#include <fmt/format.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "base/log.h"

namespace dittofs::gss {

std::string ErrorText(uint32_t major, uint32_t minor) {
  std::string text;
  auto append = [&](uint32_t code, int type) {
    OM_uint32 ctx = 0, min = 0;
    do {
      gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
      if (gss_display_status(&min, code, type, GSS_C_NO_OID, &ctx, &msg) != GSS_S_COMPLETE) break;
      if (!text.empty()) text += ": ";
      text.append(static_cast<const char*>(msg.value), msg.length);
      gss_release_buffer(&min, &msg);
    } while (ctx != 0);
  };
  append(major, GSS_C_GSS_CODE);
  if (minor != 0) append(minor, GSS_C_MECH_CODE);
  return text;
}

Buffer::~Buffer() {
  OM_uint32 minor = 0;
  if (buf.value != nullptr) gss_release_buffer(&minor, &buf);
}

Credential::~Credential() {
  OM_uint32 minor = 0;
  if (cred_ != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &cred_);
}

namespace {

// An acceptor credential from `options.keytab`.
Result<gss_cred_id_t> Acquire(const KeytabOptions& options) {
  OM_uint32 major, minor = 0;
  gss_name_t name = GSS_C_NO_NAME;
  if (!options.service_principal.empty()) {
    gss_buffer_desc n = In(AsBytes(options.service_principal));
    major = gss_import_name(&minor, &n, GSS_KRB5_NT_PRINCIPAL_NAME, &name);
    if (GSS_ERROR(major)) {
      return Status(Errc::kInvalid,
                    fmt::format("kerberos: service principal {}: {}", options.service_principal,
                                ErrorText(major, minor)));
    }
  }
  gss_key_value_element_desc element{"keytab", options.keytab.c_str()};
  gss_key_value_set_desc store{1, &element};
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_ACCEPT,
                                &store, &cred, nullptr, nullptr);
  OM_uint32 ignored = 0;
  if (name != GSS_C_NO_NAME) gss_release_name(&ignored, &name);
  if (GSS_ERROR(major)) {
    return Status(Errc::kInvalid,
                  fmt::format("kerberos: keytab {}: {}", options.keytab, ErrorText(major, minor)));
  }
  return cred;
}

}  // namespace

Keytab::Keytab(KeytabOptions options, gss_cred_id_t cred, FileStamp stamp)
    : options_(std::move(options)),
      cred_(std::make_shared<const Credential>(cred)),
      stamp_(stamp),
      last_check_(std::chrono::steady_clock::now()) {}

Result<std::unique_ptr<Keytab>> Keytab::Open(KeytabOptions options) {
  const FileStamp stamp = StampOf(options.keytab);
  if (stamp == FileStamp{}) {
    return Status(Errc::kNotFound, fmt::format("kerberos: keytab {} not found", options.keytab));
  }
  ASSIGN_OR_RETURN(gss_cred_id_t cred, Acquire(options));
  return std::unique_ptr<Keytab>(new Keytab(std::move(options), cred, stamp));
}

std::shared_ptr<const Credential> Keytab::Current() {
  const auto now = std::chrono::steady_clock::now();
  MutexLock lock(&mu_);
  if (now - last_check_ >= options_.check_interval) {
    last_check_ = now;
    const FileStamp stamp = StampOf(options_.keytab);
    if (stamp != FileStamp{} && stamp != stamp_) {
      Result<gss_cred_id_t> fresh = Acquire(options_);
      if (fresh.ok()) {
        cred_ = std::make_shared<const Credential>(*fresh);
        stamp_ = stamp;
        LOG_INFO("kerberos: keytab {} reloaded", options_.keytab);
      } else {
        LOG_WARN("{} (keeping the keys read before)", fresh.status().message());
      }
    }
  }
  return cred_;
}

Context::~Context() {
  OM_uint32 minor = 0;
  if (ctx_ != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &ctx_, GSS_C_NO_BUFFER);
}

Context::Step Context::Accept(const Credential& cred, ByteView token) {
  gss_buffer_desc in = In(token);
  Buffer out;
  gss_name_t client = GSS_C_NO_NAME;
  OM_uint32 lifetime = 0, minor = 0;
  OM_uint32 major =
      gss_accept_sec_context(&minor, &ctx_, cred.get(), &in, GSS_C_NO_CHANNEL_BINDINGS, &client,
                             nullptr, &out.buf, nullptr, &lifetime, nullptr);
  Step step;
  step.major = major;
  step.minor = minor;
  step.output.assign(out.view().begin(), out.view().end());
  step.complete = !GSS_ERROR(major) && !(major & GSS_S_CONTINUE_NEEDED);
  OM_uint32 ignored = 0;
  if (step.complete) {
    Buffer name;
    gss_display_name(&ignored, client, &name.buf, nullptr);
    step.principal.assign(AsChars(name.view()));
    step.lifetime = lifetime;
  }
  if (client != GSS_C_NO_NAME) gss_release_name(&ignored, &client);
  return step;
}

Result<std::vector<std::byte>> Context::SessionKey() const {
  // RFC 4121 implementations' "SSPI session key" extension (MIT's GSS_C_INQ_SSPI_SESSION_KEY):
  // the key first, then its enctype.
  gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
  OM_uint32 minor = 0;
  OM_uint32 major = gss_inquire_sec_context_by_oid(&minor, ctx_, GSS_C_INQ_SSPI_SESSION_KEY, &set);
  if (GSS_ERROR(major) || set == GSS_C_NO_BUFFER_SET || set->count == 0) {
    OM_uint32 ignored = 0;
    if (set != GSS_C_NO_BUFFER_SET) gss_release_buffer_set(&ignored, &set);
    return Status(Errc::kInternal, "kerberos: no session key: " + ErrorText(major, minor));
  }
  const auto* key = static_cast<const std::byte*>(set->elements[0].value);
  std::vector<std::byte> out(key, key + set->elements[0].length);
  gss_release_buffer_set(&minor, &set);
  return out;
}

Result<std::vector<std::byte>> Context::GetMic(ByteView message) const {
  gss_buffer_desc in = In(message);
  Buffer token;
  OM_uint32 minor = 0;
  OM_uint32 major = gss_get_mic(&minor, ctx_, GSS_C_QOP_DEFAULT, &in, &token.buf);
  if (GSS_ERROR(major)) {
    return Status(Errc::kInternal, "kerberos: get_mic: " + ErrorText(major, minor));
  }
  return std::vector<std::byte>(token.view().begin(), token.view().end());
}

uint32_t Context::VerifyMic(ByteView message, ByteView mic, uint32_t* minor) const {
  gss_buffer_desc in = In(message);
  gss_buffer_desc token = In(mic);
  OM_uint32 min = 0;
  OM_uint32 major = gss_verify_mic(&min, ctx_, &in, &token, nullptr);
  *minor = min;
  return major;
}

}  // namespace dittofs::gss
