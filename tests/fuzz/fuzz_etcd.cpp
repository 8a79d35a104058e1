// What etcd's JSON gateway answers a fleet: ranges, txns, watch messages and lease answers parse or
// are refused with a reason; base64 decodes only what it encodes back the same.
#include "banyan/platform/base64.hpp"
#include "banyan/platform/etcd_messages.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace banyan::etcd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto r = parse_range_response(text); !r && r.error().empty()) std::abort();
  if (auto t = parse_txn_response(text); !t && t.error().empty()) std::abort();
  if (auto w = parse_watch_response(text); !w && w.error().empty()) std::abort();
  (void)parse_lease_grant_response(text);
  (void)parse_keepalive_response(text);
  (void)error_message(text);
  if (auto bytes = banyan::base64_decode(text); bytes && banyan::base64_encode(*bytes) != text) std::abort();
  (void)prefix_end(text);
  return 0;
}
