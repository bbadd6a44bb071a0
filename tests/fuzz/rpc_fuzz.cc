// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the input is a byte stream as a client would send it on the NFS port.
// It goes through record marking, the RPC call decoder, credential decoding, and the MOUNT v3,
// NFSv3 and port mapper (PMAP v2, RPCBIND v3/v4) argument decoders and handlers (over memory
// stores), and RFC 9289's probe detection (the TCP transport's look at each record before
// dispatch; the calls go through TLS-less and TLS connections alike). Any crash, hang, leak or
// sanitizer report is a bug.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_server.h"
#include "rpc/record.h"
#include "rpc/tls_probe.h"

namespace {

dittofs::fuzz::FuzzServer* server = nullptr;
size_t runs = 0;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dittofs;
  // A fresh server now and then, so state built by earlier inputs stays bounded.
  if (server == nullptr || ++runs % 20000 == 0) {
    delete server;
    server = new fuzz::FuzzServer();
  }
  rpc::RecordAssembler assembler(1u << 20);
  std::vector<Buffer> records;
  ByteView input(reinterpret_cast<const std::byte*>(data), size);
  // Feed in two uneven pieces: framing must not depend on how the stream is cut.
  size_t cut = size / 3;
  if (!assembler.Feed(input.first(cut), &records).ok()) return 0;
  if (!assembler.Feed(input.subspan(cut), &records).ok()) return 0;
  rpc::ConnectionInfo conn{"127.0.0.1", 800};
  // Every other input runs as if over TLS: shares that require it answer otherwise then.
  conn.tls = size % 2 == 1;
  for (const Buffer& record : records) {
    xdr::XdrEncoder reply;
    uint32_t xid;
    if (rpc::IsTlsProbe(record.view(), &xid)) {
      rpc::EncodeStartTlsReply(reply, xid);
      (void)reply.ToString();
      continue;
    }
    server->dispatcher().Handle(conn, record.view(), &reply);
    (void)reply.ToString();  // walk every segment of the reply
  }
  return 0;
}
