#include "commands/data_commands.hpp"

#include "commands/data_verify_ranges.hpp"

#include "banyan/platform/http_client.hpp"
#include "banyan/verify/entity_diff.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace banyan::cli {

namespace json = boost::json;
namespace verify = banyan::verify;

namespace {

// Why a side could not be read, and which exit code that is.
struct side_failure {
  int code = exit_ok;
  std::string message;
};

struct side_scan {
  std::string url;
  verify::side_digest digest;
  std::vector<std::string> listed_twice;  // keys a listing returned on two pages
  std::set<std::string> fields;           // the fields rows are listed with (what is compared)
  std::atomic<std::size_t> rows{0};
  side_failure failure;
};

std::string listing_path(const data_verify_options& o) {
  std::string p = o.path;
  if (const auto at = p.find("{entity}"); at != std::string::npos) p.replace(at, 8, o.entity);
  return p;
}

side_failure unreachable(const http::client_error& e) { return {exit_unreachable, e.message}; }

http::header_list accept_json() {
  http::header_list h;
  h.add("Accept", "application/json");
  return h;
}

// Pages through one side's listing, keeping a checksum per row.
void scan(const data_verify_options& o, const verify::ignore_set& ignore, side_scan& side) {
  http::client c(side.url);
  const std::string path = listing_path(o);
  for (std::int64_t page = 1;; ++page) {
    const std::string target = path + (path.find('?') == std::string::npos ? "?" : "&") + "page=" + std::to_string(page) +
                               "&page_size=" + std::to_string(o.page_size);
    auto r = c.get(target, accept_json());
    if (!r) {
      side.failure = unreachable(r.error());
      return;
    }
    if (r->status != 200) {
      side.failure = {r->status >= 500 ? int{exit_unreachable} : int{exit_bad_input},
                      side.url + target + " answered " + std::to_string(r->status)};
      return;
    }
    boost::system::error_code ec;
    const json::value body = json::parse(r->body, ec);
    const json::value* items = nullptr;
    if (!ec && body.is_object()) items = body.as_object().if_contains(o.items_field);
    if (!items || !items->is_array()) {
      side.failure = {int{exit_bad_input}, side.url + target + " is not a listing: expected a JSON object with an \"" +
                                          o.items_field + "\" array (see --items)"};
      return;
    }
    for (const auto& item : items->as_array()) {
      const auto* row = item.if_object();
      const auto key = row ? verify::row_key(*row, o.key) : std::nullopt;
      if (!key) {
        side.failure = {int{exit_bad_input}, side.url + target + ": a row has no \"" + o.key + "\" (see --key)"};
        return;
      }
      if (side.fields.empty())
        for (const auto& kv : *row) side.fields.insert(std::string(kv.key()));
      if (!side.digest.add(*key, verify::row_checksum(*row, ignore))) side.listed_twice.push_back(*key);
      ++side.rows;
    }
    if (items->as_array().size() < static_cast<std::size_t>(o.page_size)) return;
  }
}

// One row fetched by key: the object (restricted to the listed fields), or nullopt when absent.
struct fetched {
  bool ok = true;
  std::optional<json::object> row;
  side_failure failure;
};
fetched fetch_row(http::client& c, const std::string& path, const std::string& key, const std::set<std::string>& fields) {
  fetched f;
  auto r = c.get(path + "/" + key, accept_json());
  if (!r) {
    f.ok = false;
    f.failure = unreachable(r.error());
    return f;
  }
  if (r->status == 404) return f;
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (r->status != 200 || ec || !v.is_object()) {
    f.ok = false;
    f.failure = {int{exit_bad_input}, c.url().origin() + path + "/" + key + " answered " + std::to_string(r->status)};
    return f;
  }
  json::object row;
  for (const auto& kv : v.as_object())
    if (fields.empty() || fields.contains(std::string(kv.key()))) row.insert(kv);
  f.row = std::move(row);
  return f;
}

struct row_report {
  std::string key;
  std::string kind;  // missing_on_to | missing_on_from | differs
  std::vector<verify::field_difference> fields;
};

// What banyan-sync's fence at `url` says: changes to its moved tables it did not apply since the
// writes left that database (docs/banyan-sync.md).
struct fence_reading {
  std::string url;
  bool up = false;
  std::int64_t foreign = 0;
  std::string owner;
  json::array latest;
  side_failure failure;
};

fence_reading read_fence(const std::string& url) {
  fence_reading f;
  f.url = url;
  try {
    http::client c(url);
    auto r = c.get("/internal/fence", accept_json());
    if (!r) {
      f.failure = unreachable(r.error());
      return f;
    }
    if (r->status != 200) {
      f.failure = {int{exit_bad_input}, url + "/internal/fence answered " + std::to_string(r->status) +
                                            ": --fence names a banyan-sync that publishes a database's changes"};
      return f;
    }
    boost::system::error_code ec;
    const auto doc = json::parse(r->body, ec);
    if (ec || !doc.is_object()) {
      f.failure = {int{exit_bad_input}, url + "/internal/fence: not a JSON object"};
      return f;
    }
    const auto& o = doc.as_object();
    f.up = o.contains("up") && o.at("up").is_bool() && o.at("up").as_bool();
    if (const auto* n = o.if_contains("foreign_writes"); n && n->is_int64()) f.foreign = n->as_int64();
    if (const auto* w = o.if_contains("owner"); w && w->is_string()) f.owner = std::string(w->as_string());
    if (const auto* l = o.if_contains("latest"); l && l->is_array()) f.latest = l->as_array();
  } catch (const std::exception& e) {
    f.failure = {int{exit_bad_input}, std::string("--fence: ") + e.what()};
  }
  return f;
}

}  // namespace

