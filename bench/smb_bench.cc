// SPDX-License-Identifier: Apache-2.0
//
// smb_bench drives an SMB2/3 server from user space with libsmbclient (Samba's client library)
// and prints one line per figure:
//
//   RESULT <label> <metric> <value> <unit>
//
// The same binary runs against every server, so the client's own costs (and its choice of
// SMB requests for each call) are the same on both sides of a comparison. See bench/README.md
// for what each figure means.
//
// libsmbclient is synchronous: one call at a time per context (one context = one TCP
// connection and one session). Queue depth N in the sequential phase is therefore N worker
// processes, each with its own context and its own file (processes rather than threads:
// libsmbclient keeps process-wide state that is not safe to share between threads).

#include <fcntl.h>
#include <libsmbclient.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/allocator.h"

namespace dittofs::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 445;
  std::string share = "export";
  std::string user = "admin";
  std::string password;  // --password, else $SMB_BENCH_PASSWORD
  std::string domain = "WORKGROUP";
  std::string label = "server";
  std::set<std::string> tests = {"seq", "meta", "lat"};
  uint64_t seq_file_mib = 256;
  uint64_t seq_block_kib = 1024;
  std::vector<int> seq_depths = {1, 4, 16, 64};
  int seq_passes = 3;
  std::vector<int> dir_sizes = {500, 50000};
  double list_seconds = 1;
  int lat_calls = 10000;
  bool verify = true;
  int max_seconds = 1800;
};

[[noreturn]] void Usage(const char* message) {
  if (message != nullptr) std::fprintf(stderr, "smb_bench: %s\n", message);
  std::fprintf(stderr,
               "usage: smb_bench --port P [--host 127.0.0.1] [--share export] [--user admin]\n"
               "                 [--password PW | $SMB_BENCH_PASSWORD] [--domain WORKGROUP]\n"
               "                 [--label NAME] [--tests seq,meta,lat]\n"
               "                 [--seq-file-mib 256] [--seq-block-kib 1024] "
               "[--seq-depths 1,4,16,64] [--seq-passes 3]\n"
               "                 [--dir-sizes 500,50000] [--list-seconds 1] [--lat-calls 10000]\n"
               "                 [--no-verify] [--max-seconds 1800]\n");
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

std::vector<std::string> SplitCommas(const char* text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::vector<int> ParseList(std::string_view flag, const char* text, uint64_t min, uint64_t max) {
  std::vector<int> values;
  for (const std::string& part : SplitCommas(text)) {
    values.push_back(static_cast<int>(ParseNumber(flag, part.c_str(), min, max)));
  }
  if (values.empty()) Usage((std::string(flag) + ": empty list").c_str());
  return values;
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
    if (flag == "-h" || flag == "--help") Usage(nullptr);
    if (i + 1 >= argc) Usage((std::string(flag) + " needs a value").c_str());
    const char* value = argv[++i];
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      options.port = static_cast<int>(ParseNumber(flag, value, 1, 65535));
      port_given = true;
    } else if (flag == "--share") {
      options.share = value;
    } else if (flag == "--user") {
      options.user = value;
    } else if (flag == "--password") {
      options.password = value;
    } else if (flag == "--domain") {
      options.domain = value;
    } else if (flag == "--label") {
      options.label = value;
    } else if (flag == "--tests") {
      options.tests.clear();
      for (const std::string& t : SplitCommas(value)) {
        if (t != "seq" && t != "meta" && t != "lat") Usage(("unknown test " + t).c_str());
        options.tests.insert(t);
      }
    } else if (flag == "--seq-file-mib") {
      options.seq_file_mib = ParseNumber(flag, value, 1, 1 << 20);
    } else if (flag == "--seq-block-kib") {
      options.seq_block_kib = ParseNumber(flag, value, 1, 64 * 1024);
    } else if (flag == "--seq-depths") {
      options.seq_depths = ParseList(flag, value, 1, 256);
    } else if (flag == "--seq-passes") {
      options.seq_passes = static_cast<int>(ParseNumber(flag, value, 1, 100));
    } else if (flag == "--dir-sizes") {
      options.dir_sizes = ParseList(flag, value, 1, 10'000'000);
    } else if (flag == "--list-seconds") {
      options.list_seconds = static_cast<double>(ParseNumber(flag, value, 0, 3600));
    } else if (flag == "--lat-calls") {
      options.lat_calls = static_cast<int>(ParseNumber(flag, value, 1, 100'000'000));
    } else if (flag == "--max-seconds") {
      options.max_seconds = static_cast<int>(ParseNumber(flag, value, 1, 86400));
    } else {
      Usage(("unknown flag " + std::string(flag)).c_str());
    }
  }
  if (!port_given) Usage("--port is required");
  if (options.password.empty()) {
    const char* env = std::getenv("SMB_BENCH_PASSWORD");
    if (env == nullptr || *env == '\0') Usage("no --password and no $SMB_BENCH_PASSWORD");
    options.password = env;
  }
  uint64_t block = options.seq_block_kib * 1024;
  for (int depth : options.seq_depths) {
    if (options.seq_file_mib * 1024 * 1024 / static_cast<uint64_t>(depth) < block) {
      Usage("--seq-file-mib / depth must hold at least one --seq-block-kib block");
    }
  }
  return options;
}

