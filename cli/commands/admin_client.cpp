#include "commands/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <cstdlib>
#include <pwd.h>
#include <unistd.h>
#include <fstream>

namespace banyan::cli {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

admin_client::admin_client(const global_options& global) {
  auto url = boost::urls::parse_absolute_uri(global.admin_url);
  if (!url || url->scheme() != "http" || url->host().empty())
    throw admin_bad_setup("--admin must be an http:// URL, got '" + global.admin_url + "'");
  host_ = url->host();
  port_ = url->has_port() ? std::string(url->port()) : "80";
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
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(host_, port_, ec);
  if (ec) throw admin_unreachable("cannot resolve " + host_ + ": " + ec.message());
  stream.expires_after(std::chrono::seconds(5));
  stream.connect(endpoints, ec);
  if (ec) throw admin_unreachable("cannot reach the proxy's admin API at " + host_ + ":" + port_ + ": " + ec.message());

  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), std::string(target), 11};
  req.set(bhttp::field::host, host_);
  req.set(bhttp::field::authorization, "Bearer " + token_);
  req.set("X-Banyan-Operator", operator_);
  req.set(bhttp::field::user_agent, "banyan-cli");
  if (body) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = boost::json::serialize(*body);
  }
  req.prepare_payload();
  stream.expires_after(std::chrono::seconds(30));
  bhttp::write(stream, req, ec);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  if (!ec) bhttp::read(stream, buffer, res, ec);
  if (ec) throw admin_unreachable("the proxy's admin API did not answer: " + ec.message());

  admin_reply reply;
  reply.status = static_cast<int>(res.result_int());
  boost::system::error_code jec;
  reply.body = boost::json::parse(res.body(), jec);
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
