// SPDX-License-Identifier: Apache-2.0
#pragma once

// Connection-oriented DCE/RPC (C706 chapter 12, MS-RPCE 2.2.2) over an SMB named pipe, for
// the interfaces a pipe of IPC$ serves: PDU framing over the pipe's byte stream, bind and
// alter_context against a set of interfaces (NDR20 only, no DCE/RPC authentication: the pipe
// is reached through the SMB session's), reassembly of fragmented requests, answers cut into
// fragments the client receives, and faults. What an operation means is its interface's:
// an RpcInterface turns (opnum, stub) into a stub or a fault.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace dittofs::smb::rpc {

// Fault statuses an interface may answer with (C706 appendix E, MS-RPCE 2.2.2.4).
inline constexpr uint32_t kNcaOpRangeError = 0x1C010002;  // opnum not served
inline constexpr uint32_t kNcaProtoError = 0x1C01000B;    // a stub that cannot be decoded

// An abstract syntax: an interface's UUID, in its NDR form (the first three fields
// little-endian), and its version.
struct SyntaxId {
  std::array<std::byte, 16> uuid{};
  uint16_t major = 0;
  uint16_t minor = 0;
  friend bool operator==(const SyntaxId&, const SyntaxId&) = default;
};

// The syntax of UUID aaaaaaaa-bbbb-cccc-dddd-dddddddddddd (d written in order) version
// major.minor.
SyntaxId MakeSyntaxId(uint32_t a, uint16_t b, uint16_t c, std::array<uint8_t, 8> d, uint16_t major,
                      uint16_t minor);

// What a call answers: the [out] stub, or a fault status when `fault` is not 0.
struct RpcAnswer {
  std::vector<std::byte> stub;
  uint32_t fault = 0;
  static RpcAnswer Fault(uint32_t status) { return {{}, status}; }
};

// One interface's operations. Called by the pipe that owns it, one call at a time.
class RpcInterface {
 public:
  virtual ~RpcInterface() = default;
  virtual SyntaxId syntax() const = 0;
  // `stub`: the request's whole [in] stub, hostile bytes, NDR20 little-endian.
  virtual RpcAnswer Call(uint16_t opnum, ByteView stub) = 0;
};

// One open instance of a pipe. Not thread-safe: the adapter serializes its use.
class RpcPipe {
 public:
  // `port`: the secondary address a bind_ack names, e.g. "\\PIPE\\srvsvc".
  // `interfaces`: what binds may select, each by its abstract syntax.
  RpcPipe(std::string port, std::vector<std::unique_ptr<RpcInterface>> interfaces);
  // A pipe of one interface.
  RpcPipe(std::string port, std::unique_ptr<RpcInterface> interface);
  virtual ~RpcPipe() = default;  // the adapter keeps its pipes as RpcPipes

  // Bytes the client wrote (a WRITE to the pipe, or FSCTL_PIPE_TRANSCEIVE's input). Complete
  // PDUs are answered at once; a partial one waits for the rest. Errc::kInvalid for a stream
  // that is not DCE/RPC, or for answers left unread beyond 4 MiB (the pipe is then unusable);
  // a well-formed request the pipe does not serve is answered with a fault PDU instead.
  Status Write(ByteView data);
  // Up to `max` bytes of the queued answer; `*more` (may be null): bytes remain
  // (STATUS_BUFFER_OVERFLOW).
  std::vector<std::byte> Read(size_t max, bool* more);
  bool has_output() const { return output_.size() > read_at_; }

 private:
  struct Context {
    uint16_t id;
    RpcInterface* interface;  // one of interfaces_
  };

  Status Handle(ByteView pdu);
  void Bind(ByteView pdu, uint8_t type, uint32_t call_id);
  Status Request(ByteView pdu, uint8_t flags, uint32_t call_id);
  void Fault(uint32_t call_id, uint32_t status);
  void Respond(uint32_t call_id, uint16_t context, const std::vector<std::byte>& stub);
  RpcInterface* InterfaceOf(uint16_t context) const;

  std::string port_;
  std::vector<std::unique_ptr<RpcInterface>> interfaces_;
  std::vector<std::byte> input_;    // a partial PDU
  std::vector<std::byte> request_;  // the stub of a fragmented request so far
  std::vector<std::byte> output_;   // answers; those before read_at_ were read
  size_t read_at_ = 0;
  uint16_t max_xmit_ = 4280;       // the largest fragment we send: the client's max_recv_frag
  std::vector<Context> contexts_;  // presentation contexts accepted, one per context id
  bool broken_ = false;
};

}  // namespace dittofs::smb::rpc
