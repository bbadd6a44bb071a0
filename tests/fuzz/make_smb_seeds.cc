// SPDX-License-Identifier: Apache-2.0
// Writes a seed corpus for smb_server_fuzz: one connection's messages per file (each a 2-byte
// big-endian length and the message), in every dialect: NEGOTIATE, an anonymous SPNEGO/NTLMSSP
// logon, TREE_CONNECT to \\x\export, then CREATE, WRITE, READ, QUERY_INFO, QUERY_DIRECTORY,
// SET_INFO (rename), CLOSE, a related compound chain, and LOGOFF; and the SMB3 POSIX extensions.
// Session and file ids are the markers of smb_fuzz_messages.h, which the fuzz target replaces with
// the real ones. Usage: make_smb_seeds OUTDIR

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "smb_fuzz_messages.h"

namespace dittofs::fuzz {
namespace {

using namespace smbmsg;

class Script {
 public:
  explicit Script(uint64_t first_message_id = 0) : mid_(first_message_id) {}
  // Adds one message (or chain) as it goes on the wire.
  void Add(const Bytes& m) {
    out_.push_back(static_cast<char>(m.size() >> 8));
    out_.push_back(static_cast<char>(m.size()));
    out_.append(reinterpret_cast<const char*>(m.data()), m.size());
  }
  Hdr H(uint16_t command, bool session = true, uint32_t tree = 1) {
    Hdr h;
    h.command = command;
    h.message_id = mid_++;
    h.session_id = session ? SessionMarker(0) : 0;
    h.tree_id = tree;
    return h;
  }
  const std::string& bytes() const { return out_; }

