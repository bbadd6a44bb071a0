// SPDX-License-Identifier: Apache-2.0
#include "gss/kerberos_check.h"

#include <fmt/format.h>
#include <krb5/krb5.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "gss/gss.h"

namespace dittofs::gss {

namespace {

std::string FirstOf(const std::vector<std::string>& principals, const std::string& service,
                    const std::string& hostname) {
  for (const std::string& p : principals) {
    if (p.starts_with(service + "/" + hostname + "@")) return p;
  }
  return {};
}

std::string KrbError(krb5_context ctx, krb5_error_code code) {
  const char* text = krb5_get_error_message(ctx, code);
  std::string out = text != nullptr ? text : fmt::format("error {}", code);
  krb5_free_error_message(ctx, text);
  return out;
}

// Asks the KDC for a ticket as `principal` with the keytab's key: the KDC takes the key only if
// it is the principal's current one, and the ticket's start says how far the clocks are apart.
void CheckWithKdc(const std::string& keytab, const std::string& principal, KeytabReport* r) {
  krb5_context ctx = nullptr;
  if (principal.empty() || krb5_init_context(&ctx) != 0) return;
  krb5_principal client = nullptr;
  krb5_keytab kt = nullptr;
  krb5_get_init_creds_opt* opts = nullptr;
  krb5_creds creds{};
  bool have_creds = false;
  const std::string name = "FILE:" + keytab;
  krb5_error_code code = krb5_parse_name(ctx, principal.c_str(), &client);
  if (code == 0) code = krb5_kt_resolve(ctx, name.c_str(), &kt);
  if (code == 0) code = krb5_get_init_creds_opt_alloc(ctx, &opts);
  if (code == 0) {
    krb5_get_init_creds_opt_set_tkt_life(opts, 60);
    code = krb5_get_init_creds_keytab(ctx, &creds, client, kt, 0, nullptr, opts);
    have_creds = code == 0;
  }
  const std::string realm = principal.substr(principal.rfind('@') + 1);
  if (have_creds) {
    const long offset =
        static_cast<long>(creds.times.authtime) - static_cast<long>(std::time(nullptr));
    r->notes.push_back(fmt::format(
        "the KDC of {} takes the keytab's key for {}, and its clock is {} s from this one's", realm,
        principal, offset));
    if (offset > 240 || offset < -240) {
      r->problems.push_back(fmt::format(
          "this clock is {} s from the KDC's: at 300 s Kerberos refuses the tickets clients "
          "bring (set the clock with NTP)",
          offset));
    }
  } else if (code == KRB5_KDC_UNREACH || code == KRB5_REALM_CANT_RESOLVE ||
             code == KRB5_REALM_UNKNOWN) {
    r->notes.push_back(fmt::format(
        "the KDC of {} cannot be reached from here ({}): its clock and the keytab's key are not "
        "checked (dfs does not need the KDC; clients do)",
        realm, KrbError(ctx, code)));
  } else if (code == KRB5KRB_AP_ERR_SKEW) {
    r->problems.push_back(fmt::format(
        "this clock is more than 5 minutes from the KDC's of {}: Kerberos refuses the tickets "
        "clients bring (set the clock with NTP)",
        realm));
  } else if (code == KRB5KDC_ERR_PREAUTH_FAILED || code == KRB5KRB_AP_ERR_BAD_INTEGRITY ||
             code == KRB5KRB_AP_ERR_MODIFIED) {
    r->problems.push_back(fmt::format(
        "the KDC of {} does not take the keytab's key for {}: the key was changed since the "
        "keytab was written; clients' tickets will not decrypt (export it again with kadmin's "
        "ktadd)",
        realm, principal));
  } else {
    r->notes.push_back(fmt::format("asking the KDC of {} for a ticket as {} failed: {}", realm,
                                   principal, KrbError(ctx, code)));
  }
  if (have_creds) krb5_free_cred_contents(ctx, &creds);
  if (opts != nullptr) krb5_get_init_creds_opt_free(ctx, opts);
  if (kt != nullptr) krb5_kt_close(ctx, kt);
  if (client != nullptr) krb5_free_principal(ctx, client);
  krb5_free_context(ctx);
}

}  // namespace

KeytabReport CheckKeytab(const std::string& keytab, const std::string& service_principal,
                         const std::string& hostname, const std::string& service) {
  KeytabReport r;
  if (access(keytab.c_str(), R_OK) != 0) {
    r.problems.push_back(fmt::format("the keytab {} cannot be read", keytab));
    return r;
  }
  krb5_context ctx = nullptr;
  if (krb5_init_context(&ctx) != 0) {
    r.problems.push_back("the Kerberos library cannot start (is krb5.conf readable?)");
    return r;
  }
  krb5_keytab kt = nullptr;
  std::string name = "FILE:" + keytab;
  if (krb5_kt_resolve(ctx, name.c_str(), &kt) == 0) {
    krb5_kt_cursor cursor;
    if (krb5_kt_start_seq_get(ctx, kt, &cursor) == 0) {
      krb5_keytab_entry entry;
      while (krb5_kt_next_entry(ctx, kt, &entry, &cursor) == 0) {
        char* text = nullptr;
        if (krb5_unparse_name(ctx, entry.principal, &text) == 0) {
          if (std::find(r.principals.begin(), r.principals.end(), text) == r.principals.end()) {
            r.principals.emplace_back(text);
          }
          krb5_free_unparsed_name(ctx, text);
        }
        krb5_free_keytab_entry_contents(ctx, &entry);
      }
      krb5_kt_end_seq_get(ctx, kt, &cursor);
    } else {
      r.problems.push_back(fmt::format("the keytab {} is not a keytab", keytab));
    }
    krb5_kt_close(ctx, kt);
  }
  krb5_free_context(ctx);
  if (!r.problems.empty()) return r;
  if (r.principals.empty()) r.problems.push_back(fmt::format("the keytab {} is empty", keytab));

  // The principal clients ask for: the configured one, else <service>/<this host>.
  std::string wanted = service_principal;
  bool found = false;
  for (const std::string& p : r.principals) {
    if (wanted.empty() ? p.starts_with(service + "/" + hostname + "@") : p == wanted) found = true;
  }
  std::string what = wanted.empty() ? service + "/" + hostname + "@<realm>" : wanted;
  if (found) {
    r.notes.push_back(fmt::format("the keytab holds {}", what));
  } else {
    r.problems.push_back(fmt::format(
        "the keytab holds no {}: clients asking for it will be refused (add it with kadmin's "
        "ktadd)",
        what));
  }

  Result<std::unique_ptr<Keytab>> opened =
      Keytab::Open({.keytab = keytab, .service_principal = service_principal});
  if (opened.ok()) {
    r.notes.push_back(
        fmt::format("an acceptor credential for {} can be had from the keytab, as dfs will", what));
  } else {
    r.problems.push_back(opened.status().message());
  }
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  r.notes.push_back(fmt::format(
      "the local clock says {}: Kerberos refuses tickets from clients more than 5 minutes off",
      when));
  if (found)
    CheckWithKdc(keytab, wanted.empty() ? FirstOf(r.principals, service, hostname) : wanted, &r);
  return r;
}

}  // namespace dittofs::gss
