// SPDX-License-Identifier: Apache-2.0
#include "stores/cas/keyring.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "testing/status_matchers.h"

namespace dittofs::stores::cas {
namespace {

using ::dittofs::testing::StatusIs;
using ::testing::HasSubstr;

// Cheap scrypt parameters so that the tests stay fast; the defaults are checked separately.
constexpr KdfParams kFastKdf{.log2_n = 4, .r = 1, .p = 1};

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/dfs-keyring-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/master.key";
  }
  void TearDown() override {
    for (const std::string& name : ListDir()) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }

  std::vector<std::string> ListDir() const {
    std::vector<std::string> names;
    DIR* d = opendir(dir_.c_str());
    if (d == nullptr) return names;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    return names;
  }
  std::string ReadFile() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void WriteFile(const std::string& contents) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  mode_t Mode() const {
    struct stat st;
    EXPECT_EQ(stat(path_.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  std::string dir_;
  std::string path_;
};

// Two keyrings hold the same master key when each unwraps what the other wrapped.
void ExpectSameMasterKey(const Keyring& a, const Keyring& b) {
  EXPECT_EQ(a.KeyId(), b.KeyId());
  SecretKey data_key = SecretKey::Random();
  ASSERT_OK_AND_ASSIGN(SecretKey unwrapped, b.UnwrapDataKey(a.WrapDataKey(data_key).view()));
  EXPECT_EQ(std::memcmp(unwrapped.data(), data_key.data(), SecretKey::kSize), 0);
}

TEST(KdfParamsTest, DefaultsAreTheDocumentedOnes) {
  KdfParams p;
  EXPECT_EQ(p.log2_n, 15);
  EXPECT_EQ(p.r, 8u);
  EXPECT_EQ(p.p, 1u);
}

TEST(SecretKeyTest, MoveWipesTheSource) {
  SecretKey a = SecretKey::Random();
  std::array<std::byte, SecretKey::kSize> copy;
  std::memcpy(copy.data(), a.data(), copy.size());
  SecretKey b = std::move(a);
  EXPECT_EQ(std::memcmp(b.data(), copy.data(), copy.size()), 0);
  std::array<std::byte, SecretKey::kSize> zeros{};
  EXPECT_EQ(std::memcmp(a.data(), zeros.data(), zeros.size()), 0);  // NOLINT: use after move
}

TEST(KeyringTest, DataKeyRoundTrip) {
  Keyring keyring = Keyring::Generate();
  SecretKey data_key = SecretKey::Random();
  Buffer wrapped = keyring.WrapDataKey(data_key);
  EXPECT_EQ(wrapped.size(), Keyring::kWrappedKeySize);
  ASSERT_OK_AND_ASSIGN(SecretKey back, keyring.UnwrapDataKey(wrapped.view()));
  EXPECT_EQ(std::memcmp(back.data(), data_key.data(), SecretKey::kSize), 0);
  // Fresh nonce each time.
  Buffer again = keyring.WrapDataKey(data_key);
  EXPECT_NE(std::memcmp(wrapped.data(), again.data(), wrapped.size()), 0);
}

TEST(KeyringTest, WrongMasterKeyIsAccessError) {
  Keyring a = Keyring::Generate();
  Keyring b = Keyring::Generate();
  Buffer wrapped = a.WrapDataKey(SecretKey::Random());
  Result<SecretKey> r = b.UnwrapDataKey(wrapped.view());
  EXPECT_THAT(r, StatusIs(Errc::kAccess));
  EXPECT_THAT(r.status().message(), HasSubstr(a.KeyId()));
}

TEST(KeyringTest, EveryDamagedByteOfAWrappedKeyIsRefused) {
  Keyring keyring = Keyring::Generate();
  Buffer wrapped = keyring.WrapDataKey(SecretKey::Random());
  for (size_t i = 0; i < wrapped.size(); ++i) {
    Buffer bad = Buffer::Copy(wrapped.view());
    bad.data()[i] ^= std::byte{0x01};
    Result<SecretKey> r = keyring.UnwrapDataKey(bad.view());
    // The key id is bytes 0..7: damage there reads as "another master key".
    EXPECT_THAT(r, StatusIs(i < 8 ? Errc::kAccess : Errc::kIo)) << "byte " << i;
  }
  EXPECT_THAT(keyring.UnwrapDataKey(wrapped.view().first(67)), StatusIs(Errc::kIo));
}

TEST_F(KeyFileTest, CreateThenUnlock) {
  ASSERT_OK_AND_ASSIGN(Keyring created, CreateKeyFile(path_, "correct horse", kFastKdf));
  EXPECT_EQ(Mode(), 0600u);
  EXPECT_EQ(ReadFile().size(), 132u);
  ASSERT_OK_AND_ASSIGN(Keyring unlocked, UnlockKeyFile(path_, "correct horse"));
  ExpectSameMasterKey(created, unlocked);
  EXPECT_EQ(ListDir(), std::vector<std::string>{"master.key"});  // no temporary left behind
}

TEST_F(KeyFileTest, DefaultParamsWork) {
  ASSERT_OK_AND_ASSIGN(Keyring created, CreateKeyFile(path_, "pass"));
  ASSERT_OK_AND_ASSIGN(Keyring unlocked, UnlockKeyFile(path_, "pass"));
  ExpectSameMasterKey(created, unlocked);
}

TEST_F(KeyFileTest, WrongPassphraseIsAClearAccessError) {
  ASSERT_OK(CreateKeyFile(path_, "right", kFastKdf));
  Result<Keyring> r = UnlockKeyFile(path_, "wrong");
  EXPECT_THAT(r, StatusIs(Errc::kAccess));
  EXPECT_EQ(r.status().message(), "wrong passphrase for key file " + path_);
}

TEST_F(KeyFileTest, CreateNeverOverwrites) {
  ASSERT_OK_AND_ASSIGN(Keyring first, CreateKeyFile(path_, "one", kFastKdf));
  EXPECT_THAT(CreateKeyFile(path_, "two", kFastKdf), StatusIs(Errc::kExists));
  ASSERT_OK_AND_ASSIGN(Keyring unlocked, UnlockKeyFile(path_, "one"));
  ExpectSameMasterKey(first, unlocked);
  EXPECT_EQ(ListDir(), std::vector<std::string>{"master.key"});
}

TEST_F(KeyFileTest, MissingFileIsNotFound) {
  EXPECT_THAT(UnlockKeyFile(path_, "x"), StatusIs(Errc::kNotFound));
}

TEST_F(KeyFileTest, EmptyPassphraseIsRefused) {
  EXPECT_THAT(CreateKeyFile(path_, "", kFastKdf), StatusIs(Errc::kInvalid));
}

TEST_F(KeyFileTest, EveryDamagedByteIsAClearError) {
  ASSERT_OK(CreateKeyFile(path_, "pass", kFastKdf));
  const std::string good = ReadFile();
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x20;
    WriteFile(bad);
    Result<Keyring> r = UnlockKeyFile(path_, "pass");
    // Bytes 8..11 are the version: a changed one reads as an unknown version.
    EXPECT_THAT(r, StatusIs(i >= 8 && i < 12 ? Errc::kNotSupported : Errc::kInvalid))
        << "byte " << i;
  }
  WriteFile(good.substr(0, 100));
  Result<Keyring> truncated = UnlockKeyFile(path_, "pass");
  EXPECT_THAT(truncated, StatusIs(Errc::kInvalid));
  EXPECT_THAT(truncated.status().message(), HasSubstr("is damaged"));
  WriteFile("");
  EXPECT_THAT(UnlockKeyFile(path_, "pass"), StatusIs(Errc::kInvalid));
  WriteFile(good);
  EXPECT_OK(UnlockKeyFile(path_, "pass"));
}

TEST_F(KeyFileTest, NewerVersionIsNotSupported) {
  ASSERT_OK(CreateKeyFile(path_, "pass", kFastKdf));
  std::string file = ReadFile();
  file[11] = 2;  // version 2, big-endian
  WriteFile(file);
  Result<Keyring> r = UnlockKeyFile(path_, "pass");
  EXPECT_THAT(r, StatusIs(Errc::kNotSupported));
  EXPECT_THAT(r.status().message(), HasSubstr("format version 2"));
}

TEST_F(KeyFileTest, RewriteChangesPassphraseAtomically) {
  ASSERT_OK_AND_ASSIGN(Keyring keyring, CreateKeyFile(path_, "old", kFastKdf));
  struct stat before;
  ASSERT_EQ(stat(path_.c_str(), &before), 0);
  // A reader holding the old file keeps reading the old, whole contents.
  int old_fd = open(path_.c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  umask(022);
  ASSERT_OK(WriteKeyFile(path_, keyring, "new", kFastKdf));
  struct stat after;
  ASSERT_EQ(stat(path_.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // replaced by rename, not rewritten in place
  EXPECT_EQ(Mode(), 0600u);
  char buf[200];
  EXPECT_EQ(pread(old_fd, buf, sizeof buf, 0), 132);
  close(old_fd);
  EXPECT_THAT(UnlockKeyFile(path_, "old"), StatusIs(Errc::kAccess));
  ASSERT_OK_AND_ASSIGN(Keyring unlocked, UnlockKeyFile(path_, "new"));
  ExpectSameMasterKey(keyring, unlocked);
  EXPECT_EQ(ListDir(), std::vector<std::string>{"master.key"});
}

TEST_F(KeyFileTest, OpenOrCreateCreatesOnceThenOpens) {
  ASSERT_OK_AND_ASSIGN(Keyring first, OpenOrCreateKeyFile(path_, "pass", kFastKdf));
  ASSERT_OK_AND_ASSIGN(Keyring second, OpenOrCreateKeyFile(path_, "pass", kFastKdf));
  ExpectSameMasterKey(first, second);
  EXPECT_THAT(OpenOrCreateKeyFile(path_, "other", kFastKdf), StatusIs(Errc::kAccess));
}

TEST(PassphraseFromEnvTest, UnsetEmptyAndSet) {
  constexpr const char* kVar = "DITTOFS_TEST_KEY_PASSPHRASE";
  unsetenv(kVar);
  Result<std::string> unset = PassphraseFromEnv(kVar);
  EXPECT_THAT(unset, StatusIs(Errc::kInvalid));
  EXPECT_THAT(unset.status().message(), HasSubstr(std::string(kVar) + " is not set"));
  setenv(kVar, "", 1);
  EXPECT_THAT(PassphraseFromEnv(kVar), StatusIs(Errc::kInvalid));
  setenv(kVar, "s3cret", 1);
  ASSERT_OK_AND_ASSIGN(std::string value, PassphraseFromEnv(kVar));
  EXPECT_EQ(value, "s3cret");
  unsetenv(kVar);
}

}  // namespace
}  // namespace dittofs::stores::cas
