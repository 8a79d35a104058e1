// banyan-proxy's configuration file: every text is accepted or refused with diagnostics, never a crash.
#include "banyan/proxy/proxy_config.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  banyan::proxy::proxy_config config;
  banyan::diagnostics diags;
  (void)banyan::proxy::parse_proxy_config(text, "fuzz.yaml", config, diags);
  return 0;
}
