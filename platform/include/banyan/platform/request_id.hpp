#pragma once
#include <string>
#include <string_view>

namespace banyan {

// A client-supplied request id is kept only when it is 1..128 characters of [A-Za-z0-9._:-], so
// ids are safe to log and to echo in headers.
bool valid_request_id(std::string_view id) noexcept;
// 32 random hex digits (128 bits), cheap: a thread-local generator seeded once.
std::string make_request_id();

}  // namespace banyan
