// SPDX-License-Identifier: Apache-2.0
//
// Interoperability with an independent DCE/RPC and NDR implementation: python3-impacket
// builds the bind and the srvsvc and LSA requests (testdata/srvsvc_peer.py,
// testdata/lsarpc_peer.py), SrvsvcPipe and LsarpcPipe answer, and impacket decodes the
// answers. Skipped when impacket is not installed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "smb/rpc/lsa_test_accounts.h"
#include "smb/rpc/lsarpc.h"
#include "smb/rpc/srvsvc.h"
#include "testing/status_matchers.h"

namespace dittofs::smb::rpc {
namespace {

const char kPython[] = "/usr/bin/python3";
const std::string kPeer = std::string(DITTOFS_SMB_RPC_TESTDATA) + "/srvsvc_peer.py";
const std::string kLsaPeer = std::string(DITTOFS_SMB_RPC_TESTDATA) + "/lsarpc_peer.py";
constexpr uint32_t kDisk = 0;
constexpr uint32_t kIpcSpecial = 0x80000003;

bool ImpacketAvailable() {
  std::string cmd = std::string(kPython) +
                    " -c 'from impacket.dcerpc.v5 import rpcrt, srvs, lsad, lsat' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

std::vector<std::byte> FromHex(const std::string& hex) {
  std::vector<std::byte> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(std::byte(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string ToHex(const std::vector<std::byte>& b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::byte x : b) {
    out.push_back(digits[uint8_t(x) >> 4]);
    out.push_back(digits[uint8_t(x) & 15]);
  }
  return out;
}

std::vector<ShareInfo> Shares() {
  return {{"export", kDisk, "the export", "C:\\export", 0xFFFFFFFF, 2},
          {"données", kDisk, "", "C:\\donnees", 10, 0},
          {"IPC$", kIpcSpecial, "Remote IPC", "", 0xFFFFFFFF, 0}};
}

// Feeds every request `peer` built to `pipe` (SrvsvcPipe or LsarpcPipe) and has the peer
// decode every answer. The bind asks for fragments of at most `max_frag` bytes, and the
// answers are read `max_frag` bytes at a time, as a client reading the pipe would. `edit`
// (may be empty) sees each request before it is written and each answer after it is read.
template <typename Pipe>
std::map<std::string, std::string> Converse(
    Pipe& pipe, const std::string& peer, uint16_t max_frag,
    const std::function<void(const std::string& name, std::vector<std::byte>& pdu, bool answer)>&
        edit = {}) {
  std::istringstream requests(Run(std::string(kPython) + " " + peer + " requests"));
  char path[] = "/tmp/smb_rpc_impacketXXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return {};
  close(fd);
  std::ofstream answers(path);
  std::string name, hex;
  while (requests >> name >> hex) {
    std::vector<std::byte> pdu = FromHex(hex);
    if (name == "bind") {
      pdu[16] = std::byte(max_frag & 0xFF);
      pdu[17] = std::byte(max_frag >> 8);
      pdu[18] = std::byte(max_frag & 0xFF);
      pdu[19] = std::byte(max_frag >> 8);
    }
    if (edit) edit(name, pdu, false);
    EXPECT_OK(pipe.Write(pdu));
    std::vector<std::byte> all;
    while (pipe.has_output()) {
      bool more = false;
      std::vector<std::byte> part = pipe.Read(max_frag, &more);
      all.insert(all.end(), part.begin(), part.end());
    }
    if (edit) edit(name, all, true);
    answers << name << " " << ToHex(all) << "\n";
  }
  answers.close();
  std::istringstream decoded(Run(std::string(kPython) + " " + peer + " decode " + path));
  unlink(path);
  std::map<std::string, std::string> result;
  std::string line;
  while (std::getline(decoded, line)) {
    size_t space = line.find(' ');
    if (space != std::string::npos) result[line.substr(0, space)] = line.substr(space + 1);
  }
  return result;
}

std::map<std::string, std::string> Converse(const std::vector<ShareInfo>& shares,
                                            uint16_t max_frag) {
  SrvsvcPipe pipe([&] { return shares; }, "DITTOFS");
  return Converse(pipe, kPeer, max_frag);
}

TEST(Impacket, DecodesEveryAnswer) {
  if (!ImpacketAvailable()) GTEST_SKIP() << "python3-impacket is not installed";
  auto r = Converse(Shares(), 4280);
  // ctx0 srvsvc/NDR accepted; ctx1 srvsvc/NDR64: provider rejection, transfer syntaxes not
  // supported; ctx2 bind time feature negotiation: negotiate_ack; ctx3 another interface:
  // provider rejection, abstract syntax not supported.
  EXPECT_THAT(r["bind"], ::testing::StartsWith("type=12 max_tfrag=4280 max_rfrag=4280 "
                                               "assoc_nonzero=1 secaddr=\\PIPE\\srvsvc "
                                               "ctx0=0/0/ndr ctx1=2/2 ctx2=3/"));
  EXPECT_THAT(r["bind"], ::testing::EndsWith(" ctx3=2/1"));
  EXPECT_EQ(r["enum0"], "total=3 err=0 export données IPC$");
  EXPECT_EQ(r["enum1"], "total=3 err=0 export|0|the export données|0| IPC$|2147483651|Remote IPC");
  EXPECT_EQ(r["enum2"],
            "total=3 err=0 export|0|the export|C:\\export|4294967295 données|0||C:\\donnees|10 "
            "IPC$|2147483651|Remote IPC||4294967295");
  EXPECT_EQ(r["enum501"],
            "total=3 err=0 export|0|the export données|0| IPC$|2147483651|Remote IPC");
  EXPECT_EQ(r["enum502"], r["enum2"]);
  EXPECT_EQ(r["getinfo1"], "err=0 export|0|the export");
  EXPECT_EQ(r["getinfo2"], "err=0 export|0|the export|C:\\export|4294967295");
  EXPECT_EQ(r["getinfo502"], "err=0 IPC$|2147483651|Remote IPC||4294967295");
  EXPECT_EQ(r["getinfo1005"], "err=0 flags=0");
  EXPECT_EQ(r["getinfo_missing"], "err=2310");
  EXPECT_THAT(r["server101"],
              ::testing::StartsWith("err=0 platform=500 name=DITTOFS version=10.0"));
  EXPECT_THAT(r["server102"],
              ::testing::StartsWith("err=0 platform=500 name=DITTOFS version=10.0"));
}

TEST(Impacket, ReassemblesFragmentedAnswers) {
  if (!ImpacketAvailable()) GTEST_SKIP() << "python3-impacket is not installed";
  std::vector<ShareInfo> shares;
  std::string want = "total=200 err=0";
  for (int i = 0; i < 200; ++i) {
    shares.push_back({"share" + std::to_string(i), kDisk, "", "", 0xFFFFFFFF, 0});
    want += " share" + std::to_string(i);
  }
  auto r = Converse(shares, 1432);
  EXPECT_THAT(r["bind"], ::testing::StartsWith("type=12 max_tfrag=1432 "));
  EXPECT_EQ(r["enum0"], want);
}

// The policy handle LsarOpenPolicy2 answers replaces the peer's placeholder (ab * 20) in the
// requests after it.
std::map<std::string, std::string> ConverseLsa(uint16_t max_frag) {
  LsarpcPipe pipe(TestAccounts(), "alice");
  std::vector<std::byte> handle;
  return Converse(pipe, kLsaPeer, max_frag,
                  [&](const std::string& name, std::vector<std::byte>& pdu, bool answer) {
                    if (answer) {
                      if (name == "open2" && pdu.size() >= 44) {
                        handle.assign(pdu.begin() + 24, pdu.begin() + 44);
                      }
                      return;
                    }
                    const std::vector<std::byte> placeholder(20, std::byte{0xAB});
                    auto at =
                        std::search(pdu.begin(), pdu.end(), placeholder.begin(), placeholder.end());
                    if (at != pdu.end() && handle.size() == 20) {
                      std::copy(handle.begin(), handle.end(), at);
                    }
                  });
}

TEST(Impacket, LsaDecodesEveryAnswer) {
  if (!ImpacketAvailable()) GTEST_SKIP() << "python3-impacket is not installed";
  auto r = ConverseLsa(4280);
  // ctx0 LSA in NDR64: provider rejection, transfer syntaxes not supported; ctx1 in NDR: accepted.
  EXPECT_EQ(r["bind"],
            "type=12 max_tfrag=4280 max_rfrag=4280 assoc_nonzero=1 secaddr=\\PIPE\\lsass "
            "ctx0=2/2 ctx1=0/0/ndr");
  EXPECT_EQ(r["open2"], "status=0x0 handle_nonzero=1");
  EXPECT_EQ(r["open"], "status=0x0 handle_nonzero=1");
  EXPECT_EQ(r["query2_account"], "status=0x0 name=DITTOFS sid=S-1-5-21-1-2-3");
  EXPECT_EQ(r["query_primary"], "status=0x0 name=WORKGROUP sid_null=1");
  EXPECT_EQ(r["query2_dns"], "status=0x0 name=WORKGROUP dns= forest=");
  const std::string domains =
      "[DITTOFS=S-1-5-21-1-2-3 =S-1-1 =S-1-3 NT AUTHORITY=S-1-5 BUILTIN=S-1-5-32 "
      "Unix User=S-1-22-1 Unix Group=S-1-22-2]";
  EXPECT_EQ(r["sids"], "status=0x107 mapped=10 " + domains +
                           " alice/1/0 staff/2/0 Everyone/5/1 CREATOR OWNER/5/2 "
                           "Authenticated Users/5/3 SYSTEM/5/3 Administrators/4/4 alice/1/5 "
                           "staff/2/6 DITTOFS/3/0 S-1-5-21-9-9-9-1000/8/-1");
  EXPECT_EQ(r["sids2"], r["sids"]);
  EXPECT_EQ(r["sids3"], r["sids"]);
  const std::string name_domains =
      "[DITTOFS=S-1-5-21-1-2-3 =S-1-1 NT AUTHORITY=S-1-5 BUILTIN=S-1-5-32 Unix User=S-1-22-1]";
  EXPECT_EQ(r["names"], "status=0x107 mapped=6 " + name_domains +
                            " 3000/1/0 1101/2/0 0/5/1 18/5/2 544/4/3 1000/1/4 0/8/-1");
  EXPECT_EQ(r["names2"], r["names"]);
  const std::string names3 = "status=0x107 mapped=6 " + name_domains +
                             " S-1-5-21-1-2-3-3000/1/0 S-1-5-21-1-2-3-1101/2/0 S-1-1-0/5/1 "
                             "S-1-5-18/5/2 S-1-5-32-544/4/3 S-1-22-1-1000/1/4 -/8/-1";
  EXPECT_EQ(r["names3"], names3);
  EXPECT_EQ(r["names4"], names3);
  EXPECT_EQ(r["none_mapped"], "status=0xc0000073 mapped=0 [] -/8/-1 -/8/-1");
  EXPECT_EQ(r["username"], "status=0x0 user=alice");
  EXPECT_EQ(r["stale"], "status=0xc0000008");
  EXPECT_EQ(r["close"], "status=0x0 zeroed=1");
  EXPECT_EQ(r["closed"], "status=0xc0000008 zeroed=1");
}

TEST(Impacket, LsaAnswersInSmallFragments) {
  if (!ImpacketAvailable()) GTEST_SKIP() << "python3-impacket is not installed";
  auto small = ConverseLsa(1432);
  auto large = ConverseLsa(4280);
  EXPECT_THAT(small["sids"], ::testing::StartsWith("status=0x107 mapped=10 "));
  for (const char* name : {"sids", "sids2", "names3", "query2_account"}) {
    EXPECT_EQ(small[name], large[name]) << name;
  }
}

}  // namespace
}  // namespace dittofs::smb::rpc
