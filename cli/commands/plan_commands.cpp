#include "commands/plan_commands.hpp"

#include "banyan/plan/plan.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <memory>

namespace banyan::cli {

namespace json = boost::json;

int run_plan_validate(const plan_validate_options& options, const global_options& global, std::ostream& out,
                      std::ostream& err) {
  plan::plan p;
  diagnostics diags;
  const bool valid = plan::load_plan(options.file, p, diags);
  if (global.json()) {
    json::array items;
    for (const auto& d : diags.items())
      items.push_back(json::object{{"file", d.file},
                                   {"line", d.line},
                                   {"column", d.column},
                                   {"severity", d.level == diagnostic::severity::error ? "error" : "warning"},
                                   {"message", d.message}});
    json::object result{{"file", options.file}, {"valid", valid}, {"diagnostics", std::move(items)}};
    if (valid) {
      json::array stages;
      for (const auto& s : p.stages) stages.push_back(json::string(s.name));
      result["plan"] = json::object{{"name", p.name},
                                    {"services", p.services.size()},
                                    {"routes", p.routes.size()},
                                    {"stages", std::move(stages)}};
    }
    out << json::serialize(result) << '\n';
  } else {
    err << diags.to_string();
    if (valid) {
      out << options.file << ": plan '" << p.name << "' is valid: " << p.services.size() << " service(s), "
          << p.routes.size() << " route(s), " << p.stages.size() << " stage(s)";
      std::string sep = " (";
      for (const auto& s : p.stages) {
        out << sep << s.name;
        sep = " → ";
      }
      out << (p.stages.empty() ? "" : ")") << '\n';
    }
  }
  return valid ? exit_ok : exit_bad_input;
}

void setup_plan(CLI::App& app, const global_options& global, int& result) {
  auto* plan_cmd = app.add_subcommand("plan", "Migration plans: validate, diff, apply, advance, roll back");
  plan_cmd->require_subcommand(1);

  auto opts = std::make_shared<plan_validate_options>();
  auto* validate = plan_cmd->add_subcommand("validate", "Check a plan before it touches traffic");
  validate->add_option("FILE", opts->file, "the plan (YAML)")->required();
  validate->footer(
      "Exit 0 when the plan is valid (warnings are printed), 2 with FILE:LINE:COL: lines when it is not.\n"
      "Example:\n  banyan plan validate migrations/catalog-reads.yaml");
  validate->callback([opts, &global, &result] { result = run_plan_validate(*opts, global, std::cout, std::cerr); });
}

}  // namespace banyan::cli
