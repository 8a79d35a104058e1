// banyan shadow report against a real proxy with real shadow traffic, in every format; the HTML
// page opened in headless Chromium.
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace banyan::test;
namespace json = boost::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The DOM after the page's script ran, as headless Chromium renders it.
std::string rendered_dom(const std::string& html_file, const temp_dir& dir) {
  REQUIRE(std::filesystem::exists("/usr/bin/chromium"));  // scripts/test.sh installs Debian's chromium
  child_process browser({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--user-data-dir=" + dir.file("chromium-profile"), "--dump-dom", "file://" + html_file},
                        dir.file("chromium.log"));
  std::string dom;
  while (auto line = browser.read_line(std::chrono::seconds(60))) dom += *line + "\n";
  browser.wait(std::chrono::seconds(30));
  return dom;
}

}  // namespace

TEST_CASE("banyan shadow report: text, JSON, JUnit and an HTML page Chromium renders", "[cli][shadow]") {
  temp_dir dir;
  shop_twins shop(dir);
  shop.change_on_service(3, "name", "\"Renamed in the service\"");
  proxy_process proxy(dir, shop.monolith.url(),
                      shadowed_product_detail(shop.service.url()));
  for (int i = 0; i < 40; ++i)
    REQUIRE(http_call(proxy.port, "GET", "/api/products/" + std::to_string(i % 4 + 1)).status == 200);
  const std::vector<std::string> base{"--admin", "http://127.0.0.1:" + std::to_string(proxy.admin_port),
                                      "--token-file", dir.file("state/admin.token"), "shadow", "report",
                                      "--min-compared", "20"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // Wait until every copy is compared.
  json::value rep;
  eventually([&] {
    auto r = run_banyan(with({"--format", "json"}), dir);
    rep = json::parse(r.out);
    const auto& routes = rep.at("routes").as_array();
    return !routes.empty() && routes[0].at("counts").at("compared").to_number<int>() == 40;
  });
  REQUIRE(rep.at("routes").at(0).at("counts").at("compared").to_number<int>() == 40);

  // Text: product 3's name differs in 10 of 40; parity 75 % is below the default 99 %: exit 1.
  auto text = run_banyan(base, dir);
  INFO(text.out << text.err);
  CHECK(text.code == 1);
  CHECK(text.out.find("product-detail  parity 75.00 % (30 of 40 compared)  BELOW 99.00 %") != std::string::npos);
  CHECK(text.out.find("$.name") != std::string::npos);
  CHECK(text.out.find("$.generated_at") != std::string::npos);  // learned noise, listed as such
  CHECK(run_banyan(with({"--min-parity", "70"}), dir).code == 0);

  // JUnit for CI.
  auto junit = run_banyan(with({"--format", "junit", "--output", dir.file("parity.xml")}), dir);
  CHECK(junit.code == 1);
  const auto xml = read_file(dir.file("parity.xml"));
  CHECK(xml.find("failures=\"1\"") != std::string::npos);
  CHECK(xml.find("<failure message=\"parity 75.00 % is below 99.00 % (30 of 40 matched); most frequent difference: "
                 "$.name in 10 requests\"/>") != std::string::npos);

  // Bad input and an unknown route.
  CHECK(run_banyan(with({"--format", "pdf"}), dir).code == 2);
  CHECK(run_banyan(with({"--since", "yesterday"}), dir).code == 2);
  CHECK(run_banyan(with({"--since", "2999-01-01T00:00:00Z"}), dir).code == 2);
  auto unknown = run_banyan(with({"--route", "nope"}), dir);
  CHECK(unknown.code == 1);
  CHECK(unknown.err.find("no shadow results for route 'nope'") != std::string::npos);
  CHECK(run_banyan(with({"--since", "1h", "--format", "json"}), dir).out.find("\"compared\":40") != std::string::npos);
  CHECK(run_banyan(with({"--since", "2020-01-01T00:00:00Z", "--format", "json"}), dir).out.find("\"compared\":40") !=
        std::string::npos);
  CHECK(run_banyan(with({"--since", "2200-01-01T00:00:00.000Z", "--format", "json"}), dir).out.find("\"compared\":0") !=
        std::string::npos);

  // HTML: one file, rendered by Chromium with its data and the sample diff marked.
  auto html = run_banyan(with({"--format", "html", "--output", dir.file("report.html"), "--min-parity", "70"}), dir);
  CHECK(html.code == 0);
  const auto dom = rendered_dom(dir.file("report.html"), dir);
  CHECK(dom.find("data-rendered=\"1\"") != std::string::npos);  // the page's script ran
  CHECK(dom.find("product-detail — parity 75.00 %") != std::string::npos);
  CHECK(dom.find("<code>$.name</code>") != std::string::npos);
  CHECK(dom.find("<span class=\"diff-line\">  \"name\": \"Renamed in the service\",") != std::string::npos);
  CHECK(dom.find("<polyline points=") != std::string::npos);
  CHECK(proxy.stop() == 0);
}
