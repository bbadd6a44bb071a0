// SPDX-License-Identifier: Apache-2.0
// Prometheus metrics end to end: dfs with metrics on, a known NFS (and SMB) workload, then a
// scrape of /metrics parsed as Prometheus reads the text format, and the counts compared with
// what the workload did.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "dfs_process.h"
#include "nfs4_client.h"
#include "nfs_client.h"
#include "shell.h"
#include "testing/status_matchers.h"

namespace dittofs::integration {
namespace {

using ::testing::HasSubstr;

// A scrape, parsed: sample ("name{labels}") -> value, and the families' types. Fails the test
// on any line that is not a comment, a blank or a well-formed sample, and on a sample of a
// family without a TYPE line.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  double Get(const std::string& sample) const {
    auto it = samples.find(sample);
    return it == samples.end() ? 0 : it->second;
  }
};

Scrape Parse(const std::string& text) {
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|NaN))");
  Scrape s;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.empty() || line.rfind("# HELP ", 0) == 0) continue;
    if (std::regex_match(line, m, kType)) {
      s.types[m[1]] = m[2];
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not a sample: " << line;
      continue;
    }
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = suffix;
      if (family.size() > sfx.size() && family.ends_with(sfx) &&
          s.types.contains(family.substr(0, family.size() - sfx.size()))) {
        family = family.substr(0, family.size() - sfx.size());
      }
    }
    EXPECT_TRUE(s.types.contains(family)) << "no TYPE for " << line;
    const size_t space = line.rfind(' ');
    s.samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return s;
}

