// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "controlplane/db/control_db.h"

namespace dittofs::controlplane {

// A statement parameter. The schema has no NULLs, so neither do parameters.
using SqlParam = std::variant<int64_t, std::string>;
// One result row, every column as text (integers in decimal).
using SqlRow = std::vector<std::string>;

enum class SqlDialect { kSqlite, kPostgres };

// One connection to an SQL database: the little a backend supplies so that SqlControlDb can
// keep every query, migration and rule in one place. Not thread-safe; SqlControlDb serializes
// its calls.
//
// Errors: a unique or primary-key violation is kExists, a foreign-key violation kBusy, a check
// or NOT NULL violation kInvalid, a lost connection kUnavailable.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;

  virtual SqlDialect dialect() const = 0;
  // Runs one statement whose parameters are written $1, $2, ...; returns its rows.
  virtual Result<std::vector<SqlRow>> Query(std::string_view sql,
                                            const std::vector<SqlParam>& params) = 0;
  // Runs several parameterless statements (schema migrations).
  virtual Status ExecScript(std::string_view sql) = 0;
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  // After rows were inserted with explicit ids, makes the next generated id of `table` larger
  // than every id in it.
  virtual Status ResetIdSequence(std::string_view table) = 0;
  // Drops cached prepared statements (after the schema changed).
  virtual void ForgetStatements() = 0;
};

// A ControlDb over `connection`; applies pending migrations first.
Result<std::unique_ptr<ControlDb>> OpenSqlControlDb(std::unique_ptr<SqlConnection> connection);

}  // namespace dittofs::controlplane
