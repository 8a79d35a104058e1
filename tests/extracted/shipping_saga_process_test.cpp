// The second extraction as users run it (docs/saga.md): legacy-shop and shipping-service following
// each other, banyan-proxy's write cut-over moving shipping's writes, and from then on every order
// a saga — booked by the service, confirmed or cancelled (its stock released) by the monolith —
// through a failing address, a hung service and the booking timeout. Real binaries, port 0.
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <thread>

using namespace banyan::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

struct shipping_process {
  child_process proc;
  std::uint16_t port;
  shipping_process(const std::string& db, const std::string& log, const std::string& source,
                   std::vector<std::string> extra = {})
      : proc([&] {
          std::vector<std::string> argv{binary("shipping-service"), "--listen", "127.0.0.1:0", "--db", db, "--source",
                                        source, "--poll-interval", "20ms"};
          argv.insert(argv.end(), extra.begin(), extra.end());
          return argv;
        }(),
             log),
        port(wait_for_listening(proc)) {}
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

json::value get(std::uint16_t port, const std::string& target) {
  const auto r = http_call(port, "GET", target);
  INFO(target << ": " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

std::string order_status(std::uint16_t port, std::int64_t id) {
  return std::string(get(port, "/api/orders/" + std::to_string(id)).at("status").as_string());
}

// Every open order's lines are reserved, and nothing else: the sum of reservations per SKU equals
// the quantities of the placed and confirmed orders (read from the monolith's own database).
void stock_is_whole(std::uint16_t shop_port, const std::vector<std::int64_t>& orders, const std::vector<std::string>& skus) {
  std::map<std::string, std::int64_t> open;
  for (const auto id : orders) {
    const auto o = get(shop_port, "/api/orders/" + std::to_string(id));
    if (o.at("status") == "cancelled") continue;
    for (const auto& l : o.at("lines").as_array()) open[std::string(l.at("sku").as_string())] += l.at("quantity").as_int64();
  }
  for (const auto& sku : skus) {
    INFO(sku);
    CHECK(get(shop_port, "/api/inventory/" + sku).at("reserved").as_int64() == open[sku]);
  }
}

}  // namespace

TEST_CASE("shipping moves out with the proxy's cut-over — every order after it is a saga that ends confirmed or "
          "cancelled, with its stock whole",
          "[saga][process]") {
  temp_dir dir;
  // The monolith (fresh, with two products and three buyers), then the service copying it, then the
  // monolith again on its port, following the service back.
  auto shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop.log"), false);
  const auto shop_port = shop->port;
  auto post = [&](std::uint16_t port, const std::string& target, const std::string& body) {
    const auto r = http_json(port, "POST", target, body);
    INFO(target << " " << body << ": " << r.status << " " << r.body);
    REQUIRE((r.status == 200 || r.status == 201));
    return json::parse(r.body);
  };
  const auto product = post(shop_port, "/api/products",
                            R"({"sku":"SAGA-1","name":"Kettle","description":"d","category":"kitchen","price_cents":2000,"currency":"EUR"})")
                           .at("id").as_int64();
  REQUIRE(http_json(shop_port, "PUT", "/api/inventory/SAGA-1", R"({"on_hand":100})").status == 200);
  const auto near = post(shop_port, "/api/customers", R"({"email":"n@example.com","name":"Near","address":"1 Harbour Road, Hamburg, Germany"})").at("id").as_int64();
  const auto far = post(shop_port, "/api/customers", R"({"email":"f@example.com","name":"Far","address":"Base 4, Ross Island, Antarctica"})").at("id").as_int64();
  auto order_body = [&](std::int64_t customer, int quantity) {
    return R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":)" + std::to_string(product) +
           R"(,"quantity":)" + std::to_string(quantity) + "}]}";
  };
  std::vector<std::int64_t> orders;
  // Before: booked in the order's own transaction.
  const auto before = post(shop_port, "/api/orders", order_body(near, 1));
  CHECK(before.at("status") == "confirmed");
  orders.push_back(before.at("id").as_int64());

  shipping_process svc(dir.file("svc.db"), dir.file("svc.log"), shop->url());
  REQUIRE(shop->stop() == 0);
  shop = std::make_unique<shop_process>(dir.file("shop.db"), dir.file("shop.log"), false, shop_port,
                                        std::vector<std::string>{"--follow-shipping", svc.url(), "--booking-timeout", "3s"});
  // The service has the monolith's shipment.
  REQUIRE(eventually([&] { return http_call(svc.port, "GET", "/api/shipments/" + std::to_string(orders[0])).status == 200; }, 10s));
  CHECK(get(svc.port, "/api/orders/" + std::to_string(orders[0]) + "/shipment").at("tracking") ==
        get(shop_port, "/api/orders/" + std::to_string(orders[0]) + "/shipment").at("tracking"));

  // The proxy: carriers' reports are shipping's writes; they move with the barrier.
  proxy_process proxy(dir, shop->url(),
                      "access_log: off\nhealth_checks: {path: \"\"}\ncutover: {hold_limit: 3s}\ndata:\n  monolith: " +
                          shop->url() + "\n  shipping: " + svc.url() + "\n");
  REQUIRE(proxy.admin("PUT", "/api/v1/routes", R"({"services":{"shipping":")" + svc.url() + R"("},"routes":[
      {"id":"shipment-events","match":{"methods":["POST"],"path":"/api/shipments/{id}/events"},"service":"shipping","mode":"monolith"},
      {"id":"shipment","match":{"methods":["GET"],"path":"/api/shipments/{id}"},"service":"shipping","mode":"shadow"}]})")
              .status == 200);
  const auto moved = proxy.admin("POST", "/api/v1/routes/shipment-events/mode", R"({"mode":"service","reason":"shipping out"})");
  INFO(moved.body);
  REQUIRE(moved.status == 200);
  CHECK(json::parse(moved.body).at("cutover").at("switched") == true);
  CHECK(get(shop_port, "/internal/fence").at("owner") == "shipping");
  CHECK(get(svc.port, "/internal/fence").at("up") == false);

