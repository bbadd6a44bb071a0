// SPDX-License-Identifier: Apache-2.0
#include "stores/state/postgres/postgres_state_store.h"

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/mutex.h"
#include "stores/pg/pg_client.h"

namespace dittofs::stores {
namespace {

using pg::Bytes;
using pg::Connection;
using pg::Int;
using pg::Pool;
using pg::Rows;
using pg::WithConnection;

// The layout below is specified in docs/formats/postgres-state.md; change both together.
constexpr int64_t kFormatVersion = 1;

Errc CodeOf(const Status& s) { return s.code(); }
template <typename T>
Errc CodeOf(const Result<T>& r) {
  return r.status().code();
}

class PostgresStateStore final : public StateStore {
 public:
  explicit PostgresStateStore(const PostgresStateStoreOptions& options)
      : schema_(options.schema),
        // Durable when a write returns, whatever the server's default.
        pool_(options.dsn, options.idle_connections, "state store", "SET synchronous_commit TO on"),
        lock_sql_(fmt::format(
            "SELECT pg_try_advisory_lock(hashtext('dittofs.state'), hashtext('{}'))::int::bigint",
            options.schema)) {}

  Status Open() {
    const std::string& s = schema_;
    const std::string setup = fmt::format(
        "CREATE SCHEMA IF NOT EXISTS {0};"
        "CREATE TABLE IF NOT EXISTS {0}.meta (name text PRIMARY KEY, value bigint NOT NULL);"
        "CREATE TABLE IF NOT EXISTS {0}.entries (tbl bigint NOT NULL, key bytea NOT NULL, "
        "  value bytea NOT NULL, PRIMARY KEY (tbl, key));"
        "INSERT INTO {0}.meta VALUES ('format', {1}) ON CONFLICT (name) DO NOTHING;"
        "INSERT INTO {0}.meta VALUES ('epoch', 0) ON CONFLICT (name) DO NOTHING;",
        s, kFormatVersion);
    RETURN_IF_ERROR(WithConnection(pool_, [&](Connection& c) -> Status {
      RETURN_IF_ERROR(pg::SetUpSchema(c, s, setup));
      ASSIGN_OR_RETURN(Rows meta, c.Exec(T("SELECT value FROM {}.meta WHERE name = 'format'")));
      if (meta.size() == 1 && meta.Int(0, 0) > kFormatVersion) {
        return Status(Errc::kNotSupported,
                      fmt::format("state store: schema {} has layout {}; this build reads up "
                                  "to {}",
                                  s, meta.Int(0, 0), kFormatVersion));
      }
      return Status::Ok();
    }));
    MutexLock lock(&owner_mu_);
    return OwnLocked();
  }

  Status Put(StateTable table, std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(CheckStateEntry(key, value));
    return Run([&](Connection& c) {
      return c
          .Exec(T("INSERT INTO {}.entries VALUES ($1, $2, $3) ON CONFLICT (tbl, key) DO UPDATE "
                  "SET value = EXCLUDED.value"),
                {Int(static_cast<uint8_t>(table)), Bytes(key), Bytes(value)})
          .status();
    });
  }

  Status Delete(StateTable table, std::string_view key) override {
    return Run([&](Connection& c) {
      return c
          .Exec(T("DELETE FROM {}.entries WHERE tbl = $1 AND key = $2"),
                {Int(static_cast<uint8_t>(table)), Bytes(key)})
          .status();
    });
  }

  Status DeleteMany(StateTable table, const std::vector<std::string>& keys) override {
    if (keys.empty()) return Status::Ok();
    // One transaction in one round trip: one commit (one WAL flush) for them all.
    std::vector<pg::Statement> batch;
    batch.reserve(keys.size() + 2);
    batch.push_back({"BEGIN", {}});
    const std::string sql = T("DELETE FROM {}.entries WHERE tbl = $1 AND key = $2");
    for (const std::string& key : keys) {
      batch.push_back({sql, {Int(static_cast<uint8_t>(table)), Bytes(key)}});
    }
    batch.push_back({"COMMIT", {}});
    return Run([&](Connection& c) { return c.Pipeline(batch); });
  }

