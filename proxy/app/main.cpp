// banyan-proxy: the strangler proxy in front of a monolith.
#include "banyan/platform/http_server.hpp"
#include "banyan/proxy/data_plane.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App cli{"banyan-proxy: move a monolith's routes to extracted services, one at a time"};
  std::string listen = "127.0.0.1:8080", monolith;
  int threads = 1;
  cli.add_option("--listen", listen, "ADDR:PORT for client traffic; port 0 picks a free one")->capture_default_str();
  cli.add_option("--monolith", monolith, "the monolith's URL, e.g. http://127.0.0.1:8081")->required();
  cli.add_option("--threads", threads, "event-loop threads")->check(CLI::Range(1, 256))->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  banyan::proxy::data_plane_options options;
  if (!banyan::http::parse_listen_address(listen, options.address, options.port)) {
    std::cerr << "banyan-proxy: --listen: expected ADDR:PORT, got '" << listen << "'\n";
    return 2;
  }
  options.threads = threads;
  banyan::proxy::routing_state state;
  std::vector<banyan::proxy::route_error> errors;
  if (!state.install({}, {}, monolith, errors)) {
    std::cerr << "banyan-proxy: " << errors.front().message << '\n';
    return 2;
  }
  banyan::proxy::data_plane plane(options, state);
  std::printf("listening on %s\n", plane.local_address().c_str());
  std::fflush(stdout);
  plane.run();
  return 0;
}
