// The shadow diff engine's speed: MB of JSON compared per second (both documents counted), for a
// small (~1 KiB) and a large (~256 KiB) answer, when the answers match, when a few values differ,
// and when the service orders members differently (the slower, indexed path). Boost.JSON's parse
// of the same bytes runs alongside as a yardstick, in the same process and run.
//
//   build/bin/json_diff_bench [SECONDS_PER_CASE]
#include "banyan/shadow/compare.hpp"
#include "banyan/shadow/json_diff.hpp"

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace banyan::shadow;

namespace {

std::string product(int id, bool reordered, bool changed) {
  const std::string price = std::to_string(1000 + id * 7 + (changed ? 1 : 0));
  const std::string sid = std::to_string(id);
  if (reordered)
    return R"({"name":"Deluxe Kettle )" + sid + R"(","id":)" + sid + R"(,"sku":"KIT-)" + sid +
           R"(","price_cents":)" + price + R"(,"description":"Deluxe Kettle from the kitchen range, model )" + sid +
           R"(.","currency":"EUR","category":"kitchen","updated_at":"2026-11-22T02:41:08.248Z","tags":["a","b"]})";
  return R"({"id":)" + sid + R"(,"sku":"KIT-)" + sid + R"(","name":"Deluxe Kettle )" + sid +
         R"(","description":"Deluxe Kettle from the kitchen range, model )" + sid +
         R"(.","category":"kitchen","price_cents":)" + price +
         R"(,"currency":"EUR","updated_at":"2026-11-22T02:41:08.248Z","tags":["a","b"]})";
}

// A product list page of about `bytes`, with every 50th price changed when `changed`.
std::string page(std::size_t bytes, bool reordered, bool changed) {
  std::string out = R"({"items":[)";
  int id = 1;
  while (out.size() < bytes) {
    if (id > 1) out += ",";
    out += product(id, reordered, changed && id % 50 == 1);
    ++id;
  }
  out += R"(],"page":1,"total":)" + std::to_string(id - 1) + R"(,"generated_at":"2026-11-22T02:41:09.250Z"})";
  return out;
}

template <class F>
double mb_per_s(std::size_t bytes_per_call, double seconds, F&& f) {
  std::size_t calls = 0;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  while (elapsed() < seconds) {
    for (int i = 0; i < 16; ++i) f();
    calls += 16;
  }
  return static_cast<double>(bytes_per_call * calls) / elapsed() / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  json_diff_options options;
  std::string why;
  path_pattern ignore;
  path_pattern::parse("$..generated_at", ignore, why);
  options.ignore.push_back(ignore);
  std::printf("%-8s %-22s %10s %14s %14s %10s\n", "size", "case", "bytes", "diff MB/s", "parse MB/s", "diff/parse");
  for (std::size_t size : {std::size_t{1024}, std::size_t{256 * 1024}}) {
    const std::string base = page(size, false, false);
    struct variant {
      const char* name;
      std::string other;
    };
    const variant cases[] = {
        {"equal", base},
        {"values differ", page(size, false, true)},
        {"members reordered", page(size, true, false)},
    };
    for (const auto& c : cases) {
      const std::size_t bytes = base.size() + c.other.size();
      std::size_t found = 0;
      const double diff = mb_per_s(bytes, seconds, [&] {
        json_doc a, b;
        json_parse_error e;
        a.parse(base, e);
        b.parse(c.other, e);
        std::vector<difference> out;
        diff_json(a, b, options, out);
        found = out.size();
      });
      const double parse = mb_per_s(bytes, seconds, [&] {
        auto a = boost::json::parse(base);
        auto b = boost::json::parse(c.other);
        if (a.is_null() || b.is_null()) std::abort();
      });
      std::printf("%-8s %-22s %10zu %14.1f %14.1f %9.2fx   (%zu differences)\n", size <= 1024 ? "1 KiB" : "256 KiB",
                  c.name, bytes, diff, parse, diff / parse, found);
    }
  }
  return 0;
}