int run_data_verify(const data_verify_options& o, const global_options& global, std::ostream& out, std::ostream& err) {
  for (const auto* u : {&o.from, &o.to}) {
    http::http_url url;
    std::string why;
    if (!http::parse_http_url(*u, url, why)) {
      err << "banyan: data verify: " << why << '\n';
      return exit_bad_input;
    }
  }
  if (o.entity.empty() || o.entity.find_first_of("/?#") != std::string::npos) {
    err << "banyan: data verify: --entity must be a name such as products\n";
    return exit_bad_input;
  }
  const verify::ignore_set ignore(o.ignore.begin(), o.ignore.end());
  const auto started = std::chrono::steady_clock::now();
  side_scan from, to;
  from.url = o.from;
  to.url = o.to;
  range_comparison ranges;
  if (o.method != "listing") {
    compare_by_ranges(o, ignore, ranges, err);
    if (ranges.failure_code != exit_ok) {
      err << "banyan: data verify: " << ranges.failure << '\n';
      return ranges.failure_code;
    }
    if (!ranges.served && o.method == "ranges") {
      err << "banyan: data verify: --method ranges: both sides must serve GET /internal/checksum/" << o.entity
          << " keyed by \"" << o.key << "\" (docs/data-sync.md); use --method listing\n";
      return exit_bad_input;
    }
  }
  if (ranges.served) {
    // Only the rows of ranges that differ are listed; the equal ranges' rows are counted.
    from.digest = std::move(ranges.from);
    to.digest = std::move(ranges.to);
    from.fields = to.fields = ranges.fields;
  } else {
    auto a = std::async(std::launch::async, [&] { scan(o, ignore, from); });
    auto b = std::async(std::launch::async, [&] { scan(o, ignore, to); });
    auto last_progress = started;
    while (b.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready ||
           a.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_progress >= std::chrono::seconds(2)) {
        last_progress = now;
        err << "verify: " << o.entity << ": " << from.rows << " rows read from " << o.from << ", " << to.rows << " from "
            << o.to << '\n';
      }
    }
    a.get();
    b.get();
    for (auto* side : {&from, &to})
      if (side->failure.code != exit_ok) {
        err << "banyan: data verify: " << side->failure.message << '\n';
        return side->failure.code;
      }
  }
  const std::size_t from_rows = ranges.served ? ranges.from_rows.load() : from.digest.size();
  const std::size_t to_rows = ranges.served ? ranges.to_rows.load() : to.digest.size();
  const std::size_t equal_in_ranges = ranges.equal_in_ranges;

  // Rows that differ may be writes that landed on one side between the two reads: each is read
  // again from both sides by key (up to twice, a moment apart) and only what persists is reported.
  const auto d = verify::compare(from.digest, to.digest);
  std::set<std::string> fields = from.fields;
  fields.insert(to.fields.begin(), to.fields.end());
  std::vector<std::string> candidates;
  for (const auto* list : {&d.missing_on_to, &d.missing_on_from, &d.differ}) candidates.insert(candidates.end(), list->begin(), list->end());
  std::sort(candidates.begin(), candidates.end(), verify::key_less);
  constexpr std::size_t confirm_limit = 2000;
  std::vector<row_report> reports;
  std::size_t settled = 0, unconfirmed = 0;
  {
    http::client fc(o.from), tc(o.to);
    range_side from_ranges(o.from, o.entity, ignore), to_ranges(o.to, o.entity, ignore);
    const std::string path = listing_path(o);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const auto& key = candidates[i];
      if (i >= confirm_limit) {
        ++unconfirmed;
        reports.push_back({key, from.digest.rows().contains(key) ? (to.digest.rows().contains(key) ? "differs" : "missing_on_to")
                                                                 : "missing_on_from", {}});
        continue;
      }
      std::optional<row_report> report;
      for (int round = 0; round < 2; ++round) {
        if (round) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        if (ranges.served) {
          // Whether the row is there and alike, from the same checksums the ranges came from; its
          // fields from PATH/KEY, only to name them.
          const auto cx = from_ranges.row(key), cy = to_ranges.row(key);
          for (const auto* r : {&from_ranges, &to_ranges})
            if (r->failure_code != exit_ok) {
              err << "banyan: data verify: " << r->failure << '\n';
              return r->failure_code;
            }
          if (!cx || !cy) {
            err << "banyan: data verify: a side stopped serving /internal/checksum/" << o.entity << '\n';
            return exit_bad_input;
          }
          if (*cx == *cy) report.reset();
          else if (!*cy) report = row_report{key, "missing_on_to", {}};
          else if (!*cx) report = row_report{key, "missing_on_from", {}};
          else {
            const auto x = fetch_row(fc, path, key, fields), y = fetch_row(tc, path, key, fields);
            std::vector<verify::field_difference> named;
            if (x.ok && y.ok && x.row && y.row) named = verify::differing_fields(*x.row, *y.row, ignore);
            report = row_report{key, "differs", std::move(named)};
          }
          if (!report) break;
          continue;
        }
        const auto x = fetch_row(fc, path, key, fields), y = fetch_row(tc, path, key, fields);
        for (const auto* f : {&x, &y})
          if (!f->ok) {
            err << "banyan: data verify: " << f->failure.message << '\n';
            return f->failure.code;
          }
        if (!x.row && !y.row) report.reset();
        else if (!y.row) report = row_report{key, "missing_on_to", {}};
        else if (!x.row) report = row_report{key, "missing_on_from", {}};
        else if (verify::row_checksum(*x.row, ignore) == verify::row_checksum(*y.row, ignore)) report.reset();
        else report = row_report{key, "differs", verify::differing_fields(*x.row, *y.row, ignore)};
        if (!report) break;
      }
      if (report) reports.push_back(std::move(*report));
      else ++settled;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::size_t missing_to = 0, missing_from = 0, differs = 0;
  for (const auto& r : reports) (r.kind == "missing_on_to" ? missing_to : r.kind == "missing_on_from" ? missing_from : differs)++;
  std::vector<fence_reading> fences;
  std::int64_t foreign = 0;
  for (const auto& url : o.fences) {
    fences.push_back(read_fence(url));
    if (fences.back().failure.code != exit_ok) {
      err << "banyan: data verify: " << fences.back().failure.message << '\n';
      return fences.back().failure.code;
    }
    foreign += fences.back().foreign;
  }
  const bool equal = reports.empty() && foreign == 0;

  if (global.json()) {
    json::array rows;
    for (const auto& r : reports) {
      json::array diffs;
      for (const auto& f : r.fields) diffs.push_back(json::object{{"field", f.field}, {"from", f.from}, {"to", f.to}});
      rows.push_back(json::object{{"key", r.key}, {"kind", r.kind}, {"fields", std::move(diffs)}});
    }
    json::object doc{{"entity", o.entity},
                     {"equal", equal},
                     {"method", ranges.served ? "ranges" : "listing"},
                     {"ranges", json::object{{"compared", ranges.ranges}, {"differing", ranges.ranges_differing}}},
                     {"from", json::object{{"url", o.from}, {"rows", from_rows}}},
                     {"to", json::object{{"url", o.to}, {"rows", to_rows}}},
                     {"equal_rows", d.equal + settled + equal_in_ranges},
                     {"missing_on_to", missing_to},
                     {"missing_on_from", missing_from},
                     {"differ", differs},
                     {"settled_on_recheck", settled},
                     {"unconfirmed", unconfirmed},
                     {"ignored_fields", json::value_from(o.ignore)},
                     {"foreign_writes", [&] {
                        json::array list;
                        for (const auto& f : fences)
                          list.push_back(json::object{{"url", f.url}, {"fence_up", f.up}, {"owner", f.owner},
                                                      {"count", f.foreign}, {"latest", f.latest}});
                        return list;
                      }()},
                     {"seconds", seconds},
                     {"rows", std::move(rows)}};
    out << json::serialize(doc) << '\n';
  } else {
    out << o.entity << ": " << from_rows << " rows at " << o.from << ", " << to_rows << " at " << o.to << " ("
        << static_cast<long long>((static_cast<double>(from_rows + to_rows)) / std::max(seconds, 1e-6)) << " rows/s, ";
    if (ranges.served)
      out << "by " << ranges.ranges << " key ranges' checksums, " << ranges.ranges_differing << " read row by row)\n";
    else
      out << "by listing every row)\n";
    out << "  equal " << d.equal + settled + equal_in_ranges << ", differ " << differs << ", missing on --to " << missing_to
        << ", missing on --from " << missing_from;
    if (settled) out << " (" << settled << " changed while reading and agree now)";
    out << '\n';
    int shown = 0;
    for (const auto& r : reports) {
      if (shown++ == o.max_listed) {
        out << "  … " << reports.size() - static_cast<std::size_t>(o.max_listed) << " more (--output json lists all)\n";
        break;
      }
      if (r.kind != "differs") {
        out << "  " << o.key << " " << r.key << ": " << (r.kind == "missing_on_to" ? "missing on --to" : "missing on --from") << '\n';
        continue;
      }
      out << "  " << o.key << " " << r.key << ":";
      if (r.fields.empty()) out << " differs";
      for (const auto& f : r.fields) out << ' ' << f.field << ' ' << f.from << " → " << f.to << ';';
      out << '\n';
    }
    for (auto* side : {&from, &to})
      if (!side->listed_twice.empty())
        out << "  note: " << side->url << " listed " << side->listed_twice.size()
            << " rows twice while paging (writes during the read shift offset paging)\n";
    if (unconfirmed) out << "  note: " << unconfirmed << " differences beyond the first " << confirm_limit << " were not re-read\n";
    for (const auto& f : fences) {
      if (!f.up) {
        out << "  " << f.url << ": no fence up (its database owns its writes): no foreign writes to count\n";
        continue;
      }
      out << "  foreign writes at " << f.url << " since its writes moved to " << f.owner << ": " << f.foreign << '\n';
      for (const auto& e : f.latest) {
        const auto& ev = e.as_object();
        out << "    " << (ev.contains("type") ? json::serialize(ev.at("type")) : "") << " key "
            << (ev.contains("key") ? json::serialize(ev.at("key")) : "") << " at "
            << (ev.contains("at") ? json::serialize(ev.at("at")) : "") << '\n';
      }
    }
    out << (equal                 ? "verify: " + o.entity + " agree\n"
            : reports.empty()     ? "verify: " + o.entity + " agree, but writes bypassed the migration (foreign writes)\n"
                                  : "verify: " + o.entity + " differ\n");
  }
  return equal ? exit_ok : exit_check_failed;
}

