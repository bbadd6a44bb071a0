// SPDX-License-Identifier: Apache-2.0
//
// sync_bench: how long a tiered share takes to upload what it holds. Writes N GiB of random data
// into a tiered block store (RocksDB metadata, journal and filesystem remote under one folder:
// put it on the disk you mean to measure), with background carving held off, then times
// Flush(): chunking, hashing, compression, packing, the remote's writes and fsyncs, and the
// chunk index commits. Then writes the same data under a second name and times that Flush too
// (all chunks deduplicate: what dedup costs). See README.md.
//
// usage: sync_bench [--gib N] [--dir DIR] [--compression none|lz4|zstd]
//                   [--encryption none|aes-256-gcm|chacha20-poly1305]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

#include "stores/block/tiered/tiered_block_store.h"
#include "stores/metadata/rocksdb/rocksdb_metadata_store.h"
#include "stores/remote/fs/fs_remote_store.h"

namespace dittofs {
namespace {

using Clock = std::chrono::steady_clock;

int Fail(const std::string& what) {
  std::fprintf(stderr, "sync_bench: %s\n", what.c_str());
  return 1;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

int Main(int argc, char** argv) {
  double gib = 1;
  std::string dir;
  std::string compression = "zstd", encryption = "none";
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) return Fail("missing value after " + std::string(flag));
    if (flag == "--gib") {
      gib = std::stod(argv[++i]);
    } else if (flag == "--dir") {
      dir = argv[++i];
    } else if (flag == "--compression") {
      compression = argv[++i];
    } else if (flag == "--encryption") {
      encryption = argv[++i];
    } else {
      return Fail("unknown flag " + std::string(flag));
    }
  }
  bool made_dir = dir.empty();
  if (made_dir) {
    std::string pattern = (std::filesystem::temp_directory_path() / "sync_bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Fail("mkdtemp failed");
    dir = pattern;
  }

  stores::RocksDbMetadataStoreOptions mo;
  mo.path = dir + "/metadata";
  auto metadata = stores::OpenRocksDbMetadataStore(mo);
  if (!metadata.ok()) return Fail(metadata.status().ToString());
  Status created = stores::RunTransaction(**metadata, [](stores::MetadataTxn& txn) {
    for (stores::InodeId id : {1, 2}) {
      stores::Inode inode;
      inode.id = id;
      inode.type = stores::FileType::kRegular;
      inode.nlink = 1;
      txn.PutInode(inode);
    }
    return Status::Ok();
  });
  if (!created.ok()) return Fail(created.ToString());

  stores::TieredOptions o;
  o.journal.dir = dir + "/journal";
  o.journal.capacity_bytes = static_cast<uint64_t>(gib * 2.5 * (1 << 30)) + (256 << 20);
  auto remote = stores::OpenFsRemoteStore({.root = dir + "/remote"});
  if (!remote.ok()) return Fail(remote.status().ToString());
  o.remote = std::move(*remote);
  o.codec.compression = compression == "none"  ? stores::cas::Compression::kNone
                        : compression == "lz4" ? stores::cas::Compression::kLz4
                                               : stores::cas::Compression::kZstd;
  if (encryption != "none") {
    o.codec.cipher = encryption == "aes-256-gcm" ? stores::cas::Cipher::kAes256Gcm
                                                 : stores::cas::Cipher::kChaCha20Poly1305;
    o.keyring = stores::cas::Keyring::Generate();
  }
  // No carving until Flush: the figure is the upload alone.
  o.carve_after = std::chrono::hours(24);
  o.carve_dirty_bytes = uint64_t{1} << 50;
  auto store = stores::OpenTieredBlockStore(std::move(o), **metadata);
  if (!store.ok()) return Fail(store.status().ToString());

  const uint64_t total = static_cast<uint64_t>(gib * (1 << 30));
  std::string block(1 << 20, '\0');
  std::mt19937_64 rng(42);
  auto write_file = [&](stores::InodeId file) -> Status {
    std::mt19937_64 r = rng;  // the same bytes for both files
    for (uint64_t at = 0; at < total; at += block.size()) {
      for (size_t i = 0; i < block.size(); i += 8) {
        uint64_t v = r();
        std::memcpy(block.data() + i, &v, 8);
      }
      RETURN_IF_ERROR((*store)->Write(file, at, AsBytes(block)));
    }
    return Status::Ok();
  };
  for (stores::InodeId file : {1, 2}) {
    Clock::time_point start = Clock::now();
    if (Status s = write_file(file); !s.ok()) return Fail(s.ToString());
    double write_s = Seconds(start);
    start = Clock::now();
    if (Status s = (*store)->Flush(); !s.ok()) return Fail(s.ToString());
    double sync_s = Seconds(start);
    stores::TieredStats st = (*store)->Stats();
    std::printf("RESULT %s write_journal %.0f MB/s\n", file == 1 ? "new" : "dedup",
                total / write_s / 1e6);
    std::printf(
        "RESULT %s sync_seconds %.2f s (%.0f MB/s; %llu objects, %llu MB uploaded so far, "
        "compression %s, encryption %s)\n",
        file == 1 ? "new" : "dedup", sync_s, total / sync_s / 1e6,
        static_cast<unsigned long long>(st.objects_uploaded),
        static_cast<unsigned long long>(st.uploaded_bytes / 1000000), compression.c_str(),
        encryption.c_str());
  }
  store->reset();
  metadata->reset();
  if (made_dir) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace dittofs

int main(int argc, char** argv) { return dittofs::Main(argc, argv); }
