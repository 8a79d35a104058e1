#include "banyan/platform/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <stdexcept>

namespace banyan::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string http_url::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool parse_http_url(std::string_view text, http_url& out, std::string& why) {
  auto u = boost::urls::parse_absolute_uri(text);
  if (!u) {
    why = "not a URL: '" + std::string(text) + "'";
    return false;
  }
  if (u->scheme() != "http") {
    why = "only http:// URLs are supported, got '" + std::string(text) + "'";
    return false;
  }
  if (u->host().empty() || u->has_userinfo() || u->has_query() || u->has_fragment()) {
    why = "expected http://HOST[:PORT][/PATH], got '" + std::string(text) + "'";
    return false;
  }
  http_url r;
  r.host = u->host();
  if (r.host.size() > 2 && r.host.front() == '[') r.host = r.host.substr(1, r.host.size() - 2);
  if (u->has_port()) {
    const auto p = u->port_number();
    if (p == 0) {
      why = "bad port in '" + std::string(text) + "'";
      return false;
    }
    r.port = p;
  }
  r.base_path = std::string(u->encoded_path());
  while (!r.base_path.empty() && r.base_path.back() == '/') r.base_path.pop_back();
  out = std::move(r);
  return true;
}

struct client::impl {
  http_url url;
  client_options options;
  boost::asio::io_context ioc{1};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;

  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    connected = false;
  }

  // Runs one asynchronous operation to completion on this thread: Beast's timeouts
  // (expires_after) apply only to asynchronous operations, never to the blocking ones.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = boost::asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  std::optional<client_error> connect() {
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec) return client_error{client_error::kind::unreachable, "cannot resolve " + url.host + ": " + ec.message()};
    stream.expires_after(options.connect_timeout);
    ec = run([&](auto done) { stream.async_connect(endpoints, done); });
    if (ec) {
      const bool timed_out = ec == beast::error::timeout;
      close();
      return client_error{timed_out ? client_error::kind::timeout : client_error::kind::unreachable,
                          "cannot connect to " + url.origin() + ": " + (timed_out ? "timed out" : ec.message())};
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    connected = true;
    return std::nullopt;
  }

  // One exchange on the current connection. `stale` says the failure came before any byte of the
  // answer on a kept connection: worth one more try on a fresh one.
  expected<response, client_error> exchange(const bhttp::request<bhttp::string_body>& req, bool& stale) {
    stale = false;
    stream.expires_after(options.timeout);
    beast::error_code ec = run([&](auto done) { bhttp::async_write(stream, req, done); });
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options.body_limit);
    if (!ec) ec = run([&](auto done) { bhttp::async_read(stream, buffer, parser, done); });
    if (ec) {
      stale = ec == bhttp::error::end_of_stream || ec == boost::asio::error::connection_reset ||
              ec == boost::asio::error::broken_pipe || ec == boost::asio::error::eof;
      const bool timed_out = ec == beast::error::timeout;
      close();
      return unexpected(client_error{timed_out ? client_error::kind::timeout : client_error::kind::protocol,
                                     url.origin() + (timed_out ? " did not answer in time" : " answered badly: " + ec.message())});
    }
    auto res = parser.release();
    response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.headers.add(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return out;
  }
};

namespace {
bhttp::request<bhttp::string_body> make_request(const http_url& url, const client_options& options,
                                                std::string_view method, std::string_view target,
                                                const header_list& headers, std::string_view body) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), url.base_path + std::string(target), 11};
  if (req.method() == bhttp::verb::unknown) req.method_string(method);
  req.set(bhttp::field::host, url.port == 80 ? url.host : url.host + ":" + std::to_string(url.port));
  req.set(bhttp::field::user_agent, options.user_agent);
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body() = std::string(body);
    req.prepare_payload();
  }
  return req;
}
}  // namespace

