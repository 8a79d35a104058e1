// pgoutput's messages and the walsender's framing, decoded from bytes; and the row images made of
// them (pure: no server). The byte strings are what PostgreSQL 15 sent for the statements named
// (pg_logical_slot_peek_binary_changes), written out by hand.
#include "banyan/sync/pg_image.hpp"
#include "banyan/sync/pgoutput.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

using namespace banyan::sync;
namespace json = boost::json;

namespace {

struct bytes_of {
  std::vector<std::uint8_t> b;
  bytes_of& c(char ch) {
    b.push_back(static_cast<std::uint8_t>(ch));
    return *this;
  }
  bytes_of& n(std::uint64_t v, int size) {
    for (int i = size - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xff));
    return *this;
  }
  bytes_of& s(std::string_view text) {
    b.insert(b.end(), text.begin(), text.end());
    b.push_back(0);
    return *this;
  }
  bytes_of& t(std::string_view text) {  // a tuple column in text form
    c('t').n(text.size(), 4);
    b.insert(b.end(), text.begin(), text.end());
    return *this;
  }
  pgoutput::bytes span() const { return {b.data(), b.size()}; }
};

// Relation 16385 public.items (id bigint, name text, big text), replica identity full.
bytes_of items_relation(char identity = 'f') {
  bytes_of r;
  r.c('R').n(16385, 4).s("public").s("items").c(identity).n(3, 2);
  r.n(1, 1).s("id").n(20, 4).n(0xffffffff, 4);
  r.n(0, 1).s("name").n(25, 4).n(0xffffffff, 4);
  r.n(0, 1).s("big").n(25, 4).n(0xffffffff, 4);
  return r;
}

aggregate_map items_map() {
  aggregate_map a;
  a.name = "item";
  a.table = "items";
  a.key = {"id"};
  a.fields = {{"id", "id", field_type::integer, {}}, {"name", "name", field_type::text, {}}, {"big", "big", field_type::text, {}}};
  return a;
}

pgoutput::relation relation_of(const bytes_of& b) {
  auto m = pgoutput::decode(b.span());
  REQUIRE(m);
  return std::get<pgoutput::relation>(*m);
}

pgoutput::change change_of(const bytes_of& b) {
  auto m = pgoutput::decode(b.span());
  INFO((m ? std::string() : m.error()));
  REQUIRE(m);
  return std::get<pgoutput::change>(*m);
}

}  // namespace

TEST_CASE("pgoutput: begin, origin, commit and relation messages decode") {
  auto begin = pgoutput::decode(bytes_of().c('B').n(0x152A950, 8).n(12345, 8).n(728, 4).span());
  REQUIRE(begin);
  CHECK(std::get<pgoutput::begin>(*begin).final_lsn == 0x152A950);
  CHECK(std::get<pgoutput::begin>(*begin).xid == 728);

  auto origin = pgoutput::decode(bytes_of().c('O').n(0, 8).s("banyan_sync_apply/shop/item").span());
  REQUIRE(origin);
  CHECK(std::get<pgoutput::origin>(*origin).name == "banyan_sync_apply/shop/item");

  auto commit = pgoutput::decode(bytes_of().c('C').n(0, 1).n(0x152A950, 8).n(0x152AA68, 8).n(12345, 8).span());
  REQUIRE(commit);
  CHECK(std::get<pgoutput::commit>(*commit).end_lsn == 0x152AA68);

  const auto rel = relation_of(items_relation());
  CHECK(rel.id == 16385);
  CHECK(rel.name == "items");
  CHECK(rel.replica_identity == 'f');
  REQUIRE(rel.columns.size() == 3);
  CHECK(rel.columns[0].key);
  CHECK(rel.columns[2].name == "big");
  CHECK(rel.columns[0].type == 20);
}

TEST_CASE("pgoutput: inserts, updates with the old row, deletes") {
  const auto ins = change_of(bytes_of().c('I').n(16385, 4).c('N').n(3, 2).t("1").t("a").c('n'));
  CHECK(ins.what == pgoutput::change::kind::insert);
  REQUIRE(ins.new_row);
  CHECK((*ins.new_row)[1].text == "a");
  CHECK((*ins.new_row)[2].what == pgoutput::value::kind::null);

  const auto upd = change_of(bytes_of().c('U').n(16385, 4).c('O').n(3, 2).t("1").t("a").t("zzz").c('N').n(3, 2).t("1").t("b").c('u'));
  REQUIRE(upd.old_row);
  CHECK_FALSE(upd.old_is_key_only);
  CHECK((*upd.new_row)[2].what == pgoutput::value::kind::unchanged_toast);

  const auto del = change_of(bytes_of().c('D').n(16385, 4).c('K').n(3, 2).t("1").c('n').c('n'));
  CHECK(del.what == pgoutput::change::kind::remove);
  CHECK(del.old_is_key_only);
  CHECK_FALSE(del.new_row);
}

