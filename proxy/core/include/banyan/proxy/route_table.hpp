#pragma once
// Routes and the immutable table that matches requests to them. A change builds a new table and
// swaps it in atomically (see route_table_holder); requests keep the table they started with.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::proxy {

enum class route_mode : std::uint8_t { monolith, shadow, canary, service };
std::string_view to_string(route_mode m) noexcept;
bool parse_mode(std::string_view text, route_mode& out) noexcept;

// Where a canary route reads the key it hashes into a bucket. A request without the header or
// cookie falls back to its client address, so every request still gets a stable bucket.
struct canary_key {
  enum class source : std::uint8_t { client_address, header, cookie };
  source from = source::client_address;
  std::string name;
};

// How a route's shadow copies are compared (see proxy/shadow). Plain data here; the shadow library
// compiles and checks the JSON paths.
struct compare_settings {
  std::vector<std::string> ignore;          // JSON paths: $.generated_at, $.items[*].updated_at, $..request_id
  std::vector<std::string> headers;         // compared besides Content-Type
  std::vector<std::string> ignore_headers;  // never compared (may name Content-Type)
  double tolerance = 0;                     // numbers this close are equal
  std::vector<std::pair<std::string, std::string>> unordered;  // array path → key field: compared as a set
  std::vector<std::string> redact;          // JSON paths whose values are never stored
  std::vector<std::string> redact_headers;  // besides Authorization, Cookie and Set-Cookie
  // A member naming an object's version (updated_at): two objects whose versions differ are one
  // thing at two moments — the copy's side had not applied the latest change yet — and are not
  // compared (json_diff's `stale`), so sync lag under writes is not counted as divergence.
  std::string version;
  bool operator==(const compare_settings&) const = default;
};

// Which requests of a shadowed route are copied, and how.
struct shadow_settings {
  std::uint32_t sample_bp = 10000;  // share copied, in basis points
  bool sample_by_key = false;       // by the canary key's bucket: one user's whole session or none
  bool dry_run_writes = false;      // copy writes with X-Banyan-Shadow: dry-run (else skip them)
  bool reverse = false;             // in service mode, copy to the monolith and compare
  std::uint64_t max_compare_bytes = 1024 * 1024;  // larger bodies are counted, not compared
  compare_settings compare;
  bool operator==(const shadow_settings&) const = default;
};

struct route {
  std::string id;
  std::vector<std::string> methods;  // empty: every method
  // "/api/products" (exact), "/api/products/{id}" (a parameter matches one segment),
  // "/api/catalog/**" (prefix: the path itself and everything below it).
  std::string path;
  std::string service;  // the extracted service's name; unused in monolith mode
  route_mode mode = route_mode::monolith;
  std::uint32_t percent_bp = 0;  // canary share in basis points: 0..10000 (N % = N × 100)
  canary_key key;
  shadow_settings shadow;
};

struct route_error {
  std::string route_id;
  std::string message;
};

class route_table {
 public:
  // Validates every route (pattern syntax, methods, percent, service where the mode needs one) and
  // refuses ties: two routes with the same pattern shape whose method sets overlap.
  static std::shared_ptr<const route_table> build(std::vector<route> routes, std::vector<route_error>& errors);

  // The most specific route for the request, or nullptr (the monolith serves it). Literal segments
  // beat parameters, parameters beat a prefix; among routes on one pattern the method decides.
  const route* match(std::string_view method, std::string_view path) const noexcept;
  const std::vector<route>& routes() const noexcept { return routes_; }
  const route* find(std::string_view id) const noexcept;

 private:
  struct node {
    std::vector<std::pair<std::string, std::uint32_t>> literals;  // sorted by segment
    std::int32_t param_child = -1;
    std::vector<std::uint32_t> exact;   // routes ending at this node
    std::vector<std::uint32_t> prefix;  // "**" routes rooted at this node
  };
  const route* match_at(std::uint32_t node, std::string_view rest, std::uint16_t method_bit) const noexcept;
  const route* pick(const std::vector<std::uint32_t>& candidates, std::uint16_t method_bit) const noexcept;

  std::vector<route> routes_;
  std::vector<std::uint16_t> method_masks_;  // per route; bit 15 = methods outside the known set
  std::vector<node> nodes_;
};

// Bit for a method in a route's method mask.
std::uint16_t method_bit(std::string_view method) noexcept;

}  // namespace banyan::proxy
