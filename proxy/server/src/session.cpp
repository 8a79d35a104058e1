#include "data_plane_impl.hpp"

#include "banyan/platform/clock.hpp"
#include "banyan/proxy/cutover_barrier.hpp"
#include "banyan/proxy/forward_headers.hpp"
#include "banyan/proxy/request_path.hpp"
#include "banyan/proxy/upstream_failure.hpp"

namespace banyan::proxy {

asio::awaitable<void> data_plane::impl::session(worker& w, tcp::socket client) {
  ++active;
  error_code ec_ignored;
  client.set_option(tcp::no_delay(true), ec_ignored);
  char client_ip[64] = {};
  std::size_t client_ip_len = 0;
  {
    const auto ep = client.remote_endpoint(ec_ignored);
    if (!ec_ignored) {
      const auto text = ep.address().to_string();
      client_ip_len = std::min(text.size(), sizeof client_ip);
      std::copy_n(text.data(), client_ip_len, client_ip);
    }
  }
  const std::string_view client_addr(client_ip, client_ip_len);
  connection_ctl ctl{&client, true, {}};
  auto ctl_it = w.connections.insert(w.connections.end(), &ctl);
  deadline* dl = &ctl.dl;

  io_buffer in;
  std::array<char, 512> first_bytes;  // an idle connection's only buffer
  std::string reply;                  // the proxy's own error responses (rare)
  bool keep_alive = true;
  while (keep_alive && !w.stopping) {
    // Wait for the next request holding no pooled memory: the first bytes land in a small array
    // in this frame (one recv, as Asio's speculative read allows), then move to a pooled buffer.
    ctl.idle = in.size() == 0;
    if (ctl.idle) {
      if (in.has_storage()) w.give_buffer(in);
      dl->arm(client, opt.idle_timeout);
      auto [ec, n] = co_await client.async_read_some(asio::buffer(first_bytes), use_tuple);
      if (ec || w.stopping) break;
      ctl.idle = false;
      w.take_small(in);
      if (n > in.writable().size()) w.grow(in);
      std::memcpy(in.writable().data(), first_bytes.data(), n);
      in.commit(n);
    }
    w.take_small(in);

    keep_alive = co_await serve_request(w, client, in, dl, reply, client_addr);
    dl->disarm();  // the request's upstream socket is gone
  }

  error_code ignored;
  client.shutdown(tcp::socket::shutdown_send, ignored);
  client.close(ignored);
  if (in.size() != 0) in.consume(in.size());
  w.give_buffer(in);
  w.connections.erase(ctl_it);
  --active;
}

// One request and its response, after the first bytes arrived. Its own coroutine so that an idle
// connection keeps only the small frame of session(): this frame lives for one request and comes
// from Asio's recycling allocator. Returns whether the connection may carry another request.
asio::awaitable<bool> data_plane::impl::serve_request(worker& w, tcp::socket& client, io_buffer& in, deadline* dl,
                                                      std::string& reply, std::string_view client_addr) {
  auto x = w.take_exchange();
  x->rid = {};
  x->trace = {};
  x->method_len = x->target_len = 0;  // a pooled exchange still holds the last request's
  x->shadow_copy = false;
  x->route = nullptr;
  x->req_cap.active = x->res_cap.active = false;
  // The proxy's own error answers all leave through `fail` at the end: one co_await site keeps
  // this frame small enough for Asio's frame recycling (no allocation per request).
  failure_answer fail{0, "", ""};
  route_stats* stats = nullptr;
  route_mode mode = route_mode::monolith;
  bool upstream_known = false;  // the failure concerns x->target_upstream
  clock_type::time_point started{};
  {
    // Read and parse the head.
    http1::request_head& req = x->req;
    http1::error& perr = x->perr;
    perr = {};
    const http1::parse_state st = co_await read_head(w, client, in, dl, req, perr);
    if (st == http1::parse_state::incomplete) {  // the client went away
      w.give_exchange(std::move(x));
      co_return false;
    }
    started = clock_type::now();
    x->snap = w.routing(state);
    const auto& snap = x->snap;
    stats = snap ? snap->unmatched.get() : nullptr;
    if (st == http1::parse_state::failed) {
      fail = {perr.status, perr.code, perr.message};
      goto fail;
    }
    // Admit: ids, the body limit, one spelling of the path (what is matched is what is forwarded).
    if (!admit_request(*x, fail)) goto fail;
    const auto& rid = x->rid;
    const auto& trace = x->trace;
    // Route (route_decision.hpp decides; here it is carried out). A write on a route whose
    // writes are changing owner waits for the barrier, then is routed by the routing it left.
    while (!route_request(w, *x, x->path, client_addr, stats, mode)) {
      if (!x->safe && !state.writes_allowed(steady_ms())) {
        fail = {503, "fleet_unreachable",
                "this proxy cannot reach the fleet's etcd: it refuses writes until it can (reads are served)"};
        goto fail;
      }
      if (!co_await hold_write(*x, *stats)) {
        fail = {503, "cutover_in_progress", "a write cut-over on this route is taking longer than its hold limit"};
        goto fail;
      }
    }
    auto& target = x->target_upstream;
    bool& to_service = x->to_service;
    if (!target) {
      fail = {503, "no_upstream", "no monolith is configured"};
      goto fail;
    }
    // The head the upstream gets; everything needed after the head's bytes may move is copied out.
    // A WebSocket upgrade passes through to the route's target; no other protocol switch does.
    const bool upgrade = upgrade_allowed(req);
    write_forward_head(*x, upgrade, client_addr);
    const bool is_head = req.method == "HEAD";
    const bool client_keep_alive = req.keep_alive;
    const int client_minor = req.version_minor;
    const auto body = req.body;
    const auto body_length = req.content_length;
    const bool expect_continue = req.expect_continue && body != http1::body_kind::none;
    in.consume(req.head_bytes);
    if (body != http1::body_kind::none && (body == http1::body_kind::chunked || body_length > in.size()))
      w.grow(in);  // the body streams through: use the large buffer
    if (expect_continue && in.size() == 0) {
      auto [cec, cn] = co_await write_all(client, *dl, opt.body_timeout, "HTTP/1.1 100 Continue\r\n\r\n");
      if (cec) {
        w.give_exchange(std::move(x));
        co_return false;
      }
    }

    // Send upstream: a pooled connection first; a fresh one when that fails before any answer.
    tcp::socket& up = x->up;
    http1::response_head& res = x->res;
    w.take_large(x->upbuf);
    x->is_head = is_head;
    x->body = body;
    x->body_length = body_length;
    co_await send_upstream(w, *x, client, in, dl, up);
    target->requests.fetch_add(1, std::memory_order_relaxed);

    if (x->failed) {
      if (x->upstream_untouched)
        w.give_pooled(*x);  // it carried nothing: keep it
      else
        w.close_upstream(*x);
      upstream_known = true;
      if (x->failure_step == next_step::close) {  // the client went away: nobody to answer
        finish(w, stats, mode, target.get(), to_service, 0, 0, started, *x, rid.value(), trace.trace_id());
        w.give_exchange(std::move(x));
        co_return false;
      }
      fail = answer_for(x->failure);
      goto fail;
    }
    if (to_service) target->breaker.on_success(steady_ms());

    if (res.status == 101) {
      if (!upgrade) {  // nobody asked to switch protocols: after_failure() would say answer, always
        w.close_upstream(*x);
        upstream_known = true;
        fail = answer_for(failure_kind::unexpected_upgrade);
        goto fail;
      }
      response_forwarding& rf = x->rf;
      rf = {};
      rf.request_id = rid.value();
      rf.upgrade = true;
      x->head_out.clear();
      write_response_head(res, rf, x->head_out);
      x->upbuf.consume(res.head_bytes);
      finish(w, stats, mode, target.get(), to_service, 101, 0, started, *x, rid.value(), trace.trace_id());
      co_await tunnel(client, in, up, x->upbuf, *dl, x->head_out, opt.body_timeout, opt.idle_timeout);
      w.close_upstream(*x);
      w.give_exchange(std::move(x));
      co_return false;
    }

    // Relay the response.
    const bool close_after = !client_keep_alive || res.body == http1::body_kind::until_close || w.stopping;
    const bool upstream_keep_alive = res.keep_alive;
    const auto res_body = res.body;
    const auto res_length = res.content_length;
    write_answer_head(*x, close_after, client_minor);
    std::uint64_t relayed = 0;
    relay_result r;
    bool answer_read = false;  // the upstream's whole answer is in: its connection is reusable
    if (const auto whole = whole_body(x->upbuf, res_body, res_length)) {
      // The usual small answer: head and body leave in one write, without relay's frame.
      std::string_view head = x->head_out, rest = *whole;
      error_code wec;
      if (!send_now(client, head, rest))
        std::tie(wec, std::ignore) = co_await write_all(client, *dl, opt.body_timeout, head, rest);
      r = wec ? relay_result::sink_failed : relay_result::ok;
      if (!wec)
        relayed = took_whole_body(x->upbuf, *whole, x->res_cap.active ? &x->res_cap : nullptr);
      else
        x->upbuf.consume(whole->size());  // the client left; the upstream finished its answer
      answer_read = true;
    } else {
      r = co_await relay(up, x->upbuf, client, res_body, res_length, *dl, opt.upstream_timeout, opt.body_timeout,
                         x->head_out, relayed, 0, x->res_cap.active ? &x->res_cap : nullptr);
    }
    // The upstream failing after its head went out is its fault (failure_kind::reset_mid_response);
    // the answer has started, so all that is left is to close (after_failure: response_started).
    if (r == relay_result::source_failed || r == relay_result::timeout || r == relay_result::framing)
      count_upstream_failure(*x);
    finish(w, stats, mode, target.get(), to_service, res.status, relayed, started, *x, rid.value(), trace.trace_id());
    if (x->res_cap.active && r == relay_result::ok) offer_copy(*x, stats, started);
    x->req_cap.active = x->res_cap.active = false;
    if ((r == relay_result::ok || answer_read) && upstream_keep_alive && x->upbuf.size() == 0 && !w.stopping) {
      w.give_pooled(*x);
    } else {
      w.close_upstream(*x);
    }
    w.give_exchange(std::move(x));
    if (r != relay_result::ok) co_return false;  // the head is out: all we can do is close
    co_return !close_after;
  }
fail:
  co_await send_error(client, dl, reply, fail.status, fail.code, fail.message, x->rid.value());
  finish(w, stats, mode, upstream_known ? x->target_upstream.get() : nullptr, upstream_known && x->to_service,
         fail.status, 0, started, *x, x->rid.value(), x->rid.len ? x->trace.trace_id() : std::string_view());
  w.give_exchange(std::move(x));
  co_return false;
}

// The steps below are plain functions, not coroutines: what they use lives on the stack, not in
// serve_request's frame (see data_plane_impl.hpp).

// Before routing: the request's ids, the access log's copy of method and target, the body limit,
// and one spelling of the path. False with the proxy's own answer when it refuses the request.
bool data_plane::impl::admit_request(exchange& x, failure_answer& refusal) {
  const auto& req = x.req;
  x.rid = choose_request_id(req);
  x.trace = continue_trace(req);
  if (opt.access_log_fd >= 0) {
    x.method_len = std::min(req.method.size(), x.method.size());
    std::copy_n(req.method.data(), x.method_len, x.method.data());
    x.target_len = std::min(req.target.size(), x.target.size());
    std::copy_n(req.target.data(), x.target_len, x.target.data());
  }
  if (opt.max_body_bytes && req.body == http1::body_kind::length && req.content_length > opt.max_body_bytes) {
    refusal = {413, "body_too_large", "request body exceeds the limit"};
    return false;
  }
  const path_result p = normalize_target(req.target, x.normalized_target);
  if (p.verdict == path_verdict::refused) {
    refusal = {400, p.code, p.message};
    return false;
  }
  x.path_normalized = p.verdict == path_verdict::normalized;
  x.path = x.path_normalized ? std::string_view(x.normalized_target) : req.target;
  return true;
}

// The head the upstream gets (forward_headers.hpp), and the shadow copy's start.
void data_plane::impl::write_forward_head(exchange& x, bool upgrade, std::string_view client_addr) {
  request_forwarding& fwd = x.fwd;
  fwd = {};
  fwd.upgrade = upgrade;
  if (x.path_normalized) fwd.target = x.path;
  fwd.upstream_host = x.target_upstream->authority;
  fwd.client_address = client_addr;
  fwd.request_id = x.rid.value();
  fwd.traceparent = x.trace.value();
  x.head_out.clear();
  write_request_head(x.req, fwd, x.head_out);
  if (x.shadow_copy) start_request_capture(x, x.snap->table->routes()[x.shadow_route].shadow.max_compare_bytes);
}

// The head the client gets; the upstream's head is consumed from its buffer.
void data_plane::impl::write_answer_head(exchange& x, bool close_after, int client_minor) {
  const http1::response_head& res = x.res;
  response_forwarding& rf = x.rf;
  rf = {};
  rf.request_id = x.rid.value();
  rf.close = close_after;
  rf.client_minor = client_minor;
  x.head_out.clear();
  write_response_head(res, rf, x.head_out);
  // A reverse shadow's primary must still be the service (not a fallback to the monolith).
  if (x.shadow_copy && x.shadow_primary_monolith == !x.to_service)
    x.res_cap.start(x.upbuf.readable().substr(0, res.head_bytes),
                    x.snap->table->routes()[x.shadow_route].shadow.max_compare_bytes);
  x.upbuf.consume(res.head_bytes);
}

// Where the request goes. The decision and its inputs held in serve_request's frame pushed it past
// Asio's recycling limit: two mallocs and +46 % instructions per request (bench/per-request-cost.sh).
bool data_plane::impl::route_request(worker& w, exchange& x, std::string_view path, std::string_view client_addr,
                                     route_stats*& stats, route_mode& mode) {
  auto& snap = x.snap;
  x.target_upstream = snap ? snap->monolith : nullptr;
  decision_inputs in;
  in.table = snap ? snap->table.get() : nullptr;
  in.method = x.req.method;
  in.path = path;
  in.client_address = client_addr;
  in.mirror = opt.mirror != nullptr;
  in.sample_state = &w.rng;
  const route_decision d = decide_route(in, x.req);
  x.to_service = d.to_service;
  x.safe = d.safe;
  x.idempotent = d.idempotent;
  // A fleet's instance past its lease: no write goes anywhere (the loop around refuses it).
  if (!d.safe && state.has_write_deadline() && !state.writes_allowed(steady_ms())) return false;
  if (!d.matched) return true;
  stats = snap->stats_of[d.index].get();
  mode = d.mode;
  x.route = stats;
  x.mode = d.mode;
  if (!d.safe && is_write_method(x.req.method)) {  // reads are never held, nor counted
    // The barrier's handshake (route_stats): count first, then look for a hold, then check that
    // no barrier switched the routing since this snapshot was taken.
    stats->writes_in_flight.fetch_add(1);
    if (stats->writes_held_until.load() != 0 || snap->version != state.live_version()) {
      stats->writes_in_flight.fetch_sub(1);
      return false;  // hold_write() waits while held, then takes the routing in force
    }
    x.write_counted = stats;
  }
  if (x.to_service) x.target_upstream = snap->service_of[d.index];
  take_copy_decision(x, d, stats, x.req.method, path);
  return true;
}


// Reads until a complete head is parsed (or refused): incomplete means the client went away.
asio::awaitable<http1::parse_state> data_plane::impl::read_head(worker& w, tcp::socket& client, io_buffer& in,
                                                                deadline* dl, http1::request_head& req,
                                                                http1::error& perr) {
  http1::parse_state st;
  dl->arm(client, opt.header_timeout);
  while ((st = http1::parse_request(in.readable(), req, perr, limits)) == http1::parse_state::incomplete) {
    if (in.full()) w.grow(in);
    auto [ec, n] = co_await client.async_read_some(in.writable(), use_tuple);
    if (ec) {
      if (dl->fired && in.size() > 0) {
        perr = {408, "request_timeout", "request head not received in time"};
        co_return http1::parse_state::failed;
      }
      co_return http1::parse_state::incomplete;
    }
    in.commit(n);
  }
  co_return st;
}

// The proxy's own error answer; the connection closes after it.
asio::awaitable<void> data_plane::impl::send_error(tcp::socket& client, deadline* dl, std::string& reply, int status,
                                                   std::string_view code, std::string_view message,
                                                   std::string_view request_id) {
  reply.clear();
  write_error_response(status, code, message, request_id, true, reply);
  co_await write_all(client, *dl, opt.body_timeout, reply);
}

}  // namespace banyan::proxy
