// base64 as etcd's JSON gateway carries keys and values.
#include "banyan/platform/base64.hpp"

#include <catch2/catch.hpp>

using banyan::base64_decode;
using banyan::base64_encode;

TEST_CASE("base64: RFC 4648's examples, both ways") {
  const std::pair<const char*, const char*> cases[] = {{"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},    {"foob", "Zm9vYg=="},   {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
  }
  const std::string bytes("\0\xff\x10/banyan/state", 16);
  CHECK(base64_decode(base64_encode(bytes)) == bytes);
  CHECK(base64_encode("/t/a") == "L3QvYQ==");  // as etcd printed it
}

TEST_CASE("base64: anything but padded standard base64 is refused") {
  // Not canonical: bits under the padding set ("Zh==" would be "f" again).
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!A==", "Zg==Zg==", "Zm=v", "-_8=", "Zm9 v", "Zh==", "Zm9=", "veZZmym="})
    CHECK_FALSE(base64_decode(bad).has_value());
}
