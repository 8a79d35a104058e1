// Upstream response heads and chunked bodies: never crash, never read past the input, and the
// chunked decoder's verdict does not depend on how the bytes were split across reads.
#include "banyan/proxy/forward_headers.hpp"
#include "banyan/proxy/http1.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace banyan::proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = data[0];

  for (const char* method : {"GET", "HEAD"}) {
    http1::response_head res;
    http1::error err;
    if (http1::parse_response(input, method, res, err) == http1::parse_state::complete) {
      if (res.head_bytes > input.size()) std::abort();
      std::string out;
      response_forwarding f;
      f.request_id = "rid";
      write_response_head(res, f, out);
      http1::response_head again;
      const http1::limits client_limits{16 * 1024 + 1024, http1::max_headers};
      if (http1::parse_response(out, method, again, err, client_limits) != http1::parse_state::complete) std::abort();
      if (again.status != res.status || again.body != res.body) std::abort();
    }
  }

  // The same bytes as one read and as two: the same outcome.
  http1::chunked_decoder whole, parts;
  const auto a = whole.feed(input);
  std::size_t consumed = 0;
  bool done = false, failed = false;
  const std::size_t cut = input.empty() ? 0 : split % (input.size() + 1);
  const auto first = parts.feed(std::string_view(input).substr(0, cut));
  consumed += first.consumed;
  done = first.done;
  failed = static_cast<bool>(first.err);
  if (!done && !failed && consumed == cut) {
    const auto second = parts.feed(std::string_view(input).substr(cut));
    consumed += second.consumed;
    done = second.done;
    failed = static_cast<bool>(second.err);
  }
  if (a.consumed > input.size()) std::abort();
  if (failed != static_cast<bool>(a.err)) std::abort();  // an error is found however the bytes come
  if (!failed && (done != a.done || (done && consumed != a.consumed))) std::abort();
  return 0;
}