TEST(MetricsTest, AScrapeShowsTheCountsAKnownWorkloadMade) {
  DfsOptions o;
  o.metrics = true;
  o.metrics_token = "scrape-secret";
  o.shares[0].recycle = true;
  // Tiered, so the remote's numbers show: data is carved and uploaded 100 ms after a write.
  o.shares[0].block = "tiered";
  o.shares[0].tiered = "{carve_after_ms: 100}";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(DFS_BINARY, o));
  ASSERT_GT(server->metrics_port(), 0) << server->Log();
  httplib::Client http("127.0.0.1", server->metrics_port());

  // Without the token: refused.
  auto refused = http.Get("/metrics");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  const httplib::Headers auth = {{"Authorization", "Bearer scrape-secret"}};
  const auto scrape = [&] {
    auto r = http.Get("/metrics", auth);
    EXPECT_TRUE(r);
    if (!r) return Scrape{};
    EXPECT_EQ(r->status, 200);
    EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
    return Parse(r->body);
  };
  const std::string getattr =
      R"(dittofs_rpc_requests_total{program="nfs",version="3",procedure="GETATTR"})";
  const std::string lookup =
      R"(dittofs_rpc_requests_total{program="nfs",version="3",procedure="LOOKUP"})";
  const std::string getattr_latency =
      R"(dittofs_rpc_request_duration_seconds_count{program="nfs",version="3",procedure="GETATTR"})";
  const std::string garbage =
      R"(dittofs_rpc_errors_total{program="nfs",version="3",procedure="GETATTR"})";
  Scrape before = scrape();
  EXPECT_EQ(before.types["dittofs_rpc_requests_total"], "counter");
  EXPECT_EQ(before.types["dittofs_rpc_request_duration_seconds"], "histogram");
  EXPECT_EQ(before.Get(R"(dittofs_build_info{version="0.1.0"})"), 1);
  EXPECT_TRUE(before.samples.contains(R"(dittofs_opens{share="/export"})"));

  // The workload: 7 GETATTRs and 3 LOOKUPs of names that are not there.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                       RawNfsClient::Connect(server->port(), 0, 0));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  for (int i = 0; i < 7; ++i) {
    ASSERT_OK_AND_ASSIGN(GETATTR3res r, client->Getattr(mnt.fh));
    ASSERT_EQ(r.status, NFS3_OK);
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(LookupReply r, client->Lookup(mnt.fh, "missing" + std::to_string(i)));
    EXPECT_EQ(r.status, NFS3ERR_NOENT);
  }
  Scrape after = scrape();
  EXPECT_EQ(after.Get(getattr) - before.Get(getattr), 7);
  EXPECT_EQ(after.Get(lookup) - before.Get(lookup), 3);
  EXPECT_EQ(after.Get(getattr_latency) - before.Get(getattr_latency), 7);
  EXPECT_EQ(after.Get(garbage) - before.Get(garbage), 0);
  // The LOOKUPs' status, by name.
  const std::string noent =
      R"(dittofs_nfs3_errors_total{procedure="LOOKUP",status="NFS3ERR_NOENT"})";
  EXPECT_EQ(after.types["dittofs_nfs3_errors_total"], "counter");
  EXPECT_EQ(after.Get(noent) - before.Get(noent), 3);
  EXPECT_EQ(after.Get(R"(dittofs_nfs3_errors_total{procedure="GETATTR",status="NFS3ERR_NOENT"})"),
            0);
  // The client's connection, on the NFS adapter; no SMB session.
  EXPECT_EQ(after.types["dittofs_connections"], "gauge");
  EXPECT_GE(after.Get(R"(dittofs_connections{adapter="nfs"})"), 1);
  EXPECT_EQ(after.Get(R"(dittofs_sessions{protocol="smb"})"), 0);
  // A file of 11 bytes removed goes to the recycle bin, which the gauge shows.
  const std::string bin = R"(dittofs_recycle_bin_bytes{share="/export"})";
  EXPECT_EQ(after.Get(bin), 0);
  EXPECT_EQ(after.types["dittofs_recycle_bin_bytes"], "gauge");
  ASSERT_OK_AND_ASSIGN(CreatedReply binned,
                       client->Create(mnt.fh, "binned", GUARDED, ModeAttrs(0644)));
  ASSERT_EQ(binned.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(WRITE3res w, client->Write(binned.fh, 0, "eleven byte", FILE_SYNC));
  ASSERT_EQ(w.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(REMOVE3res removed, client->Remove(mnt.fh, "binned"));
  ASSERT_EQ(removed.status, NFS3_OK);
  Scrape binned_scrape = scrape();
  // The WRITE's block write and the metadata transactions of the CREATE, WRITE and REMOVE.
  const std::string block_writes = R"(dittofs_block_write_duration_seconds_count{share="/export"})";
  EXPECT_EQ(binned_scrape.types["dittofs_block_write_duration_seconds"], "histogram");
  EXPECT_EQ(binned_scrape.Get(block_writes) - after.Get(block_writes), 1);
  const std::string txns =
      R"(dittofs_metadata_transaction_duration_seconds_count{durability="durable"})";
  EXPECT_EQ(binned_scrape.types["dittofs_metadata_transaction_duration_seconds"], "histogram");
  EXPECT_GE(binned_scrape.Get(txns) - after.Get(txns), 3);
  EXPECT_EQ(binned_scrape.Get(bin), 11);
  // The file in the bin is still root's (uid 0): its 11 bytes count for the share and for uid 0.
  EXPECT_EQ(binned_scrape.types["dittofs_quota_used_bytes"], "gauge");
  EXPECT_EQ(binned_scrape.Get(R"(dittofs_quota_used_bytes{share="/export",kind="share",id="0"})"),
            11);
  EXPECT_EQ(binned_scrape.Get(R"(dittofs_quota_used_bytes{share="/export",kind="user",id="0"})"),
            11);
  // The root, #recycle and the file.
  EXPECT_EQ(binned_scrape.Get(R"(dittofs_quota_used_files{share="/export",kind="share",id="0"})"),
            3);
  // The written file's chunk goes up to the remote (a filesystem one) in the background: one
  // put at least, none failed, none retried.
  const std::string puts = R"(dittofs_remote_requests_total{share="/export",op="put"})";
  Scrape uploaded = binned_scrape;
  for (int i = 0; i < 300 && uploaded.Get(puts) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    uploaded = scrape();
  }
  EXPECT_EQ(uploaded.types["dittofs_remote_requests_total"], "counter");
  EXPECT_GE(uploaded.Get(puts), 1);
  EXPECT_EQ(uploaded.Get(R"(dittofs_remote_errors_total{share="/export",op="put"})"), 0);
  EXPECT_TRUE(
      uploaded.samples.contains(R"(dittofs_remote_errors_total{share="/export",op="get"})"));
  EXPECT_EQ(uploaded.types["dittofs_remote_retries_total"], "counter");
  EXPECT_EQ(uploaded.Get(R"(dittofs_remote_retries_total{share="/export"})"), 0);
  EXPECT_GE(uploaded.Get(R"(dittofs_chunks_uploaded_total{share="/export"})"), 1);
  // NFSv4.1: the operations inside the COMPOUNDs count one by one.
  const std::string putrootfh = R"(dittofs_nfs4_operations_total{op="PUTROOTFH"})";
  const std::string sequence = R"(dittofs_nfs4_operations_total{op="SEQUENCE"})";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Nfs4TestClient> v4,
                       Nfs4TestClient::Connect(server->port(), 1));
  ASSERT_OK(v4->Establish("metrics-client"));
  Scrape v4_before = scrape();
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(nfs::COMPOUND4res r,
                         v4->Compound(v4->InSession({PutRootFh(), GetAttr({nfs::FATTR4_SIZE})})));
    ASSERT_EQ(r.status, nfs::nfsstat4::NFS4_OK);
  }
  Scrape v4_after = scrape();
  EXPECT_EQ(v4_after.Get(putrootfh) - v4_before.Get(putrootfh), 4);
  EXPECT_EQ(v4_after.Get(sequence) - v4_before.Get(sequence), 4);
  EXPECT_EQ(
      v4_after.Get(R"(dittofs_nfs4_operation_errors_total{op="PUTROOTFH",status="NFS4ERR_NOENT"})"),
      0);
  // Two LOOKUPs of a name that is not there: NFS4ERR_NOENT, by name.
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(nfs::COMPOUND4res r,
                         v4->Compound(v4->InSession({PutRootFh(), Lookup("missing")})));
    ASSERT_EQ(r.status, nfs::nfsstat4::NFS4ERR_NOENT);
  }
  Scrape v4_noent = scrape();
  EXPECT_EQ(
      v4_noent.Get(R"(dittofs_nfs4_operation_errors_total{op="LOOKUP",status="NFS4ERR_NOENT"})"),
      2);

  const std::string inf =
      R"(dittofs_rpc_request_duration_seconds_bucket{program="nfs",version="3",procedure="GETATTR",le="+Inf"})";
  EXPECT_EQ(after.Get(inf), after.Get(getattr_latency));

  // SMB: a logon and a listing count their commands.
  int rc = 0;
  rc = Shell("command -v smbclient").exit_code;
  if (rc == 0 && server->smb_port() > 0) {
    std::string user_error;
    ASSERT_TRUE(CreateUserViaApi(server->api_port(), server->admin_password(), "bob",
                                 "bob-password", 4343, &user_error))
        << user_error;
    ShellRun ls = Shell("smbclient //127.0.0.1/export -p " + std::to_string(server->smb_port()) +
                        " -s /dev/null -U bob%bob-password -c ls");
    EXPECT_EQ(ls.exit_code, 0) << ls.output;
    Scrape smb = scrape();
    EXPECT_GE(smb.Get(R"(dittofs_smb_requests_total{command="NEGOTIATE"})"), 1);
    EXPECT_GE(smb.Get(R"(dittofs_smb_requests_total{command="SESSION_SETUP"})"), 1);
    EXPECT_GE(smb.Get(R"(dittofs_smb_requests_total{command="QUERY_DIRECTORY"})"), 1);
    EXPECT_EQ(smb.types["dittofs_smb_request_duration_seconds"], "histogram");
    // Opening a file that is not there: CREATE fails with its status, by name.
    ShellRun get = Shell("smbclient //127.0.0.1/export -p " + std::to_string(server->smb_port()) +
                         " -s /dev/null -U bob%bob-password -c 'get no-such-file /dev/null'");
    EXPECT_NE(get.output.find("NT_STATUS_OBJECT_NAME_NOT_FOUND"), std::string::npos) << get.output;
    Scrape smb_error = scrape();
    EXPECT_GE(
        smb_error.Get(
            R"(dittofs_smb_errors_total{command="CREATE",status="STATUS_OBJECT_NAME_NOT_FOUND"})"),
        1);
  }
  ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  EXPECT_EQ(code, 0);
}

