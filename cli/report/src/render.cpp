#include "banyan/report/render.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <ctime>
#include <sstream>

namespace banyan::report {

namespace json = boost::json;

namespace {

double num(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  return 0;
}

std::int64_t count(const json::value& v) { return static_cast<std::int64_t>(num(v)); }

std::string str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); }

std::string fixed(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string ms(const json::value& v) { return v.is_null() ? "—" : fixed(num(v)); }

// A sample's value on one side: JSON text, or nothing where the field is missing on that side
// (an extra field has no monolith value, a missing one no service value).
std::string side_value(const json::value& v) {
  const std::string s = str(v);
  return s.empty() ? "absent" : s;
}

std::string pad(std::string s, std::size_t width) {
  // Pads by code points, so "—" and "→" line up.
  std::size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  if (cps < width) s.append(width - cps, ' ');
  return s;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\r' && c != '\t') out += "\uFFFD";
        else out.push_back(c);
    }
  }
  return out;
}

std::string ratio(const json::value& service, const json::value& monolith) {
  if (service.is_null() || monolith.is_null() || num(monolith) <= 0) return "—";
  return "×" + fixed(num(service) / num(monolith));
}

}  // namespace

std::string format_percent(const json::value& v) { return v.is_null() ? "—" : fixed(num(v)) + " %"; }

