// SPDX-License-Identifier: Apache-2.0
#include "gss/kerberos_check.h"

#include <fmt/format.h>
#include <krb5/krb5.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "gss/gss.h"

namespace dittofs::gss {

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
  return r;
}

}  // namespace dittofs::gss
