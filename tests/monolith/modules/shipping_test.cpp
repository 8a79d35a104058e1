// legacy-shop's shipping: the rules, the booking in the order's transaction, a carrier's reports,
// and — once the proxy's barrier raised shipping's fence here — the order saga's initiator side:
// the shipping service's answers and the sweeper, with the stock kept whole.
#include "banyan/platform/clock.hpp"
#include "modules/orders/orders.hpp"
#include "modules/orders/shipment_saga.hpp"
#include "modules/shipping/shipping.hpp"

#include "monolith/shop_fixture.hpp"

#include <catch2/catch.hpp>

using shop::test::shop_fixture;
namespace json = boost::json;

namespace {
std::int64_t customer_at(shop_fixture& shop, const std::string& email, const std::string& address) {
  auto res = shop.call("POST", "/api/customers", R"({"email":")" + email + R"(","name":"Buyer","address":")" + address + R"("})");
  REQUIRE(res.status == 201);
  return json::parse(res.body).at("id").as_int64();
}
json::value place(shop_fixture& shop, std::int64_t customer, std::int64_t product, int quantity) {
  auto res = shop.call("POST", "/api/orders",
                       R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":)" +
                           std::to_string(product) + R"(,"quantity":)" + std::to_string(quantity) + "}]}");
  REQUIRE(res.status == 201);
  return json::parse(res.body);
}
// Reserved stock equals the open (placed or confirmed) orders' lines: nothing leaks.
std::int64_t reserved(shop_fixture& shop, const std::string& sku) {
  return shop.json("GET", "/api/inventory/" + sku).at("reserved").as_int64();
}
banyan::sync::feed_event answer(std::int64_t id, std::string type, std::int64_t order, json::object payload) {
  return {id, std::move(type), "shipment", std::to_string(order), std::move(payload), banyan::now_rfc3339()};
}
}  // namespace

TEST_CASE("shipping rules: carriers by country and size, tracking numbers, the statuses' order", "[shipping]") {
  std::string why;
  CHECK(shop::shipping::choose_carrier("1 Harbour Road, Hamburg, Germany", 2, why) == "parcelpost");
  CHECK(shop::shipping::choose_carrier("1 Harbour Road, Hamburg,  germany ", 6, why) == "freightline");
  CHECK(shop::shipping::choose_carrier("  ", 1, why) == "pickup");
  CHECK_FALSE(shop::shipping::choose_carrier("Base 4, Ross Island, Antarctica", 1, why));
  CHECK(why == "no carrier serves Antarctica");
  CHECK(shop::shipping::tracking_for(42) == "BNY0000000422");  // Luhn: 4 + 2·2 + 2 = 10
  CHECK(shop::shipping::tracking_for(7) == "BNY0000000075");
  CHECK(shop::shipping::tracking_for(1234567890).size() == 14);
  CHECK(shop::shipping::may_follow("booked", "picked_up"));
  CHECK(shop::shipping::may_follow("picked_up", "cancelled"));
  CHECK(shop::shipping::may_follow("in_transit", "returned"));
  CHECK_FALSE(shop::shipping::may_follow("in_transit", "cancelled"));
  CHECK_FALSE(shop::shipping::may_follow("delivered", "in_transit"));
  CHECK_FALSE(shop::shipping::may_follow("booked", "delivered"));
}

