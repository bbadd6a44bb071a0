// SPDX-License-Identifier: Apache-2.0
#include "stores/state/rocksdb/rocksdb_state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <optional>
#include <utility>

#include "base/log.h"
#include "base/mutex.h"
#include "base/posix_io.h"
#include "base/record_codec.h"
#include "base/thread_pool.h"

namespace dittofs::stores {
namespace {

// The layout below is specified in docs/formats/rocksdb-state.md; change both together.
constexpr uint64_t kFormatVersion = 1;
constexpr char kStateFamily = 'S';  // 'S' u8(table) key -> value
constexpr std::string_view kFormatVersionKey = "Mformat_version";
constexpr std::string_view kEpochKey = "Mepoch";

std::string TablePrefix(StateTable table) {
  std::string key(1, kStateFamily);
  AppendU8(&key, static_cast<uint8_t>(table));
  return key;
}

std::string StateKey(StateTable table, std::string_view key) {
  std::string out = TablePrefix(table);
  out.append(key);
  return out;
}

std::string Le64(uint64_t v) {
  std::string out;
  AppendLe64(&out, v);
  return out;
}

Status IoError(const std::string& what, const rocksdb::Status& s) {
  if (s.IsNoSpace()) return Status(Errc::kNoSpace, what + ": " + s.ToString());
  return Status(Errc::kIo, what + ": " + s.ToString());
}

class RocksDbStateStore final : public StateStore {
 public:
  RocksDbStateStore(std::string path, std::unique_ptr<rocksdb::DB> db)
      : path_(std::move(path)), db_(std::move(db)) {
    sync_.sync = true;
  }
  ~RocksDbStateStore() override {
    rocksdb::Status s = db_->Close();
    if (!s.ok()) LOG_WARN("state store at {}: close: {}", path_, s.ToString());
  }

  // Checks the format version, writing it to a new database.
  Status Load() {
    ASSIGN_OR_RETURN(std::optional<uint64_t> version, ReadLe64(kFormatVersionKey));
    if (!version) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      it->SeekToFirst();
      if (!it->status().ok()) return IoError("state store at " + path_, it->status());
      if (it->Valid()) {
        return Status(Errc::kInvalid, "state store at " + path_ +
                                          " holds data but no format version: it is not a dfs "
                                          "state store, or a damaged one");
      }
      return Write(
          [&](rocksdb::WriteBatch& b) { return b.Put(kFormatVersionKey, Le64(kFormatVersion)); });
    }
    if (*version == 0 || *version > kFormatVersion) {
      return Status(*version == 0 ? Errc::kInvalid : Errc::kNotSupported,
                    "state store at " + path_ + " has format version " + std::to_string(*version) +
                        "; this dfs reads versions 1 to " + std::to_string(kFormatVersion));
    }
    return Status::Ok();
  }

  Status Put(StateTable table, std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(CheckStateEntry(key, value));
    return Write([&](rocksdb::WriteBatch& b) { return b.Put(StateKey(table, key), value); });
  }

  Status Delete(StateTable table, std::string_view key) override {
    return Write([&](rocksdb::WriteBatch& b) { return b.Delete(StateKey(table, key)); });
  }

  Status DeleteMany(StateTable table, const std::vector<std::string>& keys) override {
    if (keys.empty()) return Status::Ok();
    return Write([&](rocksdb::WriteBatch& b) {
      for (const std::string& key : keys) {
        rocksdb::Status s = b.Delete(StateKey(table, key));
        if (!s.ok()) return s;
      }
      return rocksdb::Status::OK();
    });
  }

  Result<std::string> Get(StateTable table, std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), StateKey(table, key), &value);
    if (s.IsNotFound()) return Errc::kNotFound;
    if (!s.ok()) return IoError("state store at " + path_ + ": read", s);
    return value;
  }

  Result<std::vector<StateEntry>> List(StateTable table) override {
    const std::string prefix = TablePrefix(table);
    const std::string end = TablePrefix(static_cast<StateTable>(static_cast<uint8_t>(table) + 1));
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    std::vector<StateEntry> out;
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      out.push_back({it->key().ToString().substr(prefix.size()), it->value().ToString()});
    }
    if (!it->status().ok()) return IoError("state store at " + path_ + ": list", it->status());
    return out;
  }

  Result<uint64_t> NextEpoch() override {
    MutexLock lock(&epoch_mu_);
    ASSIGN_OR_RETURN(std::optional<uint64_t> last, ReadLe64(kEpochKey));
    uint64_t next = last.value_or(0) + 1;
    RETURN_IF_ERROR(Write([&](rocksdb::WriteBatch& b) { return b.Put(kEpochKey, Le64(next)); }));
    return next;
  }

 private:
  Result<std::optional<uint64_t>> ReadLe64(std::string_view key) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) return std::optional<uint64_t>();
    if (!s.ok()) return IoError("state store at " + path_ + ": read", s);
    FieldReader d(value);
    uint64_t v = d.Le64();
    if (!d.done()) {
      return Status(Errc::kIo, "state store at " + path_ + ": malformed " + std::string(key));
    }
    return std::optional<uint64_t>(v);
  }

  // One synced write: the caller's reply waits for the disk.
  template <typename Fill>
  Status Write(Fill fill) {
    rocksdb::WriteBatch batch;
    rocksdb::Status s = fill(batch);
    if (s.ok()) {
      BlockingRegion blocking;
      s = db_->Write(sync_, &batch);
    }
    if (!s.ok()) return IoError("state store at " + path_ + ": write", s);
    return Status::Ok();
  }

  const std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions sync_;
  Mutex epoch_mu_;  // one NextEpoch at a time: read, add one, write
};

}  // namespace

Result<std::unique_ptr<StateStore>> OpenRocksDbStateStore(const std::string& path) {
  if (path.empty()) return Status(Errc::kInvalid, "state store: no path given");
  RETURN_IF_ERROR(MakeDirs(path, "state store"));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_background_jobs = 1;
  options.keep_log_file_num = 4;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && (s.ToString().find("lock hold") != std::string::npos ||
                          s.ToString().find("While lock file") != std::string::npos)) {
      return Status(Errc::kBusy, "state store at " + path +
                                     " is in use: another process (or this one) has it open");
    }
    return IoError("open state store at " + path, s);
  }
  auto store = std::make_unique<RocksDbStateStore>(path, std::unique_ptr<rocksdb::DB>(raw));
  RETURN_IF_ERROR(MakePrivate(path, "state store"));
  RETURN_IF_ERROR(store->Load());
  return std::unique_ptr<StateStore>(std::move(store));
}

}  // namespace dittofs::stores
