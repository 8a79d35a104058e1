#pragma once
// Method + path-pattern dispatch for application servers. Patterns are literal segments and
// `{name}` parameters; a literal beats a parameter at the same position. Unknown paths get 404,
// known paths with another method 405 with an Allow header; HEAD is served by the GET handler.
#include "banyan/platform/http_message.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::http {

class router {
 public:
  using handler = std::function<response(request&)>;

  // Throws std::invalid_argument on a malformed pattern or a duplicate method+pattern.
  void add(std::string_view method, std::string_view pattern, handler h);
  response dispatch(request& req) const;

 private:
  struct segment {
    std::string text;
    bool is_param = false;
  };
  struct route {
    std::string method;
    std::string pattern;
    std::vector<segment> segments;
    handler fn;
  };
  // Specificity of a match: compares literal positions left to right.
  static bool more_specific(const route& a, const route& b);
  static bool matches(const route& r, const std::vector<std::string_view>& parts);

  std::vector<route> routes_;
};

}  // namespace banyan::http
