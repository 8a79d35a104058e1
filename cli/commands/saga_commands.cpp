#include "commands/saga_commands.hpp"

#include "banyan/platform/http_client.hpp"
#include "banyan/platform/units.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <iomanip>
#include <memory>

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

int run_saga_list(const saga_list_options& o, const global_options& global, std::ostream& out, std::ostream& err) {
  std::unique_ptr<http::client> client;
  try {
    client = std::make_unique<http::client>(o.from);
  } catch (const std::exception& e) {
    err << "banyan: --from: " << e.what() << '\n';
    return exit_bad_input;
  }
  std::string target = "/internal/sagas?limit=" + std::to_string(o.limit);
  if (o.stuck) target += "&stuck=1";
  if (!o.status.empty()) target += "&status=" + o.status;
  if (!o.older_than.empty()) {
    std::chrono::milliseconds ms{};
    if (!parse_duration(o.older_than, ms) || ms.count() < 1) {
      err << "banyan: --older-than: expected a duration such as 30s or 500ms, got '" << o.older_than << "'\n";
      return exit_bad_input;
    }
    target += "&stuck_after_ms=" + std::to_string(ms.count());
  }
  const auto r = client->get(target);
  if (!r) {
    err << "banyan: " << o.from << " cannot be reached: " << r.error().message << '\n';
    return exit_unreachable;
  }
  boost::system::error_code ec;
  const auto body = json::parse(r->body, ec);
  if (r->status == 404) {
    err << "banyan: " << o.from << " keeps no sagas (404 at /internal/sagas)\n";
    return exit_bad_input;
  }
  if (r->status != 200 || ec || !body.is_object()) {
    err << "banyan: " << o.from << "/internal/sagas answered " << r->status << ": " << r->body << '\n';
    return r->status >= 500 ? exit_unreachable : exit_bad_input;
  }
  const auto& doc = body.as_object();
  const auto& list = doc.at("sagas").as_array();
  const auto* counts = doc.if_contains("counts");
  const auto stuck = counts && counts->is_object() ? number(counts->as_object(), "stuck") : 0;
  if (global.json()) {
    out << json::serialize(body) << '\n';
  } else {
    if (!list.empty())
      out << std::left << std::setw(16) << "SAGA" << std::setw(13) << "STATUS" << std::setw(20) << "STEP"
          << std::setw(26) << "SINCE" << "WHY\n";
    for (const auto& v : list) {
      const auto& s = v.as_object();
      std::string status = text(s, "status");
      if (const auto* overdue = s.if_contains("overdue"); overdue && overdue->is_bool() && overdue->as_bool())
        status += " !";
      std::string why = text(s, "reason");
      if (why.empty() && status.starts_with("running"))
        why = "waiting " + std::to_string(number(s, "waiting_ms") / 1000) + " s" +
              (s.contains("deadline_at") ? " (due " + text(s, "deadline_at") + ")" : std::string());
      out << std::setw(16) << text(s, "id") << std::setw(13) << status << std::setw(20) << text(s, "step")
          << std::setw(26) << text(s, "since") << why << '\n';
    }
    if (counts && counts->is_object()) {
      const auto& n = counts->as_object();
      out << number(n, "running") << " running, " << number(n, "completed") << " completed, " << number(n, "compensated")
          << " compensated; " << stuck << " stuck (past the deadline, or running over "
          << number(doc, "stuck_after_ms") / 1000 << " s)\n";
    }
  }
  return o.stuck && stuck > 0 ? exit_check_failed : exit_ok;
}

void setup_saga(CLI::App& app, const global_options& global, int& result) {
  auto* saga = app.add_subcommand("saga", "The sagas a service runs: where each stands, and the stuck ones");
  saga->require_subcommand(1);
  auto opts = std::make_shared<saga_list_options>();
  auto* list = saga->add_subcommand("list", "Each saga: its step, since when, and why it ended as it did");
  list->add_option("--from", opts->from, "URL of the service that runs them (e.g. the monolith)")->required();
  list->add_flag("--stuck", opts->stuck, "only those past their deadline or running too long; exit 1 when any");
  list->add_option("--status", opts->status, "only running, completed or compensated ones")
      ->check(CLI::IsMember({"running", "completed", "compensated"}));
  list->add_option("--older-than", opts->older_than, "with --stuck: running longer than this is stuck (default 60s)");
  list->add_option("--limit", opts->limit, "at most this many, newest first")->check(CLI::Range(1, 1000))->capture_default_str();
  list->footer("Example:\n  banyan saga list --from http://127.0.0.1:8081 --stuck");
  list->callback([opts, &global, &result] { result = run_saga_list(*opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
