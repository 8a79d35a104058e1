#include "commands/cutover_text.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <string>
#include <vector>

namespace banyan::cli {

namespace json = boost::json;

namespace {
std::string joined(const json::array& items) {
  std::string out;
  for (const auto& v : items) {
    if (!out.empty()) out += ", ";
    out += v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  }
  return out;
}

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

void print_pairs(const json::object& c, std::ostream& out, const char* verb) {
  const auto held = number(c, "held_ms"), waited = number(c, "writes_held");
  // A canary's split is no owner of its own: say what it was (or becomes) beside the pairs below.
  if (const auto* moves = c.if_contains("moves"); moves && moves->is_array())
    for (const auto& mv : moves->as_array()) {
      const auto& m = mv.as_object();
      const auto from = text(m, "from"), to = text(m, "to");
      if (from.find(' ') != std::string::npos || to.find(' ') != std::string::npos)
        out << "route " << text(m, "route") << ": " << from << " → " << to << '\n';
    }
  for (const auto& pv : c.at("pairs").as_array()) {
    const auto& p = pv.as_object();
    out << "writes " << verb << ": " << joined(p.at("routes").as_array()) << " " << text(p, "from") << " → "
        << text(p, "to") << " (held " << held << " ms, " << waited << " write" << (waited == 1 ? "" : "s")
        << " waited; ";
    if (p.at("source_has_no_feed").as_bool())
      out << text(p, "from") << " publishes no change feed: nothing to sync)\n";
    else if (p.at("source_head").is_null())
      out << text(p, "from") << "'s feed head was not read)\n";
    else if (text(p, "target_state").empty())
      out << text(p, "to") << " did not report its sync status; " << text(p, "from") << "'s feed head was "
          << number(p, "source_head") << ")\n";
    else
      out << text(p, "to") << " had applied " << number(p, "target_applied") << " of "
          << text(p, "from") << "'s " << number(p, "source_head") << ")\n";
  }
}
}  // namespace

void print_cutover(const json::value& cutover, std::ostream& out) {
  const auto* c = cutover.if_object();
  if (!c || !c->contains("pairs")) return;
  print_pairs(*c, out, c->at("switched").as_bool() ? "moved" : "not moved");
}

void print_write_owners(const json::value& routes_reply, std::ostream& out) {
  const auto* o = routes_reply.if_object();
  const auto* owners = o ? o->if_contains("write_owners") : nullptr;
  if (!owners || !owners->is_object() || owners->as_object().empty()) return;
  std::map<std::string, std::vector<std::string>> by_owner;
  for (const auto& kv : owners->as_object()) by_owner[std::string(kv.value().as_string())].push_back(kv.key());
  for (const auto& [owner, routes] : by_owner) {
    std::string list;
    for (const auto& r : routes) list += (list.empty() ? "" : ", ") + r;
    if (owner.empty())
      out << "writes split by a canary: " << list << '\n';
    else if (owner == "monolith")
      out << "writes owned by the monolith: " << list << '\n';
    else
      out << "writes owned by " << owner << ": " << list << " (its change feed syncs back to the monolith)\n";
  }
}

void print_cutover_state(const json::value& cutover_reply, std::ostream& out) {
  const auto* o = cutover_reply.if_object();
  if (!o) return;
  if (o->at("active").as_bool()) {
    out << "write cut-over in progress: " << joined(o->at("routes").as_array()) << " held for "
        << number(*o, "elapsed_ms") << " ms (" << text(*o, "step") << ")\n";
    return;
  }
  const auto& last = o->at("last");
  if (!last.is_object()) return;
  const auto& l = last.as_object();
  out << "last write cut-over, " << text(l, "finished_at") << ": ";
  if (l.at("switched").as_bool()) {
    out << "switched\n";
  } else {
    out << "gave up: " << text(l, "reason") << '\n';
  }
  print_pairs(l, out, l.at("switched").as_bool() ? "moved" : "not moved");
}

}  // namespace banyan::cli
