// banyan-sync's configuration: every problem at its FILE:LINE:COL, nothing half-read.
#include "banyan/sync/sync_config.hpp"

#include <catch2/catch.hpp>

using namespace banyan;
using namespace banyan::sync;

namespace {
std::string problems_of(const std::string& text) {
  sync_config c;
  diagnostics d;
  CHECK_FALSE(parse_sync_config(text, "sync.yaml", c, d));
  return d.to_string();
}
const std::string head = "database: sqlite:/tmp/app.db\nstate_dir: /tmp/s\npublish: true\n";
}  // namespace

TEST_CASE("sync config: a whole configuration reads") {
  sync_config c;
  diagnostics d;
  const std::string text = head +
                           "follow: http://127.0.0.1:9\nforeign_writes: refuse\naggregates:\n"
                           "  item:\n    table: items\n    key: id\n"
                           "    fields: {id: id, name: title, tags: {column: labels, type: json}, sku: {type: text}}\n"
                           "  price:\n    table: prices\n    key: [region, sku]\n    fields: {region: region, sku: sku}\n";
  INFO(d.to_string());
  REQUIRE(parse_sync_config(text, "sync.yaml", c, d));
  CHECK(c.sqlite_path == "/tmp/app.db");
  CHECK(c.publish);
  CHECK(c.follow == "http://127.0.0.1:9");
  CHECK(c.refuse_foreign_writes);
  REQUIRE(c.map.aggregates.size() == 2);
  const auto& item = c.map.aggregates[0];
  CHECK(item.table == "items");
  CHECK(item.by_field("name")->column == "title");
  CHECK(item.by_field("tags")->type == field_type::json);
  CHECK(item.by_field("sku")->column == "sku");  // {type: T} alone keeps the field's name
  CHECK(item.by_field("tags")->at.line == 10);
  CHECK(c.map.aggregates[1].key == std::vector<std::string>{"region", "sku"});
}

TEST_CASE("sync config: a PostgreSQL database by its URL, with a slot of its own") {
  sync_config c;
  diagnostics d;
  REQUIRE(parse_sync_config("database: postgresql://app@/shop?host=/run/postgresql\nstate_dir: s\npublish: true\n"
                            "slot: shop_feed\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n",
                            "sync.yaml", c, d));
  CHECK(c.postgres_url == "postgresql://app@/shop?host=/run/postgresql");
  CHECK(c.sqlite_path.empty());
  CHECK(c.slot == "shop_feed");
  sync_config defaults;
  REQUIRE(parse_sync_config("database: postgres://app@/shop\nstate_dir: s\npublish: true\n"
                            "aggregates: {a: {table: t, key: id, fields: {id: id}}}\n",
                            "sync.yaml", defaults, d));
  CHECK(defaults.slot.empty());  // banyan_sync_DATABASE, named by the engine once connected
}

TEST_CASE("sync config: mistakes are named at their place") {
  CHECK(problems_of(head + "aggregates:\n  item:\n    table: items\n    key: id\n    fields: {id: id}\n    colour: red\n") ==
        "sync.yaml:9:5: error: unknown key 'colour' in aggregate item\n");
  CHECK(problems_of(head + "aggregates:\n  item:\n    table: items\n    key: sku\n    fields: {id: id}\n") ==
        "sync.yaml:7:10: error: key column 'sku' is not among the fields of item (the feed's payload must carry the key)\n");
  CHECK(problems_of(head + "aggregates:\n  item:\n    table: \"items; DROP TABLE x\"\n    key: id\n    fields: {id: id}\n") ==
        "sync.yaml:6:12: error: table 'items; DROP TABLE x' must be a plain identifier (letters, digits, _)\n");
  CHECK(problems_of(head + "aggregates:\n  item:\n    table: items\n    key: id\n    fields: {id: {column: id, type: money}}\n") ==
        "sync.yaml:8:37: error: unknown type 'money' (integer, real, text, bool, json or timestamp)\n");
  CHECK(problems_of("database: mysql://x\nstate_dir: s\npublish: true\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n") ==
        "sync.yaml:1:11: error: database must be sqlite:PATH or a postgresql:// URL (sqlite:/var/lib/app/app.db, "
        "postgresql://app@/shop?host=/run/postgresql)\n");
  CHECK(problems_of("database: sqlite:/x\nstate_dir: s\npublish: true\nslot: s\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n") ==
        "sync.yaml:4:7: error: slot is for a PostgreSQL database only\n");
  CHECK(problems_of("database: postgresql://u@/db\nstate_dir: s\npublish: true\nslot: Bad-Name\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n") ==
        "sync.yaml:4:7: error: slot must be 1 to 63 lower-case letters, digits and underscores (a replication slot's name)\n");
  CHECK(problems_of("database: sqlite:/x\nstate_dir: s\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n") ==
        "sync.yaml:1:1: error: nothing to do: set publish: true, follow: URL, or both\n");
  CHECK(problems_of(head + "follow: ftp://x\naggregates: {a: {table: t, key: id, fields: {id: id}}}\n") ==
        "sync.yaml:4:9: error: follow must be the http:// URL of a feed (/internal/events is asked there)\n");
  CHECK(problems_of(head + "aggregates:\n  a: {table: t, key: id, fields: {id: id}}\n  b: {table: t, key: id, fields: {id: id}}\n")
            .find("table t is mapped by a already") != std::string::npos);
  CHECK(problems_of(head + "aggregates: {a: {table: t, key: id, fields: {id: id, other: id}}}\n")
            .find("column 'id' is mapped twice") != std::string::npos);
}
