#include "banyan/shadow/shadow_store.hpp"
#include "banyan/platform/clock.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <cmath>

namespace banyan::shadow {

namespace {
const std::array<banyan::sqlite::migration, 2> migrations{{
    {1, "shadow results",
     "CREATE TABLE shadow_results (route TEXT NOT NULL, second INTEGER NOT NULL, outcome TEXT NOT NULL,"
     " paths TEXT NOT NULL, monolith_class TEXT NOT NULL, service_class TEXT NOT NULL, count INTEGER NOT NULL,"
     " PRIMARY KEY (route, second, outcome, paths, monolith_class, service_class)) WITHOUT ROWID;"
     "CREATE TABLE shadow_latency (route TEXT NOT NULL, second INTEGER NOT NULL, side TEXT NOT NULL,"
     " bucket INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (route, second, side, bucket)) WITHOUT ROWID;"
     "CREATE TABLE shadow_samples (id INTEGER PRIMARY KEY AUTOINCREMENT, route TEXT NOT NULL, path TEXT NOT NULL,"
     " place TEXT NOT NULL, kind TEXT NOT NULL, at_ms INTEGER NOT NULL, request_id TEXT NOT NULL,"
     " method TEXT NOT NULL, target TEXT NOT NULL, monolith_value TEXT NOT NULL, service_value TEXT NOT NULL,"
     " request TEXT NOT NULL, monolith_response TEXT NOT NULL, service_response TEXT NOT NULL);"
     "CREATE INDEX shadow_samples_route_path ON shadow_samples(route, path);"
     "CREATE TABLE shadow_noise (route TEXT NOT NULL, path TEXT NOT NULL, seen INTEGER NOT NULL,"
     " example_a TEXT NOT NULL, example_b TEXT NOT NULL, first_at_ms INTEGER NOT NULL, last_at_ms INTEGER NOT NULL,"
     " PRIMARY KEY (route, path));"
     "CREATE TABLE shadow_counters (route TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,"
     " PRIMARY KEY (route, name));"},
    {2, "live traffic per route and second",
     "CREATE TABLE traffic_requests (route TEXT NOT NULL, second INTEGER NOT NULL, upstream TEXT NOT NULL,"
     " status_class TEXT NOT NULL, count INTEGER NOT NULL,"
     " PRIMARY KEY (route, second, upstream, status_class)) WITHOUT ROWID;"
     "CREATE TABLE traffic_latency (route TEXT NOT NULL, second INTEGER NOT NULL, upstream TEXT NOT NULL,"
     " bucket INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (route, second, upstream, bucket)) WITHOUT ROWID;"},
}};

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const std::size_t nl = s.find('\n', start);
    out.push_back(s.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}
}  // namespace

shadow_store::shadow_store(const std::string& path) : db_(path) { banyan::sqlite::migrate(db_, "shadow", migrations); }

std::vector<std::string> result_row::path_list() const { return split_lines(key.paths); }

void shadow_store::write(const store_batch& batch, std::int64_t retention_seconds) {
  banyan::sqlite::transaction tx(db_);
  // One prepared statement per table, run once per row.
  auto insert_all = [&](std::string_view sql, const auto& rows, auto&& bind) {
    if (rows.empty()) return;
    auto st = db_.prepare(sql);
    for (const auto& row : rows) {
      bind(st, row);
      st.run();
      st.reset();
    }
  };
  insert_all("INSERT INTO shadow_results(route, second, outcome, paths, monolith_class, service_class, count)"
             " VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT DO UPDATE SET count = count + ?7",
             batch.results, [](auto& st, const auto& r) {
               const auto& [k, n] = r;
               st.bind_all(k.route, k.second, k.outcome, k.paths, k.monolith_class, k.service_class, n);
             });
  const auto latency_row = [](auto& st, const auto& r) {
    const auto& [k, n] = r;
    st.bind_all(k.route, k.second, k.side, k.bucket, n);
  };
  insert_all("INSERT INTO shadow_latency(route, second, side, bucket, count) VALUES (?1,?2,?3,?4,?5)"
             " ON CONFLICT DO UPDATE SET count = count + ?5",
             batch.latency, latency_row);
  insert_all("INSERT INTO traffic_latency(route, second, upstream, bucket, count) VALUES (?1,?2,?3,?4,?5)"
             " ON CONFLICT DO UPDATE SET count = count + ?5",
             batch.traffic_latency, latency_row);
  insert_all("INSERT INTO traffic_requests(route, second, upstream, status_class, count) VALUES (?1,?2,?3,?4,?5)"
             " ON CONFLICT DO UPDATE SET count = count + ?5",
             batch.traffic, [](auto& st, const auto& r) {
               const auto& [k, n] = r;
               st.bind_all(k.route, k.second, k.upstream, k.status_class, n);
             });
  insert_all("INSERT INTO shadow_samples(route, path, place, kind, at_ms, request_id, method, target, monolith_value,"
             " service_value, request, monolith_response, service_response) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
             batch.samples, [](auto& st, const sample_record& s) {
               st.bind_all(s.route, s.path, s.where, s.kind, s.at_ms, s.request_id, s.method, s.target,
                           s.monolith_value, s.service_value, s.request, s.monolith_response, s.service_response);
             });
  insert_all("INSERT INTO shadow_noise(route, path, seen, example_a, example_b, first_at_ms, last_at_ms)"
             " VALUES (?1,?2,?3,?4,?5,?6,?6) ON CONFLICT(route, path) DO UPDATE SET seen = seen + ?3,"
             " example_a = ?4, example_b = ?5, last_at_ms = ?6",
             batch.noise, [](auto& st, const noise_record& n) {
               st.bind_all(n.route, n.path, n.seen, n.example_a, n.example_b, n.last_at_ms);
             });
  insert_all("INSERT INTO shadow_counters(route, name, value) VALUES (?1,?2,?3)"
             " ON CONFLICT(route, name) DO UPDATE SET value = value + ?3",
             batch.counters, [](auto& st, const counter_record& c) { st.bind_all(c.route, c.name, c.value); });
  if (++writes_ % 256 == 0 && retention_seconds > 0) {
    const auto oldest = unix_seconds() - retention_seconds;
    db_.prepare("DELETE FROM shadow_results WHERE second < ?1").bind_all(oldest).run();
    db_.prepare("DELETE FROM shadow_latency WHERE second < ?1").bind_all(oldest).run();
    db_.prepare("DELETE FROM traffic_requests WHERE second < ?1").bind_all(oldest).run();
    db_.prepare("DELETE FROM traffic_latency WHERE second < ?1").bind_all(oldest).run();
  }
  tx.commit();
}

std::vector<result_row> shadow_store::results(const std::string& route, std::int64_t since_second) {
  auto st = db_.prepare(
      "SELECT route, second, outcome, paths, monolith_class, service_class, count FROM shadow_results"
      " WHERE (?1 = '' OR route = ?1) AND second >= ?2 ORDER BY route, second");
  st.bind_all(route, since_second);
  std::vector<result_row> out;
  while (st.step()) {
    result_row r;
    r.key = {st.get_text(0), st.get_int64(1), st.get_text(2), st.get_text(3), st.get_text(4), st.get_text(5)};
    r.count = st.get_int64(6);
    out.push_back(std::move(r));
  }
  return out;
}

// Latency histograms of a table (shadow_latency by side, traffic_latency by upstream) over [from, to).
std::vector<latency_row> shadow_store::latency_rows(std::string_view table, std::string_view side_column,
                                                    const std::string& route, std::int64_t from_second,
                                                    std::int64_t to_second) {
  auto st = db_.prepare("SELECT route, second, " + std::string(side_column) + ", bucket, count FROM " + std::string(table) +
                        " WHERE (?1 = '' OR route = ?1) AND second >= ?2 AND second < ?3");
  st.bind_all(route, from_second, to_second);
  std::vector<latency_row> out;
  while (st.step())
    out.push_back({{st.get_text(0), st.get_int64(1), st.get_text(2), static_cast<int>(st.get_int64(3))}, st.get_int64(4)});
  return out;
}

std::vector<latency_row> shadow_store::latency(const std::string& route, std::int64_t since_second) {
  return latency_rows("shadow_latency", "side", route, since_second, INT64_MAX);
}

std::vector<traffic_row> shadow_store::traffic(const std::string& route, std::int64_t from_second,
                                               std::int64_t to_second) {
  auto st = db_.prepare(
      "SELECT route, second, upstream, status_class, count FROM traffic_requests"
      " WHERE (?1 = '' OR route = ?1) AND second >= ?2 AND second < ?3");
  st.bind_all(route, from_second, to_second);
  std::vector<traffic_row> out;
  while (st.step()) out.push_back({{st.get_text(0), st.get_int64(1), st.get_text(2), st.get_text(3)}, st.get_int64(4)});
  return out;
}

std::vector<latency_row> shadow_store::traffic_latency(const std::string& route, std::int64_t from_second,
                                                       std::int64_t to_second) {
  return latency_rows("traffic_latency", "upstream", route, from_second, to_second);
}

std::vector<sample_record> shadow_store::samples(const std::string& route) {
  auto st = db_.prepare(
      "SELECT route, path, place, kind, at_ms, request_id, method, target, monolith_value, service_value, request,"
      " monolith_response, service_response FROM shadow_samples WHERE (?1 = '' OR route = ?1) ORDER BY id");
  st.bind_all(route);
  std::vector<sample_record> out;
  while (st.step()) {
    sample_record s;
    s.route = st.get_text(0);
    s.path = st.get_text(1);
    s.where = st.get_text(2);
    s.kind = st.get_text(3);
    s.at_ms = st.get_int64(4);
    s.request_id = st.get_text(5);
    s.method = st.get_text(6);
    s.target = st.get_text(7);
    s.monolith_value = st.get_text(8);
    s.service_value = st.get_text(9);
    s.request = st.get_text(10);
    s.monolith_response = st.get_text(11);
    s.service_response = st.get_text(12);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<noise_record> shadow_store::noise(const std::string& route) {
  auto st = db_.prepare(
      "SELECT route, path, seen, example_a, example_b, first_at_ms, last_at_ms FROM shadow_noise"
      " WHERE (?1 = '' OR route = ?1) ORDER BY route, path");
  st.bind_all(route);
  std::vector<noise_record> out;
  while (st.step())
    out.push_back({st.get_text(0), st.get_text(1), st.get_int64(2), st.get_text(3), st.get_text(4), st.get_int64(5),
                   st.get_int64(6)});
  return out;
}

std::vector<counter_record> shadow_store::counters(const std::string& route) {
  auto st = db_.prepare("SELECT route, name, value FROM shadow_counters WHERE (?1 = '' OR route = ?1)");
  st.bind_all(route);
  std::vector<counter_record> out;
  while (st.step()) out.push_back({st.get_text(0), st.get_text(1), st.get_int64(2)});
  return out;
}

std::map<std::pair<std::string, std::string>, int> shadow_store::sample_counts() {
  auto st = db_.prepare("SELECT route, path, COUNT(*) FROM shadow_samples GROUP BY route, path");
  std::map<std::pair<std::string, std::string>, int> out;
  while (st.step()) out[{st.get_text(0), st.get_text(1)}] = static_cast<int>(st.get_int64(2));
  return out;
}

}  // namespace banyan::shadow