// OpenTelemetry tracing end to end: dfs exports to an OTLP/HTTP receiver on loopback, every
// request sampled. A traced NFSv3 WRITE is a root span with its block write and metadata
// transaction as children; a REST request carrying a W3C traceparent continues that trace.
class OtlpReceiver {
 public:
  OtlpReceiver() {
    server_.Post("/v1/traces", [this](const httplib::Request& request, httplib::Response& reply) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(request.body);
      reply.set_content("{}", "application/json");
    });
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~OtlpReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces";
  }
  // Every span received so far, with its resource's service.name as "service".
  std::vector<nlohmann::json> Spans() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<nlohmann::json> out;
    for (const std::string& body : bodies_) {
      nlohmann::json request = nlohmann::json::parse(body);
      for (const auto& resource : request["resourceSpans"]) {
        std::string service;
        for (const auto& a : resource["resource"]["attributes"]) {
          if (a["key"] == "service.name") service = a["value"]["stringValue"];
        }
        for (const auto& scope : resource["scopeSpans"]) {
          for (nlohmann::json span : scope["spans"]) {
            span["service"] = service;
            out.push_back(std::move(span));
          }
        }
      }
    }
    return out;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

std::string StringAttribute(const nlohmann::json& span, const std::string& key) {
  for (const auto& a : span["attributes"]) {
    if (a["key"] == key && a["value"].contains("stringValue")) return a["value"]["stringValue"];
  }
  return "";
}

