// SPDX-License-Identifier: Apache-2.0
#include "smb/rpc/srvsvc.h"

#include <memory>
#include <utility>

#include "smb/rpc/ndr.h"

namespace dittofs::smb::rpc {
namespace {

// Windows errors NetrShare* return (MS-ERREF 2.2).
constexpr uint32_t kErrorInvalidLevel = 124, kNerrNetNameNotFound = 2310;

const SyntaxId kSrvsvc = MakeSyntaxId(0x4B324FC8, 0x1670, 0x01D3,
                                      {0x12, 0x78, 0x5A, 0x47, 0xBF, 0x6E, 0xE1, 0x88}, 3, 0);

// The fields of one SHARE_INFO_<level> (its pointers' referents come after, see Deferred).
void ShareFields(NdrWriter& n, uint32_t level, const ShareInfo& s) {
  n.Pointer(true);  // netname
  if (level == 0) return;
  n.U32(s.type);
  n.Pointer(true);  // remark
  if (level == 1) return;
  if (level == 501) {
    n.U32(0);  // shi501_flags
    return;
  }
  n.U32(0);  // permissions
  n.U32(s.max_uses);
  n.U32(s.current_uses);
  n.Pointer(true);   // path
  n.Pointer(false);  // passwd
  if (level == 502) {
    n.U32(0);          // reserved
    n.Pointer(false);  // security descriptor
  }
}
void ShareDeferred(NdrWriter& n, uint32_t level, const ShareInfo& s) {
  n.String(s.name);
  if (level == 0) return;
  n.String(s.comment);
  if (level == 1 || level == 501) return;
  n.String(s.path);
}
bool KnownShareLevel(uint32_t level) {
  return level == 0 || level == 1 || level == 2 || level == 501 || level == 502;
}

// The operations of srvsvc that list shares.
class SrvsvcInterface final : public RpcInterface {
 public:
  SrvsvcInterface(std::function<std::vector<ShareInfo>()> shares, std::string server_name)
      : shares_(std::move(shares)), server_name_(std::move(server_name)) {}

  SyntaxId syntax() const override { return kSrvsvc; }
  RpcAnswer Call(uint16_t opnum, ByteView stub) override;

 private:
  std::function<std::vector<ShareInfo>()> shares_;
  std::string server_name_;
};

RpcAnswer SrvsvcInterface::Call(uint16_t opnum, ByteView stub) {
  NdrReader r(stub);
  NdrWriter n;
  // Every operation starts with ServerName, a [unique, string] wchar_t* we need not read.
  (void)r.UniqueString();
  switch (opnum) {
    case 15: {  // NetrShareEnum (MS-SRVS 3.1.4.8)
      const uint32_t level = r.U32();
      if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
      if (!KnownShareLevel(level)) {
        n.U32(level);
        n.U32(level);
        n.Pointer(false);
        n.U32(0);          // TotalEntries
        n.Pointer(false);  // ResumeHandle
        n.U32(kErrorInvalidLevel);
        break;
      }
      const std::vector<ShareInfo> shares = shares_();
      n.U32(level);                                 // SHARE_ENUM_STRUCT.Level
      n.U32(level);                                 // the union's discriminant
      n.Pointer(true);                              // the container
      n.U32(static_cast<uint32_t>(shares.size()));  // EntriesRead
      n.Pointer(!shares.empty());                   // Buffer
      if (!shares.empty()) {
        n.U32(static_cast<uint32_t>(shares.size()));  // the array's conformance
        for (const ShareInfo& s : shares) ShareFields(n, level, s);
        for (const ShareInfo& s : shares) ShareDeferred(n, level, s);
      }
      n.U32(static_cast<uint32_t>(shares.size()));  // TotalEntries
      n.Pointer(true);                              // ResumeHandle
      n.U32(0);
      n.U32(0);  // WERR_OK
      break;
    }
    case 16: {  // NetrShareGetInfo (MS-SRVS 3.1.4.10)
      // NetName: a [ref, string] pointer: the string itself, no referent id.
      const std::string want = r.String();
      const uint32_t level = r.U32();
      if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
      const auto fold = [](std::string s) {
        for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        return s;
      };
      const ShareInfo* found = nullptr;
      const std::vector<ShareInfo> shares = shares_();
      for (const ShareInfo& s : shares) {
        if (fold(s.name) == fold(want)) found = &s;
      }
      n.U32(level);
      if (!KnownShareLevel(level) && level != 1005) {
        n.Pointer(false);
        n.U32(kErrorInvalidLevel);
      } else if (found == nullptr) {
        n.Pointer(false);
        n.U32(kNerrNetNameNotFound);
      } else if (level == 1005) {
        n.Pointer(true);
        n.U32(found->flags);  // shi1005_flags (0: manual caching)
        n.U32(0);
      } else {
        n.Pointer(true);
        ShareFields(n, level, *found);
        ShareDeferred(n, level, *found);
        n.U32(0);
      }
      break;
    }
    case 21: {  // NetrServerGetInfo (MS-SRVS 3.1.4.17)
      const uint32_t level = r.U32();
      if (!r.ok()) return RpcAnswer::Fault(kNcaProtoError);
      n.U32(level);
      if (level != 100 && level != 101 && level != 102) {
        n.Pointer(false);
        n.U32(kErrorInvalidLevel);
        break;
      }
      n.Pointer(true);
      n.U32(500);       // PLATFORM_ID_NT
      n.Pointer(true);  // name
      if (level >= 101) {
        n.U32(10);          // version major
        n.U32(0);           // minor
        n.U32(0x00009003);  // SV_TYPE_WORKSTATION | SERVER | SERVER_NT | SERVER_UNIX
        n.Pointer(true);    // comment
      }
      if (level == 102) {
        n.U32(0xFFFFFFFF);  // users
        n.U32(0);           // disc
        n.U32(0);           // hidden
        n.U32(240);         // announce
        n.U32(3000);        // anndelta
        n.U32(0);           // licenses
        n.Pointer(true);    // userpath
      }
      n.String(server_name_);
      if (level >= 101) n.String("DittoFS");
      if (level == 102) n.String("C:\\");
      n.U32(0);
      break;
    }
    default:
      return RpcAnswer::Fault(kNcaOpRangeError);
  }
  return {std::move(n.out)};
}

}  // namespace

SrvsvcPipe::SrvsvcPipe(std::function<std::vector<ShareInfo>()> shares, std::string server_name)
    : RpcPipe("\\PIPE\\srvsvc",
              std::make_unique<SrvsvcInterface>(std::move(shares), std::move(server_name))) {}

}  // namespace dittofs::smb::rpc
