#include "banyan/proxy/upstream_url.hpp"

#include <boost/url/parse.hpp>

namespace banyan::proxy {

bool split_upstream_url(const std::string& url, std::string& host, std::uint16_t& port, std::string& why) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty()) {
    why = "upstream URL must be http://HOST:PORT, got '" + url + "'";
    return false;
  }
  if (!u->encoded_path().empty() && u->encoded_path() != "/") {
    why = "upstream URL must not have a path: '" + url + "'";
    return false;
  }
  port = u->has_port() ? u->port_number() : 80;
  if (u->has_port() && port == 0) {
    why = "upstream URL has no valid port: '" + url + "'";
    return false;
  }
  host = u->host();
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return true;
}

}  // namespace banyan::proxy
