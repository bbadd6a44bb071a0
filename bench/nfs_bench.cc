// SPDX-License-Identifier: Apache-2.0
//
// nfs_bench drives an NFSv3 server from user space with libnfs and prints one line per figure:
//
//   RESULT <label> <metric> <value> <unit>
//
// It talks to the server over a single TCP connection (one libnfs context, like a Linux mount
// with nconnect=1) and keeps several calls outstanding on it, the way the kernel client does.
// Every figure counts NFS calls, not library calls: the bench issues raw NFSv3 procedures
// (WRITE3, READ3, CREATE3, ...) so that one operation is exactly one RPC on every server.
// See bench/README.md for what each figure means.
//
// Every phase is bounded in time, and the whole run is bounded by --max-seconds.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

// libnfs.h must come first: the raw headers rely on what it defines.
#include <nfsc/libnfs.h>
// The raw interface: one call per NFS procedure.
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw.h>

#include "base/allocator.h"

// libnfs declares `struct nfs_fh` in its private headers only; nfs_get_fh() is the public way to
// reach an open file's handle. The layout below is libnfs's own ({int len; char *val;}) and has
// not changed since libnfs 1.x.
struct nfs_fh {
  int len;
  char* val;
};

namespace dittofs::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 2049;
  int mount_port = 0;  // 0: the MOUNT service shares the NFS port
  std::string export_path = "/export";
  // The AUTH_SYS identity of every call. Root skips the server's permission checks (and so its
  // ACL evaluation); another uid measures them.
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string label = "server";
  std::set<std::string> tests = {"seq", "rand", "meta", "getattr"};
  uint64_t seq_file_mib = 256;
  uint64_t seq_block_kib = 1024;
  int seq_depth = 8;
  int seq_passes = 5;
  bool seq_write_only = false;  // skip the read-back, e.g. to profile the write path alone
  uint64_t rand_file_mib = 64;
  uint64_t rand_block_kib = 4;
  int rand_depth = 16;
  double rand_seconds = 10;
  uint64_t rand_max_ops = 1'000'000;
  int files = 20000;
  int meta_depth = 8;
  double readdir_seconds = 1;  // listings repeat this long (at most 1000 of them)
  int getattr_calls = 20000;
  bool verify = true;
  int max_seconds = 900;
};

[[noreturn]] void Usage(const char* message) {
  if (message != nullptr) std::fprintf(stderr, "nfs_bench: %s\n", message);
  std::fprintf(stderr,
               "usage: nfs_bench --port P [--mount-port P2] [--host 127.0.0.1] [--export /export]\n"
               "                 [--label NAME] [--tests seq,rand,meta,getattr] [--uid 0 --gid 0]\n"
               "                 [--seq-file-mib 256] [--seq-block-kib 1024] [--seq-depth 8] "
               "[--seq-passes 5] [--seq-write-only]\n"
               "                 [--rand-file-mib 64] [--rand-block-kib 4] [--rand-depth 16]\n"
               "                 [--rand-seconds 10] [--rand-max-ops 1000000]\n"
               "                 [--files 20000] [--meta-depth 8] [--readdir-seconds 1]\n"
               "                 [--getattr-calls 20000]\n"
               "                 [--no-verify] [--max-seconds 900]\n");
  std::exit(2);
}

