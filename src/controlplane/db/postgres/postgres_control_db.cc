// SPDX-License-Identifier: Apache-2.0
#include "controlplane/db/postgres/postgres_control_db.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "controlplane/db/sql_control_db.h"

namespace dittofs::controlplane {
namespace {

// SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html
Errc ErrcOfSqlState(std::string_view state) {
  if (state == "23505") return Errc::kExists;  // unique_violation
  if (state == "23503") return Errc::kBusy;    // foreign_key_violation
  if (state == "40001" || state == "40P01") return Errc::kConflict;
  if (state.starts_with("23") || state.starts_with("22")) return Errc::kInvalid;
  if (state.starts_with("08") || state.starts_with("57P") || state == "53300") {
    return Errc::kUnavailable;
  }
  if (state.starts_with("53")) return Errc::kNoSpace;
  return Errc::kInternal;
}

std::string Trimmed(const char* message) {
  std::string out = message == nullptr ? "" : message;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Owns a PGresult.
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

class PostgresConnection final : public SqlConnection {
 public:
  // Takes ownership of `conn`.
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    const std::vector<SqlParam>& params) override {
    ASSIGN_OR_RETURN(std::string name, Prepare(sql, static_cast<int>(params.size())));
    // Values go to the server as parameters, never spliced into the text.
    std::vector<std::string> texts;
    texts.reserve(params.size());
    for (const SqlParam& param : params) {
      texts.push_back(std::holds_alternative<int64_t>(param)
                          ? std::to_string(std::get<int64_t>(param))
                          : std::get<std::string>(param));
    }
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (const std::string& text : texts) {
      values.push_back(text.c_str());
      lengths.push_back(static_cast<int>(text.size()));
    }
    PgResult result(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                   values.data(), lengths.data(), nullptr, 0));
    RETURN_IF_ERROR(Check(result.get()));
    std::vector<SqlRow> rows;
    int n = PQntuples(result.get());
    int columns = PQnfields(result.get());
    rows.reserve(n);
    for (int r = 0; r < n; ++r) {
      SqlRow row;
      row.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        row.emplace_back(PQgetvalue(result.get(), r, c),
                         static_cast<size_t>(PQgetlength(result.get(), r, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    PgResult result(PQexec(conn_, text.c_str()));
    return Check(result.get());
  }

  Status Begin() override { return ExecScript("BEGIN"); }
  Status Commit() override { return ExecScript("COMMIT"); }
  Status Rollback() override { return ExecScript("ROLLBACK"); }

  Status ResetIdSequence(std::string_view table) override {
    // `table` is one of our own table names, not a value.
    return Query(fmt::format("SELECT setval(pg_get_serial_sequence($1, 'id'), "
                             "COALESCE((SELECT MAX(id) FROM {}), 0) + 1, false)",
                             table),
                 {std::string(table)})
        .status();
  }

  void ForgetStatements() override {
    if (statements_.empty()) return;
    PgResult result(PQexec(conn_, "DEALLOCATE ALL"));
    statements_.clear();
  }

 private:
  // Prepares `sql` once per connection; returns the statement's name.
  Result<std::string> Prepare(std::string_view sql, int params) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    std::string name = fmt::format("dfs_{}", next_statement_++);
    std::string text(sql);
    PgResult result(PQprepare(conn_, name.c_str(), text.c_str(), params, nullptr));
    RETURN_IF_ERROR(Check(result.get()));
    statements_.emplace(std::move(text), name);
    return name;
  }

  Status Check(const PGresult* result) const {
    ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
    if (PQstatus(conn_) == CONNECTION_BAD) {
      return Status(Errc::kUnavailable,
                    fmt::format("postgres: connection lost: {}", Trimmed(PQerrorMessage(conn_))));
    }
    const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
    std::string message =
        result == nullptr ? Trimmed(PQerrorMessage(conn_)) : Trimmed(PQresultErrorMessage(result));
    return Status(state == nullptr ? Errc::kInternal : ErrcOfSqlState(state),
                  fmt::format("postgres: {}", message));
  }

  PGconn* conn_;
  std::map<std::string, std::string, std::less<>> statements_;  // SQL -> statement name
  int next_statement_ = 0;
};

void IgnoreNotice(void*, const char*) {}

}  // namespace

Result<std::unique_ptr<ControlDb>> OpenPostgresControlDb(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  if (conn == nullptr) return Status(Errc::kUnavailable, "postgres: out of memory");
  auto connection = std::make_unique<PostgresConnection>(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names the host and the server's reason, never the password.
    return Status(Errc::kUnavailable,
                  fmt::format("postgres: cannot connect: {}", Trimmed(PQerrorMessage(conn))));
  }
  // "relation already exists, skipping" and the like are not worth a line on stderr.
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  RETURN_IF_ERROR(connection->ExecScript("SET client_min_messages = warning"));
  return OpenSqlControlDb(std::move(connection));
}

}  // namespace dittofs::controlplane
