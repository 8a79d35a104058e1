#pragma once
// Deliberate misbehaviour, for demos and tests only, off unless asked for with --fault: what
// `banyan demo` uses to show the shadow stage catching a divergence (a build that rounds one
// category's prices to whole units) and a plan rolling back when the service fails (a build too
// slow for the proxy's upstream timeout). Applied around the real handler; health, readiness,
// metrics and the sync endpoints are never touched, so the service looks healthy while it is wrong.
#include "banyan/platform/http_message.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace catalog {

struct faults {
  std::string round_prices_category;   // round-prices:CATEGORY — reads answer price_cents rounded to 100
  std::chrono::milliseconds delay{0};  // slow:DURATION — every /api/ answer waits this long first
  bool any() const noexcept { return !round_prices_category.empty() || delay.count() > 0; }
};

// Adds one --fault value to `out`; false with why for anything else.
bool parse_fault(std::string_view text, faults& out, std::string& why);

// The faulty answer to `req`, made from the real one.
void apply_faults(const faults& f, const banyan::http::request& req, banyan::http::response& res);

}  // namespace catalog