uint64_t ParseNumber(std::string_view flag, const char* text, uint64_t min, uint64_t max) {
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    std::string message = std::string(flag) + ": expected a number in [" + std::to_string(min) +
                          ", " + std::to_string(max) + "], got '" + text + "'";
    Usage(message.c_str());
  }
  return value;
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  bool port_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--no-verify") {
      options.verify = false;
      continue;
    }
    if (flag == "--seq-write-only") {
      options.seq_write_only = true;
      continue;
    }
    if (flag == "--help" || flag == "-h") Usage(nullptr);
    if (i + 1 >= argc) Usage(("missing value for " + std::string(flag)).c_str());
    const char* value = argv[++i];
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      options.port = static_cast<int>(ParseNumber(flag, value, 1, 65535));
      port_given = true;
    } else if (flag == "--mount-port") {
      options.mount_port = static_cast<int>(ParseNumber(flag, value, 1, 65535));
    } else if (flag == "--uid") {
      options.uid = static_cast<uint32_t>(ParseNumber(flag, value, 0, 0xFFFFFFFEu));
    } else if (flag == "--gid") {
      options.gid = static_cast<uint32_t>(ParseNumber(flag, value, 0, 0xFFFFFFFEu));
    } else if (flag == "--export") {
      options.export_path = value;
    } else if (flag == "--label") {
      options.label = value;
    } else if (flag == "--tests") {
      options.tests.clear();
      std::stringstream list(value);
      for (std::string test; std::getline(list, test, ',');) {
        if (test != "seq" && test != "rand" && test != "meta" && test != "getattr") {
          Usage(("unknown test '" + test + "'").c_str());
        }
        options.tests.insert(test);
      }
    } else if (flag == "--seq-file-mib") {
      options.seq_file_mib = ParseNumber(flag, value, 1, 1 << 20);
    } else if (flag == "--seq-block-kib") {
      options.seq_block_kib = ParseNumber(flag, value, 4, 1024);
    } else if (flag == "--seq-passes") {
      options.seq_passes = static_cast<int>(ParseNumber(flag, value, 1, 100));
    } else if (flag == "--seq-depth") {
      options.seq_depth = static_cast<int>(ParseNumber(flag, value, 1, 256));
    } else if (flag == "--rand-file-mib") {
      options.rand_file_mib = ParseNumber(flag, value, 1, 1 << 20);
    } else if (flag == "--rand-block-kib") {
      options.rand_block_kib = ParseNumber(flag, value, 1, 1024);
    } else if (flag == "--rand-depth") {
      options.rand_depth = static_cast<int>(ParseNumber(flag, value, 1, 256));
    } else if (flag == "--rand-seconds") {
      options.rand_seconds = static_cast<double>(ParseNumber(flag, value, 1, 3600));
    } else if (flag == "--rand-max-ops") {
      options.rand_max_ops = ParseNumber(flag, value, 1, uint64_t{1} << 40);
    } else if (flag == "--files") {
      options.files = static_cast<int>(ParseNumber(flag, value, 1, 1'000'000));
    } else if (flag == "--meta-depth") {
      options.meta_depth = static_cast<int>(ParseNumber(flag, value, 1, 256));
    } else if (flag == "--readdir-seconds") {
      options.readdir_seconds = static_cast<double>(ParseNumber(flag, value, 1, 3600));
    } else if (flag == "--getattr-calls") {
      options.getattr_calls = static_cast<int>(ParseNumber(flag, value, 1, 10'000'000));
    } else if (flag == "--max-seconds") {
      options.max_seconds = static_cast<int>(ParseNumber(flag, value, 10, 86400));
    } else {
      Usage(("unknown option " + std::string(flag)).c_str());
    }
  }
  if (!port_given) Usage("--port is required");
  if (options.mount_port == 0) options.mount_port = options.port;
  if (options.export_path.empty() || options.export_path[0] != '/') {
    Usage("--export must be an absolute path");
  }
  return options;
}

// Prints the message and ends the run: a benchmark that has lost a call has no figure to give.
[[noreturn]] void Die(const std::string& label, const std::string& message) {
  std::fprintf(stderr, "nfs_bench: %s: %s\n", label.c_str(), message.c_str());
  std::exit(1);
}

void PrintResult(const Options& options, std::string_view metric, double value,
                 std::string_view unit) {
  std::printf("RESULT %s %.*s %.1f %.*s\n", options.label.c_str(), int(metric.size()),
              metric.data(), value, int(unit.size()), unit.data());
  std::fflush(stdout);
}

void PrintInfo(const Options& options, std::string_view key, const std::string& value) {
  std::printf("INFO %s %.*s %s\n", options.label.c_str(), int(key.size()), key.data(),
              value.c_str());
  std::fflush(stdout);
}

// An NFSv3 file handle, owned. AsArg() lends it to a libnfs argument struct, which libnfs
// encodes before the *_async call returns.
class FileHandle {
 public:
  FileHandle() = default;
  FileHandle(const char* data, size_t size) : bytes_(data, size) {}

  bool empty() const { return bytes_.empty(); }
  nfs_fh3 AsArg() const {
    nfs_fh3 fh{};
    fh.data.data_len = static_cast<u_int>(bytes_.size());
    fh.data.data_val = const_cast<char*>(bytes_.data());
    return fh;
  }

 private:
  std::string bytes_;
};

std::string NfsError(int status) {
  return std::string(nfsstat3_to_str(status)) + " (" + std::to_string(status) + ")";
}

// The file content every phase writes and verifies: byte x of a file is kPattern[x % kPeriod].
// The period is not a multiple of any block size, so data written or read at the wrong
// offset does not match.
class Pattern {
 public:
  static constexpr size_t kPeriod = (1 << 20) + 4093;

