#pragma once
// Transport-free HTTP request/response types. Handlers see only these, so application code and its
// tests never include Beast or Asio; the server converts at the edge.
#include "banyan/platform/expected.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace banyan::http {

// ASCII case-insensitive comparison, as header names require.
bool iequals(std::string_view a, std::string_view b) noexcept;

class header_list {
 public:
  using value_type = std::pair<std::string, std::string>;

  // First value of the field, or nullptr.
  const std::string* find(std::string_view name) const noexcept;
  void add(std::string name, std::string value);
  // Replaces every occurrence of the field with one value.
  void set(std::string_view name, std::string value);
  void erase(std::string_view name);

  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<value_type> items_;
};

struct request {
  std::string method;
  std::string target;  // as received: path and query
  std::string path;    // percent-decoded path
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  header_list headers;
  std::string body;
  std::string request_id;
  std::string remote_address;
  // False when the request had neither Content-Length nor Transfer-Encoding: a handler that needs
  // a body answers 411 then (parse_json_object does).
  bool body_framed = true;
  // Filled by the router: the matched pattern and its {name} parameters.
  std::string route;
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* header(std::string_view name) const noexcept { return headers.find(name); }
  std::optional<std::string_view> query_param(std::string_view name) const noexcept;
  std::string_view param(std::string_view name) const noexcept;
};

struct response {
  int status = 200;
  header_list headers;
  std::string body;
};

// Splits a request target into decoded path and query. False when the target is not origin-form.
bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query);

response json_response(int status, const boost::json::value& body);
// Every error in Banyan has this shape: {"error":{"code":"...","message":"..."}}.
response error_response(int status, std::string_view code, std::string_view message);

// The JSON object in a request body, or the error to answer with: 411 when the request did not
// frame a body, 415 unless the content type is JSON, 400 when the body is malformed or not an object.
expected<boost::json::object, response> parse_json_object(const request& req);

}  // namespace banyan::http
