// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the PostgreSQL stores (metadata/postgres, state/postgres) need of libpq, written once:
// a pool of connections to one server, statements sent with binary parameters and read back
// in binary, several statements of one transaction in one round trip (pipeline mode), and the
// server's SQLSTATEs as Errc. Each store names itself (`what`) in the messages it returns, which
// name the host, never the password.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "base/result.h"

struct pg_conn;
struct pg_result;

namespace dittofs::stores::pg {

// A statement parameter: in binary an int8 (8 bytes, big-endian) or a bytea (the bytes); in
// text, whatever the statement casts it to ("{1,2,3}" for `$1::bigint[]`).
struct Param {
  unsigned int type;  // the PostgreSQL type oid; 0: the statement's cast says
  std::string bytes;
  int format = 1;  // 1 binary, 0 text
};
Param Int(int64_t v);
Param Bytes(std::string_view v);
Param Text(std::string_view v);

// One statement of a pipeline: its text and parameters.
struct Statement {
  std::string sql;
  std::vector<Param> params;
};

// The Errc of a SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html):
// a transaction that lost to another (serialization failure, deadlock, unique violation) is
// kConflict, a server or connection that went away kUnavailable, a full disk kNoSpace.
Errc ErrcOfSqlState(std::string_view state);

// Errc::kInvalid unless `schema` is lowercase letters, digits and '_', not starting with a
// digit, at most 63 bytes: a schema name that needs no quoting. `what` names the store.
Status CheckSchema(std::string_view what, std::string_view schema);

struct ResultDeleter {
  void operator()(pg_result* r) const;
};

// The rows of a binary-format result.
class Rows {
 public:
  explicit Rows(std::unique_ptr<pg_result, ResultDeleter> r) : r_(std::move(r)) {}
  int size() const;
  bool null(int row, int col) const;
  int64_t Int(int row, int col) const;  // 0 when null
  std::string_view Bytes(int row, int col) const;

 private:
  std::unique_ptr<pg_result, ResultDeleter> r_;
};

// One connection from a Pool; broken ones are dropped instead of going back.
class Connection {
 public:
  Connection(pg_conn* conn, std::string what) : conn_(conn), what_(std::move(what)) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool healthy() const;
  // The error of a call the connection could not carry (kUnavailable).
  Status Lost() const;

  // Runs `sql` with `params`; the rows, in binary. Errors carry the server's SQLSTATE as an
  // Errc (ErrcOfSqlState); kUnavailable when the connection broke. The first kMaxPrepared
  // texts a connection runs are prepared at their first use (parsed and planned once).
  Result<Rows> Exec(const std::string& sql, const std::vector<Param>& params = {});
  static constexpr size_t kMaxPrepared = 256;
  // Runs several statements in one text (the simple query protocol), with no parameters.
  Status Script(const std::string& sql);
  // Runs `batch` in one round trip (libpq's pipeline mode); it must be one transaction
  // (BEGIN ... COMMIT): the first failure is returned, and the transaction rolled back. A
  // division by zero (SQLSTATE 22012) is kConflict ("something read has changed"): a commit
  // can check what it read with one.
  Status Pipeline(const std::vector<Statement>& batch);

 private:
  // The error of a result that is not a success.
  Status Failed(const pg_result* r) const;

  pg_conn* conn_;
  const std::string what_;
  std::unordered_map<std::string, std::string> prepared_;  // text -> statement name
};

class Pool {
 public:
  // `dsn`: a libpq connection string. `what` names the store in messages ("metadata store").
  // `setup` (may be empty) runs on every new connection before its first use.
  Pool(std::string dsn, size_t max_idle, std::string what, std::string setup = "");
  ~Pool();

  // A connection, reused or new; kUnavailable when none can be made.
  Result<std::unique_ptr<Connection>> Get();
  // Gives a connection back: kept while healthy and fewer than max_idle wait.
  void Put(std::unique_ptr<Connection> c);
  // Drops the idle connections: after one was found broken, the others (to the same server)
  // likely are too, and only a call would tell.
  void Clear();

  const std::string& what() const { return what_; }

 private:
  const std::string dsn_;
  const size_t max_idle_;
  const std::string what_;
  const std::string setup_;
  Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ GUARDED_BY(mu_);
};

class Connection;

// Makes a store's schema and tables: runs `setup` (statements that create what is missing,
// "IF NOT EXISTS") in one transaction under a transaction advisory lock on the schema's name,
// so that nodes opening at once do not race (the others wait, then find them).
Status SetUpSchema(Connection& c, std::string_view schema, const std::string& setup);

// Runs `fn(connection)` on a pooled connection and gives the connection back.
template <typename Fn>
auto WithConnection(Pool& pool, Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
  Result<std::unique_ptr<Connection>> c = pool.Get();
  if (!c.ok()) return c.status();
  auto result = fn(**c);
  pool.Put(std::move(*c));
  return result;
}

}  // namespace dittofs::stores::pg