TEST_CASE("pgoutput: every prefix of a message is incomplete, never a read past the end") {
  const std::vector<bytes_of> messages{
      bytes_of().c('B').n(1, 8).n(2, 8).n(3, 4),
      bytes_of().c('C').n(0, 1).n(1, 8).n(2, 8).n(3, 8),
      bytes_of().c('O').n(0, 8).s("x"),
      items_relation(),
      bytes_of().c('I').n(16385, 4).c('N').n(3, 2).t("1").t("a").c('n'),
      bytes_of().c('U').n(16385, 4).c('O').n(3, 2).t("1").t("a").t("z").c('N').n(3, 2).t("1").t("b").c('u'),
      bytes_of().c('D').n(16385, 4).c('O').n(3, 2).t("1").t("a").c('n'),
      bytes_of().c('T').n(2, 4).n(0, 1).n(16385, 4).n(16390, 4),
  };
  for (const auto& m : messages) {
    REQUIRE(pgoutput::decode(m.span()));
    for (std::size_t len = 0; len < m.b.size(); ++len) {
      INFO("message '" << static_cast<char>(m.b[0]) << "' cut to " << len << " bytes");
      CHECK_FALSE(pgoutput::decode(pgoutput::bytes(m.b.data(), len)));
    }
  }
}

TEST_CASE("pgoutput: lengths larger than the message are refused") {
  // A value claiming 4 GiB, a tuple claiming 65535 columns, a truncate claiming 2^32 relations.
  auto huge_value = bytes_of().c('I').n(1, 4).c('N').n(1, 2).c('t').n(0xffffffff, 4).c('x');
  CHECK_FALSE(pgoutput::decode(huge_value.span()));
  auto many_columns = bytes_of().c('I').n(1, 4).c('N').n(65535, 2).c('n');
  CHECK_FALSE(pgoutput::decode(many_columns.span()));
  auto many_relations = bytes_of().c('T').n(0xffffffff, 4).n(0, 1).n(1, 4);
  CHECK_FALSE(pgoutput::decode(many_relations.span()));
  CHECK_FALSE(pgoutput::decode(bytes_of().c('I').n(1, 4).c('N').n(1, 2).c('b').n(1, 4).c('x').span()));
  CHECK_FALSE(pgoutput::decode(bytes_of().c('Z').span()));
  CHECK_FALSE(pgoutput::decode(bytes_of().c('D').n(1, 4).c('N').n(0, 2).span()));  // a delete needs the old key
}