std::string format_time_ms(std::int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<verdict> judge(const json::object& report, double min_parity) {
  std::vector<verdict> out;
  for (const auto& rv : report.at("routes").as_array()) {
    const auto& r = rv.as_object();
    const auto& parity = r.at("parity").as_object();
    verdict v;
    v.route = str(r.at("route"));
    const auto compared = count(parity.at("compared"));
    if (!parity.at("enough").as_bool()) {
      v.result = verdict::kind::not_enough_data;
      v.message = "not enough data: " + std::to_string(compared) + " compared, " +
                  std::to_string(count(parity.at("min_compared"))) + " needed for a verdict";
    } else if (num(parity.at("percent")) < min_parity) {
      v.result = verdict::kind::fail;
      v.message = "parity " + format_percent(parity.at("percent")) + " is below " + fixed(min_parity) + " % (" +
                  std::to_string(count(parity.at("matched"))) + " of " + std::to_string(compared) + " matched)";
      const auto& paths = r.at("paths").as_array();
      if (!paths.empty())
        v.message += "; most frequent difference: " + str(paths[0].at("path")) + " in " +
                     std::to_string(count(paths[0].at("count"))) + " requests";
    } else {
      v.message = "parity " + format_percent(parity.at("percent")) + " over the last " + std::to_string(compared) +
                  " compared requests";
    }
    out.push_back(std::move(v));
  }
  return out;
}

namespace {
// A fleet's report merges its instances' (docs/fleet.md): whose, and who is missing from it.
std::string fleet_line(const json::object& report) {
  const auto* f = report.if_contains("fleet");
  if (!f || !f->is_object()) return {};
  std::string line = "across the fleet: " + std::to_string(count(f->at("answered"))) + " of " +
                     std::to_string(count(f->at("asked"))) + " instances";
  if (const auto* m = f->as_object().if_contains("missing"); m && m->is_object())
    for (const auto& [instance, why] : m->as_object())
      line += "; missing " + std::string(instance) + " (" + (why.is_string() ? std::string(why.as_string()) : "") + ")";
  return line + "\n";
}
}  // namespace

std::string render_text(const json::object& report, double min_parity) {
  std::ostringstream o;
  const auto& routes = report.at("routes").as_array();
  const auto verdicts = judge(report, min_parity);
  o << "Shadow report, " << routes.size() << (routes.size() == 1 ? " route" : " routes") << ", generated "
    << format_time_ms(count(report.at("generated_at_ms"))) << "\n";
  o << fleet_line(report);
  if (routes.empty()) o << "\nNo shadow results yet: put a route in shadow mode and send it traffic.\n";
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i].as_object();
    const auto& parity = r.at("parity").as_object();
    const auto& counts = r.at("counts").as_object();
    o << "\n" << str(r.at("route")) << "  parity " << format_percent(parity.at("percent")) << " ("
      << count(parity.at("matched")) << " of " << count(parity.at("compared")) << " compared)  ";
    switch (verdicts[i].result) {
      case verdict::kind::pass: o << "OK"; break;
      case verdict::kind::fail: o << "BELOW " << fixed(min_parity) << " %"; break;
      case verdict::kind::not_enough_data: o << "(" << verdicts[i].message << ")"; break;
    }
    o << "\n  not compared: " << count(counts.at("too_large")) << " too large, " << count(counts.at("no_answer"))
      << " without an answer, " << count(counts.at("skipped_writes")) << " skipped writes, "
      << count(counts.at("dropped")) << " dropped (queue full)";
    if (const auto* stale = counts.if_contains("stale"); stale && count(*stale) != 0)
      o << ", " << count(*stale) << " stale (the service had not caught up with an object's version)";
    o << '\n';
    const auto& paths = r.at("paths").as_array();
    if (paths.empty()) {
      o << "  no differences outside learned noise\n";
    } else {
      o << "  differing paths:\n";
      for (std::size_t p = 0; p < paths.size() && p < 10; ++p) {
        const auto& path = paths[p].as_object();
        std::string kinds;
        for (const auto& k : path.at("kinds").as_array()) kinds += (kinds.empty() ? "" : ",") + str(k);
        o << "    " << pad(str(path.at("path")), 28) << pad(std::to_string(count(path.at("count"))) + " requests", 14)
          << pad("(" + format_percent(path.at("share")) + ")", 12) << kinds;
        const auto& samples = path.at("samples").as_array();
        if (!samples.empty()) {
          const auto& s = samples[0].as_object();
          o << "  e.g. " << side_value(s.at("monolith")) << " → " << side_value(s.at("service")) << "  ("
            << str(s.at("method"))
            << " " << str(s.at("target")) << ", request " << str(s.at("request_id")) << ")";
        }
        o << "\n";
      }
      if (paths.size() > 10) o << "    … and " << paths.size() - 10 << " more (--format json or html for all)\n";
    }
    const auto& noise = r.at("noise").as_array();
    if (!noise.empty()) {
      o << "  learned noise (excluded from parity):\n";
      for (const auto& nv : noise) {
        const auto& n = nv.as_object();
        o << "    " << pad(str(n.at("path")), 28) << "differed in " << count(n.at("seen")) << " of "
          << count(n.at("probes")) << " monolith re-asks, e.g. " << str(n.at("example").at(0)) << " vs "
          << str(n.at("example").at(1)) << "\n";
      }
    }
    o << "  status (monolith → service):";
    for (const auto& [mc, row] : r.at("status").as_object())
      for (const auto& [sc, n] : row.as_object()) o << "  " << std::string(mc) << "→" << std::string(sc) << " " << count(n);
    o << "\n";
    const auto& lm = r.at("latency_ms").at("monolith").as_object();
    const auto& ls = r.at("latency_ms").at("service").as_object();
    o << "  latency ms   " << pad("p50", 10) << pad("p90", 10) << "p99\n";
    o << "    monolith   " << pad(ms(lm.at("p50")), 10) << pad(ms(lm.at("p90")), 10) << ms(lm.at("p99")) << "\n";
    o << "    service    " << pad(ms(ls.at("p50")), 10) << pad(ms(ls.at("p90")), 10) << ms(ls.at("p99")) << "  (p99 "
      << ratio(ls.at("p99"), lm.at("p99")) << ")\n";
  }
  return o.str();
}

