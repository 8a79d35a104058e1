#include "banyan/shadow/shadow_store.hpp"

#include <array>

namespace banyan::shadow {

namespace {
const std::array<banyan::sqlite::migration, 1> migrations{{
    {1, "shadow results",
     "CREATE TABLE shadow_comparisons (id INTEGER PRIMARY KEY AUTOINCREMENT, route TEXT NOT NULL,"
     " at_ms INTEGER NOT NULL, request_id TEXT NOT NULL, method TEXT NOT NULL, target TEXT NOT NULL,"
     " outcome TEXT NOT NULL, monolith_status INTEGER NOT NULL, service_status INTEGER NOT NULL,"
     " monolith_ms REAL NOT NULL, service_ms REAL NOT NULL, paths TEXT NOT NULL);"
     "CREATE INDEX shadow_comparisons_route_at ON shadow_comparisons(route, at_ms);"
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
}};

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.push_back('\n');
    out += s;
  }
  return out;
}

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

void shadow_store::write(const store_batch& batch, std::size_t max_rows_per_route) {
  banyan::sqlite::transaction tx(db_);
  if (!batch.comparisons.empty()) {
    auto st = db_.prepare(
        "INSERT INTO shadow_comparisons(route, at_ms, request_id, method, target, outcome, monolith_status,"
        " service_status, monolith_ms, service_ms, paths) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    for (const auto& c : batch.comparisons) {
      st.bind_all(c.route, c.at_ms, c.request_id, c.method, c.target, c.outcome, c.monolith_status, c.service_status,
                  c.monolith_ms, c.service_ms, join_lines(c.paths));
      st.run();
      st.reset();
    }
  }
  if (!batch.samples.empty()) {
    auto st = db_.prepare(
        "INSERT INTO shadow_samples(route, path, place, kind, at_ms, request_id, method, target, monolith_value,"
        " service_value, request, monolith_response, service_response) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    for (const auto& s : batch.samples) {
      st.bind_all(s.route, s.path, s.where, s.kind, s.at_ms, s.request_id, s.method, s.target, s.monolith_value,
                  s.service_value, s.request, s.monolith_response, s.service_response);
      st.run();
      st.reset();
    }
  }
  if (!batch.noise.empty()) {
    auto st = db_.prepare(
        "INSERT INTO shadow_noise(route, path, seen, example_a, example_b, first_at_ms, last_at_ms)"
        " VALUES (?1,?2,?3,?4,?5,?6,?6) ON CONFLICT(route, path) DO UPDATE SET seen = seen + ?3,"
        " example_a = ?4, example_b = ?5, last_at_ms = ?6");
    for (const auto& n : batch.noise) {
      st.bind_all(n.route, n.path, n.seen, n.example_a, n.example_b, n.last_at_ms);
      st.run();
      st.reset();
    }
  }
  if (!batch.counters.empty()) {
    auto st = db_.prepare(
        "INSERT INTO shadow_counters(route, name, value) VALUES (?1,?2,?3)"
        " ON CONFLICT(route, name) DO UPDATE SET value = value + ?3");
    for (const auto& c : batch.counters) {
      st.bind_all(c.route, c.name, c.value);
      st.run();
      st.reset();
    }
  }
  // Keep each route's newest rows only; parity looks at a recent window anyway.
  if (++writes_ % 64 == 0 && max_rows_per_route > 0) {
    auto routes = db_.prepare("SELECT DISTINCT route FROM shadow_comparisons");
    std::vector<std::string> names;
    while (routes.step()) names.push_back(routes.get_text(0));
    for (const auto& r : names)
      db_.prepare("DELETE FROM shadow_comparisons WHERE route = ?1 AND id <= (SELECT id FROM shadow_comparisons"
                  " WHERE route = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)")
          .bind_all(r, static_cast<std::int64_t>(max_rows_per_route))
          .run();
  }
  tx.commit();
}

std::vector<comparison_record> shadow_store::comparisons(const std::string& route, std::int64_t since_ms) {
  auto st = db_.prepare(
      "SELECT route, at_ms, request_id, method, target, outcome, monolith_status, service_status, monolith_ms,"
      " service_ms, paths FROM shadow_comparisons WHERE (?1 = '' OR route = ?1) AND at_ms >= ?2 ORDER BY id");
  st.bind_all(route, since_ms);
  std::vector<comparison_record> out;
  while (st.step()) {
    comparison_record c;
    c.route = st.get_text(0);
    c.at_ms = st.get_int64(1);
    c.request_id = st.get_text(2);
    c.method = st.get_text(3);
    c.target = st.get_text(4);
    c.outcome = st.get_text(5);
    c.monolith_status = static_cast<int>(st.get_int64(6));
    c.service_status = static_cast<int>(st.get_int64(7));
    c.monolith_ms = st.get_double(8);
    c.service_ms = st.get_double(9);
    c.paths = split_lines(st.get_text(10));
    out.push_back(std::move(c));
  }
  return out;
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
