// banyan-sync's configuration file and map: every text is accepted or refused with diagnostics, never a crash.
#include "banyan/sync/sync_config.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  banyan::sync::sync_config config;
  banyan::diagnostics diags;
  (void)banyan::sync::parse_sync_config(text, "fuzz.yaml", config, diags);
  return 0;
}
