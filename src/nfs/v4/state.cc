// SPDX-License-Identifier: Apache-2.0
#include "nfs/v4/state.h"

#include <cstring>

#include "base/bytes.h"
#include "base/random.h"

namespace dittofs::nfs {

// A stateid's `other` (12 bytes): the server instance (4 bytes) and the record's key (8).
// A session id (16 bytes): the client id (8), the instance (4) and the session's key (4; keys
// are counted from 1 in each run and stay below 2^32).

Nfs4State::Nfs4State(uint32_t boot)
    : boot_(boot != 0 ? boot : static_cast<uint32_t>(RandomU64() | 1)) {}

std::shared_ptr<Nfs4Client> Nfs4State::FindClient(clientid4 id) {
  MutexLock lock(&mu_);
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

std::pair<std::shared_ptr<Nfs4Client>, std::shared_ptr<Nfs4Client>> Nfs4State::FindByOwner(
    uint32_t minor, std::string_view owner) {
  std::vector<std::shared_ptr<Nfs4Client>> found;
  {
    MutexLock lock(&mu_);
    for (auto& [id, c] : clients_) {
      if (c->owner == owner && (c->minor == 0) == (minor == 0)) found.push_back(c);
    }
  }
  std::pair<std::shared_ptr<Nfs4Client>, std::shared_ptr<Nfs4Client>> out;
  for (auto& c : found) {
    MutexLock lock(&c->mu);
    if (c->dead) continue;
    (c->confirmed ? out.first : out.second) = c;
  }
  return out;
}

void Nfs4State::AddClient(std::shared_ptr<Nfs4Client> c) {
  MutexLock lock(&mu_);
  clients_[c->id] = std::move(c);
}

void Nfs4State::RemoveClient(const Nfs4Client& c) {
  MutexLock lock(&mu_);
  auto it = clients_.find(c.id);
  if (it != clients_.end() && it->second.get() == &c) clients_.erase(it);
}

size_t Nfs4State::client_count() {
  MutexLock lock(&mu_);
  return clients_.size();
}

std::vector<std::shared_ptr<Nfs4Client>> Nfs4State::Clients() {
  MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Nfs4Client>> out;
  out.reserve(clients_.size());
  for (auto& [id, c] : clients_) out.push_back(c);
  return out;
}

void Nfs4State::AddLockOwner(uint64_t runtime_id, clientid4 client, std::string name) {
  MutexLock lock(&mu_);
  lock_owners_[runtime_id] = {client, std::move(name)};
}

void Nfs4State::RemoveLockOwner(uint64_t runtime_id) {
  MutexLock lock(&mu_);
  lock_owners_.erase(runtime_id);
}

std::optional<std::pair<clientid4, std::string>> Nfs4State::LockOwnerOf(uint64_t runtime_id) {
  MutexLock lock(&mu_);
  auto it = lock_owners_.find(runtime_id);
  if (it == lock_owners_.end()) return std::nullopt;
  return it->second;
}

void Nfs4State::AddDelegation(uint64_t grant, uint64_t key) {
  MutexLock lock(&mu_);
  delegations_[grant] = key;
}

void Nfs4State::RemoveDelegation(uint64_t grant) {
  MutexLock lock(&mu_);
  delegations_.erase(grant);
}

uint64_t Nfs4State::DelegationOf(uint64_t grant) {
  MutexLock lock(&mu_);
  auto it = delegations_.find(grant);
  return it == delegations_.end() ? 0 : it->second;
}

std::shared_ptr<Nfs4Session> Nfs4State::FindSession(uint64_t key) {
  auto& shard = sessions_.Of(key);
  MutexLock lock(&shard.mu);
  auto it = shard.map.find(key);
  return it == shard.map.end() ? nullptr : it->second;
}

std::shared_ptr<Nfs4Session> Nfs4State::NewSession(std::shared_ptr<Nfs4Client> client) {
  auto s = std::make_shared<Nfs4Session>();
  s->key = next_session_.fetch_add(1);
  StoreBe64(s->id.data(), client->id);
  StoreBe32(s->id.data() + 8, boot_);
  StoreBe32(s->id.data() + 12, static_cast<uint32_t>(s->key));
  s->client = std::move(client);
  auto& shard = sessions_.Of(s->key);
  MutexLock lock(&shard.mu);
  shard.map[s->key] = s;
  return s;
}

std::shared_ptr<Nfs4Session> Nfs4State::FindSession(const sessionid4& id) {
  if (LoadBe32(id.data() + 8) != boot_) return nullptr;
  uint64_t key = LoadBe32(id.data() + 12);
  auto& shard = sessions_.Of(key);
  MutexLock lock(&shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end() || it->second->id != id) return nullptr;
  return it->second;
}

void Nfs4State::RemoveSession(uint64_t key) {
  auto& shard = sessions_.Of(key);
  MutexLock lock(&shard.mu);
  shard.map.erase(key);
}

uint64_t Nfs4State::KeyOf(const stateid4& id) const {
  if (LoadBe32(id.other.data()) != boot_) return 0;
  return LoadBe64(id.other.data() + 4);
}

stateid4 Nfs4State::StateidOf(uint64_t key, uint32_t seqid) const {
  stateid4 id;
  id.seqid = seqid;
  StoreBe32(id.other.data(), boot_);
  StoreBe64(id.other.data() + 4, key);
  return id;
}

stateid4 Nfs4State::AddState(Nfs4StateRecord record) {
  uint64_t key = next_state_.fetch_add(1);
  uint32_t seqid = record.seqid;
  {
    auto& s = states_.Of(key);
    MutexLock lock(&s.mu);
    s.map.emplace(key, std::move(record));
  }
  state_total_.fetch_add(1);
  return StateidOf(key, seqid);
}

std::optional<Nfs4StateRecord> Nfs4State::GetState(const stateid4& id, bool* stale) {
  if (stale != nullptr) *stale = LoadBe32(id.other.data()) != boot_;
  uint64_t key = KeyOf(id);
  if (key == 0) return std::nullopt;
  return GetState(key);
}

std::optional<Nfs4StateRecord> Nfs4State::GetState(uint64_t key) {
  auto& s = states_.Of(key);
  MutexLock lock(&s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return std::nullopt;
  return it->second;
}

void Nfs4State::RemoveState(uint64_t key) {
  auto& s = states_.Of(key);
  MutexLock lock(&s.mu);
  if (s.map.erase(key) > 0) state_total_.fetch_sub(1);
}

void Nfs4State::Retire(uint64_t key, Retired why) {
  MutexLock lock(&retired_mu_);
  retired_[key] = std::move(why);
  if (retired_.size() > kRetiredKept) retired_.erase(retired_.begin());
}

std::optional<Nfs4State::Retired> Nfs4State::RetiredState(uint64_t key) {
  MutexLock lock(&retired_mu_);
  auto it = retired_.find(key);
  if (it == retired_.end()) return std::nullopt;
  return it->second;
}

}  // namespace dittofs::nfs