TEST_CASE("shipping in the monolith: booked with the order, reported by the carrier, cancelled with it", "[shipping]") {
  shop_fixture shop;
  const auto pid = shop.create_product("SHP-1", 1000, 10);
  const auto buyer = customer_at(shop, "s@example.com", "3 Via Roma, Turin, Italy");
  const auto order = place(shop, buyer, pid, 2);
  CHECK(order.at("status") == "confirmed");
  const auto id = std::to_string(order.at("id").as_int64());
  auto shipment = shop.json("GET", "/api/shipments/" + id);
  CHECK(shipment.at("order_id") == order.at("id"));
  CHECK(shipment.at("carrier") == "parcelpost");
  CHECK(shipment.at("address") == "3 Via Roma, Turin, Italy");
  CHECK(shipment.at("status") == "booked");
  CHECK(shipment.at("tracking").as_string().starts_with("BNY"));
  CHECK(shop.json("GET", "/api/orders/" + id + "/shipment").at("tracking") == shipment.at("tracking"));
  // The carrier reports; a report out of order is refused and changes nothing.
  CHECK(shop.call("POST", "/api/shipments/" + id + "/events", R"({"status":"picked_up","note":"depot 4"})").status == 200);
  CHECK(shop.call("POST", "/api/shipments/" + id + "/events", R"({"status":"delivered"})").status == 409);
  CHECK(shop.call("POST", "/api/shipments/" + id + "/events", R"({"status":"lost"})").status == 422);
  CHECK(shop.call("POST", "/api/shipments/" + id + "/events", R"({"status":"in_transit","x":1})").status == 422);
  CHECK(shop.call("POST", "/api/shipments/999/events", R"({"status":"in_transit"})").status == 404);
  REQUIRE(shop.call("POST", "/api/shipments/" + id + "/events", R"({"status":"in_transit"})").status == 200);
  shipment = shop.json("GET", "/api/shipments/" + id);
  REQUIRE(shipment.at("events").as_array().size() == 3);
  CHECK(shipment.at("events").at(1).at("note") == "depot 4");
  // In transit, the order can no longer be cancelled: the stock stays with it.
  const auto refused = shop.call("POST", "/api/orders/" + id + "/cancel");
  CHECK(refused.status == 409);
  CHECK(refused.body.find("shipment_under_way") != std::string::npos);
  CHECK(reserved(shop, "SHP-1") == 2);
  CHECK(shop.call("GET", "/api/orders/999/shipment").status == 404);
  // The shipments for a backfill: in id order, with their histories.
  const auto snap = shop.json("GET", "/internal/snapshot/shipment?after=0&limit=10");
  REQUIRE(snap.at("items").as_array().size() == 1);
  CHECK(snap.at("items").at(0).at("key").as_string() == id);
  CHECK(snap.at("items").at(0).at("payload").at("events").as_array().size() == 3);
  CHECK(snap.at("done") == true);
  CHECK(shop.call("GET", "/internal/snapshot/shipment?limit=0").status == 400);
  CHECK(shop.call("GET", "/api/shipments/999").status == 404);

  // No carrier serves the address: the order is cancelled with the reason, nothing reserved.
  const auto far = customer_at(shop, "far@example.com", "Base 4, Ross Island, Antarctica");
  const auto cancelled = place(shop, far, pid, 1);
  CHECK(cancelled.at("status") == "cancelled");
  CHECK(cancelled.at("cancel_reason") == "shipment failed: no carrier serves Antarctica");
  CHECK(reserved(shop, "SHP-1") == 2);
  CHECK(shop.call("GET", "/api/orders/" + std::to_string(cancelled.at("id").as_int64()) + "/shipment").status == 404);
}

TEST_CASE("the fence: the barrier moves shipping's writes here and back — another service's fence is not kept",
          "[shipping]") {
  shop_fixture shop;
  CHECK(shop.json("GET", "/internal/fence").at("up") == false);
  CHECK(shop.call("PUT", "/internal/fence", R"({"since":12,"owner":"catalog"})").status == 404);
  CHECK(shop.call("PUT", "/internal/fence", R"({"since":-1,"owner":"shipping"})").status == 422);
  REQUIRE(shop.call("PUT", "/internal/fence", R"({"since":12,"owner":"shipping"})").status == 200);
  CHECK(shop.json("GET", "/internal/fence").at("since") == 12);
  CHECK(shop.call("DELETE", "/internal/fence?owner=catalog").status == 404);  // shipping's stays up
  CHECK(shop.json("GET", "/internal/fence").at("up") == true);
  const auto down = shop.json("DELETE", "/internal/fence?owner=shipping");
  CHECK(down.at("up") == false);
  CHECK(down.at("was").at("owner") == "shipping");  // for the barrier to put back if it gives up
  CHECK(down.at("was").at("since") == 12);
  CHECK(shop.json("GET", "/internal/fence").at("up") == false);
}

