#include "banyan/sync/sqlite_changelog.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

namespace banyan::sync {

namespace json = boost::json;

void sqlite_changelog::create(sqlite::connection& c) {
  c.exec(
      "CREATE TABLE IF NOT EXISTS banyan_sync_changelog ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, op TEXT NOT NULL, row TEXT NOT NULL,"
      " at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))");
}

feed_event sqlite_changelog::event_of(std::int64_t id, const std::string& table, const std::string& op,
                                    const std::string& row, const std::string& at) const {
  feed_event e;
  e.id = id;
  e.at = at;
  boost::system::error_code ec;
  auto image = json::parse(row, ec);
  const auto* a = map_.by_table(table);
  if (ec || !image.is_object() || !a) {
    // A table the map no longer names (or an image it cannot read): published as captured, so the
    // sequence stays whole; followers count it as another aggregate's event.
    e.aggregate = table;
    e.type = table + "." + op;
    e.payload = ec ? json::value(row) : image;
    return e;
  }
  e.aggregate = a->name;
  e.type = a->name + "." + op;
  auto key = key_of_row(*a, image.as_object());
  e.key = key ? *key : std::string();
  auto payload = payload_of_row(*a, image.as_object());
  e.payload = payload ? json::value(std::move(*payload)) : image;
  return e;
}

expected<feed_page, std::string> sqlite_changelog::events(std::int64_t after, int limit) {
  auto c = pool_.acquire();
  feed_page page;
  // One read transaction: the head and the page are one snapshot.
  sqlite::transaction tx(*c, sqlite::transaction::mode::deferred);
  {
    auto st = c->prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'banyan_sync_changelog'");
    page.head = st->step() ? st->get_int64(0) : 0;
  }
  std::int64_t oldest = 0;
  {
    auto st = c->prepare_cached("SELECT min(id) FROM banyan_sync_changelog");
    if (st->step() && !st->is_null(0)) oldest = st->get_int64(0);
  }
  if (after < page.head && (oldest == 0 || after + 1 < oldest)) {
    page.pruned_through = (oldest ? oldest : page.head + 1) - 1;
    page.next = after;
    tx.commit();
    return page;
  }
  auto st = c->prepare_cached("SELECT id, tbl, op, row, at FROM banyan_sync_changelog WHERE id > ? ORDER BY id LIMIT ?");
  st->bind_all(after, limit);
  while (st->step())
    page.events.push_back(event_of(st->get_int64(0), st->get_text(1), st->get_text(2), st->get_text(3), st->get_text(4)));
  page.next = page.events.empty() ? after : page.events.back().id;
  tx.commit();
  return page;
}

std::int64_t sqlite_changelog::head() {
  auto c = pool_.acquire();
  auto st = c->prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'banyan_sync_changelog'");
  return st->step() ? st->get_int64(0) : 0;
}

std::int64_t sqlite_changelog::prune(std::int64_t upto, std::int64_t keep) {
  auto c = pool_.acquire();
  std::int64_t head_now = 0;
  {
    auto st = c->prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'banyan_sync_changelog'");
    head_now = st->step() ? st->get_int64(0) : 0;
  }
  const auto bound = std::max(upto, head_now - keep);
  // In batches, each its own short transaction: the app's writers wait for SQLite's one write lock,
  // and a million rows removed at once would hold it for seconds.
  std::int64_t removed = 0;
  for (;;) {
    sqlite::transaction tx(*c);
    auto st = c->prepare_cached(
        "DELETE FROM banyan_sync_changelog WHERE id IN (SELECT id FROM banyan_sync_changelog WHERE id <= ? ORDER BY id "
        "LIMIT 2000)");
    st->bind(1, bound);
    st->run();
    const auto n = static_cast<std::int64_t>(c->changes());
    tx.commit();
    removed += n;
    if (n < 2000) return removed;
  }
}

change_capture::foreign_writes sqlite_changelog::after(std::int64_t since) {
  change_capture::foreign_writes out;
  auto c = pool_.acquire();
  sqlite::transaction tx(*c, sqlite::transaction::mode::deferred);
  {
    auto st = c->prepare_cached("SELECT count(*) FROM banyan_sync_changelog WHERE id > ?");
    st->bind(1, since);
    if (st->step()) out.count = st->get_int64(0);
  }
  auto st = c->prepare_cached("SELECT id, tbl, op, row, at FROM banyan_sync_changelog WHERE id > ? ORDER BY id DESC LIMIT 10");
  st->bind(1, since);
  while (st->step())
    out.latest.push_back(event_of(st->get_int64(0), st->get_text(1), st->get_text(2), st->get_text(3), st->get_text(4)));
  tx.commit();
  return out;
}

}  // namespace banyan::sync
