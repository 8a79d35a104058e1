// `banyan demo --extract shipping`: the second extraction (docs/saga.md) — legacy-shop's shipping
// moves to shipping-service by migrations/002-extract-shipping.yaml while users order and carriers
// report pickups; from the write cut-over on, every order is a saga, and one no carrier can serve
// shows the compensation.
#include "commands/admin_client.hpp"
#include "commands/data_commands.hpp"
#include "commands/demo_commands.hpp"
#include "commands/demo_plan.hpp"
#include "commands/demo_shipping_traffic.hpp"
#include "commands/demo_stack.hpp"
#include "commands/demo_text.hpp"
#include "commands/plan_commands.hpp"
#include "commands/plan_gate_commands.hpp"
#include "commands/route_commands.hpp"
#include "commands/saga_commands.hpp"

#include "banyan/platform/http_client.hpp"

#include <boost/json/parse.hpp>

#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace banyan::cli {

namespace json = boost::json;

namespace {

using clock_type = std::chrono::steady_clock;

// One order to an address no carrier serves, through the proxy: placed, then cancelled by the
// saga's compensation. What happened, in lines a user can follow; empty when it did not end so.
std::string show_compensation(const std::string& proxy_url, std::ostream& out) {
  http::client c(proxy_url);
  http::header_list h;
  h.add("Content-Type", "application/json");
  const auto who = c.send("POST", "/api/customers", h,
                          R"({"email":"expedition@example.com","name":"Polar Expedition","address":"Base 4, Ross Island, Antarctica"})");
  if (!who || who->status != 201) return {};
  const auto customer = json::parse(who->body).at("id").as_int64();
  const auto placed = c.send("POST", "/api/orders", h,
                             R"({"customer_id":)" + std::to_string(customer) + R"(,"items":[{"product_id":2,"quantity":1}]})");
  if (!placed || placed->status != 201) return {};
  const auto order = json::parse(placed->body).as_object();
  const auto id = std::to_string(order.at("id").as_int64());
  out << "\nAn order to Antarctica: POST /api/orders answers 201, status " << order.at("status") << " — legacy-shop\n"
      << "placed it, reserved its stock and asked shipping-service to book it (order.placed).\n" << std::flush;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = c.get("/api/orders/" + id);
    if (!now || now->status != 200) continue;
    const auto o = json::parse(now->body).as_object();
    if (o.at("status") == "cancelled")
      return "order " + id + ": placed → cancelled (" + std::string(o.at("cancel_reason").as_string()) +
             ")\nshipping-service published shipment.failed; legacy-shop, following its feed, ran the compensation:\n"
             "the order cancelled, its stock released.";
  }
  return {};
}

}  // namespace

