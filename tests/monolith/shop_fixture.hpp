#pragma once
// legacy-shop's app on a temporary database, driven through handle(): no sockets.
#include "app/shop_app.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace shop::test {

struct shop_fixture {
  banyan::test::temp_dir dir;
  shop::app app{dir.file("shop.db"), 2};

  banyan::http::response call(std::string method, std::string target, std::string body = {},
                              std::vector<std::pair<std::string, std::string>> headers = {}) {
    banyan::http::request req;
    for (auto& [name, value] : headers) req.headers.add(name, value);
    req.method = std::move(method);
    req.target = std::move(target);
    banyan::http::parse_target(req.target, req.path, req.query);
    req.request_id = "test-request";
    if (!body.empty()) req.headers.add("Content-Type", "application/json");
    req.body = std::move(body);
    return app.handle(req);
  }
  boost::json::value json(std::string method, std::string target, std::string body = {}) {
    auto res = call(std::move(method), std::move(target), std::move(body));
    return res.body.empty() ? boost::json::value() : boost::json::parse(res.body);
  }
  std::int64_t create_product(const std::string& sku, std::int64_t price, std::int64_t stock,
                              const std::string& currency = "EUR") {
    auto res = call("POST", "/api/products",
                    R"({"sku":")" + sku + R"(","name":"Thing )" + sku + R"(","description":"d","category":"misc",)" +
                        R"("price_cents":)" + std::to_string(price) + R"(,"currency":")" + currency + R"("})");
    if (res.status != 201) throw std::runtime_error("create product failed: " + res.body);
    const auto id = boost::json::parse(res.body).at("id").as_int64();
    if (call("PUT", "/api/inventory/" + sku, R"({"on_hand":)" + std::to_string(stock) + "}").status != 200)
      throw std::runtime_error("set stock failed");
    return id;
  }
  std::int64_t create_customer(const std::string& email) {
    auto res = call("POST", "/api/customers", R"({"email":")" + email + R"(","name":"Test Buyer"})");
    if (res.status != 201) throw std::runtime_error("create customer failed: " + res.body);
    return boost::json::parse(res.body).at("id").as_int64();
  }
};

}  // namespace shop::test
