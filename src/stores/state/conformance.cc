// SPDX-License-Identifier: Apache-2.0
#include "stores/state/conformance.h"

#include <gmock/gmock.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ostream>
#include <thread>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::stores {

void PrintTo(const StateStoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::string StateStoreFactoryName(const ::testing::TestParamInfo<StateStoreFactory>& info) {
  return info.param.name;
}

void ExpectReopenKeepsEntriesAndEpochsGrow(
    const std::function<Result<std::unique_ptr<StateStore>>()>& open) {
  uint64_t epoch = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<StateStore> store, open());
    ASSERT_OK(store->Put(StateTable::kClients, "client-a", "record a"));
    ASSERT_OK(store->Put(StateTable::kNsmHosts, "host-b", "state 3"));
    ASSERT_OK_AND_ASSIGN(epoch, store->NextEpoch());
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<StateStore> store, open());
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> clients, store->List(StateTable::kClients));
  EXPECT_THAT(clients, ::testing::ElementsAre(StateEntry{"client-a", "record a"}));
  ASSERT_OK_AND_ASSIGN(std::string host, store->Get(StateTable::kNsmHosts, "host-b"));
  EXPECT_EQ(host, "state 3");
  ASSERT_OK_AND_ASSIGN(uint64_t next, store->NextEpoch());
  EXPECT_GT(next, epoch);
}

Result<uint64_t> RunWriterKilledBySigkill(
    const std::function<Result<std::unique_ptr<StateStore>>()>& open) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Status(Errc::kIo, "pipe failed");
  pid_t child = fork();
  if (child < 0) return Status(Errc::kIo, "fork failed");
  if (child == 0) {
    close(pipe_fds[0]);
    Result<std::unique_ptr<StateStore>> store = open();
    if (!store.ok()) _exit(1);
    for (int i = 0; i < 100; ++i) {
      if (!(*store)->Put(StateTable::kDurableHandles, "h" + std::to_string(i), "open").ok()) {
        _exit(2);
      }
    }
    if (!(*store)->Delete(StateTable::kDurableHandles, "h7").ok()) _exit(3);
    Result<uint64_t> epoch = (*store)->NextEpoch();
    if (!epoch.ok()) _exit(4);
    if (write(pipe_fds[1], &*epoch, sizeof(*epoch)) != sizeof(*epoch)) _exit(5);
    raise(SIGKILL);  // no destructor runs
    _exit(6);
  }
  close(pipe_fds[1]);
  uint64_t child_epoch = 0;
  const bool got = read(pipe_fds[0], &child_epoch, sizeof(child_epoch)) == sizeof(child_epoch);
  close(pipe_fds[0]);
  int status = 0;
  if (waitpid(child, &status, 0) != child) return Status(Errc::kIo, "waitpid failed");
  if (!got || !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    return Status(Errc::kInternal, "the writer ended with status " + std::to_string(status));
  }
  return child_epoch;
}

void ExpectWhatTheKilledWriterWrote(StateStore& store, uint64_t child_epoch) {
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> handles, store.List(StateTable::kDurableHandles));
  EXPECT_EQ(handles.size(), 99u);
  EXPECT_THAT(store.Get(StateTable::kDurableHandles, "h7"),
              ::dittofs::testing::StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(uint64_t next, store.NextEpoch());
  EXPECT_GT(next, child_epoch);
}

void StateStoreConformance::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr);
}

namespace {

using ::dittofs::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::string_literals;

TEST_P(StateStoreConformance, PutGetReplaceDelete) {
  EXPECT_THAT(store().Get(StateTable::kClients, "alice"), StatusIs(Errc::kNotFound));
  ASSERT_OK(store().Put(StateTable::kClients, "alice", "v1"));
  ASSERT_OK_AND_ASSIGN(std::string value, store().Get(StateTable::kClients, "alice"));
  EXPECT_EQ(value, "v1");
  ASSERT_OK(store().Put(StateTable::kClients, "alice", ""));
  ASSERT_OK_AND_ASSIGN(value, store().Get(StateTable::kClients, "alice"));
  EXPECT_EQ(value, "");  // an empty value is a value
  ASSERT_OK(store().Delete(StateTable::kClients, "alice"));
  EXPECT_THAT(store().Get(StateTable::kClients, "alice"), StatusIs(Errc::kNotFound));
  EXPECT_OK(store().Delete(StateTable::kClients, "alice"));  // absent: still ok
  EXPECT_OK(store().Delete(StateTable::kNsmHosts, "never"));
}

TEST_P(StateStoreConformance, DeleteManyRemovesEachKeyOfItsTableOnly) {
  for (const char* key : {"a", "b", "c", "d"}) {
    ASSERT_OK(store().Put(StateTable::kClients, key, key));
  }
  ASSERT_OK(store().Put(StateTable::kNsmHosts, "a", "host"));
  ASSERT_OK(store().DeleteMany(StateTable::kClients, {"a", "c", "never there", "c"}));
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> clients, store().List(StateTable::kClients));
  EXPECT_THAT(clients, ElementsAre(StateEntry{"b", "b"}, StateEntry{"d", "d"}));
  ASSERT_OK_AND_ASSIGN(std::string host, store().Get(StateTable::kNsmHosts, "a"));
  EXPECT_EQ(host, "host");
  EXPECT_OK(store().DeleteMany(StateTable::kClients, {}));
  ASSERT_OK(store().DeleteMany(StateTable::kClients, {"b", "d"}));
  ASSERT_OK_AND_ASSIGN(clients, store().List(StateTable::kClients));
  EXPECT_THAT(clients, IsEmpty());
}