TEST(TracingTest, ATracedNfsCallAndARestRequestReachTheCollectorWithTheirParents) {
  OtlpReceiver receiver;
  DfsOptions o;
  o.metrics = true;
  o.env = {"DITTOFS_TRACING_ENABLED=true", "DITTOFS_TRACING_ENDPOINT=" + receiver.endpoint(),
           "DITTOFS_TRACING_SAMPLING_RATIO=1", "DITTOFS_TRACING_SERVICE_NAME=dfs-under-test"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(DFS_BINARY, o));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                       RawNfsClient::Connect(server->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  ASSERT_OK_AND_ASSIGN(CreatedReply f, client->Create(mnt.fh, "traced", GUARDED, ModeAttrs(0644)));
  ASSERT_EQ(f.status, NFS3_OK);
  ASSERT_OK_AND_ASSIGN(WRITE3res w, client->Write(f.fh, 0, "traced bytes", FILE_SYNC));
  ASSERT_EQ(w.status, NFS3_OK);
  // An NFSv4.1 COMPOUND that crosses from the pseudo root into the share.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Nfs4TestClient> v4,
                       Nfs4TestClient::Connect(server->port(), 1));
  ASSERT_OK(v4->Establish("traced-client"));
  ASSERT_OK_AND_ASSIGN(nfs::COMPOUND4res looked,
                       v4->Compound(v4->InSession({PutRootFh(), Lookup("export"), Lookup("traced"),
                                                   GetAttr({nfs::FATTR4_SIZE})})));
  ASSERT_EQ(looked.status, nfs::nfsstat4::NFS4_OK);

  // A REST request in a trace the caller started.
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string parent_id = "00f067aa0ba902b7";
  httplib::Client http("127.0.0.1", server->api_port());
  auto health = http.Get("/health", {{"traceparent", "00-" + trace_id + "-" + parent_id + "-01"}});
  ASSERT_TRUE(health);

  // The server exports at least once a second.
  std::vector<nlohmann::json> spans;
  const nlohmann::json* write = nullptr;
  const nlohmann::json* rest = nullptr;
  for (int i = 0; i < 100 && (write == nullptr || rest == nullptr); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    spans = receiver.Spans();
    write = rest = nullptr;
    for (const auto& s : spans) {
      if (s["name"] == "nfs.v3.WRITE") write = &s;
      if (s["traceId"] == trace_id) rest = &s;
    }
  }
  ASSERT_NE(write, nullptr) << server->Log();
  EXPECT_EQ((*write)["service"], "dfs-under-test");
  EXPECT_EQ((*write)["kind"], 2);  // SERVER
  EXPECT_FALSE(write->contains("parentSpanId") &&
               !(*write)["parentSpanId"].get<std::string>().empty());
  EXPECT_EQ(StringAttribute(*write, "rpc.method"), "WRITE");
  EXPECT_EQ(StringAttribute(*write, "dittofs.share"), "/export");
  EXPECT_EQ(StringAttribute(*write, "nfs.status"), "NFS3_OK");
  // Its children: the block write and the metadata transaction, in its trace.
  std::set<std::string> children;
  for (const auto& s : spans) {
    if (s.contains("parentSpanId") && s["parentSpanId"] == (*write)["spanId"]) {
      EXPECT_EQ(s["traceId"], (*write)["traceId"]);
      children.insert(s["name"].get<std::string>());
    }
  }
  EXPECT_TRUE(children.contains("block.write")) << nlohmann::json(spans).dump();
  EXPECT_TRUE(children.contains("metadata.txn")) << nlohmann::json(spans).dump();
  // The CREATE before it was a trace of its own.
  for (const auto& s : spans) {
    if (s["name"] == "nfs.v3.CREATE") {
      EXPECT_NE(s["traceId"], (*write)["traceId"]);
    }
  }

  ASSERT_NE(rest, nullptr);
  EXPECT_EQ((*rest)["parentSpanId"], parent_id);
  EXPECT_EQ((*rest)["name"], "HTTP GET");
  // The COMPOUND's operations, children of its span: those in the share name it, and so does
  // the COMPOUND.
  const nlohmann::json* traced_lookup = nullptr;
  for (int i = 0; i < 50 && traced_lookup == nullptr; ++i) {
    for (const auto& s : spans) {
      if (s["name"] == "nfs4.LOOKUP" && StringAttribute(s, "dittofs.share") == "/export") {
        traced_lookup = &s;
      }
    }
    if (traced_lookup == nullptr) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      spans = receiver.Spans();
    }
  }
  ASSERT_NE(traced_lookup, nullptr) << nlohmann::json(spans).dump();
  bool compound_named = false, putrootfh_unnamed = false;
  for (const auto& s : spans) {
    if (s["spanId"] == (*traced_lookup)["parentSpanId"]) {
      EXPECT_EQ(s["name"], "nfs.v4.COMPOUND");
      compound_named = StringAttribute(s, "dittofs.share") == "/export";
    }
    if (s["name"] == "nfs4.PUTROOTFH" && s["parentSpanId"] == (*traced_lookup)["parentSpanId"]) {
      putrootfh_unnamed = StringAttribute(s, "dittofs.share").empty();  // the pseudo root
    }
  }
  EXPECT_TRUE(compound_named) << nlohmann::json(spans).dump();
  EXPECT_TRUE(putrootfh_unnamed) << nlohmann::json(spans).dump();

  // The exporter's own counts.
  httplib::Client scraper("127.0.0.1", server->metrics_port());
  auto scraped = scraper.Get("/metrics");
  ASSERT_TRUE(scraped);
  const Scrape counts = Parse(scraped->body);
  EXPECT_GE(counts.Get("dittofs_trace_spans_exported_total"), 4);
  EXPECT_EQ(counts.Get("dittofs_trace_export_errors_total"), 0);
  EXPECT_EQ(counts.types.at("dittofs_trace_export_retries_total"), "counter");
  EXPECT_EQ(counts.Get("dittofs_trace_export_retries_total"), 0);
  EXPECT_EQ(counts.Get("dittofs_trace_spans_rejected_total"), 0);
  ASSERT_OK_AND_ASSIGN(int code, server->Stop());
  EXPECT_EQ(code, 0);
}

