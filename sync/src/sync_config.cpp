#include "banyan/sync/sync_config.hpp"

#include "banyan/platform/yaml_reader.hpp"

#include <algorithm>
#include <set>

namespace banyan::sync {

namespace {

map_position position_of(const YAML::Node& n) { return {n.Mark().line + 1, n.Mark().column + 1}; }

// Table and column names are written into SQL (triggers, upserts): plain identifiers only, so that
// no name needs quoting rules of its own and none can carry SQL.
bool plain_identifier(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

void read_fields(yaml_reader& r, const YAML::Node& fields, aggregate_map& a) {
  if (!r.is_map(fields, "fields")) return;
  std::set<std::string> columns;
  for (const auto& kv : fields) {
    field_map f;
    if (!r.key(kv.first, "fields", f.field)) continue;
    f.at = position_of(kv.first);
    const auto& spec = kv.second;
    if (spec.IsScalar()) {
      f.column = spec.Scalar();
    } else if (spec.IsMap()) {
      r.check_keys(spec, {"column", "type"}, "field " + f.field);
      r.string_field(spec, "column", f.column);
      if (f.column.empty()) f.column = f.field;
      if (auto t = spec["type"]) {
        std::string text;
        if (r.scalar(t, "type", text)) {
          if (auto parsed = parse_field_type(text)) f.type = *parsed;
          else r.error(t, "unknown type '" + text + "' (integer, real, text, bool, json or timestamp)");
        }
      }
    } else {
      r.error(spec, "field " + f.field + " must name its column, or be {column: C, type: T}");
      continue;
    }
    if (f.field.empty()) r.error(kv.first, "a field needs a name");
    if (!plain_identifier(f.column))
      r.error(spec, "column '" + f.column + "' must be a plain identifier (letters, digits, _)");
    if (!columns.insert(f.column).second) r.error(spec, "column '" + f.column + "' is mapped twice");
    a.fields.push_back(std::move(f));
  }
  if (a.fields.empty()) r.error(fields, "aggregate " + a.name + " maps no fields");
}

void read_aggregate(yaml_reader& r, const YAML::Node& name, const YAML::Node& body, sync_config& out) {
  aggregate_map a;
  if (!r.key(name, "aggregates", a.name)) return;
  a.at = position_of(name);
  if (!r.is_map(body, "aggregate " + a.name)) return;
  r.check_keys(body, {"table", "key", "fields"}, "aggregate " + a.name);
  if (auto t = body["table"]) {
    a.table_at = position_of(t);
    if (r.scalar(t, "table", a.table) && !plain_identifier(a.table))
      r.error(t, "table '" + a.table + "' must be a plain identifier (letters, digits, _)");
  } else {
    r.error(name, "aggregate " + a.name + " needs its table");
  }
  if (auto k = body["key"]) {
    a.key_at = position_of(k);
    if (k.IsScalar()) {
      a.key.push_back(k.Scalar());
    } else if (k.IsSequence() && k.size() > 0) {
      for (const auto& c : k)
        if (std::string col; r.scalar(c, "key", col)) a.key.push_back(col);
    } else {
      r.error(k, "key must be a column, or a list of columns");
    }
  } else {
    r.error(name, "aggregate " + a.name + " needs its key (a column, or a list of columns)");
  }
  if (auto f = body["fields"]) read_fields(r, f, a);
  else r.error(name, "aggregate " + a.name + " needs its fields ({field: column, …})");
  for (const auto& k : a.key)
    if (!a.by_column(k))
      r.error(body["key"], "key column '" + k + "' is not among the fields of " + a.name +
                               " (the feed's payload must carry the key)");
  for (const auto& other : out.map.aggregates) {
    if (other.name == a.name) r.error(name, "aggregate " + a.name + " is named twice");
    if (!a.table.empty() && other.table == a.table)
      r.error(body["table"], "table " + a.table + " is mapped by " + other.name + " already");
  }
  out.map.aggregates.push_back(std::move(a));
}

bool read_config(const std::string& text, const std::string& name, sync_config& out, diagnostics& diags) {
  YAML::Node root;
  if (!load_yaml_mapping(text, name, root, diags)) return false;
  yaml_reader r(name, diags);
  r.check_keys(root, {"listen", "database", "state_dir", "aggregates", "publish", "follow", "foreign_writes",
                      "threads", "page_limit", "retain_events", "follow_wait", "prune_interval", "slot"},
               "the configuration");
  r.string_field(root, "listen", out.listen);
  r.string_field(root, "state_dir", out.state_dir);
  r.bool_field(root, "publish", out.publish);
  r.int_field(root, "threads", out.threads, 1, 64);
  r.int_field(root, "page_limit", out.page_limit, 1, 1000);
  r.duration_field(root, "follow_wait", out.follow_wait);
  r.duration_field(root, "prune_interval", out.prune_interval);
  if (auto p = root["prune_interval"]; p && out.prune_interval < std::chrono::seconds(1))
    r.error(p, "prune_interval must be at least 1s");
  if (auto w = root["follow_wait"]; w && out.follow_wait > std::chrono::seconds(30))
    r.error(w, "follow_wait must be from 0s (poll every 100 ms) to 30s");
  if (auto n = root["retain_events"]) {
    int v = 0;
    r.int_field(root, "retain_events", v, 1000, 1'000'000'000);
    if (v) out.retain_events = v;
  }
  if (auto d = root["database"]) {
    out.database_at = position_of(d);
    if (r.scalar(d, "database", out.database)) {
      if (out.database.rfind("sqlite:", 0) == 0) {
        out.sqlite_path = out.database.substr(7);
        if (out.sqlite_path.empty()) r.error(d, "database: sqlite: needs the file's path (sqlite:/path/app.db)");
      } else if (out.database.rfind("postgresql://", 0) == 0 || out.database.rfind("postgres://", 0) == 0) {
        out.postgres_url = out.database;  // libpq reads the URL itself, and says what is wrong with it
      } else {
        r.error(d, "database must be sqlite:PATH or a postgresql:// URL (sqlite:/var/lib/app/app.db, "
                   "postgresql://app@/shop?host=/run/postgresql)");
      }
    }
  } else {
    diags.error(name, 1, 1, "database is required (sqlite:PATH or postgresql://…)");
  }
  if (auto sl = root["slot"]) {
    if (r.scalar(sl, "slot", out.slot)) {
      const bool valid = !out.slot.empty() && out.slot.size() <= 63 &&
                         std::all_of(out.slot.begin(), out.slot.end(), [](char ch) {
                           return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
                         });
      if (!valid) r.error(sl, "slot must be 1 to 63 lower-case letters, digits and underscores (a replication slot's name)");
      else if (out.postgres_url.empty() && !out.database.empty()) r.error(sl, "slot is for a PostgreSQL database only");
    }
  }
  if (out.state_dir.empty()) diags.error(name, 1, 1, "state_dir is required (banyan-sync's own log and lock)");
  if (auto f = root["follow"]) {
    out.follow_at = position_of(f);
    if (r.scalar(f, "follow", out.follow) && out.follow.rfind("http://", 0) != 0)
      r.error(f, "follow must be the http:// URL of a feed (/internal/events is asked there)");
  }
  if (auto fw = root["foreign_writes"]) {
    std::string mode;
    if (r.scalar(fw, "foreign_writes", mode)) {
      if (mode == "refuse") out.refuse_foreign_writes = true;
      else if (mode != "count") r.error(fw, "foreign_writes must be count or refuse");
    }
  }
  if (auto aggs = root["aggregates"]; aggs && r.is_map(aggs, "aggregates")) {
    for (const auto& kv : aggs) read_aggregate(r, kv.first, kv.second, out);
    if (out.map.aggregates.empty()) r.error(aggs, "aggregates maps nothing");
  } else if (!aggs) {
    diags.error(name, 1, 1, "aggregates is required (aggregate: {table, key, fields})");
  }
  if (!out.publish && out.follow.empty())
    diags.error(name, 1, 1, "nothing to do: set publish: true, follow: URL, or both");
  return !diags.has_errors();
}
}  // namespace

bool parse_sync_config(const std::string& text, const std::string& name, sync_config& out, diagnostics& diags) {
  out.file = name;
  return read_guarded(name, diags, [&] { return read_config(text, name, out, diags); });
}

bool read_sync_config(const std::string& path, sync_config& out, diagnostics& diags) {
  std::string text;
  if (!read_text_file(path, text, diags)) return false;
  return parse_sync_config(text, path, out, diags);
}

}  // namespace banyan::sync