  explicit Pattern(size_t max_block) : bytes_(kPeriod + max_block) {
    std::mt19937_64 random(20240601);
    for (size_t i = 0; i < kPeriod; ++i) bytes_[i] = static_cast<char>(random());
    for (size_t i = kPeriod; i < bytes_.size(); ++i) bytes_[i] = bytes_[i - kPeriod];
  }

  // The `length` bytes that belong at file offset `offset`. REQUIRES: length <= max_block.
  const char* At(uint64_t offset) const { return bytes_.data() + offset % kPeriod; }

 private:
  std::vector<char> bytes_;
};

// Checks one reply. Returns an empty string when the reply is a success, else what was wrong.
// `result` is the decoded XXX3res for the call's procedure.
using ReplyCheck = std::function<std::string(uint64_t index, void* result)>;
// Queues call number `index` with libnfs: returns the *_async function's result (0: queued).
using Issue = std::function<int(uint64_t index, rpc_cb callback, void* private_data)>;

struct RunResult {
  uint64_t completed = 0;
  double seconds = 0;
};

struct RunLimits {
  uint64_t calls = 0;       // issue calls 0 .. calls-1
  int depth = 1;            // at most this many outstanding at once
  double seconds = 120;     // issue nothing new after this long
  bool time_is_ok = false;  // false: running out of time before `calls` is a failure
};

// One mounted NFSv3 session: a libnfs context on one TCP connection, used from one thread.
class Session {
 public:
  // Mounts options.export_path; dies when the server cannot be mounted.
  explicit Session(const Options& options) : options_(options) {
    nfs_ = nfs_init_context();
    if (nfs_ == nullptr) Die(options.label, "nfs_init_context failed");
    // RPCs that get no answer fail after this long instead of hanging the run.
    nfs_set_timeout(nfs_, 60'000);
    std::string url = "nfs://" + options.host + options.export_path +
                      "?nfsport=" + std::to_string(options.port) +
                      "&mountport=" + std::to_string(options.mount_port) +
                      "&uid=" + std::to_string(options.uid) + "&gid=" + std::to_string(options.gid);
    nfs_url* parsed = nfs_parse_url_dir(nfs_, url.c_str());
    if (parsed == nullptr) Die(options.label, "bad url " + url + ": " + nfs_get_error(nfs_));
    int status = nfs_mount(nfs_, parsed->server, parsed->path);
    nfs_destroy_url(parsed);
    if (status != 0) Die(options.label, "mount " + url + ": " + nfs_get_error(nfs_));
    mounted_ = true;
    // libnfs opens directories too; this is how to learn the export's root handle.
    nfsfh* root = nullptr;
    if (nfs_open(nfs_, "/", O_RDONLY, &root) != 0) {
      Die(options.label, std::string("open of the export root: ") + nfs_get_error(nfs_));
    }
    root_ = FileHandle(nfs_get_fh(root)->val, nfs_get_fh(root)->len);
    nfs_close(nfs_, root);
    rpc_ = nfs_get_rpc_context(nfs_);
  }

  ~Session() {
    if (mounted_) nfs_umount(nfs_);
    nfs_destroy_context(nfs_);
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const FileHandle& root() const { return root_; }
  uint64_t read_max() const { return nfs_get_readmax(nfs_); }
  uint64_t write_max() const { return nfs_get_writemax(nfs_); }

  // Issues calls 0 .. limits.calls-1 keeping up to limits.depth outstanding, checks every reply
  // with `check`, and returns when all have been answered (or, with time_is_ok, when the time is
  // up and the outstanding ones have been answered). Dies on a failed call. When `latencies` is
  // given, appends each call's round trip in microseconds.
  RunResult Run(std::string_view what, const RunLimits& limits, const Issue& issue,
                const ReplyCheck& check, std::vector<double>* latencies = nullptr) {
    std::vector<Call> calls(limits.depth);
    std::vector<Call*> idle;
    for (Call& call : calls) {
      call.session = this;
      idle.push_back(&call);
    }
    failure_.clear();
    check_ = &check;
    latencies_ = latencies;
    uint64_t next = 0;
    uint64_t completed = 0;
    Clock::time_point start = Clock::now();
    Clock::time_point stop_issuing = start + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(limits.seconds));
    // Outstanding calls get this long after the issuing stops; libnfs's own timeout (60 s)
    // ends any call that is never answered before then.
    Clock::time_point give_up = stop_issuing + std::chrono::seconds(90);
    while (failure_.empty()) {
      Clock::time_point now = Clock::now();
      while (!idle.empty() && next < limits.calls && now < stop_issuing) {
        Call* call = idle.back();
        call->index = next;
        call->started = now;
        if (issue(next, &Session::OnReply, call) != 0) {
          Die(options_.label, std::string(what) + ": could not queue call " + std::to_string(next) +
                                  ": " + rpc_get_error(rpc_));
        }
        idle.pop_back();
        ++next;
      }
      if (idle.size() == calls.size()) break;  // nothing outstanding and nothing more to issue
      pollfd fd{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
      if (poll(&fd, 1, 100) < 0 && errno != EINTR) Die(options_.label, "poll failed");
      size_t before = answered_.size();
      if (rpc_service(rpc_, fd.revents) < 0) {
        Die(options_.label, std::string(what) + ": connection failed: " + rpc_get_error(rpc_));
      }
      for (size_t i = before; i < answered_.size(); ++i) idle.push_back(answered_[i]);
      completed += answered_.size() - before;
      answered_.clear();
      if (Clock::now() > give_up) Die(options_.label, std::string(what) + ": calls never answered");
    }
    if (!failure_.empty()) Die(options_.label, std::string(what) + ": " + failure_);
    if (completed < limits.calls && !limits.time_is_ok) {
      Die(options_.label, std::string(what) + ": only " + std::to_string(completed) + " of " +
                              std::to_string(limits.calls) + " calls finished within " +
                              std::to_string(limits.seconds) + " s");
    }
    return RunResult{completed, SecondsSince(start)};
  }

  // Runs one call on its own.
  void RunOne(std::string_view what, const Issue& issue, const ReplyCheck& check) {
    Run(what, RunLimits{.calls = 1, .depth = 1}, issue, check);
  }

  rpc_context* rpc() const { return rpc_; }

 private:
  struct Call {
    Session* session = nullptr;
    uint64_t index = 0;
    Clock::time_point started;
  };

  static void OnReply(rpc_context* rpc, int status, void* data, void* private_data) {
    Call* call = static_cast<Call*>(private_data);
    Session* session = call->session;
    if (session->latencies_ != nullptr) {
      session->latencies_->push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - call->started).count());
    }
    session->answered_.push_back(call);
    if (!session->failure_.empty()) return;
    if (status != RPC_STATUS_SUCCESS) {
      session->failure_ =
          "call " + std::to_string(call->index) + " failed: " +
          (status == RPC_STATUS_ERROR && data != nullptr ? static_cast<const char*>(data)
           : status == RPC_STATUS_TIMEOUT                ? "timed out"
                                                         : "cancelled");
      return;
    }
    std::string problem = (*session->check_)(call->index, data);
    if (!problem.empty()) {
      session->failure_ = "call " + std::to_string(call->index) + ": " + problem;
    }
  }