TEST_P(StateStoreConformance, TablesAreSeparate) {
  ASSERT_OK(store().Put(StateTable::kClients, "k", "client"));
  ASSERT_OK(store().Put(StateTable::kNsmHosts, "k", "host"));
  ASSERT_OK(store().Put(StateTable::kDurableHandles, "k", "handle"));
  ASSERT_OK(store().Delete(StateTable::kNsmHosts, "k"));
  ASSERT_OK_AND_ASSIGN(std::string client, store().Get(StateTable::kClients, "k"));
  EXPECT_EQ(client, "client");
  EXPECT_THAT(store().Get(StateTable::kNsmHosts, "k"), StatusIs(Errc::kNotFound));
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> handles, store().List(StateTable::kDurableHandles));
  EXPECT_THAT(handles, ElementsAre(StateEntry{"k", "handle"}));
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> hosts, store().List(StateTable::kNsmHosts));
  EXPECT_THAT(hosts, IsEmpty());
}

TEST_P(StateStoreConformance, ListIsInUnsignedByteOrderOfKeys) {
  const std::string binary("\0\xff", 2);
  for (const std::string& key : {"b"s, "\xff"s, "a"s, binary, "ab"s, "\x7f"s}) {
    ASSERT_OK(store().Put(StateTable::kClients, key, "v" + key));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> all, store().List(StateTable::kClients));
  std::vector<std::string> keys;
  for (const StateEntry& e : all) {
    keys.push_back(e.key);
    EXPECT_EQ(e.value, "v" + e.key);
  }
  EXPECT_THAT(keys, ElementsAre(binary, "a"s, "ab"s, "b"s, "\x7f"s, "\xff"s));
}

TEST_P(StateStoreConformance, KeysAndValuesAreBounded) {
  EXPECT_THAT(store().Put(StateTable::kClients, "", "v"), StatusIs(Errc::kInvalid));
  EXPECT_OK(store().Put(StateTable::kClients, std::string(kMaxStateKeySize, 'k'), "v"));
  EXPECT_THAT(store().Put(StateTable::kClients, std::string(kMaxStateKeySize + 1, 'k'), "v"),
              StatusIs(Errc::kInvalid));
  const std::string big(kMaxStateValueSize, '\x5a');
  ASSERT_OK(store().Put(StateTable::kDurableHandles, "big", big));
  ASSERT_OK_AND_ASSIGN(std::string value, store().Get(StateTable::kDurableHandles, "big"));
  EXPECT_EQ(value, big);
  EXPECT_THAT(store().Put(StateTable::kDurableHandles, "bigger", big + "x"),
              StatusIs(Errc::kTooBig));
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> handles, store().List(StateTable::kDurableHandles));
  EXPECT_EQ(handles.size(), 1u);  // the refused value left nothing
}

TEST_P(StateStoreConformance, EpochsOnlyGrow) {
  ASSERT_OK_AND_ASSIGN(uint64_t first, store().NextEpoch());
  EXPECT_GT(first, 0u);
  uint64_t last = first;
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(uint64_t next, store().NextEpoch());
    EXPECT_GT(next, last);
    last = next;
  }
}

TEST_P(StateStoreConformance, ConcurrentWritersAllLand) {
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string key = "host-" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_OK(store().Put(StateTable::kNsmHosts, key, key));
        if (i % 5 == 0) EXPECT_OK(store().Delete(StateTable::kNsmHosts, key));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_OK_AND_ASSIGN(std::vector<StateEntry> hosts, store().List(StateTable::kNsmHosts));
  EXPECT_EQ(hosts.size(), size_t{kThreads * (kEach - kEach / 5)});
}

}  // namespace
}  // namespace dittofs::stores
