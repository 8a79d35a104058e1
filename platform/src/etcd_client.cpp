#include "banyan/platform/etcd_client.hpp"

#include "banyan/platform/http_client.hpp"

#include <stdexcept>

namespace banyan::etcd {

bool parse_endpoints(std::string_view text, std::vector<std::string>& out, std::string& why) {
  out.clear();
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    auto part = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.empty()) {
      why = "an empty endpoint in '" + std::string(text) + "'";
      return false;
    }
    http::http_url u;
    if (!http::parse_http_url(part, u, why)) return false;
    if (!u.base_path.empty()) {
      why = "an etcd endpoint is http://HOST:PORT, without a path: '" + std::string(part) + "'";
      return false;
    }
    out.push_back(u.origin());
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

struct client::impl {
  std::vector<std::string> endpoints;
  client_options options;
  std::vector<std::unique_ptr<http::client>> clients;  // parallel to endpoints, made when first used
  std::size_t current = 0;                              // the endpoint that answered last

  http::client& at(std::size_t i) {
    if (!clients[i]) {
      http::client_options o;
      o.connect_timeout = options.connect_timeout;
      o.timeout = options.timeout;
      o.user_agent = options.user_agent;
      clients[i] = std::make_unique<http::client>(endpoints[i], o);
    }
    return *clients[i];
  }

  // POSTs to the endpoint that answered last, then to the others in turn while none can be
  // reached. An answer, whatever its status, ends the search: a member without quorum says so.
  // `read_only`: asked once more on the same endpoint after a failure, which is most often a kept
  // connection the member closed (it restarted). A txn is not asked twice: it may have been applied.
  expected<std::string, error> post(std::string_view path, const std::string& body, bool read_only = false) {
    http::header_list headers;
    headers.add("Content-Type", "application/json");
    std::string problems;
    for (std::size_t n = 0; n < endpoints.size(); ++n) {
      const std::size_t i = (current + n) % endpoints.size();
      auto res = at(i).send("POST", path, headers, body);
      if (!res && read_only) res = at(i).send("POST", path, headers, body);
      if (!res) {
        problems += (problems.empty() ? "" : "; ") + res.error().message;
        continue;
      }
      current = i;
      if (res->status != 200)
        return unexpected(error{error::kind::failed, endpoints[i] + std::string(path) + ": " +
                                                         error_message(res->body)});
      return std::move(res->body);
    }
    return unexpected(error{error::kind::unreachable, "etcd unreachable: " + problems});
  }

  template <class T>
  static expected<T, error> parsed(expected<T, std::string> r) {
    if (!r) return unexpected(error{error::kind::malformed, r.error()});
    return std::move(*r);
  }
};

client::client(std::vector<std::string> endpoints, client_options options) : impl_(std::make_unique<impl>()) {
  if (endpoints.empty()) throw std::invalid_argument("no etcd endpoint");
  for (const auto& e : endpoints) {
    http::http_url u;
    std::string why;
    if (!http::parse_http_url(e, u, why)) throw std::invalid_argument(why);
  }
  impl_->clients.resize(endpoints.size());
  impl_->endpoints = std::move(endpoints);
  impl_->options = std::move(options);
}

client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

const std::vector<std::string>& client::endpoints() const noexcept { return impl_->endpoints; }

expected<range_response, error> client::range(const range_request& r) {
  auto body = impl_->post("/v3/kv/range", encode(r), true);
  if (!body) return unexpected(body.error());
  return impl::parsed(parse_range_response(*body));
}

expected<txn_response, error> client::txn(const txn_request& t) {
  auto body = impl_->post("/v3/kv/txn", encode(t));
  if (!body) return unexpected(body.error());
  return impl::parsed(parse_txn_response(*body));
}

expected<lease_grant_response, error> client::lease_grant(std::int64_t ttl_seconds) {
  auto body = impl_->post("/v3/lease/grant", encode_lease_grant(ttl_seconds));
  if (!body) return unexpected(body.error());
  return impl::parsed(parse_lease_grant_response(*body));
}

expected<std::int64_t, error> client::lease_keepalive(std::int64_t id) {
  auto body = impl_->post("/v3/lease/keepalive", encode_lease_id(id), true);
  if (!body) return unexpected(body.error());
  return impl::parsed(parse_keepalive_response(*body));
}

expected<bool, error> client::lease_revoke(std::int64_t id) {
  auto body = impl_->post("/v3/lease/revoke", encode_lease_id(id));
  if (!body) return unexpected(body.error());
  return true;
}

namespace {
constexpr std::size_t max_watch_message = 16u << 20;
}  // namespace

expected<bool, error> client::watch(const watch_create& w,
                                    const std::function<bool(const watch_response&)>& on_response,
                                    const std::function<bool()>& keep_going, std::chrono::milliseconds idle) {
  auto& s = *impl_;
  http::header_list headers;
  headers.add("Content-Type", "application/json");
  std::string problems;
  for (std::size_t n = 0; n < s.endpoints.size(); ++n) {
    const std::size_t i = (s.current + n) % s.endpoints.size();
    std::string pending, failure;
    int answered = 0;
    http::client::stream_handlers h;
    h.on_status = [&](int status) {
      answered = status;
      return true;
    };
    h.on_data = [&](std::string_view data) {
      pending.append(data);
      // One message holds at most the fleet's state and a few keys; etcd's own limit on a request
      // is 1.5 MiB. Past this, the stream is not what etcd sends.
      if (pending.size() > max_watch_message) {
        failure = "a watch message over " + std::to_string(max_watch_message >> 20) + " MiB";
        answered = answered == 0 ? 200 : answered;
        return false;
      }
      // One JSON object per line; the 200's body is the stream itself, an error's is one object.
      for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
        const std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (line.empty()) continue;
        if (answered != 200) {
          failure = error_message(line);
          return false;
        }
        auto r = parse_watch_response(line);
        if (!r) {
          failure = r.error();
          return false;
        }
        if (!on_response(*r)) return false;
      }
      return true;
    };
    h.keep_going = keep_going;
    h.idle = idle;
    auto res = s.at(i).stream("POST", "/v3/watch", headers, encode(w), h);
    if (!res && answered == 0) {
      problems += (problems.empty() ? "" : "; ") + res.error().message;
      continue;  // never reached: the next member
    }
    s.current = i;
    if (!failure.empty()) return unexpected(error{answered == 200 ? error::kind::malformed : error::kind::failed,
                                                  s.endpoints[i] + "/v3/watch: " + failure});
    if (answered != 200 && !pending.empty())
      return unexpected(error{error::kind::failed, s.endpoints[i] + "/v3/watch: " + error_message(pending)});
    if (!res) return unexpected(error{error::kind::unreachable, "the watch broke: " + res.error().message});
    return true;
  }
  return unexpected(error{error::kind::unreachable, "etcd unreachable: " + problems});
}

}  // namespace banyan::etcd
