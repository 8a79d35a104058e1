#include "banyan/shadow/recorder.hpp"
#include "banyan/platform/clock.hpp"

#include "banyan/platform/ascii.hpp"

#include "banyan/platform/log.hpp"

#include <algorithm>

namespace banyan::shadow {

namespace {

std::string_view outcome_text(comparison::outcome o) {
  switch (o) {
    case comparison::outcome::compared: return "compared";
    case comparison::outcome::too_large: return "too_large";
    case comparison::outcome::no_answer: return "no_answer";
  }
  return "?";
}

// A request head with sensitive header values replaced.
std::string redact_head(std::string_view head, const compare_rules& rules) {
  std::string out;
  std::size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    const auto line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (!first && colon != std::string_view::npos) {
      const std::string name = ascii_lowered(line.substr(0, colon));
      if (is_sensitive_header(name, rules)) {
        out.append(line.substr(0, colon)).append(": [redacted]\n");
        continue;
      }
    }
    first = false;
    out.append(line).push_back('\n');
  }
  return out;
}

std::string render_response(const captured_response& r, const compare_rules& rules, std::size_t max_body) {
  if (r.status == 0) return "(no answer: " + r.failure + ")";
  std::string out = std::to_string(r.status) + "\n";
  for (const auto& [name, value] : r.headers)
    out.append(name).append(": ").append(is_sensitive_header(name, rules) ? "[redacted]" : value).push_back('\n');
  out.push_back('\n');
  json_doc doc;
  json_parse_error err;
  if (!r.body.empty() && doc.parse(r.body, err)) {
    out += redacted_json(doc, rules.json.redact, max_body);
  } else if (r.body.size() > max_body) {
    out.append(r.body, 0, max_body).append("…");
  } else {
    out += r.body;
  }
  return out;
}

const char* status_class(int status) {
  switch (status / 100) {
    case 1: return "1xx";
    case 2: return "2xx";
    case 3: return "3xx";
    case 4: return "4xx";
    case 5: return "5xx";
    default: return "none";
  }
}


}  // namespace

shadow_recorder::shadow_recorder(const std::string& db_path, recorder_options options)
    : opt_(options), store_(db_path), reader_(std::make_unique<shadow_store>(db_path)) {
  sample_counts_ = store_.sample_counts();
  for (const auto& n : store_.noise("")) noise_[n.route].differed[n.path] = n.seen;
  for (const auto& c : store_.counters(""))
    if (c.name == "noise_probes") noise_[c.route].probes += c.value;
  thread_ = std::thread([this] { run(); });
}

shadow_recorder::~shadow_recorder() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool shadow_recorder::submit(shadow_exchange&& x) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= opt_.queue_capacity) {
      ++counts_in_[{x.route, "dropped"}];
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(std::move(x));
    // Woken for a full batch, else by its own tick: a wake-up per exchange costs more than the
    // comparison itself at high rates.
    wake = queue_.size() == opt_.batch;
  }
  if (wake) wake_.notify_one();
  return true;
}

void shadow_recorder::count(const std::string& route, const std::string& name, std::int64_t n) {
  if (n == 0) return;
  std::lock_guard lock(mutex_);
  counts_in_[{route, name}] += n;
}

void shadow_recorder::record_traffic(std::map<traffic_key, std::int64_t> requests,
                                     std::map<latency_key, std::int64_t> latency) {
  std::lock_guard lock(mutex_);
  for (auto& [k, n] : requests) traffic_in_[k] += n;
  for (auto& [k, n] : latency) traffic_latency_in_[k] += n;
}

evidence::evidence_doc shadow_recorder::evidence(std::int64_t since_ms, std::int64_t baseline_from_ms, std::size_t window,
                                              std::size_t min_compared) {
  flush(std::chrono::milliseconds(2000));
  report_options o;
  o.since_ms = since_ms;
  o.window = window;
  o.min_compared = min_compared;
  o.now_ms = unix_ms();
  std::lock_guard lock(report_mutex_);
  report_input in;
  const std::int64_t since = since_ms / 1000, end = o.now_ms / 1000 + 1;
  in.results = reader_->results("", since);
  in.latency = reader_->latency("", since);
  in.noise = reader_->noise("");
  in.counters = reader_->counters("");
  evidence_input ev;
  ev.traffic = reader_->traffic("", since, end);
  ev.traffic_latency = reader_->traffic_latency("", since, end);
  ev.baseline_latency = reader_->traffic_latency("", baseline_from_ms / 1000, since);
  ev.shadow = build_report(in, o);
  ev.since_ms = since_ms;
  ev.now_ms = o.now_ms;
  return build_evidence(ev);
}

bool shadow_recorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  // A cycle already running may have missed what came just before this call: wait for the next one.
  const auto target = cycles_ + 2;
  ++flush_requests_;
  wake_.notify_one();
  const bool ok = flushed_.wait_for(lock, timeout, [&] { return cycles_ >= target && store_error_.empty(); });
  --flush_requests_;
  return ok;
}

bool shadow_recorder::writable(std::string& why) const {
  std::lock_guard lock(mutex_);
  why = store_error_;
  return store_error_.empty();
}

shadow_recorder::figures shadow_recorder::totals() const {
  return {compared_.load(), matched_.load(), dropped_.load(), lost_.load(), store_failures_.load()};
}

boost::json::object shadow_recorder::report(report_options options) {
  flush(std::chrono::milliseconds(2000));
  if (options.now_ms == 0) options.now_ms = unix_ms();
  std::lock_guard lock(report_mutex_);
  report_input in;
  const std::int64_t since_second = options.since_ms / 1000;
  in.results = reader_->results(options.route, since_second);
  in.latency = reader_->latency(options.route, since_second);
  in.samples = reader_->samples(options.route);
  in.noise = reader_->noise(options.route);
  in.counters = reader_->counters(options.route);
  return build_report(in, options);
}