  const Options& options_;
  nfs_context* nfs_ = nullptr;
  rpc_context* rpc_ = nullptr;  // owned by nfs_
  bool mounted_ = false;
  FileHandle root_;
  // State of the Run in progress, reached from OnReply.
  const ReplyCheck* check_ = nullptr;
  std::vector<double>* latencies_ = nullptr;  // may be null
  std::vector<Call*> answered_;
  std::string failure_;
};

// ---- One-call helpers for setup and cleanup. ----

FileHandle MakeDirectory(Session& session, const FileHandle& parent, const std::string& name) {
  FileHandle made;
  session.RunOne(
      "mkdir " + name,
      [&](uint64_t, rpc_cb callback, void* private_data) {
        MKDIR3args args{};
        args.where.dir = parent.AsArg();
        args.where.name = const_cast<char*>(name.c_str());
        args.attributes.mode.set_it = 1;
        args.attributes.mode.set_mode3_u.mode = 0755;
        return rpc_nfs3_mkdir_async(session.rpc(), callback, &args, private_data);
      },
      [&](uint64_t, void* result) -> std::string {
        auto* res = static_cast<MKDIR3res*>(result);
        if (res->status != NFS3_OK) return NfsError(res->status);
        const post_op_fh3& obj = res->MKDIR3res_u.resok.obj;
        if (!obj.handle_follows) return "MKDIR3 returned no handle";
        made = FileHandle(obj.post_op_fh3_u.handle.data.data_val,
                          obj.post_op_fh3_u.handle.data.data_len);
        return "";
      });
  return made;
}

