// SPDX-License-Identifier: Apache-2.0
// nfs4_bench: an NFSv4.0 client benchmark on libnfs's NFSv4 support (Debian's libnfs 4.0), run
// against dfs and NFS-Ganesha alike by run_compare.sh --nfs4. See README.md.
//
// libnfs's NFSv4 calls are path- and handle-based (one COMPOUND each: a stat is PUTROOTFH,
// LOOKUPs and GETATTR; an fstat PUTFH and GETATTR; a pread PUTFH and READ), so every server sees
// the same COMPOUNDs. Everything runs on one context (one TCP connection), with several calls
// outstanding where the figure says so.
#include <fcntl.h>
#include <sys/time.h>
// sys/time.h first: libnfs.h uses struct timeval.
#include <nfsc/libnfs.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 12049;
  std::string export_path = "/export";
  std::string label = "server";
  uint64_t file_mib = 32;
  uint64_t block_kib = 1024;
  int seq_depth = 8;
  int seq_passes = 3;
  std::vector<int> rand_depths{1, 4, 16, 64};
  double rand_seconds = 3;
  int files = 1000;
  int meta_depth = 16;
  double meta_seconds = 3;
  double readdir_seconds = 2;
  bool verify = true;
};

[[noreturn]] void Die(const Options& o, const std::string& why) {
  std::fprintf(stderr, "nfs4_bench %s: %s\n", o.label.c_str(), why.c_str());
  std::exit(1);
}

void Result(const Options& o, std::string_view metric, double value, std::string_view unit) {
  std::printf("RESULT %s %.*s %.1f %.*s\n", o.label.c_str(), static_cast<int>(metric.size()),
              metric.data(), value, static_cast<int>(unit.size()), unit.data());
  std::fflush(stdout);
}

char PatternByte(uint64_t offset) {
  return static_cast<char>((offset * 131 + offset / 4096) & 0xff);
}

