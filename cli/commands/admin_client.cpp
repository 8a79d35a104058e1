#include "commands/admin_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <fstream>
#include <pwd.h>
#include <unistd.h>

namespace banyan::cli {

admin_client::admin_client(const global_options& global) {
  http::http_url url;
  std::string why;
  if (!http::parse_http_url(global.admin_url, url, why)) throw admin_bad_setup("--admin: " + why);
  http::client_options options;
  options.connect_timeout = std::chrono::seconds(5);
  options.timeout = std::chrono::seconds(30);
  options.user_agent = "banyan-cli";
  http_ = std::make_unique<http::client>(global.admin_url, options);
  std::string path = global.token_file;
  if (path.empty()) {
    const char* env = std::getenv("BANYAN_TOKEN_FILE");
    path = env && *env ? env : "banyan-state/admin.token";
  }
  std::ifstream in(path);
  if (!in || !(in >> token_))
    throw admin_bad_setup("cannot read the admin token from " + path +
                          " (give --token-file, or set BANYAN_TOKEN_FILE; banyan-proxy writes it to <state-dir>/admin.token)");
  operator_ = global.operator_name;
  if (operator_.empty()) {
    const char* user = std::getenv("USER");
    if (user && *user) operator_ = user;
    else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) operator_ = pw->pw_name;  // e.g. under cron
    else operator_ = "unknown";
  }
}

admin_reply admin_client::call(std::string_view method, std::string_view target, const boost::json::value* body) {
  http::header_list headers;
  headers.add("Authorization", "Bearer " + token_);
  headers.add("X-Banyan-Operator", operator_);
  std::string text;
  if (body) {
    headers.add("Content-Type", "application/json");
    text = boost::json::serialize(*body);
  }
  auto res = http_->send(method, target, headers, text);
  if (!res) {
    const auto& e = res.error();
    throw admin_unreachable(e.what == http::client_error::kind::unreachable
                                ? "cannot reach the proxy's admin API: " + e.message
                                : "the proxy's admin API did not answer: " + e.message);
  }
  admin_reply reply;
  reply.status = res->status;
  boost::system::error_code jec;
  reply.body = boost::json::parse(res->body, jec);
  if (jec) reply.body = nullptr;
  return reply;
}

std::string error_text(const admin_reply& reply) {
  std::string out = "the proxy answered " + std::to_string(reply.status);
  if (const auto* o = reply.body.if_object())
    if (const auto* e = o->if_contains("error"); e && e->is_object()) {
      if (const auto* m = e->as_object().if_contains("message"); m && m->is_string()) out += ": " + std::string(m->as_string());
      if (const auto* p = e->as_object().if_contains("problems"); p && p->is_array())
        for (const auto& item : p->as_array())
          if (item.is_string()) out += "\n  " + std::string(item.as_string());
    }
  return out;
}

}  // namespace banyan::cli
