#pragma once
// Helpers every legacy-shop module uses to read requests and shape responses.
#include "banyan/platform/http_message.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace banyan::sqlite {
class transaction;
}

namespace shop {

// Commits a write, unless the request is a shadow copy sent as a dry run (X-Banyan-Shadow:
// dry-run): then the transaction rolls back and the answer is the same as if it had committed.
void commit_unless_dry_run(banyan::sqlite::transaction& tx, const banyan::http::request& req);

// Field-level validation errors, answered as 422 with the list under error.fields.
class field_errors {
 public:
  void add(std::string field, std::string message) { items_.push_back({std::move(field), std::move(message)}); }
  bool empty() const noexcept { return items_.empty(); }
  std::size_t size() const noexcept { return items_.size(); }
  const std::string& field(std::size_t i) const { return items_[i].field; }
  const std::string& message(std::size_t i) const { return items_[i].message; }
  banyan::http::response to_response() const;

 private:
  struct item {
    std::string field;
    std::string message;
  };
  std::vector<item> items_;
};

// Typed reads of a JSON object's members, recording what is missing or wrong.
std::optional<std::string> require_string(const boost::json::object& o, std::string_view key, field_errors& errors,
                                          std::size_t min_len, std::size_t max_len);
std::optional<std::int64_t> require_int(const boost::json::object& o, std::string_view key, field_errors& errors,
                                        std::int64_t min, std::int64_t max, const std::string& path = {});
// Unknown members are errors too: a typo must not silently drop a field.
void reject_unknown(const boost::json::object& o, std::initializer_list<std::string_view> known, field_errors& errors,
                    const std::string& prefix = {});

// The query parameter `key` as an integer in [min, max] into `out`; true when it is absent (`out`
// keeps its default), false when it is not such an integer (the caller answers 400).
bool read_query_int(const banyan::http::request& req, std::string_view key, std::int64_t& out, std::int64_t min,
                    std::int64_t max);

// Positive 64-bit id from a path parameter; nullopt when it is not one.
std::optional<std::int64_t> parse_id(std::string_view text);

// Adds the volatile envelope fields every legacy-shop read carries (as legacy apps often do).
void stamp(boost::json::object& body, const banyan::http::request& req);

banyan::http::response not_found(std::string_view what);

}  // namespace shop
