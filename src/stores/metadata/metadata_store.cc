// SPDX-License-Identifier: Apache-2.0
#include "stores/metadata/metadata_store.h"

#include "metrics/metrics.h"

namespace dittofs::stores {

void CountTransaction(std::chrono::nanoseconds took, int attempts, Durability durability) {
  struct Metrics {
    metrics::Histogram* durable;
    metrics::Histogram* lazy;
    metrics::Counter* retries;
  };
  static const Metrics m = [] {
    metrics::Registry& r = metrics::Default();
    const std::string help =
        "How long metadata transactions took, retries included, by durability (a lazy commit "
        "is made durable by a later sync).";
    return Metrics{
        r.GetHistogram("dittofs_metadata_transaction_duration_seconds", help,
                       {{"durability", "durable"}}),
        r.GetHistogram("dittofs_metadata_transaction_duration_seconds", help,
                       {{"durability", "lazy"}}),
        r.GetCounter("dittofs_metadata_transaction_retries_total",
                     "Metadata transactions run again after losing a race to another.", {})};
  }();
  (durability == Durability::kLazy ? m.lazy : m.durable)->Observe(took);
  if (attempts > 1) m.retries->Inc(static_cast<uint64_t>(attempts - 1));
}

}  // namespace dittofs::stores
