// SPDX-License-Identifier: Apache-2.0
#include "controlplane/db/sqlite/sqlite_control_db.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "controlplane/db/sql_control_db.h"

namespace dittofs::controlplane {
namespace {

constexpr int kBusyTimeoutMs = 5000;

Errc ErrcOf(int code) {
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Errc::kExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Errc::kBusy;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return Errc::kInvalid;
    default:
      break;
  }
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
      return Errc::kUnavailable;
    case SQLITE_FULL:
      return Errc::kNoSpace;
    case SQLITE_READONLY:
      return Errc::kReadOnly;
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Errc::kIo;
    default:
      return Errc::kInternal;
  }
}

// Our SQL writes parameters $1, $2, ...; SQLite's numbered form is ?1, ?2, ... Statements are
// our own constants, so no '$' appears inside a literal.
std::string ToSqliteParams(std::string_view sql) {
  std::string out(sql);
  for (char& c : out) {
    if (c == '$') c = '?';
  }
  return out;
}

class SqliteConnection final : public SqlConnection {
 public:
  // Takes ownership of `db`.
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    ForgetStatements();
    sqlite3_close(db_);
  }

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    const std::vector<SqlParam>& params) override {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    // Leaves the statement reset and unbound however we return, so it holds no read lock.
    struct Resetter {
      sqlite3_stmt* stmt;
      ~Resetter() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
      }
    } resetter{stmt};
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i + 1);
      int rc = std::holds_alternative<int64_t>(params[i])
                   ? sqlite3_bind_int64(stmt, index, std::get<int64_t>(params[i]))
                   : sqlite3_bind_text(stmt, index, std::get<std::string>(params[i]).data(),
                                       static_cast<int>(std::get<std::string>(params[i]).size()),
                                       SQLITE_TRANSIENT);
      if (rc != SQLITE_OK) return Error(rc);
    }
    std::vector<SqlRow> rows;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return Error(rc);
      SqlRow row;
      int columns = sqlite3_column_count(stmt);
      row.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        const unsigned char* text = sqlite3_column_text(stmt, c);
        row.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text),
                         static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::Ok() : Error(rc);
  }

  // IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading.
  Status Begin() override { return ExecScript("BEGIN IMMEDIATE"); }
  Status Commit() override { return ExecScript("COMMIT"); }
  Status Rollback() override { return ExecScript("ROLLBACK"); }

  // AUTOINCREMENT already remembers the largest id ever inserted, explicit ones included.
  Status ResetIdSequence(std::string_view table) override { return Status::Ok(); }

  void ForgetStatements() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
  }

 private:
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    auto it = statements_.find(key);
    if (it != statements_.end()) return it->second;
    std::string text = ToSqliteParams(sql);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc);
    statements_.emplace(std::move(key), stmt);
    return stmt;
  }

  Status Error(int rc) const {
    return Status(ErrcOf(rc), fmt::format("sqlite: {}", sqlite3_errmsg(db_)));
  }

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

}  // namespace

Result<std::unique_ptr<ControlDb>> OpenSqliteControlDb(const std::string& path) {
  // Create the file ourselves so that it is private from its first byte; SQLite gives the
  // -wal and -shm files the same mode.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(errno == ENOENT || errno == EACCES ? Errc::kUnavailable : Errc::kIo,
                  fmt::format("open control database {}: {}", path, std::strerror(errno)));
  }
  ::close(fd);
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status(Errc::kUnavailable, fmt::format("open control database {}: {}", path,
                                                  db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return status;
  }
  auto connection = std::make_unique<SqliteConnection>(db);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  Status status = connection->ExecScript(
      "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
  if (!status.ok()) {
    return Status(status.code(),
                  fmt::format("open control database {}: {}", path, status.message()));
  }
  return OpenSqlControlDb(std::move(connection));
}

}  // namespace dittofs::controlplane
