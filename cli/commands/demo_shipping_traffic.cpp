#include "commands/demo_shipping_traffic.hpp"

#include "banyan/platform/http_client.hpp"

#include <boost/json/parse.hpp>

#include <chrono>
#include <random>

namespace banyan::cli {

namespace json = boost::json;

demo_shipping_traffic::demo_shipping_traffic(std::string proxy_url, int users, double per_second, int products)
    : proxy_url_(std::move(proxy_url)), users_(users), products_(products), per_second_(per_second) {
  for (int n = 0; n < users_; ++n) threads_.emplace_back([this, n] { user(n); });
}

demo_shipping_traffic::~demo_shipping_traffic() { stop(); }

void demo_shipping_traffic::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

demo_shipping_traffic::counts demo_shipping_traffic::totals() const {
  return {requests_.load(), failed_.load(), refused_.load(), orders_.load(), pickups_.load()};
}

std::vector<std::string> demo_shipping_traffic::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void demo_shipping_traffic::user(int n) {
  http::client_options o;
  o.timeout = std::chrono::seconds(15);  // longer than any barrier holds a write
  o.user_agent = "banyan-demo-user";
  http::client c(proxy_url_, o);
  std::mt19937 rng(static_cast<unsigned>(n) * 2654435761u + 11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  http::header_list headers;
  headers.add("X-User-Id", "demo-user-" + std::to_string(n));
  http::header_list json_headers = headers;
  json_headers.add("Content-Type", "application/json");
  const bool carrier = n % 4 == 0;
  static constexpr const char* towns[] = {"Hamburg, Germany", "Lyon, France", "Bergen, Norway", "Porto, Portugal",
                                          "Osaka, Japan"};
  std::int64_t customer = 0;
  // An order a moment old, or 0.
  auto settled_order = [&]() -> std::int64_t {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::int64_t> old;
    for (const auto& [id, at] : placed_)
      if (now - at > std::chrono::seconds(1)) old.push_back(id);
    if (old.empty()) return 0;
    return old[static_cast<std::size_t>(pick(0, static_cast<int>(old.size()) - 1))];
  };
  // For a carrier: the oldest order no carrier has picked up yet, taken (each shipment is picked up
  // once: two carriers racing for one would make the second's report a 409 on one side and, on a
  // copy a moment behind, a 200 on the other).
  auto order_to_pick_up = [&]() -> std::int64_t {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (next_pickup_ < placed_.size() && now - placed_[next_pickup_].second > std::chrono::seconds(1))
      return placed_[next_pickup_++].first;
    return 0;
  };
  const auto period = std::chrono::duration<double>(1.0 / per_second_);
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; !stop_; ++i) {
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    std::string what, method = "GET", target, body;
    const int roll = pick(0, 99);
    std::int64_t order = 0;
    if (!carrier && customer == 0) {
      what = "sign up";
      method = "POST";
      target = "/api/customers";
      body = R"({"email":"shipping-demo-)" + std::to_string(n) + "-" + std::to_string(i) +
             R"(@example.com","name":"Demo Shopper )" + std::to_string(n) + R"(","address":")" + std::to_string(1 + n) +
             " Market Street, " + towns[n % 5] + "\"}";
    } else if (!carrier && roll < 30) {
      what = "order";
      method = "POST";
      target = "/api/orders";
      body = R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":)" +
             std::to_string(pick(1, products_)) + R"(,"quantity":1}]})";
    } else if (carrier && roll < 40 && (order = order_to_pick_up()) != 0) {
      what = "pickup " + std::to_string(order);
      method = "POST";
      target = "/api/shipments/" + std::to_string(order) + "/events";
      body = R"({"status":"picked_up","note":"van )" + std::to_string(n) + "\"}";
    } else if ((order = settled_order()) != 0) {
      what = "shipment of " + std::to_string(order);
      target = roll % 2 ? "/api/orders/" + std::to_string(order) + "/shipment" : "/api/shipments/" + std::to_string(order);
    } else {
      what = "product";
      target = "/api/products/" + std::to_string(pick(1, products_));
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
    } else if (what == "sign up") {
      customer = json::parse(r->body).at("id").as_int64();
    } else if (what == "order") {
      ++orders_;
      std::lock_guard lock(mutex_);
      placed_.emplace_back(json::parse(r->body).at("id").as_int64(), std::chrono::steady_clock::now());
    } else if (method == "POST") {
      ++pickups_;
    }
    std::this_thread::sleep_until(next);
  }
}

}  // namespace banyan::cli
