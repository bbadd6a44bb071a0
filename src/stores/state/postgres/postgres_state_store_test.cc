// SPDX-License-Identifier: Apache-2.0
#include "stores/state/postgres/postgres_state_store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "stores/pg/pg_client.h"
#include "stores/state/conformance.h"
#include "testing/loopback.h"
#include "testing/postgres_server.h"
#include "testing/status_matchers.h"

namespace dittofs::stores {
namespace {

using ::dittofs::testing::PostgresServer;
using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// fsync and synchronous commits on: the crash test below relies on them.
PostgresServer* const server =
    static_cast<PostgresServer*>(::testing::AddGlobalTestEnvironment(new PostgresServer(true)));

// A schema no other store of this binary uses.
std::string FreshSchema() { return PostgresServer::FreshSchema("state"); }

Result<std::unique_ptr<StateStore>> Open(const std::string& schema) {
  if (server->dsn().empty()) {
    return Status(Errc::kUnavailable,
                  "the test PostgreSQL server is not running: " + server->error());
  }
  return OpenPostgresStateStore({.dsn = server->dsn(), .schema = schema});
}

std::unique_ptr<StateStore> NewStore() {
  Result<std::unique_ptr<StateStore>> store = Open(FreshSchema());
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

INSTANTIATE_TEST_SUITE_P(Postgres, StateStoreConformance,
                         ::testing::Values(StateStoreFactory{"Postgres", NewStore}),
                         StateStoreFactoryName);

TEST(PostgresStateStoreTest, ReopenKeepsEntriesAndEpochsKeepGrowing) {
  const std::string schema = FreshSchema();
  ExpectReopenKeepsEntriesAndEpochsGrow([&] { return Open(schema); });
}

// Two nodes never write one node's records at once: the second open waits its turn (kBusy)
// and, once the first is gone, takes the records over (a standby after a failover).
TEST(PostgresStateStoreTest, OneOwnerAtATimeAndAStandbyTakesOver) {
  const std::string schema = FreshSchema();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StateStore> first, Open(schema));
  ASSERT_OK(first->Put(StateTable::kDurableHandles, "handle", "open"));
  Result<std::unique_ptr<StateStore>> second = Open(schema);
  EXPECT_THAT(second, StatusIs(Errc::kBusy));
  EXPECT_THAT(second.status().message(), HasSubstr(schema));
  // Other schemas of the same database are other nodes' and open beside it.
  ASSERT_OK(Open(FreshSchema()));
  first.reset();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StateStore> standby, Open(schema));
  ASSERT_OK_AND_ASSIGN(std::string handle, standby->Get(StateTable::kDurableHandles, "handle"));
  EXPECT_EQ(handle, "open");
}

TEST(PostgresStateStoreTest, BadSchemasNewerLayoutsAndUnreachableServersAreRefused) {
  EXPECT_THAT(Open("Has-Dash"), StatusIs(Errc::kInvalid));
  EXPECT_THAT(Open("1abc"), StatusIs(Errc::kInvalid));

  const std::string schema = FreshSchema();
  { ASSERT_OK(Open(schema)); }
  pg::Pool raw(server->dsn(), 1, "test");
  ASSERT_OK(pg::WithConnection(raw, [&](pg::Connection& c) {
    return c.Exec(fmt::format("UPDATE {}.meta SET value = 9 WHERE name = 'format'", schema))
        .status();
  }));
  Result<std::unique_ptr<StateStore>> newer = Open(schema);
  EXPECT_THAT(newer, StatusIs(Errc::kNotSupported));
  EXPECT_THAT(newer.status().message(), HasSubstr("layout 9"));

  const int port = ::dittofs::testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  Result<std::unique_ptr<StateStore>> unreachable = OpenPostgresStateStore(
      {.dsn = fmt::format("host=127.0.0.1 port={} user=dfs password=hunter2 dbname=x "
                          "connect_timeout=5",
                          port),
       .schema = "s"});
  EXPECT_THAT(unreachable, StatusIs(Errc::kUnavailable));
  EXPECT_THAT(unreachable.status().message(), Not(HasSubstr("hunter2")));
}

// What a write returned survives the writer's kill -9 and then the database's: the entries
// are there, the epoch handed out is never handed out again, and the dead writer's lock went
// with its session, so the next open (a restarted or standby node) owns the schema at once.
// While the database is down calls fail with kUnavailable; once it is back the same store
// object serves again.
TEST(PostgresStateStoreTest, WritesAndEpochsSurviveKillDashNineOfTheWriterAndTheDatabase) {
  ASSERT_FALSE(server->dsn().empty()) << server->error();
  const std::string schema = FreshSchema();
  ASSERT_OK_AND_ASSIGN(uint64_t child_epoch,
                       RunWriterKilledBySigkill([&] { return Open(schema); }));
  server->Kill();
  ASSERT_OK(server->Restart());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StateStore> store, Open(schema));
  ExpectWhatTheKilledWriterWrote(*store, child_epoch);

  server->Kill();
  EXPECT_THAT(store->Put(StateTable::kClients, "c", "v"), StatusIs(Errc::kUnavailable));
  EXPECT_THAT(store->List(StateTable::kClients), StatusIs(Errc::kUnavailable));
  ASSERT_OK(server->Restart());
  Status back = store->Put(StateTable::kClients, "c", "v");
  for (int i = 0; i < 50 && !back.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    back = store->Put(StateTable::kClients, "c", "v");
  }
  ASSERT_OK(back);
  ASSERT_OK_AND_ASSIGN(std::string c, store->Get(StateTable::kClients, "c"));
  EXPECT_EQ(c, "v");
  // It still owns the schema: a second open is refused.
  EXPECT_THAT(Open(schema), StatusIs(Errc::kBusy));
}

}  // namespace
}  // namespace dittofs::stores