TEST_CASE("pgoutput: the walsender's framing and our status update") {
  auto w = pgoutput::decode_copy_data(bytes_of().c('w').n(10, 8).n(20, 8).n(30, 8).c('B').span());
  REQUIRE(w);
  const auto& x = std::get<pgoutput::xlog_data>(*w);
  CHECK(x.end == 20);
  CHECK(x.message.size() == 1);
  auto k = pgoutput::decode_copy_data(bytes_of().c('k').n(99, 8).n(1, 8).n(1, 1).span());
  REQUIRE(k);
  CHECK(std::get<pgoutput::keepalive>(*k).end == 99);
  CHECK(std::get<pgoutput::keepalive>(*k).reply_requested);
  CHECK_FALSE(pgoutput::decode_copy_data(bytes_of().c('k').n(99, 8).span()));
  CHECK_FALSE(pgoutput::decode_copy_data(bytes_of().c('w').n(1, 8).span()));

  const auto r = pgoutput::standby_status_update(0x1234, 0x1234, 0x1234, 7, true);
  REQUIRE(r.size() == 34);
  CHECK(r[0] == 'r');
  CHECK(static_cast<unsigned char>(r[16]) == 0x34);  // flushed, big-endian: bytes 9 to 16
  CHECK(r[33] == 1);
  CHECK(pgoutput::to_unix_us(pgoutput::to_pg_epoch_us(1'700'000'000'000'000)) == 1'700'000'000'000'000);
}

TEST_CASE("pg images: values by their type") {
  CHECK(pg_image_value(20, "42") == json::value(42));
  CHECK(pg_image_value(16, "t") == json::value(true));
  CHECK(pg_image_value(16, "f") == json::value(false));
  CHECK(pg_image_value(701, "1.5") == json::value(1.5));
  CHECK(pg_image_value(701, "NaN") == json::value("NaN"));  // JSON has no NaN: its text
  CHECK(pg_image_value(1700, "12.50") == json::value(12.5));
  CHECK(pg_image_value(1700, "12345678901234567.25") == json::value("12345678901234567.25"));  // beyond a double
  CHECK(pg_image_value(1184, "2026-12-03 11:20:34.5+00") == json::value("2026-12-03T11:20:34.5Z"));
  CHECK(pg_image_value(1184, "infinity") == json::value("infinity"));
  CHECK(pg_image_value(25, "héllo ✓") == json::value("héllo ✓"));
  CHECK(pg_image_value(3802, R"({"a": 1})") == json::value(R"({"a": 1})"));  // the map's json type parses it

  CHECK(pg_field_type("bigint") == field_type::integer);
  CHECK(pg_field_type("numeric(10,2)") == field_type::real);
  CHECK(pg_field_type("timestamp with time zone") == field_type::timestamp);
  CHECK(pg_field_type("character varying(40)") == field_type::text);
  CHECK(pg_field_type("jsonb") == field_type::json);
  CHECK_FALSE(pg_field_type("bytea"));
  CHECK(pg_holds("text", field_type::json));
  CHECK_FALSE(pg_holds("integer", field_type::text));
  CHECK_FALSE(pg_holds("boolean", field_type::timestamp));
}

TEST_CASE("pg images: an unchanged large value comes from the old row, and a changed key is a delete first") {
  const auto rel = relation_of(items_relation());
  const auto a = items_map();
  // UPDATE items SET name = 'b' WHERE id = 1: big (TOASTed, unchanged) is 'u' in the new row.
  auto upd = change_of(bytes_of().c('U').n(16385, 4).c('O').n(3, 2).t("1").t("a").t("zzz").c('N').n(3, 2).t("1").t("b").c('u'));
  auto out = logged_changes(rel, upd, a);
  REQUIRE(out);
  REQUIRE(out->size() == 1);
  CHECK((*out)[0].op == "updated");
  CHECK(json::serialize((*out)[0].row) == R"({"id":1,"name":"b","big":"zzz"})");

  // UPDATE items SET id = 2 WHERE id = 1: followers key rows by id, so the old one goes first.
  auto rekey = change_of(bytes_of().c('U').n(16385, 4).c('O').n(3, 2).t("1").t("a").c('n').c('N').n(3, 2).t("2").t("a").c('n'));
  out = logged_changes(rel, rekey, a);
  REQUIRE(out);
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].op == "deleted");
  CHECK((*out)[0].row.at("id") == json::value(1));
  CHECK((*out)[1].op == "updated");
  CHECK((*out)[1].row.at("id") == json::value(2));

  // Without the old row (identity not FULL) an unchanged value cannot be filled in: said, not guessed.
  auto no_old = change_of(bytes_of().c('U').n(16385, 4).c('N').n(3, 2).t("1").t("b").c('u'));
  out = logged_changes(rel, no_old, a);
  REQUIRE_FALSE(out);
  CHECK(out.error().find("items.big") != std::string::npos);

  // A delete with only the key (identity changed back to DEFAULT) still names its row.
  auto del = change_of(bytes_of().c('D').n(16385, 4).c('K').n(3, 2).t("7").c('n').c('n'));
  out = logged_changes(relation_of(items_relation('f')), del, a);
  REQUIRE(out);
  CHECK((*out)[0].op == "deleted");
  CHECK((*out)[0].row.at("id") == json::value(7));
}

TEST_CASE("pg images: a mapped column leaving the stream, or identity not FULL, is a stop with the reason") {
  auto a = items_map();
  bytes_of dropped;
  dropped.c('R').n(16385, 4).s("public").s("items").c('f').n(2, 2);
  dropped.n(1, 1).s("id").n(20, 4).n(0xffffffff, 4);
  dropped.n(0, 1).s("name").n(25, 4).n(0xffffffff, 4);
  const auto why = relation_problem(relation_of(dropped), a);
  CHECK(why.find("column big of items is gone") != std::string::npos);

  bytes_of wider;
  wider.c('R').n(16385, 4).s("public").s("items").c('f').n(4, 2);
  wider.n(1, 1).s("id").n(20, 4).n(0xffffffff, 4);
  wider.n(0, 1).s("name").n(25, 4).n(0xffffffff, 4);
  wider.n(0, 1).s("colour").n(25, 4).n(0xffffffff, 4);  // added mid-stream, not in the map: ignored
  wider.n(0, 1).s("big").n(25, 4).n(0xffffffff, 4);
  CHECK(relation_problem(relation_of(wider), a).empty());
  auto ins = change_of(bytes_of().c('I').n(16385, 4).c('N').n(4, 2).t("3").t("c").t("red").t("x"));
  auto out = logged_changes(relation_of(wider), ins, a);
  REQUIRE(out);
  CHECK(json::serialize((*out)[0].row) == R"({"id":3,"name":"c","big":"x"})");

  CHECK(relation_problem(relation_of(items_relation('d')), a).find("REPLICA IDENTITY FULL") != std::string::npos);
}
