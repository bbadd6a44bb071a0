// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "controlplane/db/control_db.h"

namespace dittofs::controlplane {

// One empty database of a backend, which a test may open several times (to reopen it, or to
// meddle with it behind ControlDb's back). Destroying it removes the database.
class ControlDbDatabase {
 public:
  virtual ~ControlDbDatabase() = default;
  // Opens a new ControlDb on this database.
  virtual Result<std::unique_ptr<ControlDb>> Open() = 0;
  // Runs `sql` on the database directly, outside any ControlDb.
  virtual Status ExecForTest(const std::string& sql) = 0;
};

// Makes a fresh, empty database for one conformance test; `name` names the backend in test
// names.
struct ControlDbFactory {
  std::string name;
  std::function<std::unique_ptr<ControlDbDatabase>()> make;
};

// Prints the factory's name where GoogleTest shows a parameter.
void PrintTo(const ControlDbFactory& factory, std::ostream* os);

// Test names for INSTANTIATE_TEST_SUITE_P. Always pass it: it is defined beside the tests, so
// naming it also links them in from the static library.
std::string ControlDbFactoryName(const ::testing::TestParamInfo<ControlDbFactory>& info);

// Fills an empty `db` with some of everything: users, groups, memberships, stores, shares,
// grants, adapters and settings. For round-trip tests, here and across backends.
Status PopulateForTest(ControlDb& db);

// The one conformance suite every ControlDb backend passes. A backend runs it from its test:
//   INSTANTIATE_TEST_SUITE_P(
//       Sqlite, ControlDbConformance,
//       ::testing::Values(ControlDbFactory{"Sqlite", MakeSqliteDatabase}),
//       ControlDbFactoryName);
class ControlDbConformance : public ::testing::TestWithParam<ControlDbFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ControlDb& db() { return *db_; }
  ControlDbDatabase& database() { return *database_; }
  // Closes db() and opens the database again.
  Status Reopen();
  // Takes away what migrations 9 and later made (users.kerberos_principal and its index, the
  // shares' recycle columns), for the tests that take the database back to an older version.
  void ForgetVersionsFrom9();
  // Takes away what migration 10 made (the shares' recycle columns).
  void ForgetVersion10();

 private:
  std::unique_ptr<ControlDbDatabase> database_;
  std::unique_ptr<ControlDb> db_;
};

}  // namespace dittofs::controlplane