  Result<std::string> Get(StateTable table, std::string_view key) override {
    return Run([&](Connection& c) -> Result<std::string> {
      ASSIGN_OR_RETURN(Rows r, c.Exec(T("SELECT value FROM {}.entries WHERE tbl = $1 AND key = $2"),
                                      {Int(static_cast<uint8_t>(table)), Bytes(key)}));
      if (r.size() == 0) return Errc::kNotFound;
      return std::string(r.Bytes(0, 0));
    });
  }

  Result<std::vector<StateEntry>> List(StateTable table) override {
    return Run([&](Connection& c) -> Result<std::vector<StateEntry>> {
      // bytea compares as unsigned bytes: the order List promises.
      ASSIGN_OR_RETURN(Rows r, c.Exec(T("SELECT key, value FROM {}.entries WHERE tbl = $1 "
                                        "ORDER BY key"),
                                      {Int(static_cast<uint8_t>(table))}));
      std::vector<StateEntry> out;
      out.reserve(static_cast<size_t>(r.size()));
      for (int i = 0; i < r.size(); ++i) {
        out.push_back({std::string(r.Bytes(i, 0)), std::string(r.Bytes(i, 1))});
      }
      return out;
    });
  }

  Result<uint64_t> NextEpoch() override {
    return Run([&](Connection& c) -> Result<uint64_t> {
      // One committed (synchronous) update: never handed out twice, crash or not.
      ASSIGN_OR_RETURN(Rows r, c.Exec(T("UPDATE {}.meta SET value = value + 1 WHERE name = "
                                        "'epoch' RETURNING value")));
      if (r.size() != 1) return Status(Errc::kInternal, "state store: no epoch row");
      return static_cast<uint64_t>(r.Int(0, 0));
    });
  }

 private:
  // `sql` with the schema in place of "{}".
  std::string T(std::string_view sql) const { return fmt::format(fmt::runtime(sql), schema_); }

  // Takes the schema's advisory lock on a connection of its own, unless held: kBusy when
  // another session holds it.
  Status OwnLocked() EXCLUSIVE_LOCKS_REQUIRED(owner_mu_) {
    if (owner_ != nullptr && owner_->healthy() && !recheck_owner_.load()) return Status::Ok();
    if (owner_ != nullptr && owner_->healthy()) {
      // A call failed with the server unreachable: is the lock's session still there?
      recheck_owner_.store(false);
      if (owner_->Exec("SELECT 1").ok()) return Status::Ok();
    }
    owner_.reset();
    ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, pool_.Get());
    ASSIGN_OR_RETURN(Rows r, c->Exec(lock_sql_));
    if (r.size() != 1 || r.Int(0, 0) != 1) {
      return Status(Errc::kBusy,
                    fmt::format("state store: schema {} is in use by another dfs (it holds the "
                                "schema's advisory lock); each node needs its own state schema",
                                schema_));
    }
    owner_ = std::move(c);
    return Status::Ok();
  }

  // Runs `fn` on a pooled connection while this store owns its schema. A call that finds the
  // server gone (its connections broken by a restart) is made once more on new connections,
  // after the ownership is checked again: every call is idempotent but NextEpoch, which may
  // then skip a number, never repeat one.
  template <typename Fn>
  auto Run(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
    for (int attempt = 0;; ++attempt) {
      {
        MutexLock lock(&owner_mu_);
        RETURN_IF_ERROR(OwnLocked());
      }
      auto result = WithConnection(pool_, fn);
      if (result.ok() || CodeOf(result) != Errc::kUnavailable) return result;
      recheck_owner_.store(true);
      pool_.Clear();
      if (attempt == 1) return result;
    }
  }

  const std::string schema_;
  Pool pool_;
  const std::string lock_sql_;
  Mutex owner_mu_;
  std::unique_ptr<Connection> owner_ GUARDED_BY(owner_mu_);
  std::atomic<bool> recheck_owner_{false};
};

}  // namespace

Result<std::unique_ptr<StateStore>> OpenPostgresStateStore(
    const PostgresStateStoreOptions& options) {
  RETURN_IF_ERROR(pg::CheckSchema("state store", options.schema));
  auto store = std::make_unique<PostgresStateStore>(options);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace dittofs::stores
