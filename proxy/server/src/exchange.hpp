#pragma once
// One request's state on the data plane, from its head to its last byte: pooled per worker, so an
// idle keep-alive connection holds none of it and a request allocates none.
#include "banyan/proxy/forward_headers.hpp"
#include "banyan/proxy/http1.hpp"
#include "banyan/proxy/routing_state.hpp"
#include "banyan/proxy/upstream_failure.hpp"
#include "io_buffer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace banyan::proxy {

using tcp = boost::asio::ip::tcp;

// Bytes of a message kept for its shadow copy, up to a limit; past it only the fact is kept.
struct capture {
  std::string bytes;
  std::uint64_t limit = 0;
  bool active = false;
  bool overflow = false;
  void start(std::string_view head, std::uint64_t body_limit) {
    bytes.assign(head);
    limit = head.size() + body_limit;
    active = true;
    overflow = false;
  }
  void take(std::string_view b) {
    if (!active || overflow) return;
    if (bytes.size() + b.size() > limit)
      overflow = true;
    else
      bytes.append(b);
  }
};

// Per-request state, pooled per worker: an idle keep-alive connection holds none of it.
struct exchange {
  http1::request_head req;
  http1::response_head res;
  std::string head_out;
  io_buffer upbuf;
  // Copied from the head for the access log, since the head's bytes may move during the body.
  std::array<char, 16> method{};
  std::size_t method_len = 0;
  std::array<char, 512> target{};
  std::size_t target_len = 0;
  // Per-request values that live across suspension points: here rather than in the coroutine
  // frame, which must stay under the size Asio's frame recycling caches (1020 bytes).
  request_id rid;
  trace_context trace;
  request_forwarding fwd;
  response_forwarding rf;
  http1::error perr;
  std::shared_ptr<const routing_snapshot> snap;
  std::shared_ptr<upstream> target_upstream;
  // The upstream exchange's inputs and outcome (send_upstream).
  bool to_service = false, is_head = false, safe = false, idempotent = false;
  http1::body_kind body = http1::body_kind::none;
  std::uint64_t body_length = 0;
  bool failed = false;  // the outcome: on failure, its kind and what after_failure() said to do
  failure_kind failure = failure_kind::connect_refused;
  next_step failure_step = next_step::answer;
  bool upstream_untouched = false;  // the client failed before anything was written upstream
  route_stats* write_counted = nullptr;  // a write counted in its route's writes_in_flight until it ends
  route_stats* route = nullptr;          // the matched route's figures (null: unmatched), and its mode
  route_mode mode = route_mode::monolith;
  // Shadow copy of this request (shadow routes, and service routes with reverse shadow).
  bool shadow_copy = false, shadow_dry_run = false, shadow_primary_monolith = true;
  std::uint32_t shadow_route = 0;
  std::string shadow_method, shadow_target;
  std::string normalized_target;  // when the path was respelled (request_path.hpp)
  std::string_view path;          // what is matched and forwarded: req.target or normalized_target
  bool path_normalized = false;
  capture req_cap, res_cap;
  tcp::socket up;               // the upstream connection while it serves this request
  upstream* up_slot = nullptr;  // whose connection slot `up` holds (see connection_budget)
  explicit exchange(boost::asio::io_context& ioc) : up(ioc) { head_out.reserve(4096); }
};

}  // namespace banyan::proxy