  // After: each order waits for the service. A deliverable one is confirmed; one no carrier serves
  // is cancelled by the compensation, with the service's reason.
  const auto ok = post(proxy.port, "/api/orders", order_body(near, 2));
  CHECK(ok.at("status") == "placed");
  const auto refused = post(proxy.port, "/api/orders", order_body(far, 3));
  orders.push_back(ok.at("id").as_int64());
  orders.push_back(refused.at("id").as_int64());
  REQUIRE(eventually([&] { return order_status(proxy.port, orders[1]) == "confirmed"; }, 10s));
  REQUIRE(eventually([&] { return order_status(proxy.port, orders[2]) == "cancelled"; }, 10s));
  CHECK(get(proxy.port, "/api/orders/" + std::to_string(orders[2])).at("cancel_reason") ==
        "shipment booking failed: no carrier serves Antarctica");
  // The service's booking is in the monolith too (reverse sync), with the same tracking.
  REQUIRE(eventually([&] { return http_call(shop_port, "GET", "/api/shipments/" + std::to_string(orders[1])).status == 200; }, 10s));
  CHECK(get(shop_port, "/api/shipments/" + std::to_string(orders[1])).at("tracking") ==
        get(svc.port, "/api/shipments/" + std::to_string(orders[1])).at("tracking"));
  // A carrier's report goes to the service now, and comes back to the monolith.
  post(proxy.port, "/api/shipments/" + std::to_string(orders[1]) + "/events", R"({"status":"picked_up","note":"depot"})");
  REQUIRE(eventually([&] { return get(shop_port, "/api/shipments/" + std::to_string(orders[1])).at("status") == "picked_up"; }, 10s));

  // The service hangs: the order waits, and at the booking timeout the monolith cancels it.
  svc.proc.signal(SIGSTOP);
  const auto waiting = post(proxy.port, "/api/orders", order_body(near, 4));
  orders.push_back(waiting.at("id").as_int64());
  const auto stuck = get(shop_port, "/internal/sagas?status=running");
  CHECK(stuck.at("counts").at("running") == 1);
  // An operator asks which sagas are stuck (waiting over half a second, here): exit 1, and which.
  std::this_thread::sleep_for(600ms);
  const auto listed = run_banyan({"saga", "list", "--from", shop->url(), "--stuck", "--older-than", "500ms"}, dir);
  INFO(listed.out << listed.err);
  CHECK(listed.code == 1);
  CHECK(listed.out.find("order-" + std::to_string(orders[3])) != std::string::npos);
  CHECK(listed.out.find("shipment booking") != std::string::npos);
  CHECK(listed.out.find("1 stuck") != std::string::npos);
  REQUIRE(eventually([&] { return order_status(shop_port, orders[3]) == "cancelled"; }, 10s));
  CHECK(get(shop_port, "/api/orders/" + std::to_string(orders[3])).at("cancel_reason") ==
        "no answer to shipment booking within 3 s");
  // It comes back: it books the order late, then reads its cancellation and cancels the shipment;
  // the order stays cancelled, and no compensation ran twice.
  svc.proc.signal(SIGCONT);
  REQUIRE(eventually([&] {
    const auto r = http_call(shop_port, "GET", "/api/shipments/" + std::to_string(orders[3]));
    return r.status == 200 && json::parse(r.body).at("status") == "cancelled";
  }, 15s));
  CHECK(order_status(shop_port, orders[3]) == "cancelled");
  const auto sagas = get(shop_port, "/internal/sagas");
  CHECK(sagas.at("counts").at("completed") == 1);
  CHECK(sagas.at("counts").at("compensated") == 2);
  CHECK(sagas.at("counts").at("stuck") == 0);
  const auto none = run_banyan({"saga", "list", "--from", shop->url(), "--stuck"}, dir);
  CHECK(none.code == 0);
  CHECK(none.out.find("0 stuck") != std::string::npos);
  const auto all = run_banyan({"saga", "list", "--from", shop->url()}, dir);
  CHECK(all.out.find("compensated") != std::string::npos);
  CHECK(all.out.find("no answer to shipment booking within 3 s") != std::string::npos);
  CHECK(run_banyan({"saga", "list", "--from", "not a url"}, dir).code == 2);
  CHECK(run_banyan({"saga", "list", "--from", svc.url()}, dir).code == 2);  // keeps no sagas
  int cancellations = 0;
  const auto feed = get(shop_port, "/internal/events?after=0&limit=1000");  // named: the loop must not outlive it
  for (const auto& e : feed.at("events").as_array())
    cancellations += e.at("type") == "order.cancelled" ? 1 : 0;
  CHECK(cancellations == 2);
  stock_is_whole(shop_port, orders, {"SAGA-1"});
}
