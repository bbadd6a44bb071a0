// SPDX-License-Identifier: Apache-2.0
#include "nfs/mount/service.h"

#include <algorithm>

#include "base/log.h"
#include "nfs/common/caller.h"
#include "nfs/common/file_handle.h"

namespace dittofs::nfs {
namespace {

constexpr int32_t kAuthNone = 0;
constexpr int32_t kAuthSys = 1;

rpc::AcceptStat Void(const rpc::CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder&) {
  return rpc::AcceptStat::kSuccess;
}

}  // namespace

rpc::ProgramVersion MountService::Program() {
  rpc::ProgramVersion p{MOUNT_PROGRAM, MOUNT_V3, {}};
  p.procedures.resize(6);
  p.procedures[MOUNTPROC3_NULL] = {"NULL", Void};
  p.procedures[MOUNTPROC3_MNT] = {
      "MNT", [this](const rpc::CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder& e) {
        dirpath path;
        if (!DecodeDirpath(d, &path)) return rpc::AcceptStat::kGarbageArgs;
        Encode(e, Mnt(call, path));
        return rpc::AcceptStat::kSuccess;
      }};
  p.procedures[MOUNTPROC3_DUMP] = {
      "DUMP", [this](const rpc::CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder& e) {
        Encode(e, Dump());
        return rpc::AcceptStat::kSuccess;
      }};
  p.procedures[MOUNTPROC3_UMNT] = {
      "UMNT", [this](const rpc::CallContext& call, xdr::XdrDecoder& d, xdr::XdrEncoder&) {
        dirpath path;
        if (!DecodeDirpath(d, &path)) return rpc::AcceptStat::kGarbageArgs;
        Umnt(call, path);
        return rpc::AcceptStat::kSuccess;
      }};
  p.procedures[MOUNTPROC3_UMNTALL] = {
      "UMNTALL", [this](const rpc::CallContext& call, xdr::XdrDecoder&, xdr::XdrEncoder&) {
        Umntall(call);
        return rpc::AcceptStat::kSuccess;
      }};
  p.procedures[MOUNTPROC3_EXPORT] = {
      "EXPORT", [this](const rpc::CallContext&, xdr::XdrDecoder&, xdr::XdrEncoder& e) {
        Encode(e, Export());
        return rpc::AcceptStat::kSuccess;
      }};
  return p;
}

namespace {
// Clients may add trailing slashes; "/export/" names "/export".
std::string_view Normalize(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}
}  // namespace

mountres3 MountService::Mnt(const rpc::CallContext& call, std::string_view path) {
  mountres3 res;
  path = Normalize(path);
  Result<core::ShareUse> share = shares_.UseByName(path);
  if (!share.ok()) {
    LOG_INFO("mount: {} asked for export {}: {}", call.client_address, path,
             share.status().ToString());
    // A share being retired is as good as gone; one changing its block store is back shortly.
    res.fhs_status = share.status().code() == Errc::kUnavailable ? mountstat3::MNT3ERR_SERVERFAULT
                                                                 : mountstat3::MNT3ERR_NOENT;
    return res;
  }
  // RPC-with-TLS (RFC 9289): a share that requires TLS is mounted over TLS only.
  if (LacksRequiredTls(call, (*share)->options())) {
    LOG_INFO("mount: {} refused {}: the share requires TLS", DescribeCaller(call, users_), path);
    res.fhs_status = mountstat3::MNT3ERR_ACCES;
    return res;
  }
  // RFC 1813 Appendix I: MNT3ERR_ACCES when the client may not mount this export.
  if (Status s = (*share)->CheckMount(CallerOf(call)); !s.ok()) {
    LOG_INFO("mount: {} refused {}: {}", DescribeCaller(call, users_), path, s.message());
    res.fhs_status = mountstat3::MNT3ERR_ACCES;
    return res;
  }
  FileHandleCodec::Handle fh = handles_.Encode((*share)->id(), (*share)->root());
  res.fhs_status = mountstat3::MNT3_OK;
  res.mountinfo.fhandle = nfs_fh3_owned::CopyFrom(ByteView(fh.data(), fh.size()));
  // RFC 2623 §2.7: the share's flavors, strongest first. MNT itself succeeds whatever flavor
  // it came with: the client picks one of these for its NFS calls, which the share checks.
  const core::ShareOptions& options = (*share)->options();
  if (options.security.krb5 || options.security.krb5i || options.security.krb5p ||
      !options.security.sys) {
    for (uint32_t flavor : MountFlavors(options)) {
      res.mountinfo.auth_flavors.push_back(static_cast<int32_t>(flavor));
    }
  } else if (dispatcher_ != nullptr) {
    for (uint32_t flavor : dispatcher_->Flavors()) {
      if (flavor == static_cast<uint32_t>(rpc::AuthFlavor::kGss)) continue;
      res.mountinfo.auth_flavors.push_back(static_cast<int32_t>(flavor));
    }
  } else {
    res.mountinfo.auth_flavors = {kAuthSys, kAuthNone};
  }
  {
    MutexLock lock(&mu_);
    mountbody m{call.client_address, std::string(path)};
    if (std::find(mounts_.begin(), mounts_.end(), m) == mounts_.end() && mounts_.size() < 10000) {
      mounts_.push_back(std::move(m));
    }
  }
  LOG_INFO("mount: {} mounted {}", DescribeCaller(call, users_), path);
  return res;
}

mountlist MountService::Dump() {
  MutexLock lock(&mu_);
  return mounts_;
}

void MountService::Umnt(const rpc::CallContext& call, std::string_view path) {
  path = Normalize(path);
  MutexLock lock(&mu_);
  std::erase_if(mounts_, [&](const mountbody& m) {
    return m.ml_hostname == call.client_address && m.ml_directory == path;
  });
}

void MountService::Umntall(const rpc::CallContext& call) {
  MutexLock lock(&mu_);
  std::erase_if(mounts_, [&](const mountbody& m) { return m.ml_hostname == call.client_address; });
}

exports MountService::Export() {
  exports out;
  for (const auto& share : shares_.All()) out.push_back({share->name(), {}});
  return out;
}

}  // namespace dittofs::nfs
