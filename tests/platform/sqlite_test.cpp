#include "banyan/platform/sqlite.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <thread>

using namespace banyan::sqlite;

TEST_CASE("statements bind and read every type", "[sqlite]") {
  connection c(":memory:");
  c.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, n TEXT)");
  c.prepare("INSERT INTO t VALUES (?, ?, ?, ?)").bind_all(std::int64_t{1} << 40, 2.5, "héllo", nullptr).run();
  auto st = c.prepare("SELECT i, d, s, n FROM t");
  REQUIRE(st.step());
  CHECK(st.get_int64(0) == (std::int64_t{1} << 40));
  CHECK(st.get_double(1) == 2.5);
  CHECK(st.get_text(2) == "héllo");
  CHECK(st.is_null(3));
  CHECK_FALSE(st.get_optional_text(3));
  CHECK_FALSE(st.step());
}

TEST_CASE("errors carry SQLite's code and message", "[sqlite]") {
  connection c(":memory:");
  CHECK_THROWS_AS(c.prepare("SELEKT 1"), error);
  c.exec("CREATE TABLE u (k TEXT UNIQUE)");
  c.prepare("INSERT INTO u VALUES ('a')").run();
  try {
    c.prepare("INSERT INTO u VALUES ('a')").run();
    FAIL("expected a constraint error");
  } catch (const error& e) {
    CHECK(e.is_constraint());
    CHECK(std::string(e.what()).find("UNIQUE") != std::string::npos);
  }
}

TEST_CASE("a transaction rolls back unless committed", "[sqlite]") {
  banyan::test::temp_dir dir;
  connection c(dir.file("t.db"));
  c.exec("CREATE TABLE t (x INTEGER)");
  {
    transaction tx(c);
    c.prepare("INSERT INTO t VALUES (1)").run();
  }
  {
    transaction tx(c);
    c.prepare("INSERT INTO t VALUES (2)").run();
    tx.commit();
  }
  auto st = c.prepare("SELECT group_concat(x) FROM t");
  st.step();
  CHECK(st.get_text(0) == "2");
}

TEST_CASE("migrations apply once per owner, in order", "[sqlite]") {
  banyan::test::temp_dir dir;
  const std::array<migration, 2> catalog{{{1, "create", "CREATE TABLE catalog_a (x INTEGER)"},
                                          {2, "add column", "ALTER TABLE catalog_a ADD COLUMN y TEXT"}}};
  const std::array<migration, 1> orders{{{1, "create", "CREATE TABLE orders_a (x INTEGER)"}}};
  {
    connection c(dir.file("m.db"));
    migrate(c, "catalog", std::span(catalog).first(1));
    migrate(c, "orders", orders);
    CHECK(schema_version(c, "catalog") == 1);
  }
  connection c(dir.file("m.db"));
  migrate(c, "catalog", catalog);  // only version 2 is new
  migrate(c, "orders", orders);    // nothing new
  CHECK(schema_version(c, "catalog") == 2);
  CHECK(schema_version(c, "orders") == 1);
  CHECK(schema_version(c, "nobody") == 0);
  c.prepare("INSERT INTO catalog_a (x, y) VALUES (1, 'ok')").run();

  const std::array<migration, 2> bad{{{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}}};
  CHECK_THROWS_AS(migrate(c, "bad", bad), std::invalid_argument);
}

TEST_CASE("a database a newer release migrated is refused, with the way back", "[sqlite]") {
  banyan::test::temp_dir dir;
  const std::array<migration, 2> newer{{{1, "create", "CREATE TABLE catalog_a (x INTEGER)"},
                                        {2, "add column", "ALTER TABLE catalog_a ADD COLUMN y TEXT"}}};
  connection c(dir.file("m.db"));
  migrate(c, "catalog", newer);
  try {
    migrate(c, "catalog", std::span(newer).first(1));  // the older build
    FAIL("an older build ran on a newer schema");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          dir.file("m.db") + ": the catalog schema is at version 2, newer than this build knows (1): a newer release wrote it;"
          " run that release, or restore the backup taken before the upgrade");
  }
  CHECK(schema_version(c, "catalog") == 2);
  const std::array<migration, 1> orders{{{1, "create", "CREATE TABLE orders_a (x INTEGER)"}}};
  migrate(c, "orders", orders);  // another owner is not concerned
  CHECK(schema_version(c, "orders") == 1);
}

TEST_CASE("a failing migration leaves no trace", "[sqlite]") {
  connection c(":memory:");
  const std::array<migration, 1> broken{{{1, "broken", "CREATE TABLE x_a (x INTEGER); CREATE TABLE x_a (y)"}}};
  CHECK_THROWS_AS(migrate(c, "x", broken), error);
  CHECK(schema_version(c, "x") == 0);
  auto st = c.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'x_a'");
  st.step();
  CHECK(st.get_int64(0) == 0);
}

TEST_CASE("the pool hands each connection to one user at a time", "[sqlite]") {
  banyan::test::temp_dir dir;
  {
    connection setup(dir.file("p.db"));
    setup.exec("CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0)");
  }
  pool p(dir.file("p.db"), 2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto conn = p.acquire();
        transaction tx(*conn);
        conn->prepare("UPDATE counter SET n = n + 1").run();
        tx.commit();
      }
    });
  for (auto& t : threads) t.join();
  auto conn = p.acquire();
  auto st = conn->prepare("SELECT n FROM counter");
  st.step();
  CHECK(st.get_int64(0) == 200);
  auto mode = conn->prepare("PRAGMA journal_mode");
  mode.step();
  CHECK(mode.get_text(0) == "wal");
}

TEST_CASE("sqlite: a cached statement is prepared once, reset after each use", "[sqlite]") {
  banyan::test::temp_dir dir;
  banyan::sqlite::connection c(dir.file("db.sqlite"));
  c.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  for (int i = 1; i <= 3; ++i) c.prepare_cached("INSERT INTO t(k, v) VALUES (?, ?)")->bind_all(i, "v" + std::to_string(i)).run();
  {
    auto a = c.prepare_cached("SELECT v FROM t WHERE k = ?");
    a->bind(1, 2);
    REQUIRE(a->step());
    CHECK(a->get_text(0) == "v2");
  }  // left half-stepped: the handle resets it
  // Another connection's write is visible to the next use (no snapshot held open by the last one).
  banyan::sqlite::connection other(dir.file("db.sqlite"));
  other.exec("UPDATE t SET v = 'changed' WHERE k = 2");
  auto b = c.prepare_cached("SELECT v FROM t WHERE k = ?");
  b->bind(1, 2);
  REQUIRE(b->step());
  CHECK(b->get_text(0) == "changed");
}
