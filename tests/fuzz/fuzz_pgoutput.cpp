// What a PostgreSQL walsender sends banyan-sync: CopyData frames and pgoutput messages decode or are
// refused with a reason, never read past their end; a change decoded against a relation decoded
// from the same input turns into row images or a reason.
#include "banyan/sync/pg_image.hpp"
#include "banyan/sync/pgoutput.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

using namespace banyan::sync;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const pgoutput::bytes all(data, size);
  if (auto frame = pgoutput::decode_copy_data(all); !frame && frame.error().empty()) std::abort();
  // The input as two messages after a length byte: the first (a relation), then a change against it.
  if (size == 0) return 0;
  const std::size_t split = std::min<std::size_t>(data[0], size - 1);
  auto first = pgoutput::decode(all.subspan(1, split));
  auto second = pgoutput::decode(all.subspan(1 + split));
  if ((!first && first.error().empty()) || (!second && second.error().empty())) std::abort();
  if (first && second) {
    const auto* rel = std::get_if<pgoutput::relation>(&*first);
    const auto* ch = std::get_if<pgoutput::change>(&*second);
    if (rel && ch) {
      aggregate_map a;
      a.name = "x";
      a.table = rel->name;
      for (const auto& c : rel->columns) a.fields.push_back({c.name, c.name, field_type::automatic, {}});
      if (!rel->columns.empty()) a.key = {rel->columns.front().name};
      if (auto out = logged_changes(*rel, *ch, a); !out && out.error().empty()) std::abort();
    }
  }
  return 0;
}