int run_shipping_demo(const demo_options& options, const global_options& outer, std::ostream& out, std::ostream& err) {
  const auto began = clock_type::now();
  auto seconds = [&] { return std::chrono::duration<double>(clock_type::now() - began).count(); };
  const bool tty = ::isatty(STDOUT_FILENO) && &out == &std::cout;
  bool line_open = false;
  auto say = [&](const std::string& text) {
    if (line_open) out << '\n';
    line_open = false;
    out << text << std::flush;
  };
  const auto plan_source = find_plan(options.plan_file, "002-extract-shipping.yaml", built_in_shipping_plan());
  std::string plan_text;
  try {
    plan_text = plan_source.built_in ? *plan_source.built_in : read_file(plan_source.name);
  } catch (const std::exception& e) {
    err << "banyan demo: " << e.what() << " (give --plan FILE)\n";
    return exit_bad_input;
  }
  say("banyan demo --extract shipping: legacy-shop's shipping moves to shipping-service — the shipment\n"
      "reads, then the carriers' reports and the booking of every order — while " +
      std::to_string(options.users) + " simulated users order\nand carriers report pickups. After the write cut-over, "
      "each order is a saga: shipping-service books it,\nlegacy-shop confirms it — or cancels it and releases its stock "
      "when the booking fails.\n\n");
  try {
    demo_stack stack({"legacy-shop", "shipping-service", "banyan-proxy"});
    stack.start_shipping("5s");
    say("started in " + stack.dir() + ":\n  legacy-shop       " + stack.shop_url() +
        " (seeded; follows shipping-service back; --booking-timeout 5s)\n  shipping-service  " + stack.shipping_url() +
        " (copied the shipments, follows legacy-shop's feed)\n  banyan-proxy      " + stack.proxy_url() + " (admin " +
        stack.admin_url() + ")\n");
    ::setenv("SHIPPING_URL", stack.shipping_url().c_str(), 1);  // the plan's ${SHIPPING_URL}
    const std::string demo_plan = stack.path("002-extract-shipping.demo.yaml");
    std::ofstream(demo_plan) << demo_copy_of_plan(plan_text, plan_source.name);
    global_options g = outer;
    g.admin_url = stack.admin_url();
    g.token_file = stack.token_file();
    g.output = "text";
    if (g.operator_name.empty()) g.operator_name = "banyan-demo";

    demo_shipping_traffic traffic(stack.proxy_url(), options.users, options.rate, 240);
    {
      std::ostringstream o, e;
      plan_apply_options a;
      a.file = demo_plan;
      a.reason = "demo: start the second extraction";
      if (run_plan_apply(a, g, o, e) != exit_ok) throw std::runtime_error("plan apply failed: " + e.str());
      say("\n$ banyan plan apply " + plan_source.name + "   (the demo's copy: gates of seconds)\n" + indented(o.str()));
    }
    bool completed = false;
    std::string stage_seen;
    for (int ticks = 1; clock_type::now() - began < options.timeout; ++ticks) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::ostringstream se;
      json::object status;
      if (plan_status_json(g, status, se) != exit_ok) throw std::runtime_error("plan status failed: " + se.str());
      stage_seen = std::string(status.at("stage").as_string());
      const auto line = progress_line(status, seconds());
      if (tty) {
        out << "\r\033[K" << line << std::flush;
        line_open = true;
      } else if (ticks % 3 == 0) {
        out << line << '\n' << std::flush;
      }
      std::ostringstream ao, ae;
      const int rc = run_plan_advance({}, g, ao, ae);
      if (rc == exit_ok) {
        say("\n$ banyan plan advance\n" + indented(ao.str()));
        admin_client admin(g);
        const auto plan = admin.call("GET", "/api/v1/plan");
        if (plan.status == 200 && !plan.body.at("completed_at").as_string().empty()) {
          completed = true;
          break;
        }
      } else if (rc != exit_check_failed) {
        throw std::runtime_error("plan advance failed: " + ae.str());
      }
    }
    // The saga's compensation, once the booking is the service's.
    const std::string compensation = completed ? show_compensation(stack.proxy_url(), out) : std::string();
    if (!compensation.empty()) say(compensation + "\n");
    saga_list_options sl;
    sl.from = stack.shop_url();
    sl.limit = 5;
    {
      std::ostringstream so, se;
      run_saga_list(sl, g, so, se);
      say("\n$ banyan saga list --from " + sl.from + " --limit 5\n" + indented(so.str() + se.str()));
    }
    traffic.stop();
    const auto t = traffic.totals();
    // Every saga settled, and both sides hold the same shipments.
    {
      http::client shop(stack.shop_url());
      for (int i = 0; i < 100; ++i) {
        const auto r = shop.get("/internal/sagas?status=running&limit=1");
        if (r && r->status == 200 && json::parse(r->body).at("counts").at("running").as_int64() == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    data_verify_options v;
    v.from = stack.shop_url();
    v.to = stack.shipping_url();
    v.entity = "shipments";
    v.ignore = {"generated_at", "request_id"};
    v.page_size = 500;
    for (int i = 0; i < 50; ++i) {
      std::ostringstream o, e;
      if (run_data_verify(v, g, o, e) == exit_ok) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::ostringstream vo, ve, so, se, routes_out, routes_err;
    const int verify = run_data_verify(v, g, vo, ve);
    sl.limit = 1;
    run_saga_list(sl, g, so, se);
    run_routes(g, routes_out, routes_err);
    say("\n== summary (" + std::to_string(static_cast<int>(seconds())) + " s)\n");
    out << (completed ? "migration complete: " : "migration NOT complete: ") << "stage " << stage_seen << " of "
        << plan_source.name << '\n'
        << "routing now:\n"
        << indented(routes_out.str()) << "client requests: " << t.requests << " (" << t.orders << " orders placed, "
        << t.pickups << " pickups reported; " << t.refused << " refused by the shop, such as a pickup reported twice)\n"
        << "failed client requests: " << t.failed << '\n';
    for (const auto& f : traffic.failures()) out << "  " << f << '\n';
    const std::string sagas = so.str();
    const auto counts_at = sagas.rfind('\n', sagas.size() >= 2 ? sagas.size() - 2 : 0);
    out << "sagas: " << (counts_at == std::string::npos ? sagas : sagas.substr(counts_at + 1))
        << "compensation shown: " << (compensation.empty() ? "NO" : "yes") << '\n'
        << "data verify legacy-shop vs shipping-service: " << (verify == exit_ok ? "clean" : "DIFFERENCES") << '\n'
        << indented(verify == exit_ok ? vo.str() : vo.str() + ve.str(), 8);
    if (options.keep_files) {
      stack.keep_files();
      out << "the demo's directory stays: " << stack.dir() << '\n';
    }
    return completed && t.failed == 0 && verify == exit_ok && !compensation.empty() ? exit_ok : exit_check_failed;
  } catch (const std::exception& e) {
    say("");
    err << "banyan demo: " << e.what() << '\n';
    return exit_check_failed;
  }
}

}  // namespace banyan::cli