const Options* g_options = nullptr;

void Result(const char* metric, double value, const char* unit) {
  std::printf("RESULT %s %s %.1f %s\n", g_options->label.c_str(), metric, value, unit);
  std::fflush(stdout);
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "smb_bench(%s): %s\n", g_options->label.c_str(), what.c_str());
  std::exit(1);
}

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

// ---- libsmbclient context: one TCP connection and one session to the share. ----

void Authenticate(SMBCCTX* context, const char* /*server*/, const char* /*share*/, char* workgroup,
                  int workgroup_len, char* user, int user_len, char* password, int password_len) {
  auto* options = static_cast<const Options*>(smbc_getOptionUserData(context));
  std::snprintf(workgroup, static_cast<size_t>(workgroup_len), "%s", options->domain.c_str());
  std::snprintf(user, static_cast<size_t>(user_len), "%s", options->user.c_str());
  std::snprintf(password, static_cast<size_t>(password_len), "%s", options->password.c_str());
}

class Context {
 public:
  explicit Context(const Options& options) : options_(options) {
    ctx_ = smbc_new_context();
    if (ctx_ == nullptr) Fail(ErrnoText("smbc_new_context"));
    smbc_setDebug(ctx_, 0);
    smbc_setOptionDebugToStderr(ctx_, 1);
    smbc_setOptionUserData(ctx_, const_cast<Options*>(&options_));
    smbc_setFunctionAuthDataWithContext(ctx_, Authenticate);
    smbc_setOptionUseKerberos(ctx_, 0);
    smbc_setOptionFallbackAfterKerberos(ctx_, 1);
    smbc_setOptionNoAutoAnonymousLogin(ctx_, 1);
    smbc_setPort(ctx_, static_cast<uint16_t>(options_.port));
    smbc_setNetbiosName(ctx_, "localhost");
    smbc_setOptionProtocols(ctx_, "SMB2_02", "SMB3");
    if (smbc_init_context(ctx_) == nullptr) Fail(ErrnoText("smbc_init_context"));
    open_ = smbc_getFunctionOpen(ctx_);
    read_ = smbc_getFunctionRead(ctx_);
    write_ = smbc_getFunctionWrite(ctx_);
    close_ = smbc_getFunctionClose(ctx_);
    stat_ = smbc_getFunctionStat(ctx_);
    fstat_ = smbc_getFunctionFstat(ctx_);
    unlink_ = smbc_getFunctionUnlink(ctx_);
    mkdir_ = smbc_getFunctionMkdir(ctx_);
    rmdir_ = smbc_getFunctionRmdir(ctx_);
    opendir_ = smbc_getFunctionOpendir(ctx_);
    readdir_ = smbc_getFunctionReaddir(ctx_);
    closedir_ = smbc_getFunctionClosedir(ctx_);
  }
  ~Context() { smbc_free_context(ctx_, 1); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // smb://host/share/<path>; the port comes from smbc_setPort.
  std::string Url(const std::string& path) const {
    return "smb://" + options_.host + "/" + options_.share + "/" + path;
  }

  SMBCFILE* Open(const std::string& path, int flags, mode_t mode = 0644) {
    return open_(ctx_, Url(path).c_str(), flags, mode);
  }
  ssize_t Read(SMBCFILE* f, void* buf, size_t n) { return read_(ctx_, f, buf, n); }
  ssize_t Write(SMBCFILE* f, const void* buf, size_t n) { return write_(ctx_, f, buf, n); }
  int Close(SMBCFILE* f) { return close_(ctx_, f); }
  int Stat(const std::string& path, struct stat* st) { return stat_(ctx_, Url(path).c_str(), st); }
  int Fstat(SMBCFILE* f, struct stat* st) { return fstat_(ctx_, f, st); }
  int Unlink(const std::string& path) { return unlink_(ctx_, Url(path).c_str()); }
  int Mkdir(const std::string& path) { return mkdir_(ctx_, Url(path).c_str(), 0755); }
  int Rmdir(const std::string& path) { return rmdir_(ctx_, Url(path).c_str()); }
  SMBCFILE* Opendir(const std::string& path) { return opendir_(ctx_, Url(path).c_str()); }
  smbc_dirent* Readdir(SMBCFILE* d) { return readdir_(ctx_, d); }
  int Closedir(SMBCFILE* d) { return closedir_(ctx_, d); }

 private:
  const Options& options_;
  SMBCCTX* ctx_ = nullptr;
  smbc_open_fn open_;
  smbc_read_fn read_;
  smbc_write_fn write_;
  smbc_close_fn close_;
  smbc_stat_fn stat_;
  smbc_fstat_fn fstat_;
  smbc_unlink_fn unlink_;
  smbc_mkdir_fn mkdir_;
  smbc_rmdir_fn rmdir_;
  smbc_opendir_fn opendir_;
  smbc_readdir_fn readdir_;
  smbc_closedir_fn closedir_;
};

// ---- Sequential I/O: N worker processes, each with its own context and file. ----

// The data of block `index`: a fixed random buffer with the block's index in its first 8 bytes,
// so that a block read from the wrong offset does not compare equal.
void StampBlock(std::vector<unsigned char>& block, uint64_t index) {
  std::memcpy(block.data(), &index, sizeof index);
}

// Messages from workers to the parent, one byte each (writes of one byte to a pipe are atomic).
constexpr char kOpened = 'r';    // connected, file created and open for writing
constexpr char kWritten = 'w';   // every block written and the file closed
constexpr char kReopened = 'o';  // the file open for reading
constexpr char kRead = 'd';      // every block read (and checked) and the file closed
constexpr char kError = 'E';

void Tell(int fd, char message) {
  while (write(fd, &message, 1) < 0 && errno == EINTR) {
  }
}

// Blocks until the parent closes the write end of `go`.
void WaitFor(int go) {
  char c;
  while (read(go, &c, 1) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void WorkerFail(int report, const std::string& what) {
  std::fprintf(stderr, "smb_bench(%s) worker %d: %s\n", g_options->label.c_str(), getpid(),
               what.c_str());
  Tell(report, kError);
  _exit(1);
}

void SeqWorker(const Options& options, const std::string& path, uint64_t bytes, int report,
               int go_write, int go_read) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const size_t block_size = options.seq_block_kib * 1024;
  std::vector<unsigned char> pattern(block_size);
  std::mt19937_64 random(42);
  for (auto& b : pattern) b = static_cast<unsigned char>(random());
  std::vector<unsigned char> buffer(block_size);
  const uint64_t blocks = bytes / block_size;

  Context context(options);
  SMBCFILE* f = context.Open(path, O_CREAT | O_TRUNC | O_WRONLY);
  if (f == nullptr) WorkerFail(report, ErrnoText("create " + path));
  Tell(report, kOpened);
  WaitFor(go_write);
  for (uint64_t i = 0; i < blocks; ++i) {
    StampBlock(pattern, i);
    ssize_t n = context.Write(f, pattern.data(), block_size);
    if (n != static_cast<ssize_t>(block_size)) {
      WorkerFail(report, ErrnoText("write " + path + " block " + std::to_string(i)));
    }
  }
  if (context.Close(f) != 0) WorkerFail(report, ErrnoText("close " + path));
  Tell(report, kWritten);

  f = context.Open(path, O_RDONLY);
  if (f == nullptr) WorkerFail(report, ErrnoText("open " + path));
  Tell(report, kReopened);
  WaitFor(go_read);
  for (uint64_t i = 0; i < blocks; ++i) {
    ssize_t n = context.Read(f, buffer.data(), block_size);
    if (n != static_cast<ssize_t>(block_size)) {
      WorkerFail(report, ErrnoText("read " + path + " block " + std::to_string(i) + " got " +
                                   std::to_string(n)));
    }
    if (options.verify) {
      StampBlock(pattern, i);
      if (std::memcmp(buffer.data(), pattern.data(), block_size) != 0) {
        WorkerFail(report, "read " + path + " block " + std::to_string(i) + ": wrong data");
      }
    }
  }
  if (context.Close(f) != 0) WorkerFail(report, ErrnoText("close " + path));
  if (context.Unlink(path) != 0) WorkerFail(report, ErrnoText("unlink " + path));
  Tell(report, kRead);
  _exit(0);
}

// Messages received so far in a pass, by kind (a quick worker may report its next step before
// a slow one has reported the previous).
struct Tally {
  int counts[256] = {};
};

// Reads the workers' pipe until `count` messages `expected` have come; false on an error
// message, an early end (every worker gone) or 300 s without progress.
bool Collect(int report, Tally& tally, int count, char expected) {
  while (tally.counts[static_cast<unsigned char>(expected)] < count) {
    pollfd p{report, POLLIN, 0};
    int ready = poll(&p, 1, 300'000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      std::fprintf(stderr, "smb_bench: workers silent for 300 s\n");
      return false;
    }
    char c;
    ssize_t n = read(report, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "smb_bench: workers exited early\n");
      return false;
    }
    if (c == kError) return false;
    ++tally.counts[static_cast<unsigned char>(c)];
  }
  return true;
}

struct SeqPass {
  double write_mbps = 0;
  double read_mbps = 0;
};

SeqPass RunSeqPass(const Options& options, int depth, int pass) {
  const uint64_t block_size = options.seq_block_kib * 1024;
  const uint64_t per_worker =
      options.seq_file_mib * 1024 * 1024 / static_cast<uint64_t>(depth) / block_size * block_size;
  const uint64_t total = per_worker * static_cast<uint64_t>(depth);
  int report[2], go_write[2], go_read[2];
  if (pipe(report) != 0 || pipe(go_write) != 0 || pipe(go_read) != 0) Fail(ErrnoText("pipe"));
  std::vector<pid_t> workers;
  std::fflush(stdout);  // or the children would inherit, and might repeat, buffered output
  for (int i = 0; i < depth; ++i) {
    std::string path = "smb_bench." + std::to_string(getpid()) + ".seq.q" + std::to_string(depth) +
                       "." + std::to_string(pass) + "." + std::to_string(i);
    pid_t pid = fork();
    if (pid < 0) Fail(ErrnoText("fork"));
    if (pid == 0) {
      close(report[0]);
      close(go_write[1]);
      close(go_read[1]);
      SeqWorker(options, path, per_worker, report[1], go_write[0], go_read[0]);
    }
    workers.push_back(pid);
  }
  close(report[1]);
  close(go_write[0]);
  close(go_read[0]);
  auto kill_all = [&] {
    for (pid_t pid : workers) kill(pid, SIGKILL);
    for (pid_t pid : workers) waitpid(pid, nullptr, 0);
  };
  SeqPass result;
  Tally tally;
  if (!Collect(report[0], tally, depth, kOpened)) {
    kill_all();
    Fail("sequential workers did not start");
  }
  Clock::time_point start = Clock::now();
  close(go_write[1]);
  if (!Collect(report[0], tally, depth, kWritten)) {
    kill_all();
    Fail("sequential write failed");
  }
  result.write_mbps = static_cast<double>(total) / SecondsSince(start) / 1e6;
  if (!Collect(report[0], tally, depth, kReopened)) {
    kill_all();
    Fail("sequential reopen failed");
  }
  start = Clock::now();
  close(go_read[1]);
  if (!Collect(report[0], tally, depth, kRead)) {
    kill_all();
    Fail("sequential read failed");
  }
  result.read_mbps = static_cast<double>(total) / SecondsSince(start) / 1e6;
  close(report[0]);
  for (pid_t pid : workers) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail("a sequential worker failed");
  }
  return result;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void RunSeq(const Options& options) {
  for (int depth : options.seq_depths) {
    std::vector<double> writes, reads;
    for (int pass = 0; pass < options.seq_passes; ++pass) {
      SeqPass p = RunSeqPass(options, depth, pass);
      std::printf("INFO %s seq_q%d_pass_%d write %.1f read %.1f MB/s\n", options.label.c_str(),
                  depth, pass, p.write_mbps, p.read_mbps);
      writes.push_back(p.write_mbps);
      reads.push_back(p.read_mbps);
    }
    Result(("seq_write_q" + std::to_string(depth)).c_str(), Median(writes), "MB/s");
    Result(("seq_read_q" + std::to_string(depth)).c_str(), Median(reads), "MB/s");
  }
}

// ---- Metadata: one context, one call at a time, in a fresh directory of N entries. ----

std::string EntryName(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "f%07d", i);
  return name;
}

