#include "banyan/sync/sync_status.hpp"

#include <boost/json/parse.hpp>

namespace banyan::sync {

namespace json = boost::json;

json::object to_json(const sync_status& s) {
  json::object backfill{{"phase", s.backfill.phase},
                        {"position", s.backfill.position},
                        {"rows_done", s.backfill.rows_done},
                        {"rows_per_second", s.backfill.rows_per_second},
                        {"started_at", s.backfill.started_at},
                        {"copied_at", s.backfill.copied_at},
                        {"caught_up_at", s.backfill.caught_up_at}};
  backfill["rows_total"] = s.backfill.rows_total ? json::value(*s.backfill.rows_total) : json::value(nullptr);
  return {{"source", s.source},
          {"entity", s.entity},
          {"state", s.state},
          {"why", s.why},
          {"applied", s.applied},
          {"head", s.head},
          {"lag_events", s.lag_events},
          {"lag_seconds", s.lag_seconds},
          {"source_reachable", s.source_reachable},
          {"last_contact", s.last_contact},
          {"events_applied", s.events_applied},
          {"events_ignored", s.events_ignored},
          {"last_ignored", s.last_ignored},
          {"backfill", std::move(backfill)},
          {"foreign_writes", s.foreign_writes ? json::value(*s.foreign_writes) : json::value(nullptr)}};
}

namespace {
struct reader {
  const json::object& o;
  std::string missing;
  void text(std::string_view k, std::string& out) {
    if (const auto* v = o.if_contains(k); v && v->is_string()) out = std::string(v->as_string());
    else if (missing.empty()) missing = std::string(k);
  }
  void integer(std::string_view k, std::int64_t& out) {
    if (const auto* v = o.if_contains(k); v && v->is_int64()) out = v->as_int64();
    else if (v && v->is_uint64()) out = static_cast<std::int64_t>(v->as_uint64());
    else if (missing.empty()) missing = std::string(k);
  }
  void number(std::string_view k, double& out) {
    if (const auto* v = o.if_contains(k); v && v->is_number()) out = v->to_number<double>();
    else if (missing.empty()) missing = std::string(k);
  }
};
}  // namespace

expected<sync_status, std::string> parse_sync_status(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return unexpected(std::string("sync status: not a JSON object"));
  sync_status s;
  reader r{v.as_object(), {}};
  r.text("source", s.source);
  r.text("entity", s.entity);
  r.text("state", s.state);
  r.text("why", s.why);
  r.integer("applied", s.applied);
  r.integer("head", s.head);
  r.integer("lag_events", s.lag_events);
  r.number("lag_seconds", s.lag_seconds);
  if (const auto* b = v.as_object().if_contains("source_reachable"); b && b->is_bool()) s.source_reachable = b->as_bool();
  r.text("last_contact", s.last_contact);
  r.integer("events_applied", s.events_applied);
  r.integer("events_ignored", s.events_ignored);
  r.text("last_ignored", s.last_ignored);
  if (const auto* f = v.as_object().if_contains("foreign_writes"); f && f->is_int64()) s.foreign_writes = f->as_int64();
  if (!r.missing.empty()) return unexpected("sync status: no valid \"" + r.missing + "\"");
  if (s.state != "backfilling" && s.state != "following" && s.state != "stopped")
    return unexpected("sync status: unknown state \"" + s.state + "\"");
  if (const auto* b = v.as_object().if_contains("backfill"); b && b->is_object()) {
    reader br{b->as_object(), {}};
    br.text("phase", s.backfill.phase);
    br.integer("position", s.backfill.position);
    br.integer("rows_done", s.backfill.rows_done);
    br.number("rows_per_second", s.backfill.rows_per_second);
    br.text("started_at", s.backfill.started_at);
    br.text("copied_at", s.backfill.copied_at);
    br.text("caught_up_at", s.backfill.caught_up_at);
    if (const auto* t = b->as_object().if_contains("rows_total"); t && t->is_int64()) s.backfill.rows_total = t->as_int64();
    if (!br.missing.empty()) return unexpected("sync status: no valid \"backfill." + br.missing + "\"");
  }
  return s;
}

}  // namespace banyan::sync
