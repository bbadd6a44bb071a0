// SPDX-License-Identifier: Apache-2.0
#include "stores/pg/pg_client.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>

#include "base/bytes.h"

namespace dittofs::stores::pg {
namespace {

// PostgreSQL type oids of the parameters (pg_type.h): sent in binary.
constexpr Oid kInt8Oid = 20;
constexpr Oid kByteaOid = 17;

std::string Trimmed(const char* message) {
  std::string out = message == nullptr ? "" : message;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Parameters as libpq takes them: types, values, lengths, all in binary. Views `params`.
struct BoundParams {
  explicit BoundParams(const std::vector<Param>& params) {
    for (const Param& p : params) {
      types.push_back(p.type);
      values.push_back(p.bytes.data());
      lengths.push_back(static_cast<int>(p.bytes.size()));
      formats.push_back(p.format);
    }
  }
  int count() const { return static_cast<int>(types.size()); }
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};

using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

Param Int(int64_t v) {
  std::string out(8, '\0');
  StoreBe64(reinterpret_cast<std::byte*>(out.data()), static_cast<uint64_t>(v));
  return {kInt8Oid, std::move(out)};
}

Param Bytes(std::string_view v) { return {kByteaOid, std::string(v)}; }

Param Text(std::string_view v) { return {0, std::string(v), 0}; }

Errc ErrcOfSqlState(std::string_view state) {
  if (state == "40001" || state == "40P01" || state == "23505") return Errc::kConflict;
  if (state.starts_with("08") || state.starts_with("57P") || state == "53300") {
    return Errc::kUnavailable;
  }
  if (state.starts_with("53")) return Errc::kNoSpace;
  return Errc::kIo;
}

Status CheckSchema(std::string_view what, std::string_view s) {
  const bool valid = !s.empty() && s.size() <= 63 && !(s[0] >= '0' && s[0] <= '9') &&
                     std::all_of(s.begin(), s.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                     });
  if (valid) return Status::Ok();
  return Status(Errc::kInvalid, fmt::format("{}: schema '{}': lowercase letters, digits and '_', "
                                            "not starting with a digit, at most 63 bytes",
                                            what, s));
}

Status SetUpSchema(Connection& c, std::string_view schema, const std::string& setup) {
  RETURN_IF_ERROR(c.Exec("BEGIN").status());
  Status st =
      c.Exec(fmt::format("SELECT pg_advisory_xact_lock(hashtext('dittofs.{}'))", schema)).status();
  if (st.ok()) st = c.Script(setup);
  if (!st.ok()) {
    (void)c.Exec("ROLLBACK");
    return st;
  }
  return c.Exec("COMMIT").status();
}

void ResultDeleter::operator()(pg_result* r) const { PQclear(r); }

int Rows::size() const { return PQntuples(r_.get()); }

bool Rows::null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

int64_t Rows::Int(int row, int col) const {
  if (null(row, col) || PQgetlength(r_.get(), row, col) != 8) return 0;
  return static_cast<int64_t>(
      LoadBe64(reinterpret_cast<const std::byte*>(PQgetvalue(r_.get(), row, col))));
}

std::string_view Rows::Bytes(int row, int col) const {
  return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

Status Connection::Lost() const {
  return Status(Errc::kUnavailable,
                what_ + ": PostgreSQL connection lost: " + Trimmed(PQerrorMessage(conn_)));
}

Status Connection::Pipeline(const std::vector<Statement>& batch) {
  if (PQenterPipelineMode(conn_) != 1) {
    return Lost();
  }
  Status first;
  bool sent = true;
  for (const Statement& st : batch) {
    const BoundParams b(st.params);
    if (PQsendQueryParams(conn_, st.sql.c_str(), b.count(), b.types.data(), b.values.data(),
                          b.lengths.data(), b.formats.data(), 1) != 1) {
      sent = false;
      break;
    }
  }
  if (!sent || PQpipelineSync(conn_) != 1) {
    first = Lost();
    PQexitPipelineMode(conn_);
    return first;
  }
  // Each statement's results end with a null; the sync's result ends the pipeline.
  for (;;) {
    PgResult r(PQgetResult(conn_));
    if (!r) {
      if (!healthy()) break;
      continue;
    }
    ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_PIPELINE_SYNC) break;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ||
        status == PGRES_PIPELINE_ABORTED) {
      continue;
    }
    if (first.ok()) {
      const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
      if (state != nullptr && std::string_view(state) == "22012") {
        first = Status(Errc::kConflict, what_ + ": something read has changed");
      } else if (state == nullptr || !healthy()) {
        first = Lost();
      } else {
        first =
            Status(ErrcOfSqlState(state), what_ + ": " + Trimmed(PQresultErrorMessage(r.get())));
      }
    }
  }
  if (PQexitPipelineMode(conn_) != 1 && first.ok()) {
    first = Lost();
  }
  if (!first.ok() && healthy()) (void)Exec("ROLLBACK");  // an aborted BEGIN block stays open
  return first;
}

Status Connection::Script(const std::string& sql) {
  PgResult r(PQexec(conn_, sql.c_str()));
  if (r && PQresultStatus(r.get()) == PGRES_COMMAND_OK) return Status::Ok();
  const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
  Errc code = state == nullptr || !healthy() ? Errc::kUnavailable : ErrcOfSqlState(state);
  return Status(code, what_ + ": " + Trimmed(PQerrorMessage(conn_)));
}

Status Connection::Failed(const pg_result* r) const {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr || !healthy()) {
    return Lost();
  }
  return Status(ErrcOfSqlState(state), what_ + ": " + Trimmed(r ? PQresultErrorMessage(r) : ""));
}

