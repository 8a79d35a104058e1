#include "banyan/platform/http_server.hpp"

#include "banyan/platform/log.hpp"
#include "banyan/platform/request_id.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <charconv>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace banyan::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What a drain needs to know about a connection; touched only on the connection's strand.
struct connection_state {
  asio::any_io_executor executor;
  beast::tcp_stream* stream = nullptr;
  bool busy = false;
  // The header deadline cancels the read instead of closing the socket (as tcp_stream's own
  // timeout would), so a 408 can still be written. The generation disarms stale timer handlers.
  std::uint64_t header_generation = 0;
  bool header_timed_out = false;
};

struct parse_failure {
  int status;
  const char* code;
  const char* message;
};

parse_failure classify(const error_code& ec) {
  if (ec == bhttp::error::header_limit) return {431, "header_too_large", "request header fields too large"};
  if (ec == bhttp::error::body_limit) return {413, "body_too_large", "request body exceeds the limit"};
  if (ec == beast::error::timeout) return {408, "request_timeout", "request not received in time"};
  if (ec == bhttp::error::bad_version) return {505, "http_version_not_supported", "HTTP version not supported"};
  return {400, "bad_request", "malformed HTTP request"};
}

bool is_body_method(std::string_view m) { return m == "POST" || m == "PUT" || m == "PATCH"; }

}  // namespace