void setup_data(CLI::App& app, const global_options& global, int& result) {
  auto* data = app.add_subcommand("data", "Check the data behind the routes");
  data->require_subcommand(1);
  auto opts = std::make_shared<data_verify_options>();
  auto* v = data->add_subcommand("verify", "Compare an entity on two sides: counts, per-row checksums, differing fields");
  v->add_option("--from", opts->from, "base URL of the side data comes from (e.g. the monolith)")->required();
  v->add_option("--to", opts->to, "base URL of the other side (e.g. the extracted service)")->required();
  v->add_option("--entity", opts->entity, "what to compare, e.g. products")->required();
  v->add_option("--key", opts->key, "the field that identifies a row")->capture_default_str();
  v->add_option("--ignore", opts->ignore, "fields left out of the comparison")->delimiter(',');
  v->add_option("--path", opts->path, "the listing's path; rows are read at PATH/KEY")->capture_default_str();
  v->add_option("--page-size", opts->page_size, "rows asked for per page (1-1000)")->capture_default_str();
  v->add_option("--items", opts->items_field, "the listing's array of rows")->capture_default_str();
  v->add_option("--method", opts->method,
                "ranges: compare key ranges' checksums the sides compute (GET /internal/checksum/ENTITY), reading "
                "rows only where a range differs; listing: read every row of both listings; auto: ranges when both "
                "sides serve them")
      ->check(CLI::IsMember({"auto", "ranges", "listing"}))
      ->capture_default_str();
  v->add_option("--fence", opts->fences,
                "a banyan-sync whose foreign writes count as a difference (the old owner's, once its writes moved); "
                "repeatable");
  v->footer(
      "Each side must answer GET PATH?page=N&page_size=M with {\"ITEMS\": [rows…]} (a short page ends the\n"
      "listing) and GET PATH/KEY with one row or 404.\n"
      "With --fence URL, changes banyan-sync at URL did not apply since its writes moved (foreign writes) count too.\n"
      "Exit codes: 0 the sides agree, 1 they differ, 2 bad input, 3 a side cannot be reached.\n"
      "Example:\n  banyan data verify --from http://127.0.0.1:8081 --to http://127.0.0.1:8082 --entity products --ignore updated_at");
  v->callback([opts, &global, &result] {
    if (opts->page_size < 1 || opts->page_size > 1000) {
      std::cerr << "banyan: data verify: --page-size must be 1 to 1000, got " << opts->page_size << '\n';
      result = exit_bad_input;
      return;
    }
    result = run_data_verify(*opts, global, std::cout, std::cerr);
  });
}

}  // namespace banyan::cli
