// Two JSON documents from the input (split at the first NUL): both parse or are refused cleanly,
// a document never differs from itself, and the diff never crashes on what the parser accepts.
#include "banyan/shadow/json_diff.hpp"
#include "banyan/shadow/json_doc.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace banyan::shadow;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string a = input.substr(0, nul), b = nul == std::string::npos ? a : input.substr(nul + 1);
  json_doc da, db;
  json_parse_error ea, eb;
  const bool oka = da.parse(a, ea), okb = db.parse(b, eb);
  if (!oka && ea.offset > a.size()) std::abort();
  if (!oka || !okb) return 0;
  json_diff_options o;
  std::vector<difference> same;
  diff_json(da, da, o, same);
  if (!same.empty()) std::abort();
  std::vector<difference> out;
  diff_json(da, db, o, out);
  (void)redacted_json(da, {}, 4096);
  return 0;
}