void RunMeta(const Options& options, Context& context, int entries) {
  const std::string dir = "smb_bench." + std::to_string(getpid()) + ".d" + std::to_string(entries);
  if (context.Mkdir(dir) != 0) Fail(ErrnoText("mkdir " + dir));
  const std::string n = std::to_string(entries);

  Clock::time_point start = Clock::now();
  for (int i = 0; i < entries; ++i) {
    std::string path = dir + "/" + EntryName(i);
    SMBCFILE* f = context.Open(path, O_CREAT | O_EXCL | O_WRONLY);
    if (f == nullptr) Fail(ErrnoText("create " + path));
    if (context.Close(f) != 0) Fail(ErrnoText("close " + path));
  }
  Result(("create_" + n).c_str(), entries / SecondsSince(start), "ops/s");

  start = Clock::now();
  for (int i = 0; i < entries; ++i) {
    std::string path = dir + "/" + EntryName(i);
    struct stat st {};
    if (context.Stat(path, &st) != 0) Fail(ErrnoText("stat " + path));
    if (!S_ISREG(st.st_mode) || st.st_size != 0) Fail("stat " + path + ": not an empty file");
  }
  Result(("stat_" + n).c_str(), entries / SecondsSince(start), "ops/s");

  uint64_t listed = 0;
  int listings = 0;
  start = Clock::now();
  do {
    SMBCFILE* d = context.Opendir(dir);
    if (d == nullptr) Fail(ErrnoText("opendir " + dir));
    int count = 0;
    while (smbc_dirent* e = context.Readdir(d)) {
      if (std::strcmp(e->name, ".") != 0 && std::strcmp(e->name, "..") != 0) ++count;
    }
    if (context.Closedir(d) != 0) Fail(ErrnoText("closedir " + dir));
    if (count != entries) {
      Fail("list " + dir + ": " + std::to_string(count) + " entries, expected " + n);
    }
    listed += static_cast<uint64_t>(count);
    ++listings;
  } while (SecondsSince(start) < options.list_seconds && listings < 1000);
  Result(("list_" + n).c_str(), static_cast<double>(listed) / SecondsSince(start), "entries/s");

  start = Clock::now();
  for (int i = 0; i < entries; ++i) {
    std::string path = dir + "/" + EntryName(i);
    if (context.Unlink(path) != 0) Fail(ErrnoText("unlink " + path));
  }
  Result(("unlink_" + n).c_str(), entries / SecondsSince(start), "ops/s");
  if (context.Rmdir(dir) != 0) Fail(ErrnoText("rmdir " + dir));
}

