#pragma once
// The demo's copy of a migration plan: the same routes, stages and gates, with the waiting cut to
// what a few minutes of demo traffic can show (every min_duration 3s, every min_requests at most
// 150, every shadowed read copied). The shipped plan keeps its production values.
#include <string>
#include <string_view>

namespace banyan::cli {

// `text` is a plan file's YAML; throws std::runtime_error when it is not a plan's shape.
std::string demo_copy_of_plan(const std::string& text, const std::string& source_name);

// migrations/001-extract-catalog.yaml as it was at build time: an installed banyan has no
// repository beside it, and the demo must run from any folder.
std::string_view built_in_demo_plan() noexcept;
// migrations/002-extract-shipping.yaml, the same way.
std::string_view built_in_shipping_plan() noexcept;

}  // namespace banyan::cli
