// banyan: the operator's CLI for migrations with banyan-proxy.
#include "commands/audit_commands.hpp"
#include "commands/data_commands.hpp"
#include "commands/fleet_commands.hpp"
#include "commands/demo_commands.hpp"
#include "commands/global_options.hpp"
#include "commands/plan_commands.hpp"
#include "commands/route_commands.hpp"
#include "commands/saga_commands.hpp"
#include "commands/shadow_commands.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  using namespace banyan::cli;
  CLI::App app{"banyan: move a monolith's routes to extracted services, stage by stage, on evidence"};
  app.set_version_flag("--version", std::string("banyan ") + BANYAN_VERSION);
  app.require_subcommand(1);
  // Global options may come anywhere (`banyan plan apply FILE --token-file F`); subcommands inherit
  // this, so it is set before they are added.
  app.fallthrough();
  global_options global;
  app.add_option("--admin", global.admin_url, "the proxy's admin URL")->capture_default_str();
  app.add_option("--token-file", global.token_file,
                 "file holding the admin bearer token (default $BANYAN_TOKEN_FILE, else banyan-state/admin.token)");
  app.add_option("--output", global.output, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  app.add_option("--as", global.operator_name, "operator recorded in the audit log (default $USER)");
  app.footer("Exit codes: 0 success, 1 a gate or check failed, 2 bad input or usage, 3 cannot reach the proxy.");

  int result = exit_ok;
  setup_plan(app, global, result);
  setup_routes(app, global, result);
  setup_audit(app, global, result);
  setup_shadow(app, global, result);
  setup_data(app, global, result);
  setup_demo(app, global, result);
  setup_fleet(app, global, result);
  setup_saga(app, global, result);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    return exit_bad_input;
  }
  return result;
}
