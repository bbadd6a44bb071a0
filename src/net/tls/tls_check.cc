// SPDX-License-Identifier: Apache-2.0
#include "net/tls/tls_check.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <memory>

namespace dittofs::net {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string Subject(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

std::string TimeText(const ASN1_TIME* t) {
  BIO* b = BIO_new(BIO_s_mem());
  ASN1_TIME_print(b, t);
  char* data;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

// Reads every certificate of a PEM file; says what is wrong in `problem` when it cannot.
std::vector<X509Ptr> ReadCertificates(const std::string& path, const char* what,
                                      std::string* problem) {
  std::vector<X509Ptr> certs;
  if (::access(path.c_str(), F_OK) != 0) {
    *problem = std::string(what) + " " + path + " does not exist";
    return certs;
  }
  BIO* b = BIO_new_file(path.c_str(), "r");
  if (b == nullptr) {
    *problem = std::string(what) + " " + path + " cannot be read (permissions?)";
    return certs;
  }
  while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) certs.emplace_back(x);
  BIO_free(b);
  ERR_clear_error();  // the end of the file reads as an error
  if (certs.empty()) *problem = std::string(what) + " " + path + " holds no PEM certificate";
  return certs;
}

// The DNS and IP names of the certificate's subjectAltName.
std::vector<std::string> AltNames(X509* x) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type == GEN_DNS) {
      const unsigned char* s = ASN1_STRING_get0_data(n->d.dNSName);
      names.emplace_back(reinterpret_cast<const char*>(s), ASN1_STRING_length(n->d.dNSName));
    } else if (n->type == GEN_IPADD) {
      const unsigned char* s = ASN1_STRING_get0_data(n->d.iPAddress);
      int len = ASN1_STRING_length(n->d.iPAddress);
      if (len == 4) {
        names.push_back(std::to_string(s[0]) + "." + std::to_string(s[1]) + "." +
                        std::to_string(s[2]) + "." + std::to_string(s[3]));
      } else {
        names.push_back("an IPv6 address");
      }
    }
  }
  GENERAL_NAMES_free(sans);
  return names;
}

std::string CommonName(X509* x) {
  X509_NAME* name = X509_get_subject_name(x);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

}  // namespace

TlsFilesReport CheckTlsFiles(const std::string& cert_file, const std::string& key_file,
                             const std::string& client_ca_file) {
  TlsFilesReport report;
  std::vector<std::string>& problems = report.problems;
  if (cert_file.empty()) problems.push_back("nfs.tls.cert_file is not set");
  if (key_file.empty()) problems.push_back("nfs.tls.key_file is not set");
  if (!problems.empty()) return report;

  std::string problem;
  std::vector<X509Ptr> chain = ReadCertificates(cert_file, "certificate file", &problem);
  if (!problem.empty()) problems.push_back(problem);
  X509* cert = chain.empty() ? nullptr : chain.front().get();

  EVP_PKEY* key = nullptr;
  if (::access(key_file.c_str(), F_OK) != 0) {
    problems.push_back("key file " + key_file + " does not exist");
  } else if (BIO* b = BIO_new_file(key_file.c_str(), "r"); b == nullptr) {
    problems.push_back("key file " + key_file + " cannot be read (permissions?)");
  } else {
    key = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    if (key == nullptr) {
      problems.push_back("key file " + key_file +
                         " holds no PEM private key (or it is encrypted with a passphrase)");
    }
  }
  ERR_clear_error();

  std::string names_text;
  std::string until;
  if (cert != nullptr) {
    if (key != nullptr && X509_check_private_key(cert, key) != 1) {
      problems.push_back("the key in " + key_file + " does not match the certificate in " +
                         cert_file);
    }
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
      problems.push_back("the certificate is not valid yet: it starts on " +
                         TimeText(X509_get0_notBefore(cert)));
    }
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
      problems.push_back("the certificate expired on " + TimeText(X509_get0_notAfter(cert)));
    }
    until = TimeText(X509_get0_notAfter(cert));
    std::vector<std::string> names = AltNames(cert);
    std::string cn = CommonName(cert);
    if (names.empty() && cn.empty()) {
      problems.push_back("the certificate names no host: it has neither a subjectAltName nor a CN");
    }
    for (const std::string& n : names) names_text += (names_text.empty() ? "" : ", ") + n;
    if (names_text.empty()) names_text = "CN " + cn + " (no subjectAltName)";
  }
  ERR_clear_error();

  std::string ca_text;
  if (!client_ca_file.empty()) {
    std::string ca_problem;
    std::vector<X509Ptr> cas = ReadCertificates(client_ca_file, "client CA file", &ca_problem);
    if (!ca_problem.empty()) {
      problems.push_back(ca_problem);
    } else if (cert != nullptr) {
      X509_STORE* store = X509_STORE_new();
      for (const X509Ptr& ca : cas) X509_STORE_add_cert(store, ca.get());
      STACK_OF(X509)* untrusted = sk_X509_new_null();
      for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i].get());
      X509_STORE_CTX* ctx = X509_STORE_CTX_new();
      X509_STORE_CTX_init(ctx, store, cert, untrusted);
      if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        problems.push_back(
            "the client CA in " + client_ca_file +
            " does not verify the certificate: " + X509_verify_cert_error_string(err));
      }
      X509_STORE_CTX_free(ctx);
      sk_X509_free(untrusted);
      X509_STORE_free(store);
      ca_text = "; clients must present a certificate from " + Subject(cas.front().get());
    }
  }
  ERR_clear_error();
  EVP_PKEY_free(key);
  if (problems.empty() && cert != nullptr) {
    report.summary =
        "ok: " + Subject(cert) + " for " + names_text + ", valid until " + until + ca_text;
  }
  return report;
}

}  // namespace dittofs::net