TEST_CASE("the order saga, the monolith's side: the service's answers confirm or cancel, once — overdue ones are "
          "cancelled — the stock never leaks",
          "[shipping][saga]") {
  shop_fixture shop;
  const auto pid = shop.create_product("SAG-1", 500, 20);
  const auto buyer = customer_at(shop, "saga@example.com", "9 Kirkegata, Bergen, Norway");
  REQUIRE(shop.call("PUT", "/internal/fence", R"({"since":0,"owner":"shipping"})").status == 200);
  // Placed while shipping is the service's: the order waits, its stock reserved, nothing booked here.
  const auto a = place(shop, buyer, pid, 2), b = place(shop, buyer, pid, 3), c = place(shop, buyer, pid, 4);
  CHECK(a.at("status") == "placed");
  const auto a_id = a.at("id").as_int64(), b_id = b.at("id").as_int64(), c_id = c.at("id").as_int64();
  CHECK(shop.call("GET", "/api/shipments/" + std::to_string(a_id)).status == 404);
  CHECK(reserved(shop, "SAG-1") == 9);
  auto sagas = shop.json("GET", "/internal/sagas?status=running");
  CHECK(sagas.at("counts").at("running") == 3);
  CHECK(sagas.at("sagas").at(0).at("step") == "shipment booking");

  shop::orders::shipment_answers sink;
  auto conn = shop.app.db().acquire();
  // The service booked a: its shipment lands here as it has it, and the order is confirmed.
  json::object booked{{"id", a_id},       {"order_id", a_id},  {"customer_id", buyer},
                      {"carrier", "parcelpost"}, {"address", "9 Kirkegata, Bergen, Norway"}, {"status", "booked"},
                      {"tracking", shop::shipping::tracking_for(a_id)},
                      {"events", json::array{json::object{{"status", "booked"}, {"note", "with parcelpost"}, {"at", "t"}}}},
                      {"created_at", "t"}, {"updated_at", "t"}};
  {
    banyan::sqlite::transaction tx(*conn);
    CHECK(sink.apply_event(*conn, answer(1, "shipment.booked", a_id, booked), banyan::sync::sync_phase::following).what ==
          banyan::sync::apply_outcome::kind::applied);
    tx.commit();
  }
  CHECK(shop.json("GET", "/api/orders/" + std::to_string(a_id)).at("status") == "confirmed");
  CHECK(shop.json("GET", "/api/shipments/" + std::to_string(a_id)).at("carrier") == "parcelpost");
  // The service could not book b: the compensation cancels it, says why and releases its stock.
  {
    banyan::sqlite::transaction tx(*conn);
    sink.apply_event(*conn, answer(2, "shipment.failed", b_id, {{"order_id", b_id}, {"reason", "carrier down"}}),
                     banyan::sync::sync_phase::following);
    tx.commit();
  }
  const auto b_now = shop.json("GET", "/api/orders/" + std::to_string(b_id));
  CHECK(b_now.at("status") == "cancelled");
  CHECK(b_now.at("cancel_reason") == "shipment booking failed: carrier down");
  CHECK(reserved(shop, "SAG-1") == 2 + 4);
  // The same failure again (a replayed feed): no second compensation.
  {
    banyan::sqlite::transaction tx(*conn);
    sink.apply_event(*conn, answer(2, "shipment.failed", b_id, {{"order_id", b_id}, {"reason", "carrier down"}}),
                     banyan::sync::sync_phase::following);
    tx.commit();
  }
  CHECK(reserved(shop, "SAG-1") == 6);
  // c never gets an answer: past its deadline the sweeper cancels it, once.
  const auto later = banyan::unix_ms() + 31'000;
  CHECK(shop::orders::cancel_overdue(*conn, later) == 1);
  CHECK(shop::orders::cancel_overdue(*conn, later) == 0);
  const auto c_now = shop.json("GET", "/api/orders/" + std::to_string(c_id));
  CHECK(c_now.at("status") == "cancelled");
  CHECK(c_now.at("cancel_reason") == "no answer to shipment booking within 30 s");
  CHECK(reserved(shop, "SAG-1") == 2);  // only a, confirmed, holds stock
  // c's booking arrives late: the order stays cancelled (the service cancels the shipment on
  // order.cancelled, which it reads after its own answer); the saga says so.
  booked["id"] = booked["order_id"] = c_id;
  booked["tracking"] = shop::shipping::tracking_for(c_id);
  {
    banyan::sqlite::transaction tx(*conn);
    sink.apply_event(*conn, answer(3, "shipment.booked", c_id, booked), banyan::sync::sync_phase::following);
    tx.commit();
  }
  CHECK(shop.json("GET", "/api/orders/" + std::to_string(c_id)).at("status") == "cancelled");
  sagas = shop.json("GET", "/internal/sagas");
  CHECK(sagas.at("counts").at("completed") == 1);
  CHECK(sagas.at("counts").at("compensated") == 2);
  CHECK(sagas.at("counts").at("running") == 0);
  CHECK(shop.call("GET", "/internal/sagas?limit=0").status == 400);
  CHECK(shop.call("GET", "/internal/sagas?status=lost").status == 400);
  // The feed holds what the order side did: confirmed, cancelled twice.
  const auto feed = shop.json("GET", "/internal/events?after=0&limit=100");
  int confirmed = 0, cancelled = 0;
  for (const auto& e : feed.at("events").as_array()) {
    confirmed += e.at("type") == "order.confirmed" ? 1 : 0;
    cancelled += e.at("type") == "order.cancelled" ? 1 : 0;
  }
  CHECK(confirmed == 1);
  CHECK(cancelled == 2);
}

TEST_CASE("the order saga: a customer cancelling an order that waits ends its saga — a booking after it is late",
          "[shipping][saga]") {
  shop_fixture shop;
  const auto pid = shop.create_product("SAG-2", 500, 5);
  const auto buyer = customer_at(shop, "wait@example.com", "2 Calle Mayor, Madrid, Spain");
  REQUIRE(shop.call("PUT", "/internal/fence", R"({"since":0,"owner":"shipping"})").status == 200);
  const auto order = place(shop, buyer, pid, 1);
  const auto id = order.at("id").as_int64();
  REQUIRE(shop.call("POST", "/api/orders/" + std::to_string(id) + "/cancel").status == 200);
  CHECK(reserved(shop, "SAG-2") == 0);
  // The shipment is the service's to cancel (on order.cancelled): nothing written here.
  const auto feed = shop.json("GET", "/internal/events?after=0&limit=100");
  for (const auto& e : feed.at("events").as_array()) CHECK(e.at("aggregate") != "shipment");
  const auto stuck = shop.json("GET", "/internal/sagas?stuck=1");
  CHECK(stuck.at("sagas").as_array().empty());
  const auto all = shop.json("GET", "/internal/sagas");
  CHECK(all.at("sagas").at(0).at("status") == "compensated");
  CHECK(all.at("sagas").at(0).at("reason") == "cancelled by the customer");
}