FileHandle CreateFile(Session& session, const FileHandle& dir, const std::string& name) {
  FileHandle made;
  session.RunOne(
      "create " + name,
      [&](uint64_t, rpc_cb callback, void* private_data) {
        CREATE3args args{};
        args.where.dir = dir.AsArg();
        args.where.name = const_cast<char*>(name.c_str());
        args.how.mode = GUARDED;
        args.how.createhow3_u.g_obj_attributes.mode.set_it = 1;
        args.how.createhow3_u.g_obj_attributes.mode.set_mode3_u.mode = 0644;
        return rpc_nfs3_create_async(session.rpc(), callback, &args, private_data);
      },
      [&](uint64_t, void* result) -> std::string {
        auto* res = static_cast<CREATE3res*>(result);
        if (res->status != NFS3_OK) return NfsError(res->status);
        const post_op_fh3& obj = res->CREATE3res_u.resok.obj;
        if (!obj.handle_follows) return "CREATE3 returned no handle";
        made = FileHandle(obj.post_op_fh3_u.handle.data.data_val,
                          obj.post_op_fh3_u.handle.data.data_len);
        return "";
      });
  return made;
}

void Remove(Session& session, const FileHandle& dir, const std::string& name) {
  session.RunOne(
      "remove " + name,
      [&](uint64_t, rpc_cb callback, void* private_data) {
        REMOVE3args args{};
        args.object.dir = dir.AsArg();
        args.object.name = const_cast<char*>(name.c_str());
        return rpc_nfs3_remove_async(session.rpc(), callback, &args, private_data);
      },
      [](uint64_t, void* result) -> std::string {
        auto* res = static_cast<REMOVE3res*>(result);
        return res->status == NFS3_OK ? "" : NfsError(res->status);
      });
}

void RemoveDirectory(Session& session, const FileHandle& parent, const std::string& name) {
  session.RunOne(
      "rmdir " + name,
      [&](uint64_t, rpc_cb callback, void* private_data) {
        RMDIR3args args{};
        args.object.dir = parent.AsArg();
        args.object.name = const_cast<char*>(name.c_str());
        return rpc_nfs3_rmdir_async(session.rpc(), callback, &args, private_data);
      },
      [](uint64_t, void* result) -> std::string {
        auto* res = static_cast<RMDIR3res*>(result);
        return res->status == NFS3_OK ? "" : NfsError(res->status);
      });
}

void Commit(Session& session, const FileHandle& file) {
  session.RunOne(
      "commit",
      [&](uint64_t, rpc_cb callback, void* private_data) {
        COMMIT3args args{};
        args.file = file.AsArg();  // offset 0, count 0: the whole file
        return rpc_nfs3_commit_async(session.rpc(), callback, &args, private_data);
      },
      [](uint64_t, void* result) -> std::string {
        auto* res = static_cast<COMMIT3res*>(result);
        return res->status == NFS3_OK ? "" : NfsError(res->status);
      });
}

// ---- Data phases. ----

// Writes `calls` blocks of `block` bytes with UNSTABLE WRITE3s; offset_of(i) places block i.
RunResult WriteBlocks(Session& session, const Pattern& pattern, const FileHandle& file,
                      std::string_view what, const RunLimits& limits, uint64_t block,
                      const std::function<uint64_t(uint64_t)>& offset_of) {
  return session.Run(
      what, limits,
      [&](uint64_t index, rpc_cb callback, void* private_data) {
        uint64_t offset = offset_of(index);
        WRITE3args args{};
        args.file = file.AsArg();
        args.offset = offset;
        args.count = static_cast<count3>(block);
        args.stable = UNSTABLE;
        args.data.data_len = static_cast<u_int>(block);
        args.data.data_val = const_cast<char*>(pattern.At(offset));
        return rpc_nfs3_write_async(session.rpc(), callback, &args, private_data);
      },
      [&](uint64_t, void* result) -> std::string {
        auto* res = static_cast<WRITE3res*>(result);
        if (res->status != NFS3_OK) return NfsError(res->status);
        if (res->WRITE3res_u.resok.count != block) {
          return "short write: " + std::to_string(res->WRITE3res_u.resok.count) + " of " +
                 std::to_string(block) + " bytes";
        }
        return "";
      });
}

