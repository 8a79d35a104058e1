#include "banyan/proxy/routing_state.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>
#include <vector>

using banyan::proxy::connection_budget;

TEST_CASE("a capped budget hands out at most its limit and takes slots back", "[budget]") {
  connection_budget b;
  CHECK(b.try_acquire(2));
  CHECK(b.try_acquire(2));
  CHECK_FALSE(b.try_acquire(2));
  CHECK(b.open() == 2);
  b.release();
  CHECK(b.open() == 1);
  CHECK(b.try_acquire(2));
  CHECK_FALSE(b.try_acquire(2));
  // A lower cap (a changed config) refuses until enough connections closed.
  CHECK_FALSE(b.try_acquire(1));
  b.release();
  CHECK_FALSE(b.try_acquire(1));
  b.release();
  CHECK(b.try_acquire(1));
}

TEST_CASE("limit 0 counts connections without a cap", "[budget]") {
  connection_budget b;
  for (int i = 0; i < 1000; ++i) REQUIRE(b.try_acquire(0));
  CHECK(b.open() == 1000);
}

TEST_CASE("workers racing for slots never exceed the cap", "[budget]") {
  connection_budget b;
  constexpr std::uint32_t limit = 3;
  std::atomic<std::uint32_t> held{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        if (!b.try_acquire(limit)) continue;
        const auto now = held.fetch_add(1) + 1;
        auto seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        held.fetch_sub(1);
        b.release();
      }
    });
  for (auto& t : threads) t.join();
  CHECK(most.load() <= limit);
  CHECK(most.load() >= 1);
  CHECK(b.open() == 0);
}
