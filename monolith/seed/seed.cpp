#include "seed/seed.hpp"

#include "modules/catalog/catalog.hpp"
#include "modules/customers/customers.hpp"
#include "modules/inventory/inventory.hpp"
#include "modules/orders/orders.hpp"

#include <array>
#include <string>

namespace shop {

namespace {

// splitmix64: fully specified, so the data set is identical on every platform and library
// (std:: distributions are not).
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  template <class T, std::size_t N>
  const T& pick(const std::array<T, N>& a) {
    return a[next() % N];
  }

 private:
  std::uint64_t state_;
};

struct category_spec {
  const char* name;
  const char* code;
  std::array<const char*, 6> nouns;
  std::int64_t min_cents;
  std::int64_t max_cents;
};

const std::array<category_spec, 8> categories{{
    {"kitchen", "KIT", {"Kettle", "Chef Knife", "Cutting Board", "Saucepan", "Coffee Grinder", "Mixing Bowl"}, 900, 14900},
    {"garden", "GAR", {"Hose", "Pruning Shears", "Planter", "Rake", "Watering Can", "Seed Tray"}, 500, 8900},
    {"books", "BOK", {"Cookbook", "Field Guide", "Atlas", "Novel", "Notebook", "Sketchbook"}, 700, 4500},
    {"toys", "TOY", {"Puzzle", "Kite", "Building Set", "Yo-yo", "Board Game", "Plush Bear"}, 400, 6900},
    {"outdoor", "OUT", {"Tent", "Headlamp", "Backpack", "Sleeping Bag", "Water Bottle", "Camp Stove"}, 1200, 39900},
    {"office", "OFF", {"Desk Lamp", "Stapler", "Monitor Stand", "Pen Set", "Desk Organizer", "Whiteboard"}, 300, 12900},
    {"audio", "AUD", {"Headphones", "Speaker", "Turntable", "Microphone", "Cable", "Earbuds"}, 1500, 49900},
    {"bath", "BTH", {"Towel", "Bath Mat", "Soap Dish", "Shower Caddy", "Robe", "Toothbrush Holder"}, 300, 7900},
}};

const std::array<const char*, 10> adjectives{"Classic", "Compact", "Deluxe", "Essential", "Heritage",
                                             "Modern",  "Nordic",  "Pro",    "Rustic",    "Urban"};
const std::array<const char*, 12> first_names{"Ada", "Bo", "Chen", "Dara", "Eli", "Farah",
                                              "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lea"};
const std::array<const char*, 10> last_names{"Ahn", "Berg", "Costa", "Diaz", "Evans",
                                             "Fischer", "Garcia", "Horvat", "Ito", "Jansen"};

const std::array<const char*, 7> streets{"Harbour Road", "Linden Allee", "Via Roma", "Rue des Fleurs",
                                          "Kirkegata",    "Calle Mayor", "Sakura-dori"};
const std::array<const char*, 5> towns{"Hamburg, Germany", "Lyon, France", "Bergen, Norway", "Porto, Portugal",
                                       "Osaka, Japan"};

}  // namespace

seed_counts seed(banyan::sqlite::connection& c) {
  seed_counts counts;
  if (catalog::list(c, {"", "", 1, 1}).total > 0) {
    counts.skipped = true;
    return counts;
  }
  generator gen(20240601);
  banyan::sqlite::transaction tx(c);
  std::vector<std::int64_t> product_ids;
  for (const auto& cat : categories) {
    for (int i = 1; i <= 30; ++i) {
      catalog::product_input in;
      in.sku = std::string(cat.code) + "-" + std::to_string(1000 + i);
      in.name = std::string(gen.pick(adjectives)) + " " + cat.nouns[static_cast<std::size_t>(i - 1) % cat.nouns.size()];
      in.description = in.name + " from the " + std::string(cat.name) + " range, model " + std::to_string(i) + ".";
      // Prices end in 99 cents, as shops like them.
      in.price_cents = gen.between(cat.min_cents / 100, cat.max_cents / 100) * 100 + 99;
      in.currency = "EUR";
      in.category = cat.name;
      product_ids.push_back(catalog::create(c, in).id);
      inventory::set_on_hand(c, in.sku, gen.between(0, 250));
      ++counts.products;
    }
  }
  std::vector<std::int64_t> customer_ids;
  for (int i = 0; i < 60; ++i) {
    const std::string first = first_names[static_cast<std::size_t>(i) % first_names.size()];
    const std::string last = last_names[static_cast<std::size_t>(i / 6) % last_names.size()];
    std::string email = first + "." + last + std::to_string(i) + "@example.com";
    for (auto& ch : email)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    // An address in a country the carriers serve, from the index alone: the generator's sequence,
    // and so the orders below, stay as they were before customers had addresses.
    const std::string address = std::to_string(1 + i) + " " + streets[static_cast<std::size_t>(i) % streets.size()] + ", " +
                                towns[static_cast<std::size_t>(i) % towns.size()];
    customer_ids.push_back(customers::create(c, {email, first + " " + last, address}).id);
    ++counts.customers;
  }
  for (int i = 0; i < 40; ++i) {
    orders::order_request req;
    req.customer_id = customer_ids[gen.next() % customer_ids.size()];
    const auto lines = gen.between(1, 4);
    for (std::int64_t l = 0; l < lines; ++l) {
      const auto pid = product_ids[gen.next() % product_ids.size()];
      bool dup = false;
      for (const auto& it : req.items) dup = dup || it.product_id == pid;
      if (!dup) req.items.push_back({pid, gen.between(1, 3)});
    }
    // A short-stocked pick is simply skipped, as a real shop would refuse it.
    if (orders::place(c, req).placed) ++counts.orders;
  }
  tx.commit();
  return counts;
}

}  // namespace shop
