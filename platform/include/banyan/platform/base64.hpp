#pragma once
// Standard base64 (RFC 4648, with padding): how etcd's JSON gateway carries keys and values.
#include <optional>
#include <string>
#include <string_view>

namespace banyan {

std::string base64_encode(std::string_view bytes);
// nullopt for anything that is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace banyan
