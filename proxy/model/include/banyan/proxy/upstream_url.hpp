#pragma once
// The one rule for an upstream's address, shared by the proxy (which then resolves it) and the
// plans the CLI validates before anything is sent.
#include <cstdint>
#include <string>

namespace banyan::proxy {

// Splits an upstream URL, http://HOST[:PORT] with no path (port 80 when absent), without resolving
// it. False with `why` when it is not one.
bool split_upstream_url(const std::string& url, std::string& host, std::uint16_t& port, std::string& why);

}  // namespace banyan::proxy
