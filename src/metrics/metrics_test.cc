// SPDX-License-Identifier: Apache-2.0
#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace dittofs::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersRenderInTheTextFormat) {
  Registry r;
  Counter* reads = r.GetCounter("dittofs_x_total", "Things.", {{"op", "READ"}});
  Counter* writes = r.GetCounter("dittofs_x_total", "Other help is ignored.", {{"op", "WRITE"}});
  EXPECT_EQ(r.GetCounter("dittofs_x_total", "", {{"op", "READ"}}), reads);  // the same one
  reads->Inc();
  reads->Inc(2);
  writes->Inc();
  EXPECT_EQ(r.Render(),
            "# HELP dittofs_x_total Things.\n"
            "# TYPE dittofs_x_total counter\n"
            "dittofs_x_total{op=\"READ\"} 3\n"
            "dittofs_x_total{op=\"WRITE\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram* h = r.GetHistogram("dittofs_d_seconds", "Latency.", {{"op", "X"}});
  h->Observe(std::chrono::microseconds(50));   // first bucket (<= 100 µs)
  h->Observe(std::chrono::microseconds(100));  // on the boundary: still the first
  h->Observe(std::chrono::milliseconds(3));    // <= 5 ms
  h->Observe(std::chrono::seconds(20));        // above every bucket
  const std::string out = r.Render();
  EXPECT_THAT(out, HasSubstr("# TYPE dittofs_d_seconds histogram\n"));
  EXPECT_THAT(out, HasSubstr("dittofs_d_seconds_bucket{op=\"X\",le=\"0.0001\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("dittofs_d_seconds_bucket{op=\"X\",le=\"0.0025\"} 2\n"));
  EXPECT_THAT(out, HasSubstr("dittofs_d_seconds_bucket{op=\"X\",le=\"0.005\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("dittofs_d_seconds_bucket{op=\"X\",le=\"10\"} 3\n"));
  EXPECT_THAT(out, HasSubstr("dittofs_d_seconds_bucket{op=\"X\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(out, HasSubstr("dittofs_d_seconds_count{op=\"X\"} 4\n"));
  EXPECT_THAT(out, HasSubstr("dittofs_d_seconds_sum{op=\"X\"} 20.00315\n"));
}

TEST(MetricsTest, CollectorsWriteFamiliesOnceAndEscapeLabels) {
  Registry r;
  uint64_t handle = r.AddCollector([](Exposition& e) {
    e.Family("dittofs_g", "gauge", "A gauge.");
    e.Sample("dittofs_g", {{"share", "/a\"b\\c\nd"}}, 1.5);
    e.Family("dittofs_g", "gauge", "Again: no second header.");
    e.Sample("dittofs_g", {}, 7);
  });
  EXPECT_EQ(r.Render(),
            "# HELP dittofs_g A gauge.\n"
            "# TYPE dittofs_g gauge\n"
            "dittofs_g{share=\"/a\\\"b\\\\c\\nd\"} 1.5\n"
            "dittofs_g 7\n");
  r.RemoveCollector(handle);
  EXPECT_EQ(r.Render(), "");
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  Counter* c = r.GetCounter("dittofs_c_total", "C.", {});
  Histogram* h = r.GetHistogram("dittofs_h_seconds", "H.", {});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(std::chrono::microseconds(i % 2000));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000u);
  EXPECT_EQ(h->Cumulative().back(), 40000u);
}

// Counts by code, from threads at once, past the codes found without a lock too: each code's
// counter has every count, under the name name_of gave it.
TEST(MetricsTest, CodeCountersCountEachCodeUnderItsName) {
  Registry r;
  CodeCounters errors(r, "dittofs_e_total", "E.", {{"op", "READ"}}, "status",
                      [](uint32_t code) { return "S" + std::to_string(code); });
  constexpr uint32_t kCodes = CodeCounters::kFastCodes + 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        for (uint32_t code = 0; code < kCodes; ++code) errors.Inc(code * 7919);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (uint32_t code = 0; code < kCodes; ++code) {
    Labels labels = {{"op", "READ"}, {"status", "S" + std::to_string(code * 7919)}};
    EXPECT_EQ(r.GetCounter("dittofs_e_total", "", labels)->value(), 4000u) << code;
  }
  EXPECT_THAT(r.Render(), HasSubstr("dittofs_e_total{op=\"READ\",status=\"S7919\"} 4000\n"));
}

}  // namespace
}  // namespace dittofs::metrics