client::client(std::string_view base_url, client_options options) : impl_(std::make_unique<impl>()) {
  std::string why;
  if (!parse_http_url(base_url, impl_->url, why)) throw std::invalid_argument(why);
  impl_->options = std::move(options);
}

client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

const http_url& client::url() const noexcept { return impl_->url; }

expected<response, client_error> client::send(std::string_view method, std::string_view target,
                                              const header_list& headers, std::string_view body) {
  auto& s = *impl_;
  const auto req = make_request(s.url, s.options, method, target, headers, body);
  for (int attempt = 0;; ++attempt) {
    const bool reused = s.connected;
    if (!s.connected)
      if (auto err = s.connect()) return unexpected(std::move(*err));
    bool stale = false;
    auto r = s.exchange(req, stale);
    // Only an idempotent request is sent again: a POST may have been applied before the close.
    const bool idempotent = method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
    if (r || !(stale && reused && idempotent) || attempt > 0) return r;
  }
}

expected<int, client_error> client::stream(std::string_view method, std::string_view target,
                                           const header_list& headers, std::string_view body,
                                           const stream_handlers& h) {
  auto& s = *impl_;
  const auto req = make_request(s.url, s.options, method, target, headers, body);
  if (s.connected) s.close();  // a stream takes a connection of its own, closed at its end
  if (auto err = s.connect()) return unexpected(std::move(*err));
  struct closer {
    impl& i;
    ~closer() { i.close(); }
  } close_at_end{s};
  s.stream.expires_after(s.options.timeout);
  if (auto ec = s.run([&](auto done) { bhttp::async_write(s.stream, req, done); }))
    return unexpected(client_error{client_error::kind::protocol, s.url.origin() + ": " + ec.message()});
  s.stream.expires_never();  // the idle limit and keep_going are watched below instead

  // One read at a time, run in slices of 200 ms so that keep_going is asked while nothing comes.
  enum class outcome { done, stopped, idle };
  auto read = [&](auto start, beast::error_code& ec) {
    ec = boost::asio::error::would_block;
    start([&ec](beast::error_code e, std::size_t) { ec = e; });
    const auto deadline = std::chrono::steady_clock::now() + h.idle;
    outcome o = outcome::done;
    s.ioc.restart();
    while (ec == boost::asio::error::would_block) {
      s.ioc.run_for(std::chrono::milliseconds(200));
      if (ec != boost::asio::error::would_block) break;
      const bool stop = h.keep_going && !h.keep_going();
      if (stop || std::chrono::steady_clock::now() >= deadline) {
        o = stop ? outcome::stopped : outcome::idle;
        s.stream.cancel();
        s.ioc.restart();
        s.ioc.run();  // the cancelled read completes
        break;
      }
    }
    return o;
  };
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  beast::error_code ec;
  auto o = read([&](auto done) { bhttp::async_read_header(s.stream, s.buffer, parser, done); }, ec);
  if (o == outcome::stopped) return 0;
  if (o == outcome::idle) return unexpected(client_error{client_error::kind::timeout, s.url.origin() + " did not answer in time"});
  if (ec) return unexpected(client_error{client_error::kind::protocol, s.url.origin() + " answered badly: " + ec.message()});
  const int status = static_cast<int>(parser.get().result_int());
  if (h.on_status && !h.on_status(status)) return status;
  char piece[16 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    o = read([&](auto done) { bhttp::async_read_some(s.stream, s.buffer, parser, done); }, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    const std::size_t n = sizeof piece - parser.get().body().size;
    if (n > 0 && h.on_data && !h.on_data(std::string_view(piece, n))) return status;
    if (o == outcome::stopped) return status;
    if (o == outcome::idle)
      return unexpected(client_error{client_error::kind::timeout, s.url.origin() + ": nothing arrived in time"});
    if (ec) return unexpected(client_error{client_error::kind::protocol, s.url.origin() + ": " + ec.message()});
  }
  return status;
}

}  // namespace banyan::http