void shadow_recorder::process(shadow_exchange& x) {
  const compare_rules& rules = *x.rules;
  const auto result = compare_responses(x.monolith, x.service, rules);
  auto& noise = noise_[x.route];
  if (x.monolith_again) {
    // The monolith asked twice: whatever differs between its own answers, in at least a tenth of
    // the probes so far (is_learned_noise), is noise.
    pending_.counters.push_back({x.route, "noise_probes", 1});
    ++noise.probes;
    const auto again = compare_responses(x.monolith, *x.monolith_again, rules);
    std::set<std::string> seen;
    for (const auto& d : again.differences) {
      if (!seen.insert(d.aggregate).second) continue;
      ++noise.differed[d.aggregate];
      pending_.noise.push_back({x.route, d.aggregate, 1, d.monolith, d.service, x.at_ms, x.at_ms});
    }
  }
  result_key key;
  key.route = x.route;
  key.second = x.at_ms / 1000;
  key.outcome = std::string(outcome_text(result.result));
  key.monolith_class = status_class(x.monolith.status);
  key.service_class = status_class(x.service.status);
  std::vector<std::string> entries;
  bool matched = result.result == comparison::outcome::compared;
  std::set<std::string> sampled;
  // An object whose version differs (compare.version) was not compared: one side had not caught
  // up. Such a comparison is left out of parity, and counted as stale; were every one stale (a
  // service that never catches up, or rewrites the version), parity would have nothing to judge.
  const bool stale = std::any_of(result.differences.begin(), result.differences.end(),
                                 [](const difference& d) { return d.kind == diff_kind::stale; });
  if (stale) {
    key.outcome = "stale";
    matched = false;
  }
  for (const auto& d : result.differences) {
    if (stale) break;
    entries.push_back(std::string(to_string(d.kind)) + " " + d.aggregate);
    if (noise.is_noise(d.aggregate)) continue;
    matched = false;
    auto& n = sample_counts_[{x.route, d.aggregate}];
    if (static_cast<std::size_t>(n) >= opt_.samples_per_path || !sampled.insert(d.aggregate).second) continue;
    ++n;
    sample_record s;
    s.route = x.route;
    s.path = d.aggregate;
    s.where = d.where;
    s.kind = std::string(to_string(d.kind));
    s.at_ms = x.at_ms;
    s.request_id = x.request_id;
    s.method = x.method;
    s.target = x.target;
    s.monolith_value = d.monolith;
    s.service_value = d.service;
    s.request = redact_head(x.request_head, rules);
    s.monolith_response = render_response(x.monolith, rules, opt_.sample_body_bytes);
    s.service_response = render_response(x.service, rules, opt_.sample_body_bytes);
    pending_.samples.push_back(std::move(s));
  }
  if (result.result == comparison::outcome::compared && !stale) {
    compared_.fetch_add(1, std::memory_order_relaxed);
    if (matched) matched_.fetch_add(1, std::memory_order_relaxed);
  }
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  for (const auto& e : entries) key.paths += (key.paths.empty() ? "" : "\n") + e;
  if (x.monolith.status) ++pending_.latency[{x.route, key.second, "monolith", latency_bucket(x.monolith.seconds * 1000.0)}];
  if (x.service.status) ++pending_.latency[{x.route, key.second, "service", latency_bucket(x.service.seconds * 1000.0)}];
  // A store that stays unwritable must not grow memory without bound: past the limit, results
  // that would need a new row are dropped, counted (rows are per route, second and outcome: the
  // limit is hours of traffic).
  if (auto it = pending_.results.find(key); it != pending_.results.end()) ++it->second;
  else if (pending_.results.size() < opt_.max_pending_rows) pending_.results.emplace(std::move(key), 1);
  else lost_.fetch_add(1, std::memory_order_relaxed);
  if (pending_.samples.size() > 1000) pending_.samples.resize(1000);
  if (pending_.noise.size() > 10'000) pending_.noise.erase(pending_.noise.begin(), pending_.noise.begin() + 5000);
}

bool shadow_recorder::write_pending() {
  if (pending_.empty()) return true;
  try {
    store_.write(pending_, opt_.retention_seconds);
    pending_ = {};
    return true;
  } catch (const std::exception& e) {
    store_failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    if (store_error_.empty())
      banyan::log::warn("shadow results cannot be saved; kept in memory until they can",
                        {{"error", e.what()}});
    store_error_ = std::string("shadow results cannot be saved: ") + e.what();
    return false;
  }
}

void shadow_recorder::run() {
  std::deque<shadow_exchange> work;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, opt_.flush_interval,
                     [&] { return stop_ || queue_.size() >= opt_.batch || flush_requests_ > 0; });
      stopping = stop_;
      work.swap(queue_);
      for (auto& [key, n] : counts_in_) pending_.counters.push_back({key.first, key.second, n});
      counts_in_.clear();
      for (auto& [key, n] : traffic_in_) pending_.traffic[key] += n;
      for (auto& [key, n] : traffic_latency_in_) pending_.traffic_latency[key] += n;
      traffic_in_.clear();
      traffic_latency_in_.clear();
    }
    for (auto& x : work) process(x);
    work.clear();
    const bool ok = write_pending();
    {
      std::lock_guard lock(mutex_);
      ++cycles_;
      if (ok) store_error_.clear();
    }
    flushed_.notify_all();
    if (stopping) return;
  }
}

}  // namespace banyan::shadow