// One libnfs context, mounted over NFSv4.0, driven from this thread.
class Session {
 public:
  explicit Session(const Options& o) : o_(o) {
    nfs_ = nfs_init_context();
    if (nfs_ == nullptr) Die(o, "nfs_init_context failed");
    nfs_set_timeout(nfs_, 60'000);
    nfs4_set_client_name(nfs_, ("nfs4_bench." + std::to_string(getpid())).c_str());
    std::string url = "nfs://" + o.host + o.export_path +
                      "?version=4&nfsport=" + std::to_string(o.port) + "&uid=0&gid=0";
    nfs_url* parsed = nfs_parse_url_dir(nfs_, url.c_str());
    if (parsed == nullptr) Die(o, "bad url " + url + ": " + nfs_get_error(nfs_));
    int rc = nfs_mount(nfs_, parsed->server, parsed->path);
    nfs_destroy_url(parsed);
    if (rc != 0) Die(o, "mount " + url + ": " + nfs_get_error(nfs_));
  }
  ~Session() { nfs_destroy_context(nfs_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  nfs_context* get() const { return nfs_; }
  std::string error() const { return nfs_get_error(nfs_) ? nfs_get_error(nfs_) : ""; }

  // Issues calls 0, 1, ... with at most `depth` outstanding, until `calls` were issued or
  // `seconds` passed; returns how many completed and the time they took. `issue` queues call i
  // with `cb`/`data` (0: queued); `check` looks at a reply ("" when good). Dies on a failure.
  // With `latencies`, each call's round trip in microseconds is appended.
  struct Run {
    uint64_t done = 0;
    double seconds = 0;
  };
  using Issue = std::function<int(uint64_t i, nfs_cb cb, void* data)>;
  using Check = std::function<std::string(uint64_t i, int status, void* reply)>;
  Run Drive(std::string_view what, uint64_t calls, int depth, double seconds, const Issue& issue,
            const Check& check, std::vector<double>* latencies = nullptr) {
    std::vector<Call> slots(depth);
    std::vector<Call*> idle;
    for (Call& c : slots) {
      c.s = this;
      idle.push_back(&c);
    }
    check_ = &check;
    latencies_ = latencies;
    failure_.clear();
    const Clock::time_point start = Clock::now();
    const auto stop =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    uint64_t next = 0, done = 0;
    while (failure_.empty()) {
      const Clock::time_point now = Clock::now();
      while (!idle.empty() && next < calls && now < stop) {
        Call* c = idle.back();
        c->index = next;
        c->started = now;
        if (issue(next, &Session::OnReply, c) != 0) {
          Die(o_, std::string(what) + ": could not queue a call: " + error());
        }
        idle.pop_back();
        ++next;
      }
      if (idle.size() == slots.size()) break;
      pollfd fd{nfs_get_fd(nfs_), static_cast<short>(nfs_which_events(nfs_)), 0};
      if (poll(&fd, 1, 100) < 0 && errno != EINTR) Die(o_, "poll failed");
      const size_t before = answered_.size();
      if (nfs_service(nfs_, fd.revents) < 0) Die(o_, std::string(what) + ": " + error());
      for (size_t i = before; i < answered_.size(); ++i) idle.push_back(answered_[i]);
      done += answered_.size() - before;
      answered_.clear();
    }
    if (!failure_.empty()) Die(o_, std::string(what) + ": " + failure_);
    return Run{done, std::chrono::duration<double>(Clock::now() - start).count()};
  }

 private:
  struct Call {
    Session* s = nullptr;
    uint64_t index = 0;
    Clock::time_point started;
  };

  static void OnReply(int status, nfs_context*, void* reply, void* data) {
    Call* c = static_cast<Call*>(data);
    Session* s = c->s;
    if (s->latencies_ != nullptr) {
      s->latencies_->push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - c->started).count());
    }
    s->answered_.push_back(c);
    if (!s->failure_.empty()) return;
    std::string problem = (*s->check_)(c->index, status, reply);
    if (!problem.empty()) s->failure_ = "call " + std::to_string(c->index) + ": " + problem;
  }

  const Options& o_;
  nfs_context* nfs_ = nullptr;
  const Check* check_ = nullptr;
  std::vector<double>* latencies_ = nullptr;
  std::vector<Call*> answered_;
  std::string failure_;
};

std::string StatusCheck(uint64_t, int status, void* reply) {
  if (status < 0) return reply != nullptr ? static_cast<const char*>(reply) : "failed";
  return "";
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

void RunData(Session& s, const Options& o, const std::string& dir) {
  const std::string path = dir + "/data";
  const uint64_t size = o.file_mib << 20;
  nfsfh* fh = nullptr;
  if (nfs_create(s.get(), path.c_str(), O_RDWR, 0644, &fh) != 0) Die(o, "create: " + s.error());
  // libnfs 4.0 cannot encode an NFSv4 WRITE of 4 KiB or more (whatever the server): 2 KiB.
  constexpr uint64_t kWrite = 2048;
  std::vector<char> chunk(kWrite);
  s.Drive(
      "write", size / kWrite, 32, 600,
      [&](uint64_t i, nfs_cb cb, void* data) {
        for (uint64_t k = 0; k < kWrite; ++k) chunk[k] = PatternByte(i * kWrite + k);
        return nfs_pwrite_async(s.get(), fh, i * kWrite, kWrite, chunk.data(), cb, data);
      },
      StatusCheck);
  if (nfs_fsync(s.get(), fh) != 0) Die(o, "fsync: " + s.error());

  // libnfs asks the server's maxread for NFSv3 only (0 here): the size asked for, which both
  // servers serve in one READ (maxread 1 MiB).
  const uint64_t block = o.block_kib << 10;
  std::vector<double> passes;
  for (int pass = 0; pass < o.seq_passes; ++pass) {
    Session::Run r = s.Drive(
        "seq_read", size / block, o.seq_depth, 600,
        [&](uint64_t i, nfs_cb cb, void* data) {
          return nfs_pread_async(s.get(), fh, i * block, block, cb, data);
        },
        [&](uint64_t i, int status, void* reply) -> std::string {
          if (status < 0) return reply != nullptr ? static_cast<const char*>(reply) : "failed";
          if (static_cast<uint64_t>(status) != block) return "short read " + std::to_string(status);
          if (o.verify) {
            const char* got = static_cast<const char*>(reply);
            for (uint64_t k = 0; k < block; k += 509) {
              if (got[k] != PatternByte(i * block + k)) return "wrong data";
            }
          }
          return "";
        });
    passes.push_back(static_cast<double>(r.done * block) / 1e6 / r.seconds);
  }
  Result(o, "seq_read", Median(passes), "MB/s");

  std::mt19937_64 rng(42);
  const uint64_t blocks = size / 4096;
  for (int depth : o.rand_depths) {
    Session::Run r = s.Drive(
        "rand_read_4k", UINT64_MAX, depth, o.rand_seconds,
        [&](uint64_t, nfs_cb cb, void* data) {
          return nfs_pread_async(s.get(), fh, (rng() % blocks) * 4096, 4096, cb, data);
        },
        [](uint64_t, int status, void* reply) -> std::string {
          if (status < 0) return reply != nullptr ? static_cast<const char*>(reply) : "failed";
          return status == 4096 ? "" : "short read";
        });
    Result(o, "rand_read_4k_qd" + std::to_string(depth), r.done / r.seconds, "IOPS");
  }

  // GETATTR of an open file (PUTFH + GETATTR): throughput, then latency one at a time.
  Session::Run r = s.Drive(
      "getattr", UINT64_MAX, o.meta_depth, o.meta_seconds,
      [&](uint64_t, nfs_cb cb, void* data) { return nfs_fstat64_async(s.get(), fh, cb, data); },
      StatusCheck);
  Result(o, "getattr", r.done / r.seconds, "ops/s");
  std::vector<double> lat;
  s.Drive(
      "getattr_latency", 20000, 1, o.meta_seconds,
      [&](uint64_t, nfs_cb cb, void* data) { return nfs_fstat64_async(s.get(), fh, cb, data); },
      StatusCheck, &lat);
  Result(o, "getattr_p50", Percentile(lat, 0.5), "us");
  Result(o, "getattr_p99", Percentile(lat, 0.99), "us");
  nfs_close(s.get(), fh);
  nfs_unlink(s.get(), path.c_str());
}

std::string Name(const std::string& dir, int i) { return dir + "/names/f" + std::to_string(i); }

void RunMetadata(Session& s, const Options& o, const std::string& dir) {
  if (nfs_mkdir(s.get(), (dir + "/names").c_str()) != 0) Die(o, "mkdir: " + s.error());
  // Creates one at a time, as a program's open(O_CREAT) + close() on a mount makes them: an
  // OPEN (create) and a CLOSE each.
  const Clock::time_point create_start = Clock::now();
  for (int i = 0; i < o.files; ++i) {
    nfsfh* fh = nullptr;
    if (nfs_create(s.get(), Name(dir, i).c_str(), O_WRONLY, 0644, &fh) != 0) {
      Die(o, "create: " + s.error());
    }
    if (nfs_close(s.get(), fh) != 0) Die(o, "close: " + s.error());
  }
  Result(o, "create_close",
         o.files / std::chrono::duration<double>(Clock::now() - create_start).count(), "ops/s");
  // A stat of a name (PUTROOTFH, LOOKUPs, GETATTR in one COMPOUND).
  std::vector<std::string> names;
  for (int i = 0; i < o.files; ++i) names.push_back(Name(dir, i));
  Session::Run r = s.Drive(
      "lookup", UINT64_MAX, o.meta_depth, o.meta_seconds,
      [&](uint64_t i, nfs_cb cb, void* data) {
        return nfs_stat64_async(s.get(), names[i % names.size()].c_str(), cb, data);
      },
      StatusCheck);
  Result(o, "lookup_getattr", r.done / r.seconds, "ops/s");
  // Whole listings, one at a time.
  uint64_t entries = 0;
  const Clock::time_point start = Clock::now();
  double seconds = 0;
  do {
    nfsdir* d = nullptr;
    if (nfs_opendir(s.get(), (dir + "/names").c_str(), &d) != 0) Die(o, "opendir: " + s.error());
    uint64_t n = 0;
    while (nfs_readdir(s.get(), d) != nullptr) ++n;
    nfs_closedir(s.get(), d);
    if (n < static_cast<uint64_t>(o.files)) Die(o, "a listing had " + std::to_string(n) + " names");
    entries += n;
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
  } while (seconds < o.readdir_seconds);
  Result(o, "readdir", entries / seconds, "entries/s");
  const Clock::time_point remove_start = Clock::now();
  for (const std::string& n : names) {
    if (nfs_unlink(s.get(), n.c_str()) != 0) Die(o, "remove: " + s.error());
  }
  Result(o, "remove", o.files / std::chrono::duration<double>(Clock::now() - remove_start).count(),
         "ops/s");
  nfs_rmdir(s.get(), (dir + "/names").c_str());
}

std::vector<int> ParseDepths(const char* text) {
  std::vector<int> out;
  for (const char* p = text; *p != '\0';) {
    char* end = nullptr;
    long v = std::strtol(p, &end, 10);
    if (end == p || v < 1 || v > 1024) {
      std::fprintf(stderr, "nfs4_bench: bad --rand-depths %s\n", text);
      std::exit(2);
    }
    out.push_back(static_cast<int>(v));
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nfs4_bench: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host")
      o.host = value();
    else if (a == "--port")
      o.port = std::atoi(value());
    else if (a == "--export")
      o.export_path = value();
    else if (a == "--label")
      o.label = value();
    else if (a == "--file-mib")
      o.file_mib = std::strtoull(value(), nullptr, 10);
    else if (a == "--block-kib")
      o.block_kib = std::strtoull(value(), nullptr, 10);
    else if (a == "--seq-depth")
      o.seq_depth = std::atoi(value());
    else if (a == "--seq-passes")
      o.seq_passes = std::atoi(value());
    else if (a == "--rand-depths")
      o.rand_depths = ParseDepths(value());
    else if (a == "--rand-seconds")
      o.rand_seconds = std::atof(value());
    else if (a == "--files")
      o.files = std::atoi(value());
    else if (a == "--meta-depth")
      o.meta_depth = std::atoi(value());
    else if (a == "--meta-seconds")
      o.meta_seconds = std::atof(value());
    else if (a == "--readdir-seconds")
      o.readdir_seconds = std::atof(value());
    else if (a == "--no-verify")
      o.verify = false;
    else {
      std::fprintf(stderr, "nfs4_bench: unknown argument %s (see bench/README.md)\n", argv[i]);
      return 2;
    }
  }
  if (o.file_mib < 1 || o.block_kib < 4 || o.seq_depth < 1 || o.seq_passes < 1 || o.files < 1 ||
      o.meta_depth < 1) {
    std::fprintf(stderr, "nfs4_bench: a size, depth or count is out of range\n");
    return 2;
  }
  Session s(o);
  const std::string dir = "/nfs4_bench." + std::to_string(getpid());
  if (nfs_mkdir(s.get(), dir.c_str()) != 0) Die(o, "mkdir " + dir + ": " + s.error());
  RunData(s, o, dir);
  RunMetadata(s, o, dir);
  nfs_rmdir(s.get(), dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
