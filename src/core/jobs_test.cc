// SPDX-License-Identifier: Apache-2.0
// Long jobs (core/jobs.h, docs/jobs.md) and the quota recount they run on a paused share.
#include "core/jobs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/share.h"
#include "stores/block/memory/memory_block_store.h"
#include "stores/metadata/memory/memory_metadata_store.h"
#include "testing/status_matchers.h"

namespace dittofs::core {
namespace {

using ::dittofs::testing::StatusIs;

// Waits (up to 10 s) until job `id` is no longer running; returns it.
JobInfo WaitFor(JobTable& jobs, uint64_t id) {
  for (int i = 0; i < 1000; ++i) {
    Result<JobInfo> job = jobs.Get(id);
    if (!job.ok() || job->state != JobState::kRunning) return job.ok() ? *job : JobInfo{};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "job " << id << " still runs";
  return {};
}

TEST(JobTableTest, AJobReportsItsProgressAndHowItEnded) {
  JobTable jobs;
  std::atomic<bool> go{false};
  JobInfo started = jobs.Start("sync", "/export", "bytes", false, [&](JobProgress& p) {
    p.SetTotal(200);
    p.AddDone(50);
    while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    p.AddDone(150);
    return Status::Ok();
  });
  EXPECT_EQ(started.state, JobState::kRunning);
  EXPECT_EQ(started.kind, "sync");
  EXPECT_EQ(started.unit, "bytes");
  // Half-way: 25 % (once the work has said so).
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK_AND_ASSIGN(JobInfo j, jobs.Get(started.id));
    if (j.done == 50) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_OK_AND_ASSIGN(JobInfo mid, jobs.Get(started.id));
  ASSERT_TRUE(mid.percent.has_value());
  EXPECT_DOUBLE_EQ(*mid.percent, 25.0);
  // A second start of the same kind on the same share is the running job.
  EXPECT_EQ(
      jobs.Start("sync", "/export", "bytes", false, [](JobProgress&) { return Status::Ok(); }).id,
      started.id);
  EXPECT_THAT(jobs.Cancel(started.id).status(), StatusIs(Errc::kNotSupported));
  go = true;
  JobInfo done = WaitFor(jobs, started.id);
  EXPECT_EQ(done.state, JobState::kSucceeded);
  EXPECT_EQ(done.percent, 100.0);
  EXPECT_GE(done.finished.sec, done.started.sec);

  JobInfo failed =
      WaitFor(jobs, jobs.Start("gc", "/export", "", false,
                               [](JobProgress&) { return Status(Errc::kIo, "the remote is down"); })
                        .id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_NE(failed.error.find("the remote is down"), std::string::npos);
  EXPECT_FALSE(failed.percent.has_value());  // no total was ever known

  std::vector<JobInfo> all = jobs.List();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, "gc");  // newest first
  EXPECT_THAT(jobs.Get(999).status(), StatusIs(Errc::kNotFound));
}

TEST(JobTableTest, ACancellableJobStopsWhenAsked) {
  JobTable jobs;
  JobInfo j = jobs.Start("quota-recount", "/a", "files", true, [](JobProgress& p) {
    p.SetTotal(10);
    while (!p.canceled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Status(Errc::kUnavailable, "canceled");
  });
  ASSERT_OK(jobs.Cancel(j.id).status());
  EXPECT_EQ(WaitFor(jobs, j.id).state, JobState::kCanceled);
  // The table's end stops what still runs.
  auto table = std::make_unique<JobTable>();
  table->Start("quota-recount", "/b", "files", true, [](JobProgress& p) {
    while (!p.canceled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Status::Ok();
  });
  table.reset();
}

// A job whose work cannot stop (a sync waiting for an unreachable remote) does not keep the
// table from going: after the wait it is left to end on its own, touching nothing of the table.
TEST(JobTableTest, AJobThatCannotStopOutlivesTheTable) {
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto ended = std::make_shared<std::atomic<bool>>(false);
  {
    JobTable jobs(std::chrono::milliseconds(50));
    jobs.Start("sync", "/export", "bytes", false, [release, ended](JobProgress& p) {
      p.SetTotal(1);
      while (!release->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      p.SetDone(1);
      ended->store(true);
      return Status::Ok();
    });
  }
  release->store(true);
  for (int i = 0; i < 1000 && !ended->load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(ended->load());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // its thread finishes
}

// A recount on a paused share: operations meanwhile get kUnavailable, and the counts it makes
// are the share's, whatever the records said before.
TEST(JobTableTest, AQuotaRecountPausesTheShareAndCountsIt) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Share> share,
                       Share::Open(1, "/export", stores::NewMemoryMetadataStore(),
                                   stores::NewMemoryBlockStore(), {.squash = Squash::kNone}));
  Caller root;
  root.uid = root.gid = 0;
  std::shared_ptr<Vfs> vfs = share->vfs();
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(Attr f, vfs->Create(root, vfs->root(), "f" + std::to_string(i),
                                             CreateMode::kGuarded, SetAttrs(), 0, nullptr));
    ASSERT_OK(
        vfs->Write(root, f.id, 0, AsBytes("0123456789"), Stability::kFileSync, nullptr).status());
  }
  JobTable jobs;
  std::atomic<bool> saw_pause{false};
  JobInfo j = jobs.Start("quota-recount", "/export", "files", true, [&](JobProgress& p) {
    return share->RunQuiesced(std::chrono::seconds(5), [&] {
      saw_pause = share->Use().status().code() == Errc::kUnavailable;
      return share->vfs()->quotas().Recount(&p);
    });
  });
  JobInfo done = WaitFor(jobs, j.id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.error;
  EXPECT_EQ(done.done, 21u);  // the root and 20 files
  EXPECT_EQ(done.total, 21u);
  EXPECT_TRUE(saw_pause);
  ASSERT_OK(share->Use().status());  // served again
  QuotaEntry e = share->vfs()->quotas().Get(QuotaKind::kUser, 0);
  EXPECT_EQ(e.used_bytes, 200u);
  EXPECT_EQ(e.used_files, 21u);
  ASSERT_OK(share->Retire(std::chrono::seconds(5)));
}

}  // namespace
}  // namespace dittofs::core
