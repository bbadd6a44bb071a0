// SPDX-License-Identifier: Apache-2.0
#include "controlplane/auth/redact.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

namespace dittofs::controlplane::auth {
namespace {

constexpr std::string_view kMask = "***";

// Substrings of a key (compared in lowercase) that mark its value as a credential.
constexpr std::string_view kSensitiveKeyWords[] = {
    "password", "passwd",     "secret",  "token",  "authorization", "api_key",
    "apikey",   "credential", "nt_hash", "nthash", "private_key",
};

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }
// Characters of a key or a bare word: "new_password", "x-api-key", "auth.token".
bool IsKeyChar(char c) { return IsAlnum(c) || c == '_' || c == '-' || c == '.'; }
bool IsBase64Url(char c) { return IsAlnum(c) || c == '-' || c == '_'; }
// RFC 6750 §2.1 b64token, the credential after "Bearer ".
bool IsBearerChar(char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
         c == '=';
}
// Characters of an encoded Argon2 hash after "$argon2id": "$v=19$m=65536,t=3,p=1$salt$hash".
bool IsArgon2Char(char c) {
  return IsAlnum(c) || c == '$' || c == '=' || c == ',' || c == '+' || c == '/';
}
// Where an unquoted value ends.
bool EndsBareValue(char c) {
  return IsSpace(c) || c == '\r' || c == '\n' || c == ',' || c == ';' || c == '&' || c == '}' ||
         c == ']' || c == ')' || c == '"' || c == '\'';
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

bool IsSensitiveKey(std::string_view key) {
  const std::string lower = Lower(key);
  for (std::string_view word : kSensitiveKeyWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// One left-to-right pass over a line; each Try* either consumes a match, writing its redacted
// form, or leaves the position alone and returns false.
class Redactor {
 public:
  explicit Redactor(std::string_view in) : in_(in) { out_.reserve(in.size()); }

  std::string Run() && {
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (c == '$' && TryArgon2()) continue;
      const bool word_start = IsKeyChar(c) && (pos_ == 0 || !IsKeyChar(in_[pos_ - 1]));
      if (word_start) {
        if (TryJwt() || TryBearer() || TryHexHash()) continue;
        KeyOrWord();
        continue;
      }
      out_.push_back(c);
      ++pos_;
    }
    return std::move(out_);
  }

 private:
  char At(size_t i) const { return i < in_.size() ? in_[i] : '\0'; }
  size_t Skip(size_t i, bool (*pred)(char)) const {
    while (i < in_.size() && pred(in_[i])) ++i;
    return i;
  }
  bool StartsWithIgnoreCase(size_t i, std::string_view prefix) const {
    if (in_.size() - i < prefix.size()) return false;
    return Lower(in_.substr(i, prefix.size())) == prefix;
  }

  // "$argon2id$v=19$m=...$salt$hash" -> "$argon2id$***".
  bool TryArgon2() {
    if (in_.substr(pos_, 7) != "$argon2") return false;
    const size_t variant_end = Skip(pos_ + 7, IsAlpha);
    out_.append(in_.substr(pos_, variant_end - pos_));
    out_.push_back('$');
    out_.append(kMask);
    pos_ = Skip(variant_end, IsArgon2Char);
    return true;
  }

  // "eyJ<b64url>.<b64url>.<b64url>": a JWT (its header always starts with '{"').
  bool TryJwt() {
    if (in_.substr(pos_, 3) != "eyJ") return false;
    size_t i = Skip(pos_, IsBase64Url);
    if (At(i) != '.') return false;
    const size_t payload = i + 1;
    i = Skip(payload, IsBase64Url);
    if (i == payload || At(i) != '.') return false;
    i = Skip(i + 1, IsBase64Url);
    out_.append(kMask);
    pos_ = i;
    return true;
  }

  // "Bearer <token>" -> "Bearer ***".
  bool TryBearer() {
    if (!StartsWithIgnoreCase(pos_, "bearer")) return false;
    const size_t spaces = pos_ + 6;
    const size_t token = Skip(spaces, IsSpace);
    if (token == spaces || !IsBearerChar(At(token))) return false;
    out_.append(in_.substr(pos_, token - pos_));
    out_.append(kMask);
    pos_ = Skip(token, IsBearerChar);
    return true;
  }

  // Exactly 32 hex digits standing alone: an NT or LM hash.
  bool TryHexHash() {
    const size_t end = Skip(pos_, IsHex);
    if (end - pos_ != 32 || IsAlnum(At(end)) || At(end) == '_') return false;
    out_.append(kMask);
    pos_ = end;
    return true;
  }

  // Copies a bare word; when it is a credential key followed by ':' (or '=' when unquoted),
  // redacts its value too.
  void KeyOrWord() {
    const size_t key_end = Skip(pos_, IsKeyChar);
    const std::string_view key = in_.substr(pos_, key_end - pos_);
    // The key's closing quote: '"' in JSON, '\\"' in JSON quoted inside a string.
    size_t close_quote = 0;
    if (pos_ > 0 && in_[pos_ - 1] == '"') {
      if (At(key_end) == '"') close_quote = 1;
      if (At(key_end) == '\\' && At(key_end + 1) == '"') close_quote = 2;
    }
    const bool quoted = close_quote > 0;
    out_.append(key);
    pos_ = key_end;
    if (!IsSensitiveKey(key)) return;

    size_t i = key_end + close_quote;
    i = Skip(i, IsSpace);
    if (!(At(i) == ':' || (!quoted && At(i) == '='))) return;
    const size_t value = Skip(i + 1, IsSpace);
    out_.append(in_.substr(pos_, value - pos_));
    pos_ = value;
    RedactValue(Lower(key).find("authorization") != std::string::npos);
  }

  // Replaces the value at pos_: a quoted string's contents, or a bare value unless it is
  // true, false or null.
  void RedactValue(bool is_authorization) {
    const char c = At(pos_);
    if (c == '"' || c == '\'') {
      out_.push_back(c);
      size_t i = pos_ + 1;
      while (i < in_.size() && in_[i] != c) i += in_[i] == '\\' ? 2 : 1;
      out_.append(kMask);
      if (i < in_.size()) out_.push_back(c);
      pos_ = std::min(i + 1, in_.size());
      return;
    }
    if (c == '\\' && At(pos_ + 1) == '"') {  // JSON inside a JSON string: \"secret\"
      const size_t close = in_.find("\\\"", pos_ + 2);
      out_.append("\\\"");
      out_.append(kMask);
      if (close == std::string_view::npos) {
        pos_ = in_.size();
      } else {
        out_.append("\\\"");
        pos_ = close + 2;
      }
      return;
    }
    if (c == '{' || c == '[') return;  // a nested object: its own keys get scanned
    if (is_authorization) {
      // "Basic dXNlcjpwYXNz": keep the scheme, drop the credentials.
      const size_t scheme_end = Skip(pos_, IsAlpha);
      const size_t credentials = Skip(scheme_end, IsSpace);
      if (scheme_end > pos_ && credentials > scheme_end && credentials < in_.size() &&
          !EndsBareValue(in_[credentials])) {
        out_.append(in_.substr(pos_, credentials - pos_));
        out_.append(kMask);
        pos_ = credentials;
        while (pos_ < in_.size() && !EndsBareValue(in_[pos_])) ++pos_;
        return;
      }
    }
    size_t end = pos_;
    while (end < in_.size() && !EndsBareValue(in_[end])) ++end;
    if (end == pos_) return;
    const std::string lower = Lower(in_.substr(pos_, end - pos_));
    if (lower == "true" || lower == "false" || lower == "null") {
      out_.append(in_.substr(pos_, end - pos_));
    } else {
      out_.append(kMask);
    }
    pos_ = end;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string out_;
};

}  // namespace

std::string Redact(std::string_view line) { return Redactor(line).Run(); }

}  // namespace dittofs::controlplane::auth