bool parse_listen_address(std::string_view text, std::string& host, std::uint16_t& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = text.substr(0, colon), p = text.substr(colon + 1);
  if (h.front() == '[') {
    if (h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty() || value > 65535) return false;
  error_code addr_ec;
  asio::ip::make_address(h, addr_ec);
  if (addr_ec && h != "localhost") return false;
  host = h == "localhost" ? "127.0.0.1" : std::string(h);
  port = static_cast<std::uint16_t>(value);
  return true;
}

struct server::impl {
  server_options opt;
  handler fn;
  metrics::registry* metrics;
  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> control;  // acceptor, signals and drain
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  std::mutex conns_mutex;
  std::unordered_set<std::shared_ptr<connection_state>> conns;
  metrics::gauge* connections_gauge = nullptr;

  impl(server_options o, handler h, metrics::registry* m)
      : opt(std::move(o)),
        fn(std::move(h)),
        metrics(m),
        ioc(opt.threads),
        control(asio::make_strand(ioc)),
        acceptor(control),
        signals(control) {
    tcp::endpoint ep(asio::ip::make_address(opt.address), opt.port);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    if (metrics)
      connections_gauge = &metrics->get_gauge("http_connections_active", "Open client connections");
  }

  asio::awaitable<void> accept_loop() {
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), use_tuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        // EMFILE and friends: back off briefly rather than spin.
        log::warn("accept failed", {{"error", ec.message()}});
        asio::steady_timer t(control, std::chrono::milliseconds(50));
        co_await t.async_wait(use_tuple);
        continue;
      }
      auto ex = socket.get_executor();
      asio::co_spawn(ex, session(std::move(socket)), asio::detached);
    }
  }

  void begin_stop() {
    if (stopping.exchange(true)) return;
    if (opt.on_drain) asio::post(control, opt.on_drain);
    asio::co_spawn(control, drain(), asio::detached);
  }

  asio::awaitable<void> drain() {
    error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    {
      std::lock_guard lock(conns_mutex);
      for (const auto& c : conns)
        asio::post(c->executor, [c] {
          if (c->stream && !c->busy) c->stream->socket().close();
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + opt.drain_timeout;
    asio::steady_timer timer(control);
    while (active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(use_tuple);
    }
    if (active.load() > 0) log::warn("drain deadline passed", {{"open_connections", active.load()}});
    ioc.stop();
  }

  template <class Body>
  asio::awaitable<error_code> write(beast::tcp_stream& stream, bhttp::response<Body>& msg) {
    stream.expires_after(opt.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, msg, use_tuple);
    co_return ec;
  }

  asio::awaitable<error_code> send(beast::tcp_stream& stream, const response& res, unsigned version, bool keep_alive,
                                   bool head_only, const std::string& request_id) {
    auto fill = [&](auto& msg) {
      msg.result(static_cast<unsigned>(res.status));
      msg.version(version);
      for (const auto& [name, value] : res.headers) msg.insert(name, value);
      msg.set(bhttp::field::server, opt.server_name);
      if (!request_id.empty()) msg.set("X-Request-Id", request_id);
      msg.keep_alive(keep_alive);
    };
    if (head_only) {
      bhttp::response<bhttp::empty_body> msg;
      fill(msg);
      msg.content_length(res.body.size());
      co_return co_await write(stream, msg);
    }
    bhttp::response<bhttp::string_body> msg;
    fill(msg);
    msg.body() = res.body;
    msg.prepare_payload();
    co_return co_await write(stream, msg);
  }

  response invoke(request& req) {
    try {
      return fn(req);
    } catch (const std::exception& e) {
      // The details go to the log, never to the client.
      log::error("handler failed", {{"request_id", req.request_id}, {"error", e.what()}});
      return error_response(500, "internal_error", "internal server error");
    }
  }

  void record(const request& req, int status, double seconds, std::size_t bytes) {
    if (metrics) {
      const std::string route = req.route.empty() ? "unmatched" : req.route;
      metrics
          ->get_counter("http_requests_total", "HTTP requests served",
                        {{"method", req.method}, {"route", route}, {"status", std::to_string(status)}})
          .inc();
      metrics
          ->get_histogram("http_request_duration_seconds", "Time to produce a response",
                          {{"method", req.method}, {"route", route}})
          .observe(seconds);
    }
    if (opt.access_log && log::enabled(log::level::info))
      log::info("request", {{"request_id", req.request_id},
                            {"method", req.method},
                            {"path", req.path},
                            {"route", req.route},
                            {"status", status},
                            {"bytes", bytes},
                            {"duration_ms", seconds * 1000.0},
                            {"remote", req.remote_address}});
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto state = std::make_shared<connection_state>();
    state->executor = co_await asio::this_coro::executor;
    error_code ep_ec;
    const auto remote_ep = socket.remote_endpoint(ep_ec);
    const std::string remote = ep_ec ? std::string() : remote_ep.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    state->stream = &stream;
    {
      std::lock_guard lock(conns_mutex);
      conns.insert(state);
    }
    ++active;
    if (connections_gauge) connections_gauge->inc();

    beast::flat_buffer buffer;
    asio::steady_timer header_timer(state->executor);
    bool keep_alive = true;
    while (keep_alive) {
      state->busy = false;
      if (stopping) break;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
      parser.body_limit(opt.body_limit);
      stream.expires_never();
      const std::uint64_t generation = ++state->header_generation;
      state->header_timed_out = false;
      header_timer.expires_after(opt.header_timeout);
      header_timer.async_wait([state, generation](const error_code& tec) {
        if (tec || state->header_generation != generation || !state->stream) return;
        state->header_timed_out = true;
        error_code ignored;
        state->stream->socket().cancel(ignored);
      });
      auto [read_ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
      ++state->header_generation;
      header_timer.cancel();
      state->busy = true;
      const auto started = std::chrono::steady_clock::now();
      error_code ec = state->header_timed_out ? error_code(beast::error::timeout) : read_ec;
      if (ec) {
        // A quiet close or an idle keep-alive timeout ends the connection without a word.
        const bool idle = ec == bhttp::error::end_of_stream || (ec == beast::error::timeout && buffer.size() == 0 &&
                                                                !parser.got_some());
        if (!idle && ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
          auto f = classify(ec);
          co_await send(stream, error_response(f.status, f.code, f.message), 11, false, false, "");
        }
        break;
      }
      const auto& head = parser.get();
      const unsigned version = head.version();
      request req;
      req.method = std::string(head.method_string());
      req.target = std::string(head.target());
      req.remote_address = remote;
      req.body_framed = !is_body_method(req.method) || head.has_content_length() || parser.chunked();
      const auto id_it = head.find("X-Request-Id");
      req.request_id = id_it != head.end() && valid_request_id(id_it->value()) ? std::string(id_it->value())
                                                                               : make_request_id();
      auto reject = [&](int status, std::string_view code, std::string_view message) {
        return error_response(status, code, message);
      };
      std::optional<response> early;
      if (version != 10 && version != 11)
        early = reject(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are supported");
      else if (version == 11 && head.find(bhttp::field::host) == head.end())
        early = reject(400, "bad_request", "HTTP/1.1 request without Host header");
      else if (!parse_target(req.target, req.path, req.query))
        early = reject(400, "bad_request", "malformed request target");
      if (early) {
        record(req, early->status, 0, early->body.size());
        co_await send(stream, *early, 11, false, false, req.request_id);
        break;
      }
      if (!parser.is_done()) {
        const auto expect = head.find(bhttp::field::expect);
        if (expect != head.end() && iequals(expect->value(), "100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
          if (co_await write(stream, cont)) break;
        }
        stream.expires_after(opt.body_timeout);
        auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
        if (body_ec) {
          if (body_ec != asio::error::operation_aborted && body_ec != asio::error::connection_reset &&
              body_ec != bhttp::error::partial_message) {
            auto f = classify(body_ec);
            auto res = error_response(f.status, f.code, f.message);
            record(req, f.status, 0, res.body.size());
            co_await send(stream, res, version, false, false, req.request_id);
          }
          break;
        }
      }
      auto msg = parser.release();
      keep_alive = msg.keep_alive();
      for (const auto& field : msg) req.headers.add(std::string(field.name_string()), std::string(field.value()));
      req.body = std::move(msg.body());

      response res = invoke(req);
      if (stopping) keep_alive = false;  // tell the client this connection is closing
      const bool head_only = req.method == "HEAD" || res.status == 204 || res.status == 304;
      // Recorded before the write, so a client that has its response also sees it counted.
      record(req, res.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
             res.body.size());
      if (co_await send(stream, res, version, keep_alive, head_only, req.request_id)) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    state->stream = nullptr;
    {
      std::lock_guard lock(conns_mutex);
      conns.erase(state);
    }
    if (connections_gauge) connections_gauge->dec();
    --active;
  }
};

server::server(server_options options, handler h, metrics::registry* metrics)
    : impl_(std::make_unique<impl>(std::move(options), std::move(h), metrics)) {
  // Before anyone can learn the address: a SIGTERM sent right after "listening on" must drain,
  // not kill. Asio keeps a signal that arrives before run() for the wait below.
  impl& s = *impl_;
  if (s.opt.handle_signals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([&s](const error_code& ec, int) {
      if (!ec) s.begin_stop();
    });
  }
}

server::~server() = default;

std::uint16_t server::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }

std::string server::local_address() const {
  const auto ep = impl_->acceptor.local_endpoint();
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

void server::run() {
  impl& s = *impl_;
  asio::co_spawn(s.control, s.accept_loop(), asio::detached);
  std::vector<std::thread> extra;
  for (int i = 1; i < s.opt.threads; ++i) extra.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : extra) t.join();
}

void server::stop() {
  asio::post(impl_->control, [s = impl_.get()] { s->begin_stop(); });
}

}  // namespace banyan::http
