// SPDX-License-Identifier: Apache-2.0
//
// libFuzzer target for the SMB2 wire decoders (src/smb/wire): the fuzzer's bytes are the body
// of a message behind a valid 64-byte SMB2 header, and every request decoder reads it; the raw
// bytes also go to DecodeHeader, DecodeSmb1Negotiate, Utf16ToUtf8, the reparse decoders and
// the EA list decoders.
// Decoders must fail cleanly or return views inside the message: each view returned is read through
// (so ASan sees a view that strays), and a name decoded is valid UTF-8 once more through
// AppendUtf16.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "smb/wire/messages.h"
#include "smb/wire/smb2.h"
#include "smb/wire/utf16.h"

namespace {

using namespace dittofs;
using namespace dittofs::smb;

volatile uint8_t sink;

// Reads every byte of `v` and checks it lies inside `m`.
void Touch(ByteView v, ByteView m) {
  if (v.empty()) return;
  if (v.data() < m.data() || v.data() + v.size() > m.data() + m.size()) std::abort();
  uint8_t x = 0;
  for (std::byte b : v) x ^= static_cast<uint8_t>(b);
  sink = x;
}

void TouchName(const std::string& s) {
  std::vector<std::byte> utf16;
  wire::AppendUtf16(s, utf16);
  if (utf16.size() != wire::Utf16Size(s)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView raw(reinterpret_cast<const std::byte*>(data), size);

  // The raw bytes as a header, an SMB1 NEGOTIATE and a UTF-16LE name.
  if (Result<wire::Header> h = wire::DecodeHeader(raw); h.ok()) {
    std::vector<std::byte> again;
    wire::EncodeHeader(*h, again);
    if (again.size() != wire::kHeaderSize) std::abort();
  }
  if (Result<std::vector<std::string>> d = wire::DecodeSmb1Negotiate(raw); d.ok()) {
    for (const std::string& s : *d) sink = s.empty() ? 0 : static_cast<uint8_t>(s[0]);
  }
  if (Result<std::string> s = wire::Utf16ToUtf8(raw); s.ok()) {
    TouchName(*s);
    // Valid UTF-16 goes back to the same bytes.
    if (wire::ToUtf16(*s) != std::vector<std::byte>(raw.begin(), raw.end())) std::abort();
  }

  // The raw bytes as a REPARSE_DATA_BUFFER (FSCTL_SET_REPARSE_POINT's input): a symbolic link
  // decoded encodes to a buffer that decodes to the same link.
  (void)wire::DecodeReparseTag(raw);
  if (Result<wire::SymlinkReparse> link = wire::DecodeSymlinkReparse(raw); link.ok()) {
    TouchName(link->substitute_name);
    TouchName(link->print_name);
    std::vector<std::byte> again;
    wire::EncodeSymlinkReparse(*link, again);
    Result<wire::SymlinkReparse> back = wire::DecodeSymlinkReparse(again);
    if (!back.ok() || back->substitute_name != link->substitute_name ||
        back->print_name != link->print_name || back->relative != link->relative) {
      std::abort();
    }
  }

  // The raw bytes as EA lists (SET_INFO's and the ExtA context's FILE_FULL_EA_INFORMATION,
  // QUERY_INFO's FILE_GET_EA_INFORMATION): a list decoded encodes to one that decodes the same.
  if (Result<std::vector<wire::FullEa>> eas = wire::DecodeFullEaList(raw); eas.ok()) {
    std::vector<std::byte> again;
    wire::EncodeFullEaList(*eas, again);
    Result<std::vector<wire::FullEa>> back = wire::DecodeFullEaList(again);
    if (!back.ok() || back->size() != eas->size()) std::abort();
    for (size_t i = 0; i < eas->size(); ++i) {
      const wire::FullEa& a = (*eas)[i];
      const wire::FullEa& b = (*back)[i];
      if (a.name.empty() || a.name != b.name || a.value != b.value || a.flags != b.flags) {
        std::abort();
      }
    }
  }
  if (Result<std::vector<std::string>> names = wire::DecodeGetEaList(raw); names.ok()) {
    for (const std::string& n : *names) {
      if (n.empty() || n.size() > 255) std::abort();
    }
  }

  // The raw bytes as QUERY_INFO's SMB2_QUERY_QUOTA_INFO (its SIDs views inside it) and as
  // SET_INFO's FILE_QUOTA_INFORMATION list (which encodes to one that decodes the same).
  if (Result<wire::QueryQuotaInfo> q = wire::DecodeQueryQuotaInfo(raw); q.ok()) {
    for (ByteView sid : q->sid_list) Touch(sid, raw);
    if (!q->start_sid.empty()) Touch(q->start_sid, raw);
  }
  if (Result<std::vector<wire::QuotaInformation>> quotas = wire::DecodeQuotaList(raw);
      quotas.ok()) {
    std::vector<std::byte> again;
    wire::EncodeQuotaList(*quotas, again);
    Result<std::vector<wire::QuotaInformation>> back = wire::DecodeQuotaList(again);
    if (!back.ok() || back->size() != quotas->size()) std::abort();
    for (size_t i = 0; i < quotas->size(); ++i) {
      const wire::QuotaInformation& a = (*quotas)[i];
      const wire::QuotaInformation& b = (*back)[i];
      if (a.sid != b.sid || a.used != b.used || a.limit != b.limit || a.threshold != b.threshold) {
        std::abort();
      }
    }
  }

  // The bytes as the body of a request.
  std::vector<std::byte> m;
  wire::Header header;
  header.command = wire::kCreate;
  header.message_id = 1;
  wire::EncodeHeader(header, m);
  m.insert(m.end(), raw.begin(), raw.end());
  const ByteView msg(m);

  if (auto r = wire::DecodeNegotiate(msg); r.ok()) {
    for (const auto& c : r->contexts) Touch(c.data, msg);
  }
  if (auto r = wire::DecodeSessionSetup(msg); r.ok()) Touch(r->security_buffer, msg);
  if (auto r = wire::DecodeTreeConnect(msg); r.ok()) TouchName(r->path);
  (void)wire::DecodeEmpty(msg);
  if (auto r = wire::DecodeCreate(msg); r.ok()) {
    TouchName(r->name);
    for (const auto& c : r->contexts) Touch(c.data, msg);
  }
  (void)wire::DecodeClose(msg);
  (void)wire::DecodeFlush(msg);
  (void)wire::DecodeRead(msg);
  if (auto r = wire::DecodeWrite(msg); r.ok()) Touch(r->data, msg);
  if (auto r = wire::DecodeLock(msg); r.ok()) {
    if (r->locks.size() > 64) std::abort();  // the decoder's own bound
  }
  if (auto r = wire::DecodeIoctl(msg); r.ok()) Touch(r->input, msg);
  if (auto r = wire::DecodeQueryDirectory(msg); r.ok()) TouchName(r->pattern);
  (void)wire::DecodeChangeNotify(msg);
  if (auto r = wire::DecodeQueryInfo(msg); r.ok()) Touch(r->input, msg);
  if (auto r = wire::DecodeSetInfo(msg); r.ok()) Touch(r->buffer, msg);
  (void)wire::DecodeBreakAck(msg);
  return 0;
}
