#include "commands/plan_commands.hpp"

#include "banyan/plan/plan.hpp"
#include "banyan/proxy/bucket.hpp"
#include "banyan/proxy/route_json.hpp"
#include "banyan/platform/yaml_reader.hpp"
#include "commands/admin_client.hpp"
#include "commands/plan_gate_commands.hpp"
#include "commands/plan_progress.hpp"
#include "commands/route_commands.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <optional>
#include <set>

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

namespace {
// Loads FILE and picks its stage (the first when none is named); problems go to err.
bool load_plan_stage(const std::string& file, const std::string& stage_name, plan::plan& p, std::string& document,
                     const plan::stage*& stage, std::ostream& err) {
  diagnostics diags;
  if (!plan::load_plan(file, p, diags, &document)) {
    err << diags.to_string();
    return false;
  }
  stage = stage_name.empty() ? &p.stages.front() : p.find_stage(stage_name);
  if (!stage) {
    std::vector<std::string_view> names;
    for (const auto& s : p.stages) names.push_back(s.name);
    const auto hint = closest_match(stage_name, names);
    err << "banyan: plan '" << p.name << "' has no stage '" << stage_name << "'"
        << (hint.empty() ? "" : " (did you mean '" + hint + "'?)") << '\n';
  }
  return stage != nullptr;
}
}  // namespace

int run_plan_diff(const plan_diff_options& options, const global_options& global, std::ostream& out, std::ostream& err) {
  plan::plan p;
  std::string document;
  const plan::stage* stage = nullptr;
  if (!load_plan_stage(options.file, options.stage, p, document, stage, err)) return exit_bad_input;
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto reply = live_routing(admin, err);
    if (!reply) return exit_bad_input;
    std::vector<proxy::route> live;
    for (const auto& v : reply->at("routes").as_array()) {
      proxy::route r;
      std::vector<std::string> problems;
      if (proxy::route_from_json(v, r, problems)) live.push_back(std::move(r));
    }
    std::map<std::string, std::string> services;
    for (const auto& kv : reply->at("services").as_object())
      services[std::string(kv.key())] = std::string(kv.value().as_string());
    const auto d = plan::diff(p, *stage, live, services);
    if (global.json()) {
      json::array routes;
      for (const auto& c : d.routes)
        routes.push_back(json::object{{"id", c.id},
                                      {"before", c.before ? json::value(proxy::route_to_json(*c.before)) : json::value()},
                                      {"after", proxy::route_to_json(c.after)},
                                      {"changed", c.changed()}});
      json::array svcs;
      for (const auto& c : d.services) svcs.push_back(json::object{{"name", c.name}, {"before", c.before}, {"after", c.after}});
      out << json::serialize(json::object{{"plan", p.name}, {"stage", stage->name}, {"routes", std::move(routes)},
                                          {"services", std::move(svcs)}, {"changes", !d.empty()}})
          << '\n';
      return exit_ok;
    }
    out << "plan " << p.name << ", stage " << stage->name << " (nothing is changed by diff):\n";
    for (const auto& c : d.services)
      out << "  service " << c.name << ": " << (c.before.empty() ? "new" : c.before) << " → " << c.after << '\n';
    for (const auto& c : d.routes)
      out << "  route " << c.id << ": "
          << (!c.changed() ? "unchanged (" + describe_setting(c.after) + ")"
                           : (c.before ? describe_setting(*c.before) : std::string("not routed yet")) + " → " + describe_setting(c.after))
          << '\n';
    if (d.empty()) out << "  nothing to change\n";
    return exit_ok;
  });
}

int run_plan_apply(const plan_apply_options& options, const global_options& global, std::ostream& out, std::ostream& err) {
  plan::plan p;
  std::string document;
  const plan::stage* stage = nullptr;
  if (!load_plan_stage(options.file, options.stage, p, document, stage, err)) return exit_bad_input;
  return with_admin(global, err, [&](admin_client& admin) -> int {
    const auto live = live_routing(admin, err);
    if (!live) return exit_bad_input;
    return put_plan(admin, {p, *stage, document, *live, options.reason, options.force, "apply", ""}, global, out, err);
  });
}

int run_plan_rollback(const plan_rollback_options& options, const global_options& global, std::ostream& out,
                      std::ostream& err) {
  return with_admin(global, err, [&](admin_client& admin) -> int {
    applied_plan applied;
    if (const int code = load_applied_plan(admin, applied, err); code != exit_ok) return code;
    const plan::plan& p = applied.plan;
    const std::string& document = applied.document;
    const std::string& current = applied.stage;
    std::size_t at = 0;
    while (at < p.stages.size() && p.stages[at].name != current) ++at;
    const plan::stage* target = nullptr;
    if (options.to.empty()) {
      if (at == 0 || at == p.stages.size()) {
        err << "banyan: plan '" << p.name << "' is at its first stage '" << current
            << "': nothing earlier to roll back to (banyan route set moves single routes)\n";
        return exit_bad_input;
      }
      target = &p.stages[at - 1];
    } else {
      for (std::size_t i = 0; i < at && !target; ++i)
        if (p.stages[i].name == options.to) target = &p.stages[i];
      if (!target) {
        err << "banyan: '" << options.to << "' is not a stage before '" << current << "' in plan '" << p.name << "'\n";
        return exit_bad_input;
      }
    }
    const auto live = live_routing(admin, err);
    if (!live) return exit_bad_input;
    return put_plan(admin, {p, *target, document, *live, options.reason, false, "rollback", current}, global, out, err);
  });
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

  auto diff_opts = std::make_shared<plan_diff_options>();
  auto* diff = plan_cmd->add_subcommand("diff", "What applying a plan would change in the live routing (changes nothing)");
  diff->add_option("FILE", diff_opts->file, "the plan (YAML)")->required();
  diff->add_option("--stage", diff_opts->stage, "the stage to compare (default: the first)");
  diff->footer("Example:\n  banyan plan diff migrations/catalog-reads.yaml --stage canary-5");
  diff->callback([diff_opts, &global, &result] { result = run_plan_diff(*diff_opts, global, std::cout, std::cerr); });

  auto apply_opts = std::make_shared<plan_apply_options>();
  auto* apply = plan_cmd->add_subcommand("apply", "Put a stage of a plan in force (idempotent; audited)");
  apply->add_option("FILE", apply_opts->file, "the plan (YAML)")->required();
  apply->add_option("--stage", apply_opts->stage, "the stage (default: the first)");
  apply->add_option("--reason", apply_opts->reason, "why, for the audit log");
  apply->add_flag("--force", apply_opts->force, "replace another plan in progress (recorded as forced)");
  apply->footer("Exit 1 when another plan is in progress (use --force).\nExample:\n"
                "  banyan plan apply migrations/catalog-reads.yaml --reason \"start shadowing the catalog\"");
  apply->callback([apply_opts, &global, &result] { result = run_plan_apply(*apply_opts, global, std::cout, std::cerr); });

  auto rollback_opts = std::make_shared<plan_rollback_options>();
  auto* rollback = plan_cmd->add_subcommand("rollback", "Move the plan in progress back to an earlier stage");
  rollback->add_option("--to", rollback_opts->to, "the stage (default: the one before the current)");
  rollback->add_option("--reason", rollback_opts->reason, "why, for the audit log");
  rollback->footer("Example:\n  banyan plan rollback --to shadow --reason \"error rate over 1 %\"");
  rollback->callback(
      [rollback_opts, &global, &result] { result = run_plan_rollback(*rollback_opts, global, std::cout, std::cerr); });

  setup_plan_gates(*plan_cmd, global, result);
}

}  // namespace banyan::cli
