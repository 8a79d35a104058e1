#include "commands/plan_commands.hpp"

#include "banyan/plan/plan.hpp"
#include "banyan/proxy/bucket.hpp"
#include "banyan/proxy/route_json.hpp"
#include "commands/admin_client.hpp"

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

namespace {
std::string setting(const proxy::route& r) {
  std::string s(proxy::to_string(r.mode));
  if (r.mode == proxy::route_mode::canary) s += " " + proxy::percent_text(r.percent_bp) + "%";
  return s;
}
}  // namespace

int run_plan_diff(const plan_diff_options& options, const global_options& global, std::ostream& out, std::ostream& err) {
  plan::plan p;
  diagnostics diags;
  if (!plan::load_plan(options.file, p, diags)) {
    err << diags.to_string();
    return exit_bad_input;
  }
  const plan::stage* stage = options.stage.empty() ? &p.stages.front() : p.find_stage(options.stage);
  if (!stage) {
    std::vector<std::string_view> names;
    for (const auto& s : p.stages) names.push_back(s.name);
    const auto hint = closest_match(options.stage, names);
    err << "banyan: plan '" << p.name << "' has no stage '" << options.stage << "'"
        << (hint.empty() ? "" : " (did you mean '" + hint + "'?)") << '\n';
    return exit_bad_input;
  }
  return with_admin(global, err, [&](admin_client& admin) {
    const auto reply = admin.call("GET", "/api/v1/routes");
    if (reply.status != 200) {
      err << "banyan: " << error_text(reply) << '\n';
      return exit_bad_input;
    }
    std::vector<proxy::route> live;
    for (const auto& v : reply.body.at("routes").as_array()) {
      proxy::route r;
      std::vector<std::string> problems;
      if (proxy::route_from_json(v, r, problems)) live.push_back(std::move(r));
    }
    std::map<std::string, std::string> services;
    for (const auto& kv : reply.body.at("services").as_object())
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
          << (!c.changed() ? "unchanged (" + setting(c.after) + ")"
                           : (c.before ? setting(*c.before) : std::string("not routed yet")) + " → " + setting(c.after))
          << '\n';
    if (d.empty()) out << "  nothing to change\n";
    return exit_ok;
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
}

}  // namespace banyan::cli