 private:
  uint64_t mid_;
  std::string out_;
};

void Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

// NEGOTIATE, the anonymous logon and the tree connect.
void Logon(Script& s, const std::vector<uint16_t>& dialects, bool posix = false) {
  s.Add(Message(s.H(0x00, false, 0), NegotiateBody(dialects, 1, posix)));
  s.Add(Message(s.H(0x01, false, 0), SessionSetupBody(SpnegoInit(NtlmNegotiate()))));
  s.Add(Message(s.H(0x01, true, 0), SessionSetupBody(SpnegoResp(NtlmAnonymousAuthenticate()))));
  s.Add(Message(s.H(0x03, true, 0), TreeConnectBody("\\\\x\\export")));
}

// File commands on the tree: file 0 is "a.txt", file 1 the root directory.
void FileCommands(Script& s) {
  const Bytes data = Utf16("hello, fuzzer: some bytes for the file");
  s.Add(Message(s.H(0x05), CreateBody("a.txt")));
  s.Add(Message(s.H(0x09), WriteBody(FileMarker(0), 0, data)));
  s.Add(Message(s.H(0x09), WriteBody(FileMarker(0), 70000, data)));
  s.Add(Message(s.H(0x08), ReadBody(FileMarker(0), 0, 4096)));
  s.Add(Message(s.H(0x07), [] {
    Bytes b;
    Le(b, 24, 2);
    Le(b, 0, 6);
    Handle(b, FileMarker(0));
    return b;
  }()));
  for (uint8_t cls : {4, 5, 6, 7, 8, 9, 14, 18, 22, 34, 35}) {
    s.Add(Message(s.H(0x10), QueryInfoBody(FileMarker(0), 1, cls)));
  }
  for (uint8_t cls : {1, 3, 4, 5, 7, 11}) {
    s.Add(Message(s.H(0x10), QueryInfoBody(FileMarker(0), 2, cls)));
  }
  s.Add(Message(s.H(0x10), QueryInfoBody(FileMarker(0), 3, 0)));
  // Quotas (SMB2_0_INFO_QUOTA): every entry from the start, then one SID's (LocalSystem's), and
  // the quota index smbcquotas opens.
  s.Add(Message(s.H(0x10), QueryInfoBody(FileMarker(0), 4, 0, 4096,
                                         Bytes{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})));
  s.Add(Message(s.H(0x10),
                QueryInfoBody(FileMarker(0), 4, 0, 4096,
                              Bytes{1, 0, 0,  0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
                                    0, 0, 12, 0, 0,  0, 1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0})));
  s.Add(Message(s.H(0x05), CreateBody("$Extend\\$Quota:$Q:$INDEX_ALLOCATION")));
  // Locks: one exclusive range, then its unlock.
  for (uint32_t flags : {0x12u, 0x4u}) {
    Bytes b;
    Le(b, 48, 2);
    Le(b, 1, 2);
    Le(b, 0, 4);
    Handle(b, FileMarker(0));
    Le(b, 0, 8);
    Le(b, 10, 8);
    Le(b, flags, 4);
    Le(b, 0, 4);
    s.Add(Message(s.H(0x0A), b));
  }
  // End of file, then a rename.
  Bytes eof;
  Le(eof, 12, 8);
  s.Add(Message(s.H(0x11), SetInfoBody(FileMarker(0), 1, 20, eof)));
  s.Add(Message(s.H(0x11), SetInfoBody(FileMarker(0), 1, 10, RenameInfo("b.txt"))));
  s.Add(Message(s.H(0x06), CloseBody(FileMarker(0))));

  // The root directory and its entries in each class.
  s.Add(Message(s.H(0x05), CreateBody("", 1, 0x1, 0x001200A9)));
  for (uint8_t cls : {1, 2, 3, 12, 37, 38}) {
    s.Add(Message(s.H(0x0E), QueryDirectoryBody(FileMarker(1), cls, "*")));
  }
  s.Add(Message(s.H(0x0E), QueryDirectoryBody(FileMarker(1), 37, "b.txt")));
  s.Add(Message(s.H(0x0F), [] {  // CHANGE_NOTIFY
    Bytes b;
    Le(b, 32, 2);
    Le(b, 0, 2);
    Le(b, 4096, 4);
    Handle(b, FileMarker(1));
    Le(b, 0x17, 4);
    Le(b, 0, 4);
    return b;
  }()));
  s.Add(Message(s.H(0x06), CloseBody(FileMarker(1))));

  // A related chain: CREATE, WRITE, READ, QUERY_INFO, CLOSE on the CREATE's handle.
  const uint64_t related = ~uint64_t{0};
  std::vector<Bytes> chain;
  chain.push_back(Message(s.H(0x05), CreateBody("c.txt", 5)));
  chain.push_back(Message(s.H(0x09), WriteBody(related, 0, data)));
  chain.push_back(Message(s.H(0x08), ReadBody(related, 0, 100)));
  chain.push_back(Message(s.H(0x10), QueryInfoBody(related, 1, 18)));
  chain.push_back(Message(s.H(0x06), CloseBody(related)));
  for (size_t i = 1; i < chain.size(); ++i) Put32(chain[i], 16, 0x4);  // SMB2_FLAGS_RELATED
  s.Add(Chain(chain));
  // The same chain whose CREATE fails: the rest fail alike (§3.3.5.2.7.2).
  chain[0] = Message(s.H(0x05), CreateBody("nodir\\c.txt", 1));
  for (size_t i = 1; i < chain.size(); ++i)
    Put32(chain[i], 24, static_cast<uint32_t>(s.H(0).message_id));
  s.Add(Chain(chain));
  // A directory made and removed, delete on close.
  s.Add(Message(s.H(0x05), CreateBody("d", 2, 0x1 | 0x1000, 0x001F01FF)));
  s.Add(Message(s.H(0x06), CloseBody(FileMarker(3))));
  // An unrelated chain: ECHO, then CREATE of a file that is not there.
  s.Add(Chain({Message(s.H(0x0D), EmptyBody()), Message(s.H(0x05), CreateBody("nope", 1))}));
  s.Add(Message(s.H(0x04), EmptyBody()));
  s.Add(Message(s.H(0x02, true, 0), EmptyBody()));
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_smb_seeds OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::vector<std::pair<std::string, std::vector<uint16_t>>> dialects = {
      {"smb202", {0x0202}},
      {"smb210", {0x0202, 0x0210}},
      {"smb300", {0x0202, 0x0210, 0x0300}},
      {"smb302", {0x0300, 0x0302}},
      {"smb311", {0x0202, 0x0210, 0x0300, 0x0302, 0x0311}},
  };
  for (const auto& [name, offered] : dialects) {
    Script s;
    Logon(s, offered);
    FileCommands(s);
    Write(dir, "session_" + name, s.bytes());
    Script t;
    Logon(t, offered);
    Write(dir, "logon_" + name, t.bytes());
  }
  // SMB1 NEGOTIATE naming "SMB 2.???" (MS-SMB2 §3.3.5.3.1), then SMB2 from message id 1.
  {
    Bytes smb1 = {0xFF, 'S', 'M', 'B', 0x72};
    Le(smb1, 0, 4);        // Status
    smb1.push_back(0x18);  // Flags
    Le(smb1, 0xC853, 2);   // Flags2
    Le(smb1, 0, 12);       // PIDHigh, SecurityFeatures, Reserved
    Le(smb1, 0xFFFF, 2);   // TID
    Le(smb1, 0xFEFF, 2);   // PIDLow
    Le(smb1, 0, 2);        // UID
    Le(smb1, 0, 2);        // MID
    smb1.push_back(0);     // WordCount
    Bytes dialects_bytes;
    for (const char* d : {"NT LM 0.12", "SMB 2.002", "SMB 2.???"}) {
      dialects_bytes.push_back(0x02);
      for (const char* c = d; *c; ++c) dialects_bytes.push_back(static_cast<uint8_t>(*c));
      dialects_bytes.push_back(0);
    }
    Le(smb1, dialects_bytes.size(), 2);
    smb1 = Cat(smb1, dialects_bytes);
    Script s(1);
    s.Add(smb1);
    Logon(s, {0x0202, 0x0210, 0x0300, 0x0302, 0x0311});
    FileCommands(s);
    Write(dir, "smb1_upgrade", s.bytes());
  }
  // After the logon: VALIDATE_NEGOTIATE_INFO as the client negotiated (3.0), ECHO, CANCEL, a
  // signed request in a session without keys, a TRANSFORM_HEADER for the session, LOGOFF and a
  // request in the session logged off.
  {
    Script s;
    const std::vector<uint16_t> offered = {0x0202, 0x0210, 0x0300};
    Logon(s, offered);
    Bytes input;
    Le(input, 0x7F, 4);
    for (int i = 0; i < 16; ++i) input.push_back(static_cast<uint8_t>(0xA0 + i));
    Le(input, 1, 2);
    Le(input, offered.size(), 2);
    for (uint16_t d : offered) Le(input, d, 2);
    Bytes b;
    Le(b, 57, 2);
    Le(b, 0, 2);
    Le(b, 0x00140204, 4);
    Handle(b, ~uint64_t{0});
    Le(b, 120, 4);
    Le(b, input.size(), 4);
    Le(b, 0, 4);
    Le(b, 0, 4);
    Le(b, 0, 4);
    Le(b, 1024, 4);
    Le(b, 1, 4);
    Le(b, 0, 4);
    s.Add(Message(s.H(0x0B), Cat(b, input)));
    s.Add(Message(s.H(0x0D), EmptyBody()));
    Hdr cancel = s.H(0x0C);
    s.Add(Message(cancel, EmptyBody()));
    Hdr signed_echo = s.H(0x0D);
    signed_echo.flags = 0x8;
    s.Add(Message(signed_echo, EmptyBody()));
    Bytes transform = {0xFD, 'S', 'M', 'B'};
    Le(transform, 0, 32);  // Signature, Nonce
    Le(transform, 72, 4);  // OriginalMessageSize
    Le(transform, 0, 2);
    Le(transform, 1, 2);  // Flags: encrypted
    Le(transform, SessionMarker(0), 8);
    Le(transform, 0, 72);
    s.Add(transform);
    s.Add(Message(s.H(0x02, true, 0), EmptyBody()));
    s.Add(Message(s.H(0x05), CreateBody("after_logoff")));
    Write(dir, "validate_cancel_transform_logoff", s.bytes());
  }
  // The SMB3 POSIX extensions: the negotiate context, CREATEs with the POSIX create context
  // (file 0 a directory, file 1 a file, file 2 made a FIFO by a reparse point), classes 100,
  // a security descriptor with Unix SIDs, the reparse FSCTLs, a POSIX disposition.
  {
    Script s;
    Logon(s, {0x0311}, /*posix=*/true);
    const Bytes mode = {0xED, 0x01, 0, 0};  // 0755
    s.Add(Message(s.H(0x05), WithCreateContext(CreateBody("pd", 2, 0x1), kPosixGuid, mode)));
    s.Add(Message(s.H(0x05),
                  WithCreateContext(CreateBody("pd/f", 2, 0x40, 0x001F01FF), kPosixGuid, mode)));
    s.Add(Message(s.H(0x05), WithCreateContext(CreateBody("pd/F", 2), kPosixGuid, mode)));
    s.Add(Message(s.H(0x10), QueryInfoBody(FileMarker(1), 1, 100)));
    s.Add(Message(s.H(0x10), QueryInfoBody(FileMarker(1), 2, 100)));
    s.Add(Message(s.H(0x0E), QueryDirectoryBody(FileMarker(0), 100, "*")));
    Bytes sd = {1, 0, 0x04, 0x80};
    Le(sd, 20, 4);
    Le(sd, 36, 4);
    Le(sd, 0, 4);
    Le(sd, 52, 4);
    for (uint32_t kind : {1u, 2u}) {
      sd.insert(sd.end(), {1, 2, 0, 0, 0, 0, 0, 22});
      Le(sd, kind, 4);
      Le(sd, 1000, 4);
    }
    sd.insert(sd.end(), {2, 0, 36, 0, 1, 0, 0, 0, 0, 0, 28, 0});
    Le(sd, 0x1F01FF, 4);
    sd.insert(sd.end(), {1, 3, 0, 0, 0, 0, 0, 5});
    Le(sd, 88, 4);
    Le(sd, 3, 4);
    Le(sd, 0640, 4);
    Bytes set = SetInfoBody(FileMarker(1), 3, 0, sd);
    Put32(set, 12, 7);  // AdditionalInformation: owner, group, DACL
    s.Add(Message(s.H(0x11), set));
    const auto fsctl = [](uint64_t fid, uint32_t code, const Bytes& input) {
      Bytes b;
      Le(b, 57, 2);
      Le(b, 0, 2);
      Le(b, code, 4);
      Handle(b, fid);
      Le(b, input.empty() ? 0 : 120, 4);
      Le(b, input.size(), 4);
      Le(b, 0, 4);
      Le(b, 0, 4);
      Le(b, 0, 4);
      Le(b, 4096, 4);
      Le(b, 1, 4);
      Le(b, 0, 4);
      return Cat(b, input);
    };
    s.Add(Message(s.H(0x0B),
                  fsctl(FileMarker(2), 0x000900A4,
                        {0x14, 0, 0, 0x80, 8, 0, 0, 0, 0x46, 0x49, 0x46, 0x4F, 0, 0, 0, 0})));
    s.Add(Message(s.H(0x0B), fsctl(FileMarker(2), 0x000900A8, {})));
    s.Add(Message(s.H(0x11), SetInfoBody(FileMarker(1), 1, 64, {3, 0, 0, 0})));
    s.Add(Message(s.H(0x06), CloseBody(FileMarker(1))));
    s.Add(Message(s.H(0x05), CreateBody("pd/F", 1, 0x1040)));
    Write(dir, "posix", s.bytes());
  }
  // IPC$ (the srvsvc pipe's tree).
  {
    Script s;
    s.Add(Message(s.H(0x00, false, 0), NegotiateBody({0x0202, 0x0210})));
    s.Add(Message(s.H(0x01, false, 0), SessionSetupBody(SpnegoInit(NtlmNegotiate()))));
    s.Add(Message(s.H(0x01, true, 0), SessionSetupBody(SpnegoResp(NtlmAnonymousAuthenticate()))));
    s.Add(Message(s.H(0x03, true, 0), TreeConnectBody("\\\\x\\IPC$")));
    s.Add(Message(s.H(0x05), CreateBody("srvsvc", 1, 0, 0x0012019F)));
    s.Add(Message(s.H(0x06), CloseBody(FileMarker(0))));
    Write(dir, "ipc", s.bytes());
  }
  return 0;
}

}  // namespace
}  // namespace dittofs::fuzz

int main(int argc, char** argv) { return dittofs::fuzz::Main(argc, argv); }