// Reads `block` bytes at offset_of(i) for each call i and, with options.verify, compares them
// with the pattern.
RunResult ReadBlocks(Session& session, const Options& options, const Pattern& pattern,
                     const FileHandle& file, std::string_view what, const RunLimits& limits,
                     uint64_t block, const std::function<uint64_t(uint64_t)>& offset_of) {
  return session.Run(
      what, limits,
      [&](uint64_t index, rpc_cb callback, void* private_data) {
        READ3args args{};
        args.file = file.AsArg();
        args.offset = offset_of(index);
        args.count = static_cast<count3>(block);
        return rpc_nfs3_read_async(session.rpc(), callback, &args, private_data);
      },
      [&](uint64_t index, void* result) -> std::string {
        auto* res = static_cast<READ3res*>(result);
        if (res->status != NFS3_OK) return NfsError(res->status);
        const READ3resok& ok = res->READ3res_u.resok;
        if (ok.count != block || ok.data.data_len != block) {
          return "short read: " + std::to_string(ok.data.data_len) + " of " +
                 std::to_string(block) + " bytes at offset " + std::to_string(offset_of(index));
        }
        if (options.verify &&
            std::memcmp(ok.data.data_val, pattern.At(offset_of(index)), block) != 0) {
          return "data read at offset " + std::to_string(offset_of(index)) +
                 " differs from what was written";
        }
        return "";
      });
}

// Sequential write then sequential read of a new file, `depth` requests of `block` bytes in
// flight, repeated `seq_passes` times (each pass a new file); reports the median pass, since a
// single pass of a few hundred MiB lasts well under a second and is at the mercy of noise.
void RunSequential(Session& session, const Options& options, const Pattern& pattern,
                   const FileHandle& dir) {
  uint64_t block =
      std::min<uint64_t>({options.seq_block_kib * 1024, session.write_max(), session.read_max()});
  uint64_t size = options.seq_file_mib << 20;
  uint64_t blocks = size / block;
  PrintInfo(options, "seq_block_bytes", std::to_string(block));
  auto sequential = [block](uint64_t index) { return index * block; };
  std::vector<double> writes, reads;
  for (int pass = 0; pass < options.seq_passes; ++pass) {
    FileHandle file = CreateFile(session, dir, "seq.dat");
    // The COMMIT is part of the write: until it returns the server may still lose the data.
    Clock::time_point start = Clock::now();
    WriteBlocks(session, pattern, file, "sequential write",
                RunLimits{.calls = blocks, .depth = options.seq_depth, .seconds = 300}, block,
                sequential);
    Clock::time_point commit_start = Clock::now();
    Commit(session, file);
    const double commit_seconds = SecondsSince(commit_start);
    writes.push_back(double(blocks * block) / 1e6 / SecondsSince(start));
    if (!options.seq_write_only) {
      RunResult read =
          ReadBlocks(session, options, pattern, file, "sequential read",
                     RunLimits{.calls = blocks, .depth = options.seq_depth, .seconds = 300}, block,
                     sequential);
      reads.push_back(double(blocks * block) / 1e6 / read.seconds);
    }
    Remove(session, dir, "seq.dat");
    PrintInfo(options, "seq_pass_" + std::to_string(pass + 1),
              "write " + std::to_string(int(writes.back())) + " MB/s (COMMIT " +
                  std::to_string(int(commit_seconds * 1000)) + " ms)" +
                  (reads.empty() ? "" : ", read " + std::to_string(int(reads.back())) + " MB/s"));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  PrintResult(options, "seq_write", median(writes), "MB/s");
  if (!reads.empty()) PrintResult(options, "seq_read", median(reads), "MB/s");
}

// Random aligned reads, then random aligned writes, over one preallocated file.
void RunRandom(Session& session, const Options& options, const Pattern& pattern,
               const FileHandle& dir) {
  uint64_t block = options.rand_block_kib * 1024;
  uint64_t size = options.rand_file_mib << 20;
  if (block > session.write_max() || block > session.read_max() || block > size) {
    Die(options.label, "--rand-block-kib is larger than the file or the server's maximum");
  }
  uint64_t blocks = size / block;
  FileHandle file = CreateFile(session, dir, "rand.dat");

  // Fill the file first so that every read finds data (not timed).
  uint64_t fill = std::min<uint64_t>({uint64_t{1} << 20, session.write_max(), size});
  WriteBlocks(session, pattern, file, "random-file fill",
              RunLimits{.calls = size / fill, .depth = 8, .seconds = 300}, fill,
              [fill](uint64_t index) { return index * fill; });
  if (size % fill != 0) {
    uint64_t tail_offset = size / fill * fill;
    WriteBlocks(session, pattern, file, "random-file fill", RunLimits{.calls = 1, .depth = 1},
                size - tail_offset, [tail_offset](uint64_t) { return tail_offset; });
  }
  Commit(session, file);

  // The same seed for every server, so every server sees the same offsets.
  std::vector<uint64_t> offsets;
  std::mt19937_64 random(42);
  auto random_offset = [&](uint64_t index) {
    while (offsets.size() <= index) offsets.push_back(random() % blocks * block);
    return offsets[index];
  };
  RunLimits limits{.calls = options.rand_max_ops,
                   .depth = options.rand_depth,
                   .seconds = options.rand_seconds,
                   .time_is_ok = true};
  std::string unit_name = std::to_string(options.rand_block_kib) + "k";

  RunResult reads =
      ReadBlocks(session, options, pattern, file, "random read", limits, block, random_offset);
  PrintResult(options, "rand_read_" + unit_name, double(reads.completed) / reads.seconds, "IOPS");

  offsets.clear();
  random.seed(43);
  Clock::time_point start = Clock::now();
  RunResult writes =
      WriteBlocks(session, pattern, file, "random write", limits, block, random_offset);
  Commit(session, file);
  PrintResult(options, "rand_write_" + unit_name, double(writes.completed) / SecondsSince(start),
              "IOPS");
  Remove(session, dir, "rand.dat");
}

// ---- Metadata phases. ----

std::string FileName(uint64_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "f%07" PRIu64, index);
  return name;
}