// ---- Round-trip latency: fstat of an open file (one QUERY_INFO) and stat by name. ----

double Percentile(std::vector<double>& sorted, double p) {
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

void RunLatency(const Options& options, Context& context) {
  const std::string path = "smb_bench." + std::to_string(getpid()) + ".lat";
  SMBCFILE* f = context.Open(path, O_CREAT | O_TRUNC | O_RDWR);
  if (f == nullptr) Fail(ErrnoText("create " + path));
  std::vector<double> us;
  us.reserve(static_cast<size_t>(options.lat_calls));
  for (int i = 0; i < options.lat_calls; ++i) {
    struct stat st {};
    Clock::time_point start = Clock::now();
    if (context.Fstat(f, &st) != 0) Fail(ErrnoText("fstat " + path));
    us.push_back(SecondsSince(start) * 1e6);
  }
  std::sort(us.begin(), us.end());
  Result("fstat_p50", Percentile(us, 0.50), "us");
  Result("fstat_p99", Percentile(us, 0.99), "us");
  if (context.Close(f) != 0) Fail(ErrnoText("close " + path));

  us.clear();
  for (int i = 0; i < options.lat_calls; ++i) {
    struct stat st {};
    Clock::time_point start = Clock::now();
    if (context.Stat(path, &st) != 0) Fail(ErrnoText("stat " + path));
    us.push_back(SecondsSince(start) * 1e6);
  }
  std::sort(us.begin(), us.end());
  Result("stat_p50", Percentile(us, 0.50), "us");
  Result("stat_p99", Percentile(us, 0.99), "us");
  if (context.Unlink(path) != 0) Fail(ErrnoText("unlink " + path));
}

int Main(int argc, char** argv) {
  KeepFreedMemoryForReuse();
  Options options = ParseOptions(argc, argv);
  g_options = &options;
  signal(SIGPIPE, SIG_IGN);
  alarm(static_cast<unsigned>(options.max_seconds));  // the default action ends the process

  // The sequential phase forks its workers before this process opens a context of its own.
  if (options.tests.count("seq") != 0) RunSeq(options);
  if (options.tests.count("meta") == 0 && options.tests.count("lat") == 0) return 0;
  Context context(options);
  if (options.tests.count("meta") != 0) {
    for (int entries : options.dir_sizes) RunMeta(options, context, entries);
  }
  if (options.tests.count("lat") != 0) RunLatency(options, context);
  return 0;
}

}  // namespace
}  // namespace dittofs::bench

int main(int argc, char** argv) { return dittofs::bench::Main(argc, argv); }
