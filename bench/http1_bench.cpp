// The proxy's per-request header work, without sockets: parse the client's request, pick its
// request id and trace, write the upstream request head; parse the upstream's response head and
// write the client's. Two shapes: what the benchmark's load generator sends (wrk: two fields) and
// a browser-like request with a dozen fields against an nginx-like response.
//
//   build/bin/http1_bench [ITERATIONS]
#include "banyan/proxy/forward_headers.hpp"
#include "banyan/proxy/http1.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace banyan::proxy;

namespace {

const std::string wrk_request = "GET /x HTTP/1.1\r\nHost: 127.0.0.1:18993\r\n\r\n";
const std::string browser_request =
    "GET /api/products/42?view=full HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://shop.example.com/products/42\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=6b1f0c2e9d3a4f5b8c7d6e5f4a3b2c1d; theme=dark\r\n"
    "Sec-Fetch-Dest: empty\r\n"
    "Sec-Fetch-Mode: cors\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "X-User-Id: 12345\r\n"
    "\r\n";
const std::string nginx_response =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Sun, 22 Nov 2026 05:09:27 GMT\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 2\r\n"
    "Last-Modified: Sun, 22 Nov 2026 05:09:20 GMT\r\n"
    "Connection: keep-alive\r\n"
    "ETag: \"6920c370-2\"\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";

volatile std::size_t sink = 0;

double ns_per_cycle(const std::string& request, long iterations) {
  http1::request_head req;
  http1::response_head res;
  http1::error err;
  std::string out;
  out.reserve(4096);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i) {
    if (http1::parse_request(request, req, err) != http1::parse_state::complete) std::abort();
    const auto rid = choose_request_id(req);
    const auto trace = continue_trace(req);
    request_forwarding f;
    f.client_address = "127.0.0.1";
    f.request_id = rid.value();
    f.traceparent = trace.value();
    out.clear();
    write_request_head(req, f, out);
    sink = sink + out.size();
    if (http1::parse_response(nginx_response, "GET", res, err) != http1::parse_state::complete) std::abort();
    response_forwarding rf;
    rf.request_id = rid.value();
    out.clear();
    write_response_head(res, rf, out);
    sink = sink + out.size();
  }
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  return took.count() / static_cast<double>(iterations);
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  ns_per_cycle(wrk_request, iterations / 10);  // warm up
  for (int round = 0; round < 3; ++round)
    std::printf("round %d: wrk-like request %.1f ns, browser-like request %.1f ns (parse + forward, both ways)\n",
                round + 1, ns_per_cycle(wrk_request, iterations), ns_per_cycle(browser_request, iterations));
}