// Lists `dir` once with READDIRPLUS3 and returns how many entries other than . and .. it holds.
uint64_t ListOnce(Session& session, const FileHandle& dir) {
  uint64_t entries = 0;
  cookie3 cookie = 0;
  cookieverf3 verifier = {};
  bool eof = false;
  while (!eof) {
    session.RunOne(
        "readdirplus",
        [&](uint64_t, rpc_cb callback, void* private_data) {
          READDIRPLUS3args args{};
          args.dir = dir.AsArg();
          args.cookie = cookie;
          std::memcpy(args.cookieverf, verifier, sizeof(verifier));
          args.dircount = 16 * 1024;
          args.maxcount = 64 * 1024;
          return rpc_nfs3_readdirplus_async(session.rpc(), callback, &args, private_data);
        },
        [&](uint64_t, void* result) -> std::string {
          auto* res = static_cast<READDIRPLUS3res*>(result);
          if (res->status != NFS3_OK) return NfsError(res->status);
          const READDIRPLUS3resok& ok = res->READDIRPLUS3res_u.resok;
          std::memcpy(verifier, ok.cookieverf, sizeof(verifier));
          eof = ok.reply.eof;
          const entryplus3* entry = ok.reply.entries;
          if (entry == nullptr && !eof) return "READDIRPLUS3 returned no entries and no eof";
          for (; entry != nullptr; entry = entry->nextentry) {
            cookie = entry->cookie;
            if (std::strcmp(entry->name, ".") != 0 && std::strcmp(entry->name, "..") != 0) {
              ++entries;
            }
          }
          return "";
        });
  }
  return entries;
}

void RunMetadata(Session& session, const Options& options, const FileHandle& dir) {
  FileHandle tree = MakeDirectory(session, dir, "meta");
  uint64_t files = options.files;
  RunLimits limits{.calls = files, .depth = options.meta_depth, .seconds = 300};
  std::vector<std::string> names;
  for (uint64_t i = 0; i < files; ++i) names.push_back(FileName(i));

  RunResult created = session.Run(
      "create", limits,
      [&](uint64_t index, rpc_cb callback, void* private_data) {
        CREATE3args args{};
        args.where.dir = tree.AsArg();
        args.where.name = names[index].data();
        args.how.mode = GUARDED;
        args.how.createhow3_u.g_obj_attributes.mode.set_it = 1;
        args.how.createhow3_u.g_obj_attributes.mode.set_mode3_u.mode = 0644;
        return rpc_nfs3_create_async(session.rpc(), callback, &args, private_data);
      },
      [](uint64_t, void* result) -> std::string {
        auto* res = static_cast<CREATE3res*>(result);
        return res->status == NFS3_OK ? "" : NfsError(res->status);
      });
  PrintResult(options, "create", double(files) / created.seconds, "ops/s");

  // A stat of a name the client has not cached costs one LOOKUP3 (it returns the attributes).
  RunResult looked_up = session.Run(
      "lookup", limits,
      [&](uint64_t index, rpc_cb callback, void* private_data) {
        LOOKUP3args args{};
        args.what.dir = tree.AsArg();
        args.what.name = names[index].data();
        return rpc_nfs3_lookup_async(session.rpc(), callback, &args, private_data);
      },
      [](uint64_t, void* result) -> std::string {
        auto* res = static_cast<LOOKUP3res*>(result);
        if (res->status != NFS3_OK) return NfsError(res->status);
        if (!res->LOOKUP3res_u.resok.obj_attributes.attributes_follow) {
          return "LOOKUP3 returned no attributes";
        }
        return "";
      });
  PrintResult(options, "stat", double(files) / looked_up.seconds, "ops/s");

  // Whole listings, repeated until --readdir-seconds have passed (at most 1000 of them) for a
  // steadier figure.
  uint64_t listed = 0;
  Clock::time_point start = Clock::now();
  for (int pass = 0; pass < 1000 && (pass == 0 || SecondsSince(start) < options.readdir_seconds);
       ++pass) {
    uint64_t entries = ListOnce(session, tree);
    if (entries != files) {
      Die(options.label, "readdir listed " + std::to_string(entries) + " entries, expected " +
                             std::to_string(files));
    }
    listed += entries;
  }
  PrintResult(options, "readdir", double(listed) / SecondsSince(start), "entries/s");

  RunResult removed = session.Run(
      "remove", limits,
      [&](uint64_t index, rpc_cb callback, void* private_data) {
        REMOVE3args args{};
        args.object.dir = tree.AsArg();
        args.object.name = names[index].data();
        return rpc_nfs3_remove_async(session.rpc(), callback, &args, private_data);
      },
      [](uint64_t, void* result) -> std::string {
        auto* res = static_cast<REMOVE3res*>(result);
        return res->status == NFS3_OK ? "" : NfsError(res->status);
      });
  PrintResult(options, "remove", double(files) / removed.seconds, "ops/s");
  RemoveDirectory(session, dir, "meta");
}

