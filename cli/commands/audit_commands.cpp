#include "commands/audit_commands.hpp"

#include "commands/admin_client.hpp"
#include "commands/validators.hpp"

#include <boost/json/serialize.hpp>

#include <iomanip>
#include <memory>

namespace banyan::cli {

namespace json = boost::json;

int run_audit(const audit_options& options, const global_options& global, std::ostream& out, std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto reply = admin.call(
        "GET", "/api/v1/audit?after=" + std::to_string(options.after) + "&limit=" + std::to_string(options.limit));
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      return exit_bad_input;
    }
    if (global.json()) {
      out << json::serialize(reply.body) << '\n';
      return exit_ok;
    }
    const auto& entries = reply.body.at("entries").as_array();
    out << std::left << std::setw(6) << "ID" << std::setw(26) << "WHEN" << std::setw(14) << "WHO" << std::setw(18)
        << "WHAT" << std::setw(18) << "TARGET" << "WHY\n";
    for (const auto& e : entries)
      out << std::setw(6) << e.at("id").as_int64() << std::setw(26) << std::string(e.at("at").as_string()) << std::setw(14)
          << std::string(e.at("operator").as_string()) << std::setw(18) << std::string(e.at("action").as_string())
          << std::setw(18) << std::string(e.at("target").as_string()) << std::string(e.at("reason").as_string()) << '\n';
    if (entries.empty()) out << "(no entries after " << options.after << ")\n";
    return exit_ok;
  });
}

void setup_audit(CLI::App& app, const global_options& global, int& result) {
  auto opts = std::make_shared<audit_options>();
  auto* audit = app.add_subcommand("audit", "Who changed what, when, why");
  audit->add_option("--after", opts->after, "only entries after this id")->check(CLI::NonNegativeNumber);
  audit->add_option("--limit", opts->limit, "at most this many entries (1-1000)")->check(between(1, 1000));
  audit->footer("Example:\n  banyan audit --limit 20\n  banyan audit --output json | jq '.entries[].reason'");
  audit->callback([opts, &global, &result] { result = run_audit(*opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
