#include "banyan/proxy/route_decision.hpp"

#include "banyan/proxy/bucket.hpp"

namespace banyan::proxy {

bool is_safe_method(std::string_view m) noexcept { return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE"; }
bool is_idempotent_method(std::string_view m) noexcept { return is_safe_method(m) || m == "PUT" || m == "DELETE"; }

std::string_view cookie_value(std::string_view rest, std::string_view name) noexcept {
  while (!rest.empty()) {
    const std::size_t semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      // As the application reads it: quotes, if any, are part of the value (RFC 6265 §4.1.1).
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      return value;
    }
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  return {};
}

canary_key_value canary_key_of(const route& r, const http1::request_head& req, std::string_view client) noexcept {
  if (r.key.from == canary_key::source::header) {
    if (const auto* h = req.find(r.key.name); h && !h->value.empty()) return {h->value, false};
  } else if (r.key.from == canary_key::source::cookie) {
    // A request may carry several Cookie fields (HTTP/2 splits them so); the first with the name wins.
    for (std::size_t i = 0; i < req.header_count; ++i) {
      if (req.headers[i].id != http1::field::cookie) continue;
      if (const auto v = cookie_value(req.headers[i].value, r.key.name); !v.empty()) return {v, false};
    }
  }
  return {client, true};
}

std::string_view to_string(shadow_choice c) noexcept {
  switch (c) {
    case shadow_choice::none:
      return "none";
    case shadow_choice::copy:
      return "copy";
    case shadow_choice::not_sampled:
      return "not_sampled";
    case shadow_choice::upgrade:
      return "upgrade";
    case shadow_choice::skipped_write:
      return "skipped_write";
    case shadow_choice::too_large:
      return "too_large";
  }
  return "?";
}

namespace {

void compute_key(route_decision& d, const route& r, const http1::request_head& req, std::string_view client) noexcept {
  if (d.keyed) return;
  d.key = canary_key_of(r, req, client);
  d.bucket = bucket_of(r.service, d.key.value);
  d.keyed = true;
}

std::uint32_t next_draw(std::uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return static_cast<std::uint32_t>(s % bucket_count);
}

// Whether a request on a shadowing route is copied: sampled, not an upgrade, a write only as a
// dry-run of a forward shadow (a write copied to the monolith would commit twice), a declared body
// within the compare limit (a chunked one is checked as it streams).
shadow_choice choose_shadow(route_decision& d, const route& r, const decision_inputs& in,
                            const http1::request_head& req) noexcept {
  const bool forward = r.mode == route_mode::shadow;
  if (!in.mirror || !(forward || (r.mode == route_mode::service && r.shadow.reverse))) return shadow_choice::none;
  if (req.connection_upgrade) return shadow_choice::upgrade;
  if (r.shadow.sample_bp < bucket_count) {
    std::uint32_t bucket;
    if (r.shadow.sample_by_key) {
      compute_key(d, r, req, in.client_address);
      bucket = d.bucket;
    } else {
      bucket = in.sample_state ? next_draw(*in.sample_state) : 0;
    }
    if (!in_canary(bucket, r.shadow.sample_bp)) return shadow_choice::not_sampled;
  }
  if (!d.safe && (!forward || !r.shadow.dry_run_writes)) return shadow_choice::skipped_write;
  if (req.body == http1::body_kind::length && req.content_length > r.shadow.max_compare_bytes)
    return shadow_choice::too_large;
  d.shadow_dry_run = !d.safe;
  d.shadow_primary_monolith = forward;
  return shadow_choice::copy;
}

}  // namespace

route_decision decide_route(const decision_inputs& in, const http1::request_head& req) noexcept {
  route_decision d;
  d.safe = is_safe_method(in.method);
  d.idempotent = d.safe || in.method == "PUT" || in.method == "DELETE";
  if (!in.table) return d;
  const route* r = in.table->match(in.method, in.path);
  if (!r) return d;
  d.matched = r;
  d.index = static_cast<std::uint32_t>(r - in.table->routes().data());
  d.mode = r->mode;
  switch (r->mode) {
    case route_mode::monolith:
    case route_mode::shadow:  // the monolith answers; the copy is the shadow recorder's
      break;
    case route_mode::canary:
      compute_key(d, *r, req, in.client_address);
      d.to_service = in_canary(d.bucket, r->percent_bp);
      break;
    case route_mode::service:
      d.to_service = true;
      break;
  }
  // Routes name a service whenever their mode sends traffic to one (route_table::build checks).
  if (r->service.empty()) d.to_service = false;
  d.shadow = choose_shadow(d, *r, in, req);
  return d;
}

}  // namespace banyan::proxy
