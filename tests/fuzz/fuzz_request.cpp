// bytes → parse → normalise the path → route decision → forwarded head. Asserts that what the
// proxy forwards re-parses as the same request (method, target, one Host) and never carries a
// framing conflict or a hop-by-hop field: a forwarded head two parsers could read differently
// would be request smuggling.
#include "banyan/proxy/forward_headers.hpp"
#include "banyan/proxy/http1.hpp"
#include "banyan/proxy/request_path.hpp"
#include "banyan/proxy/route_table.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

using namespace banyan::proxy;

namespace {
#define CHECK_OR_DIE(cond) \
  do {                     \
    if (!(cond)) std::abort(); \
  } while (0)

const route_table& table() {
  static const auto t = [] {
    std::vector<route> rs;
    auto add = [&](std::string id, std::string path, std::vector<std::string> methods, route_mode mode) {
      route r;
      r.id = std::move(id);
      r.path = std::move(path);
      r.methods = std::move(methods);
      r.mode = mode;
      r.service = "svc";
      rs.push_back(std::move(r));
    };
    add("list", "/api/products", {"GET", "HEAD"}, route_mode::shadow);
    add("one", "/api/products/{id}", {}, route_mode::service);
    add("admin", "/admin/**", {}, route_mode::canary);
    std::vector<route_error> errors;
    return route_table::build(rs, errors);
  }();
  return *t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  http1::request_head req;
  http1::error err;
  if (http1::parse_request(input, req, err) != http1::parse_state::complete) return 0;
  std::string normalized;
  const auto path = normalize_target(req.target, normalized);
  if (path.verdict == path_verdict::refused) return 0;
  const std::string_view target = path.verdict == path_verdict::normalized ? std::string_view(normalized) : req.target;
  if (path.verdict == path_verdict::normalized) {  // normalising is idempotent
    std::string again;
    CHECK_OR_DIE(normalize_target(target, again).verdict == path_verdict::unchanged);
  }
  (void)table().match(req.method, target);

  request_forwarding f;
  f.target = path.verdict == path_verdict::normalized ? target : std::string_view();
  f.upstream_host = "127.0.0.1:8081";
  f.client_address = "127.0.0.1";
  f.request_id = "rid";
  f.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  f.upgrade = upgrade_allowed(req);
  std::string out;
  write_request_head(req, f, out);

  // The forwarded head re-parses under the limits of a parser that takes what the proxy sends: all
  // 100 fields, and the head grown by what the proxy adds (well under 1 KiB).
  http1::request_head again;
  http1::error again_err;
  const http1::limits upstream_limits{16 * 1024 + 1024, http1::max_headers};
  CHECK_OR_DIE(http1::parse_request(out, again, again_err, upstream_limits) == http1::parse_state::complete);
  CHECK_OR_DIE(again.head_bytes == out.size());
  CHECK_OR_DIE(again.method == req.method);
  CHECK_OR_DIE(again.target == target);
  CHECK_OR_DIE(again.version_minor == 1);
  CHECK_OR_DIE(again.body == req.body);
  CHECK_OR_DIE(again.content_length == req.content_length);
  int hosts = 0;
  for (std::size_t i = 0; i < again.header_count; ++i) {
    const auto id = again.headers[i].id;
    hosts += id == http1::field::host;
    CHECK_OR_DIE(id != http1::field::keep_alive && id != http1::field::te && id != http1::field::trailer &&
                 id != http1::field::proxy_prefixed && id != http1::field::http2_settings);
    if (id == http1::field::upgrade) CHECK_OR_DIE(f.upgrade);
  }
  CHECK_OR_DIE(hosts == 1);
  return 0;
}
