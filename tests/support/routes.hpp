#pragma once
// Routes and tables for the proxy's pure tests (decisions, barriers): a route for the "catalog"
// service and a table that must build.
#include "banyan/proxy/route_table.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

namespace banyan::test {

inline proxy::route catalog_route(std::string id, std::string path, proxy::route_mode mode,
                                  std::vector<std::string> methods = {}, std::uint32_t percent_bp = 0) {
  proxy::route r;
  r.id = std::move(id);
  r.path = std::move(path);
  r.methods = std::move(methods);
  r.service = "catalog";
  r.mode = mode;
  r.percent_bp = percent_bp;
  return r;
}

inline std::shared_ptr<const proxy::route_table> table_of(std::vector<proxy::route> routes) {
  std::vector<proxy::route_error> errors;
  auto t = proxy::route_table::build(std::move(routes), errors);
  INFO((errors.empty() ? "" : errors.front().message));
  REQUIRE(t);
  return t;
}

}  // namespace banyan::test
