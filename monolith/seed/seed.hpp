#pragma once
// A realistic, reproducible data set: the same products, prices, customers and orders every time.
#include "banyan/platform/sqlite.hpp"

#include <cstdint>

namespace shop {

struct seed_counts {
  std::int64_t products = 0;
  std::int64_t customers = 0;
  std::int64_t orders = 0;
  bool skipped = false;  // the database already had products
};

// Fills an empty database through the modules' own interfaces (so the outbox records it all).
seed_counts seed(banyan::sqlite::connection& c);

}  // namespace shop
