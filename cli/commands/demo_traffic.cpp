#include "commands/demo_traffic.hpp"

#include "banyan/platform/http_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <random>

namespace banyan::cli {

namespace json = boost::json;

demo_traffic::demo_traffic(std::string proxy_url, int users, double per_second, int products)
    : proxy_url_(std::move(proxy_url)), users_(users), products_(products), per_second_(per_second) {
  for (int n = 0; n < users_; ++n) threads_.emplace_back([this, n] { user(n); });
}

demo_traffic::~demo_traffic() { stop(); }

void demo_traffic::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

demo_traffic::counts demo_traffic::totals() const {
  return {requests_.load(), failed_.load(), refused_.load(), writes_.load()};
}

std::vector<std::string> demo_traffic::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void demo_traffic::user(int n) {
  http::client_options o;
  o.timeout = std::chrono::seconds(15);  // longer than any barrier holds a write
  o.user_agent = "banyan-demo-user";
  http::client c(proxy_url_, o);
  std::mt19937 rng(static_cast<unsigned>(n) * 2654435761u + 7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  http::header_list headers;
  headers.add("X-User-Id", "demo-user-" + std::to_string(n));
  http::header_list json_headers = headers;
  json_headers.add("Content-Type", "application/json");
  const bool editor = n % 4 == 0;  // a quarter of the users are staff who edit the catalog
  std::int64_t customer = 0;
  std::vector<std::int64_t> added;  // products this editor added and may remove
  static constexpr const char* words[] = {"Kettle", "Lamp", "Tent", "Puzzle", "Towel", "Atlas", "Speaker", "Hose"};
  static constexpr const char* categories[] = {"kitchen", "garden", "books", "toys", "outdoor", "office", "audio", "bath"};
  const auto period = std::chrono::duration<double>(1.0 / per_second_);
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; !stop_; ++i) {
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    std::string what, method = "GET", target, body;
    const int roll = pick(0, 99);
    if (customer == 0 && !editor) {
      what = "sign up";
      method = "POST";
      target = "/api/customers";
      body = R"({"email":"demo-user-)" + std::to_string(n) + "-" + std::to_string(i) + R"(@example.com","name":"Demo User )" +
             std::to_string(n) + "\"}";
    } else if (editor && roll < 40) {
      // Staff change a price: read the product, put it back with the new price.
      const int id = pick(1, products_);
      what = "edit product " + std::to_string(id);
      auto got = c.get("/api/products/" + std::to_string(id), headers);
      if (got && got->status == 200) {
        auto p = json::parse(got->body).as_object();
        json::object edit{{"sku", p.at("sku")},           {"name", p.at("name")},
                          {"description", p.at("description")}, {"category", p.at("category")},
                          {"price_cents", (p.at("price_cents").as_int64() / 100 + pick(-3, 3)) * 100 + 99},
                          {"currency", p.at("currency")}};
        if (edit["price_cents"].as_int64() < 99) edit["price_cents"] = 99;
        method = "PUT";
        target = "/api/products/" + std::to_string(id);
        body = json::serialize(edit);
      } else {
        target = "/api/products/" + std::to_string(id);  // counted below as what it was
      }
    } else if (editor && roll < 46 && new_products_) {
      what = "add product";
      method = "POST";
      target = "/api/products";
      body = R"({"sku":"DEMO-)" + std::to_string(n) + "-" + std::to_string(i) + R"(","name":"Demo item )" +
             std::to_string(i) + R"(","description":"Added during the demo","category":"new-arrivals","price_cents":)" +
             std::to_string(pick(5, 90) * 100 + 99) + R"(,"currency":"EUR"})";
    } else if (editor && roll < 50 && new_products_ && !added.empty()) {
      what = "remove product " + std::to_string(added.front());
      method = "DELETE";
      target = "/api/products/" + std::to_string(added.front());
      added.erase(added.begin());
    } else if (roll < 35) {
      what = "browse";
      target = "/api/products?page=" + std::to_string(pick(1, 12)) + "&page_size=20";
    } else if (roll < 45) {
      what = "search";
      target = roll % 2 ? std::string("/api/products?q=") + words[pick(0, 7)]
                        : std::string("/api/products?category=") + categories[pick(0, 7)];
    } else if (roll < 92 || customer == 0) {
      what = "view";
      target = "/api/products/" + std::to_string(pick(1, products_));
    } else {
      what = "order";
      method = "POST";
      target = "/api/orders";
      body = R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":)" +
             std::to_string(pick(1, products_)) + R"(,"quantity":1}]})";
    }
    const auto r = c.send(method, target, body.empty() ? headers : json_headers, body);
    ++requests_;
    const int status = r ? r->status : 0;
    if (status == 0 || status >= 500) {
      ++failed_;
      std::lock_guard lock(mutex_);
      if (failures_.size() < 10)
        failures_.push_back(what + ": " + (r ? std::to_string(status) + " " + r->body.substr(0, 200) : r.error().message));
    } else if (status >= 400) {
      ++refused_;
    } else if (method != "GET") {
      ++writes_;
      if (what == "sign up") customer = json::parse(r->body).at("id").as_int64();
      if (what == "add product") added.push_back(json::parse(r->body).at("id").as_int64());
    }
    std::this_thread::sleep_until(next);
  }
}

}  // namespace banyan::cli