// Tracing through the control plane's settings, at once: off at start, on with an endpoint
// and a ratio set through the API, then off again; values it cannot take are refused.
TEST(TracingTest, SettingsTurnTracingOnAndOffWithoutARestart) {
  OtlpReceiver receiver;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DfsProcess> server, DfsProcess::Start(DFS_BINARY, {}));
  std::string error;
  const std::string token = AdminTokenViaApi(server->api_port(), server->admin_password(), &error);
  ASSERT_FALSE(token.empty()) << error;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RawNfsClient> client,
                       RawNfsClient::Connect(server->port(), 1000, 1000));
  ASSERT_OK_AND_ASSIGN(MntReply mnt, client->Mnt("/export"));
  ASSERT_EQ(mnt.status, MNT3_OK);
  const auto creates_traced = [&](const std::string& name) {
    auto made = client->Create(mnt.fh, name, GUARDED, ModeAttrs(0644));
    EXPECT_TRUE(made.ok() && made->status == NFS3_OK);
    for (int i = 0; i < 30; ++i) {
      for (const auto& s : receiver.Spans()) {
        if (s["name"] == "nfs.v3.CREATE") return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  EXPECT_FALSE(creates_traced("before")) << "tracing is off by default";

  EXPECT_EQ(PutSettingViaApi(server->api_port(), token, "tracing.endpoint", "ftp://127.0.0.1/x"),
            "400");
  EXPECT_EQ(PutSettingViaApi(server->api_port(), token, "tracing.sampling_ratio", "2"), "400");
  ASSERT_EQ(PutSettingViaApi(server->api_port(), token, "tracing.endpoint", receiver.endpoint()),
            "200");
  ASSERT_EQ(PutSettingViaApi(server->api_port(), token, "tracing.sampling_ratio", "1"), "200");
  ASSERT_EQ(PutSettingViaApi(server->api_port(), token, "tracing.enabled", "true"), "200");
  EXPECT_TRUE(creates_traced("during")) << server->Log();

  ASSERT_EQ(PutSettingViaApi(server->api_port(), token, "tracing.enabled", "false"), "200");
  const size_t exported = receiver.Spans().size();
  auto made = client->Create(mnt.fh, "after", GUARDED, ModeAttrs(0644));
  ASSERT_TRUE(made.ok() && made->status == NFS3_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the batch delay
  EXPECT_EQ(receiver.Spans().size(), exported) << "nothing is traced once it is off";
}

}  // namespace
}  // namespace dittofs::integration