std::string render_junit(const json::object& report, double min_parity) {
  const auto verdicts = judge(report, min_parity);
  std::size_t failures = 0, skipped = 0;
  for (const auto& v : verdicts) {
    failures += v.result == verdict::kind::fail;
    skipped += v.result == verdict::kind::not_enough_data;
  }
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<testsuites name=\"banyan shadow parity\" tests=\"" << verdicts.size() << "\" failures=\"" << failures << "\">\n"
    << "  <testsuite name=\"shadow parity\" tests=\"" << verdicts.size() << "\" failures=\"" << failures
    << "\" skipped=\"" << skipped << "\" timestamp=\"" << format_time_ms(count(report.at("generated_at_ms"))) << "\">\n";
  for (const auto& v : verdicts) {
    o << "    <testcase classname=\"shadow\" name=\"" << xml_escape(v.route) << " parity at least " << fixed(min_parity)
      << " %\">\n";
    if (v.result == verdict::kind::fail) o << "      <failure message=\"" << xml_escape(v.message) << "\"/>\n";
    else if (v.result == verdict::kind::not_enough_data) o << "      <skipped message=\"" << xml_escape(v.message) << "\"/>\n";
    else o << "      <system-out>" << xml_escape(v.message) << "</system-out>\n";
    o << "    </testcase>\n";
  }
  o << "  </testsuite>\n</testsuites>\n";
  return o.str();
}

