#include "commands/fleet_commands.hpp"

#include "commands/admin_client.hpp"

#include <boost/json/serialize.hpp>

#include <iomanip>

namespace banyan::cli {

namespace json = boost::json;

namespace {
std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
std::int64_t number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}
}  // namespace

int run_fleet(const global_options& global, std::ostream& out, std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto reply = admin.call("GET", "/api/v1/fleet");
    if (reply.status == 404) {
      err << "banyan: " << error_text(reply) << '\n';
      return exit_bad_input;
    }
    if (reply.status != 200) {
      err << "banyan: the fleet's instances cannot be listed: "
          << (reply.body.is_object() ? text(reply.body.as_object(), "instances_error") : std::string()) << '\n';
      if (reply.status != 503) err << "  " << error_text(reply) << '\n';
      return exit_check_failed;
    }
    if (global.json()) {
      out << json::serialize(reply.body) << '\n';
      return exit_ok;
    }
    const auto& doc = reply.body.as_object();
    const auto state = number(doc, "state_revision");
    const auto& self = doc.at("this").as_object();
    out << std::left << std::setw(28) << "INSTANCE" << std::setw(26) << "ADMIN" << std::setw(10) << "APPLIED"
        << std::setw(10) << "VERSION" << "STARTED\n";
    int lagging = 0;
    const auto& list = doc.at("instances").as_array();
    for (const auto& v : list) {
      const auto& i = v.as_object();
      const auto applied = number(i, "applied_revision");
      if (applied < state) ++lagging;
      const std::string name = text(i, "id") + (text(i, "id") == text(self, "instance") ? " (this)" : "");
      out << std::setw(28) << name << std::setw(26) << text(i, "admin") << std::setw(10)
          << (std::to_string(applied) + (applied < state ? " !" : "")) << std::setw(10) << text(i, "version")
          << text(i, "started_at") << '\n';
    }
    out << list.size() << " instance" << (list.size() == 1 ? "" : "s") << "; the fleet's state is at revision "
        << state;
    if (lagging > 0) out << "; " << lagging << " behind it (!)";
    out << '\n';
    if (text(self, "etcd") != "reachable")
      out << "this instance cannot reach etcd: " << text(self, "etcd_error") << '\n';
    return exit_ok;
  });
}

void print_fleet_lag(admin_client& admin, std::ostream& out) {
  const auto reply = admin.call("GET", "/api/v1/fleet");
  if (reply.status == 404 || !reply.body.is_object()) return;  // not a fleet
  const auto& doc = reply.body.as_object();
  if (reply.status != 200) {
    out << "  ! the fleet's instances could not be listed: " << text(doc, "instances_error") << '\n';
    return;
  }
  const auto state = number(doc, "state_revision");
  for (const auto& v : doc.at("instances").as_array()) {
    const auto& i = v.as_object();
    if (const auto applied = number(i, "applied_revision"); applied < state)
      out << "  ! instance " << text(i, "id") << " serves revision " << applied << ", the fleet's state is at " << state
          << " (banyan fleet)\n";
  }
}

void setup_fleet(CLI::App& app, const global_options& global, int& result) {
  auto* fleet = app.add_subcommand("fleet", "The proxy instances sharing one routing state, and the revision each applied");
  fleet->footer("Example:\n  banyan fleet\n  banyan fleet --output json | jq '.instances[].admin'");
  fleet->callback([&global, &result] { result = run_fleet(global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