// One GETATTR3 at a time: the round trip a stat of a cached-but-expired file costs.
void RunGetattr(Session& session, const Options& options, const FileHandle& dir) {
  std::vector<double> latencies;
  latencies.reserve(options.getattr_calls);
  session.Run(
      "getattr", RunLimits{.calls = uint64_t(options.getattr_calls), .depth = 1, .seconds = 300},
      [&](uint64_t, rpc_cb callback, void* private_data) {
        GETATTR3args args{};
        args.object = dir.AsArg();
        return rpc_nfs3_getattr_async(session.rpc(), callback, &args, private_data);
      },
      [](uint64_t, void* result) -> std::string {
        auto* res = static_cast<GETATTR3res*>(result);
        return res->status == NFS3_OK ? "" : NfsError(res->status);
      },
      &latencies);
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    size_t rank = static_cast<size_t>(p * double(latencies.size() - 1) + 0.5);
    return latencies[rank];
  };
  PrintResult(options, "getattr_p50", percentile(0.50), "us");
  PrintResult(options, "getattr_p99", percentile(0.99), "us");
}

void OnAlarm(int) {
  static const char kMessage[] = "nfs_bench: --max-seconds reached, giving up\n";
  ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  (void)ignored;
  _exit(3);
}

int Main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, OnAlarm);
  alarm(options.max_seconds);

  Session session(options);
  PrintInfo(options, "server",
            options.host + " nfs port " + std::to_string(options.port) + ", mount port " +
                std::to_string(options.mount_port) + ", export " + options.export_path);
  PrintInfo(options, "rtmax_wtmax",
            std::to_string(session.read_max()) + " " + std::to_string(session.write_max()));
  uint64_t max_block = std::max<uint64_t>(options.seq_block_kib, options.rand_block_kib) * 1024;
  Pattern pattern(std::max<uint64_t>(max_block, uint64_t{1} << 20));

  // Everything happens in a fresh directory at the export's root, removed at the end.
  std::string dir_name = "nfs_bench." + std::to_string(getpid()) + "." +
                         std::to_string(std::random_device{}() % 1'000'000);
  FileHandle dir = MakeDirectory(session, session.root(), dir_name);
  if (options.tests.count("seq")) RunSequential(session, options, pattern, dir);
  if (options.tests.count("rand")) RunRandom(session, options, pattern, dir);
  if (options.tests.count("meta")) RunMetadata(session, options, dir);
  if (options.tests.count("getattr")) RunGetattr(session, options, dir);
  RemoveDirectory(session, session.root(), dir_name);
  return 0;
}

}  // namespace
}  // namespace dittofs::bench

int main(int argc, char** argv) {
  // libnfs allocates every request and reply; with many 1 MiB calls in flight, glibc's default
  // thresholds made this client, not the server, fault its buffers in afresh for each call.
  dittofs::KeepFreedMemoryForReuse();
  return dittofs::bench::Main(argc, argv);
}
