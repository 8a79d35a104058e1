#include "banyan/platform/http_message.hpp"

#include "banyan/platform/ascii.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

namespace banyan::http {

bool iequals(std::string_view a, std::string_view b) noexcept { return ascii_iequals(a, b); }

const std::string* header_list::find(std::string_view name) const noexcept {
  for (const auto& [n, v] : items_)
    if (iequals(n, name)) return &v;
  return nullptr;
}

void header_list::add(std::string name, std::string value) {
  items_.emplace_back(std::move(name), std::move(value));
}

void header_list::set(std::string_view name, std::string value) {
  erase(name);
  items_.emplace_back(std::string(name), std::move(value));
}

void header_list::erase(std::string_view name) {
  std::erase_if(items_, [&](const value_type& h) { return iequals(h.first, name); });
}

std::optional<std::string_view> request::query_param(std::string_view name) const noexcept {
  for (const auto& [k, v] : query)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

std::string_view request::param(std::string_view name) const noexcept {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return false;
  path = url->path();  // decoded
  query.clear();
  for (auto param : url->params()) query.emplace_back(param.key, param.has_value ? param.value : "");
  return true;
}

response json_response(int status, const boost::json::value& body) {
  response res;
  res.status = status;
  res.headers.set("Content-Type", "application/json");
  res.body = boost::json::serialize(body);
  return res;
}

response error_response(int status, std::string_view code, std::string_view message) {
  return json_response(status, boost::json::object{
                                   {"error", boost::json::object{{"code", code}, {"message", message}}}});
}

expected<boost::json::object, response> parse_json_object(const request& req) {
  if (!req.body_framed)
    return unexpected{error_response(411, "length_required", "a request body needs Content-Length or chunked encoding")};
  const std::string* type = req.header("Content-Type");
  // Media type is the part before parameters; application/json and any +json suffix qualify.
  std::string_view media = type ? std::string_view(*type) : std::string_view();
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  const bool is_json = iequals(media, "application/json") ||
                       (media.size() > 5 && iequals(media.substr(media.size() - 5), "+json"));
  if (!is_json)
    return unexpected{error_response(415, "unsupported_media_type",
                                     "request body must be JSON (Content-Type: application/json)")};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(req.body, ec);
  if (ec)
    return unexpected{error_response(400, "malformed_json", "request body is not valid JSON: " + ec.message())};
  if (!v.is_object())
    return unexpected{error_response(400, "malformed_json", "request body must be a JSON object")};
  return std::move(v.as_object());
}

}  // namespace banyan::http
