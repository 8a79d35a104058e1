#include "banyan/proxy/shadow_mirror.hpp"

#include "banyan/platform/ascii.hpp"

#include "banyan/proxy/http1.hpp"
#include "banyan/shadow/recorder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <thread>

namespace banyan::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The status of a response whose body was not captured whole.
void head_only(std::string_view raw, std::string_view method, shadow::captured_response& out) {
  http1::response_head head;
  http1::error err;
  http1::limits lim;
  lim.max_head_bytes = 64 * 1024;
  if (http1::parse_response(raw, method, head, err, lim) == http1::parse_state::complete) {
    out.status = head.status;
    for (std::size_t i = 0; i < head.header_count; ++i) {
      out.headers.emplace_back(ascii_lowered(head.headers[i].name), std::string(head.headers[i].value));
    }
  } else {
    out.failure = "malformed response head";
  }
}
}  // namespace

struct shadow_mirror::impl {
  shadow::shadow_recorder& recorder;
  mirror_options opt;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::atomic<std::uint64_t> queued{0};  // offered and not finished
  std::atomic<std::uint64_t> running_now{0};
  // Mirror thread only:
  std::deque<mirror_job> waiting;
  std::size_t running = 0;
  std::map<std::string, std::uint64_t> copies_by_route;
  std::thread thread;

  impl(shadow::shadow_recorder& r, mirror_options o) : recorder(r), opt(o) {}

  void pump() {
    while (running < opt.max_in_flight && !waiting.empty()) {
      ++running;
      running_now.store(running, std::memory_order_relaxed);
      asio::co_spawn(ioc, copy(std::move(waiting.front())), [this](std::exception_ptr) {
        --running;
        running_now.store(running, std::memory_order_relaxed);
        queued.fetch_sub(1, std::memory_order_relaxed);
        pump();
      });
      waiting.pop_front();
    }
  }

  std::vector<std::vector<tcp::socket>> idle;  // by upstream id: keep-alive connections for copies

  tcp::socket take_idle(const upstream& u) {
    if (idle.size() <= u.id) idle.resize(u.id + 1);
    auto& pool = idle[u.id];
    if (pool.empty()) return tcp::socket(ioc);
    tcp::socket s = std::move(pool.back());
    pool.pop_back();
    return s;
  }
  void give_idle(const upstream& u, tcp::socket s) {
    if (idle.size() <= u.id) idle.resize(u.id + 1);
    if (idle[u.id].size() < opt.max_in_flight) idle[u.id].push_back(std::move(s));
  }

  // One request to `u` and its whole response (up to `limit` body bytes), within opt.timeout, on
  // a pooled connection when there is one (and once more on a fresh one when that had gone stale).
  asio::awaitable<shadow::captured_response> ask(const upstream& u, const mirror_job& job, std::string_view request,
                                                 std::uint64_t limit) {
    shadow::captured_response out;
    for (int attempt = 0;; ++attempt) {
      out = {};
      tcp::socket s = attempt == 0 ? take_idle(u) : tcp::socket(ioc);
      const bool reused = s.is_open();
      bool answered = false;  // some response bytes arrived
      bool keep = false;
      co_await ask_on(s, u, job, request, limit, out, answered, keep);
      if (out.status == 0 && reused && !answered && attempt == 0) continue;  // closed while pooled
      if (keep) give_idle(u, std::move(s));
      co_return out;
    }
  }

