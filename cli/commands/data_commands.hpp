#pragma once
// banyan data verify: an entity compared on two sides (any two HTTP APIs that list it with paging),
// by count and per-row checksums, with the differing rows and fields named.
#include "commands/global_options.hpp"

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace banyan::cli {

struct data_verify_options {
  std::string from, to;  // base URLs
  std::string entity;    // "products"
  std::string key = "id";
  std::vector<std::string> ignore;
  std::string path = "/api/{entity}";  // the listing, relative to each base URL; rows at PATH/{key}
  int page_size = 100;
  std::string items_field = "items";
  int max_listed = 20;  // differing rows printed in text output (all of them in JSON)
  std::vector<std::string> fences;  // banyan-sync URLs whose foreign writes count as a difference
  // ranges: key-range checksums (both sides must serve them); listing: every row of both listings;
  // auto: ranges where both sides serve them, else the listings.
  std::string method = "auto";
};

void setup_data(CLI::App& app, const global_options& global, int& result);
int run_data_verify(const data_verify_options& options, const global_options& global, std::ostream& out,
                    std::ostream& err);

}  // namespace banyan::cli