namespace {

// Parity over time as an inline SVG line (0–100 %), one point per slice with comparisons.
std::string timeline_svg(const json::array& timeline) {
  const double w = 600, h = 120;
  // The axis spans the buckets that have a parity: the timeline runs on to the report's end, with
  // no comparisons once a route stopped being shadowed, and an axis over that squeezed the line
  // against its left edge.
  std::vector<std::pair<std::int64_t, double>> data;
  for (const auto& v : timeline) {
    const auto& t = v.as_object();
    if (!t.at("parity").is_null()) data.emplace_back(count(t.at("at_ms")), num(t.at("parity")));
  }
  std::string points;
  const std::int64_t t0 = data.empty() ? 0 : data.front().first, t1 = data.empty() ? 0 : data.back().first;
  for (const auto& [at, parity] : data) {
    const double x = t1 > t0 ? w * static_cast<double>(at - t0) / static_cast<double>(t1 - t0) : w / 2;
    const double y = h - h * parity / 100.0;
    points += fixed(x, 1) + "," + fixed(y, 1) + " ";
  }
  std::string svg = "<svg class=\"timeline\" viewBox=\"-44 -8 652 150\" role=\"img\" aria-label=\"parity over time\">"
                    "<line x1=\"0\" y1=\"0\" x2=\"600\" y2=\"0\" class=\"grid\"/>"
                    "<line x1=\"0\" y1=\"60\" x2=\"600\" y2=\"60\" class=\"grid\"/>"
                    "<line x1=\"0\" y1=\"120\" x2=\"600\" y2=\"120\" class=\"grid\"/>"
                    "<text x=\"-6\" y=\"4\" text-anchor=\"end\">100 %</text>"
                    "<text x=\"-6\" y=\"64\" text-anchor=\"end\">50 %</text>"
                    "<text x=\"-6\" y=\"124\" text-anchor=\"end\">0 %</text>";
  if (!data.empty()) {
    svg += "<text x=\"0\" y=\"138\">" + format_time_ms(t0) + "</text>";
    svg += "<text x=\"600\" y=\"138\" text-anchor=\"end\">" + format_time_ms(t1) + "</text>";
    svg += "<polyline points=\"" + points + "\" class=\"parity\"/>";
  } else {
    svg += "<text x=\"300\" y=\"64\" text-anchor=\"middle\">no comparisons yet</text>";
  }
  svg += "</svg>";
  return svg;
}

const char* html_style = R"css(
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1d232a;background:#fafafa}
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ccd;padding-bottom:.2em}
.pass{color:#1a7f37}.fail{color:#c62828}.unknown{color:#8a6d00}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #dde;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef}.num{text-align:right;font-variant-numeric:tabular-nums}
svg.timeline{width:652px;height:150px;background:#fff;border:1px solid #dde}svg text{font-size:11px;fill:#556}
svg .grid{stroke:#dde}svg .parity{fill:none;stroke:#2962ff;stroke-width:2}
details{margin:.4em 0}summary{cursor:pointer}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:.6em}
.pair pre{background:#fff;border:1px solid #dde;padding:.5em;overflow:auto;max-height:28em;margin:0}
.diff-line{background:#ffe3e3;display:block}code{background:#eef;padding:0 .2em}
)css";

// Pretty-prints each side of a sample pair and marks the lines that differ: the page's only
// script, and the page reads fine without it.
const char* html_script = R"js(
(function(){
  function pretty(text){
    var parts=text.split('\n\n');var head=parts.shift();var body=parts.join('\n\n');
    try{body=JSON.stringify(JSON.parse(body),null,2);}catch(e){}
    return (head+'\n\n'+body).split('\n');
  }
  document.querySelectorAll('.pair').forEach(function(pair){
    var pres=pair.querySelectorAll('pre');if(pres.length!==2)return;
    var a=pretty(pres[0].textContent),b=pretty(pres[1].textContent);
    [[pres[0],a,b],[pres[1],b,a]].forEach(function(t){
      t[0].textContent='';
      t[1].forEach(function(line,i){
        var span=document.createElement('span');span.textContent=line+'\n';
        if(t[2][i]!==line)span.className='diff-line';
        t[0].appendChild(span);
      });
    });
  });
  document.body.setAttribute('data-rendered','1');
})();
)js";

}  // namespace

std::string render_html(const json::object& report, double min_parity) {
  const auto verdicts = judge(report, min_parity);
  const auto& routes = report.at("routes").as_array();
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<title>Banyan shadow report</title><style>" << html_style << "</style></head><body>\n"
    << "<h1>Banyan shadow report</h1>\n<p>Generated " << format_time_ms(count(report.at("generated_at_ms")))
    << ". Parity is the share of the last " << count(report.at("window"))
    << " compared requests whose answers matched, learned noise excluded; threshold " << fixed(min_parity)
    << " %.</p>\n";
  if (routes.empty()) o << "<p>No shadow results yet.</p>\n";
  o << "<table><tr><th>route</th><th>parity</th><th>compared</th><th>verdict</th></tr>\n";
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i].as_object();
    const auto& v = verdicts[i];
    const char* cls = v.result == verdict::kind::pass ? "pass" : v.result == verdict::kind::fail ? "fail" : "unknown";
    o << "<tr><td><a href=\"#route-" << xml_escape(v.route) << "\">" << xml_escape(v.route) << "</a></td><td class=\"num\">"
      << format_percent(r.at("parity").at("percent")) << "</td><td class=\"num\">" << count(r.at("parity").at("compared"))
      << "</td><td class=\"" << cls << "\">" << xml_escape(v.message) << "</td></tr>\n";
  }
  o << "</table>\n";
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i].as_object();
    const auto& counts = r.at("counts").as_object();
    const std::string id = str(r.at("route"));
    o << "<section class=\"route\" id=\"route-" << xml_escape(id) << "\"><h2>" << xml_escape(id) << " — parity "
      << format_percent(r.at("parity").at("percent")) << "</h2>\n";
    o << "<h3>Parity over time</h3>" << timeline_svg(r.at("timeline").as_array()) << "\n";
    const auto* stale = counts.if_contains("stale");
    o << "<h3>Not compared</h3><table><tr><th>too large</th><th>no answer</th><th>skipped writes</th>"
      << "<th>dropped (queue full)</th><th>stale (service behind)</th></tr><tr><td class=\"num\">"
      << count(counts.at("too_large")) << "</td><td class=\"num\">" << count(counts.at("no_answer"))
      << "</td><td class=\"num\">" << count(counts.at("skipped_writes")) << "</td><td class=\"num\">"
      << count(counts.at("dropped")) << "</td><td class=\"num\">" << (stale ? count(*stale) : std::int64_t{0})
      << "</td></tr></table>\n";
    o << "<h3>Differing paths</h3>\n";
    const auto& paths = r.at("paths").as_array();
    if (paths.empty()) o << "<p>No differences outside learned noise.</p>\n";
    for (const auto& pv : paths) {
      const auto& p = pv.as_object();
      std::string kinds;
      for (const auto& k : p.at("kinds").as_array()) kinds += (kinds.empty() ? "" : ", ") + str(k);
      o << "<details class=\"path\"><summary><code>" << xml_escape(str(p.at("path"))) << "</code> — "
        << count(p.at("count")) << " requests (" << format_percent(p.at("share")) << "), " << xml_escape(kinds)
        << "</summary>\n";
      for (const auto& sv : p.at("samples").as_array()) {
        const auto& s = sv.as_object();
        o << "<p><code>" << xml_escape(str(s.at("method"))) << " " << xml_escape(str(s.at("target"))) << "</code> at "
          << format_time_ms(count(s.at("at_ms"))) << ", request <code>" << xml_escape(str(s.at("request_id")))
          << "</code>: <code>" << xml_escape(str(s.at("where"))) << "</code> " << xml_escape(str(s.at("monolith")))
          << " → " << xml_escape(str(s.at("service"))) << "</p>\n<div class=\"pair\"><div><b>monolith</b><pre>"
          << xml_escape(str(s.at("monolith_response"))) << "</pre></div><div><b>service</b><pre>"
          << xml_escape(str(s.at("service_response"))) << "</pre></div></div>\n";
      }
      o << "</details>\n";
    }
    const auto& noise = r.at("noise").as_array();
    if (!noise.empty()) {
      o << "<h3>Learned noise (excluded)</h3><table><tr><th>path</th><th>differed in monolith re-asks</th>"
        << "<th>example</th></tr>\n";
      for (const auto& nv : noise) {
        const auto& n = nv.as_object();
        o << "<tr><td><code>" << xml_escape(str(n.at("path"))) << "</code></td><td class=\"num\">" << count(n.at("seen"))
          << " of " << count(n.at("probes")) << "</td><td>" << xml_escape(str(n.at("example").at(0))) << " vs "
          << xml_escape(str(n.at("example").at(1))) << "</td></tr>\n";
      }
      o << "</table>\n";
    }
    o << "<h3>Status (monolith → service)</h3><table><tr><th>monolith</th><th>service</th><th>requests</th></tr>\n";
    for (const auto& [mc, row] : r.at("status").as_object())
      for (const auto& [sc, n] : row.as_object())
        o << "<tr><td>" << std::string(mc) << "</td><td>" << std::string(sc) << "</td><td class=\"num\">" << count(n)
          << "</td></tr>\n";
    o << "</table>\n";
    const auto& lm = r.at("latency_ms").at("monolith").as_object();
    const auto& ls = r.at("latency_ms").at("service").as_object();
    o << "<h3>Latency (ms)</h3><table><tr><th></th><th>p50</th><th>p90</th><th>p99</th></tr>"
      << "<tr><th>monolith</th><td class=\"num\">" << ms(lm.at("p50")) << "</td><td class=\"num\">" << ms(lm.at("p90"))
      << "</td><td class=\"num\">" << ms(lm.at("p99")) << "</td></tr><tr><th>service</th><td class=\"num\">"
      << ms(ls.at("p50")) << "</td><td class=\"num\">" << ms(ls.at("p90")) << "</td><td class=\"num\">" << ms(ls.at("p99"))
      << " (" << ratio(ls.at("p99"), lm.at("p99")) << ")</td></tr></table>\n</section>\n";
  }
  o << "<script>" << html_script << "</script>\n</body></html>\n";
  return o.str();
}

}  // namespace banyan::report