Result<Rows> Connection::Exec(const std::string& sql, const std::vector<Param>& params) {
  const BoundParams b(params);
  const auto ok = [](const PgResult& r) {
    ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  };
  auto it = prepared_.find(sql);
  if (it == prepared_.end() && prepared_.size() < kMaxPrepared) {
    std::string name = "dfs" + std::to_string(prepared_.size());
    PgResult made(PQprepare(conn_, name.c_str(), sql.c_str(), b.count(), b.types.data()));
    if (!ok(made)) return Failed(made.get());
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  PgResult r(it != prepared_.end()
                 ? PQexecPrepared(conn_, it->second.c_str(), b.count(), b.values.data(),
                                  b.lengths.data(), b.formats.data(), /*resultFormat=*/1)
                 : PQexecParams(conn_, sql.c_str(), b.count(), b.types.data(), b.values.data(),
                                b.lengths.data(), b.formats.data(), /*resultFormat=*/1));
  if (ok(r)) return Rows(std::move(r));
  return Failed(r.get());
}

Pool::Pool(std::string dsn, size_t max_idle, std::string what, std::string setup)
    : dsn_(std::move(dsn)), max_idle_(max_idle), what_(std::move(what)), setup_(std::move(setup)) {}

Pool::~Pool() {
  MutexLock lock(&mu_);
  idle_.clear();
}

Result<std::unique_ptr<Connection>> Pool::Get() {
  {
    MutexLock lock(&mu_);
    while (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      if (c->healthy()) return c;
    }
  }
  PGconn* conn = PQconnectdb(dsn_.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names the host and port, never the password.
    std::string why = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return Status(Errc::kUnavailable, what_ + ": cannot reach PostgreSQL: " + why);
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  auto c = std::make_unique<Connection>(conn, what_);
  if (!setup_.empty()) RETURN_IF_ERROR(c->Script(setup_));
  return c;
}

void Pool::Put(std::unique_ptr<Connection> c) {
  if (!c->healthy()) return;
  MutexLock lock(&mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(c));
}

void Pool::Clear() {
  std::vector<std::unique_ptr<Connection>> dropped;
  {
    MutexLock lock(&mu_);
    dropped.swap(idle_);
  }
}

}  // namespace dittofs::stores::pg