  asio::awaitable<void> ask_on(tcp::socket& s, const upstream& u, const mirror_job& job, std::string_view request,
                               std::uint64_t limit, shadow::captured_response& out, bool& answered, bool& keep) {
    const auto started = std::chrono::steady_clock::now();
    asio::steady_timer deadline(ioc);
    error_code ec;
    if (!s.is_open()) {
      const auto address = asio::ip::make_address(u.host, ec);
      if (ec) {
        out.failure = "bad upstream address";
        co_return;
      }
      deadline.expires_after(opt.connect_timeout);
      auto connected =
          co_await (s.async_connect(tcp::endpoint(address, u.port), use_tuple) || deadline.async_wait(use_tuple));
      if (connected.index() != 0 || std::get<0>(std::get<0>(connected))) {
        out.failure = connected.index() != 0 ? "connect timed out" : "cannot connect";
        co_return;
      }
      s.set_option(tcp::no_delay(true), ec);
    }
    deadline.expires_after(opt.timeout);
    auto wrote = co_await (asio::async_write(s, asio::buffer(request.data(), request.size()), use_tuple) ||
                           deadline.async_wait(use_tuple));
    if (wrote.index() != 0 || std::get<0>(std::get<0>(wrote))) {
      out.failure = wrote.index() != 0 ? "timed out sending the request" : "the connection closed while sending";
      co_return;
    }
    std::string raw;  // read into directly: a 16 KiB array here would make every frame a malloc
    raw.reserve(4096);
    http1::response_head head;
    bool have_head = false;
    http1::chunked_decoder decoder;
    std::size_t decoded_up_to = 0;
    for (;;) {
      if (!have_head) {
        http1::error err;
        http1::limits lim;
        lim.max_head_bytes = 64 * 1024;
        const auto st = http1::parse_response(raw, job.method, head, err, lim);
        if (st == http1::parse_state::failed) {
          out.failure = std::string("malformed response: ") + err.message;
          co_return;
        }
        if (st == http1::parse_state::complete && head.status >= 100 && head.status < 200) {
          raw.erase(0, head.head_bytes);  // interim answers are not the response
          continue;
        }
        if (st == http1::parse_state::complete) {
          have_head = true;
          decoded_up_to = head.head_bytes;
        }
      }
      bool complete = false;
      if (have_head) {
        const std::size_t body = raw.size() - head.head_bytes;
        switch (head.body) {
          case http1::body_kind::none: complete = true; break;
          case http1::body_kind::length: complete = body >= head.content_length; break;
          case http1::body_kind::chunked: {
            const auto r = decoder.feed(std::string_view(raw).substr(decoded_up_to));
            if (r.err) {
              out.failure = "malformed chunked response body";
              co_return;
            }
            decoded_up_to += r.consumed;
            complete = r.done;
            break;
          }
          case http1::body_kind::until_close: break;
        }
        if (!complete && body > limit) {
          head_only(raw, job.method, out);
          out.too_large = true;
          out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          co_return;
        }
      }
      if (complete) break;
      const std::size_t had = raw.size();
      raw.resize(had + std::max<std::size_t>(4096, raw.capacity() - had));
      auto got = co_await (s.async_read_some(asio::buffer(raw.data() + had, raw.size() - had), use_tuple) ||
                           deadline.async_wait(use_tuple));
      if (got.index() != 0) {
        raw.resize(had);
        out.failure = "timed out waiting for the response";
        co_return;
      }
      const auto [rec, n] = std::get<0>(got);
      raw.resize(had + n);
      if (rec) {
        if (rec == asio::error::eof && have_head && head.body == http1::body_kind::until_close) break;
        out.failure = have_head ? "the connection closed mid-response" : "the connection closed without a response";
        co_return;
      }
      answered = true;
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string why;
    if (!shadow::parse_captured(raw, job.method, out, why)) {
      out.status = 0;
      out.failure = why;
      co_return;
    }
    // Exactly one response read, nothing after it: the connection can carry the next copy.
    keep = head.keep_alive && head.body != http1::body_kind::until_close &&
           (head.body != http1::body_kind::chunked || decoded_up_to == raw.size()) &&
           (head.body != http1::body_kind::length || raw.size() == head.head_bytes + head.content_length);
  }

  asio::awaitable<void> copy(mirror_job job) {
    const auto& snap = *job.snap;
    const auto& r = snap.table->routes()[job.route_index];
    const auto& copy_target = job.primary_is_monolith ? snap.service_of[job.route_index] : snap.monolith;
    if (!copy_target || !snap.monolith) co_return;
    shadow::shadow_exchange x;
    x.route = r.id;
    x.rules = snap.rules_of[job.route_index];
    x.at_ms = job.at_ms;
    x.request_id = job.request_id;
    x.method = job.method;
    x.target = job.target;
    x.request_head = job.request.substr(0, job.head_bytes);
    shadow::captured_response primary;
    if (job.primary_too_large) {
      head_only(job.primary, job.method, primary);
      primary.too_large = true;
    } else if (std::string why; !shadow::parse_captured(job.primary, job.method, primary, why)) {
      primary = {};
      primary.failure = why;
    }
    primary.seconds = job.primary_seconds;
    auto copied = co_await ask(*copy_target, job, job.request, r.shadow.max_compare_bytes);
    const auto n = copies_by_route[r.id]++;
    if (job.safe && (n < opt.noise_probe_first || (opt.noise_probe_every && n % opt.noise_probe_every == 0))) {
      // The probe asks the monolith the very question it already answered, without the copy's
      // marker: what then differs is the monolith's own nondeterminism.
      std::string probe = job.request;
      if (const auto marker = probe.rfind("\r\nX-Banyan-Shadow: ", job.head_bytes); marker != std::string::npos)
        probe.erase(marker, probe.find("\r\n", marker + 2) - marker);
      x.monolith_again = co_await ask(*snap.monolith, job, probe, r.shadow.max_compare_bytes);
    }
    if (job.primary_is_monolith) {
      x.monolith = std::move(primary);
      x.service = std::move(copied);
    } else {
      x.monolith = std::move(copied);
      x.service = std::move(primary);
    }
    recorder.submit(std::move(x));
  }

};

shadow_mirror::shadow_mirror(shadow::shadow_recorder& recorder, mirror_options options)
    : impl_(std::make_unique<impl>(recorder, options)) {
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

shadow_mirror::~shadow_mirror() {
  impl_->work.reset();
  impl_->ioc.stop();
  impl_->thread.join();
}

bool shadow_mirror::offer(mirror_job&& job) {
  auto& s = *impl_;
  if (s.queued.fetch_add(1, std::memory_order_relaxed) >= s.opt.queue_capacity + s.opt.max_in_flight) {
    s.queued.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  asio::post(s.ioc, [&s, j = std::move(job)]() mutable {
    s.waiting.push_back(std::move(j));
    s.pump();
  });
  return true;
}

std::uint64_t shadow_mirror::in_flight() const noexcept { return impl_->running_now.load(std::memory_order_relaxed); }

}  // namespace banyan::proxy
