// etcd's JSON gateway as values: what Banyan sends, and the answers a real etcd 3.4 gave (copied
// from its replies), read back.
#include "banyan/platform/etcd_messages.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using namespace banyan::etcd;
namespace json = boost::json;

TEST_CASE("etcd: a prefix's range end is the prefix with its last byte raised") {
  CHECK(prefix_end("/banyan/audit/") == "/banyan/audit0");
  CHECK(prefix_end("a\xff") == "b");
  CHECK(prefix_end(std::string("\xff\xff")) == std::string(1, '\0'));
}

TEST_CASE("etcd: requests as the gateway reads them — base64 keys, numbers as strings") {
  CHECK(json::parse(encode(range_request{"/t/a", {}, false, 0})) == json::parse(R"({"key":"L3QvYQ=="})"));
  CHECK(json::parse(encode(range_request{"/t/", prefix_end("/t/"), true, 10})) ==
        json::parse(R"({"key":"L3Qv","range_end":"L3Qw","serializable":true,"limit":"10"})"));
  txn_request t;
  t.compares.push_back(mod_is("/t/a", 7));
  t.compares.push_back(all_created_before("/i/", prefix_end("/i/"), 9));
  t.success.push_back(put("/t/a", "x", 42));
  t.success.push_back(remove("/b", {}));
  t.failure.push_back(get("/t/a"));
  CHECK(json::parse(encode(t)) == json::parse(R"({
    "compare":[{"key":"L3QvYQ==","target":"MOD","result":"EQUAL","mod_revision":"7"},
               {"key":"L2kv","target":"CREATE","result":"LESS","create_revision":"9","range_end":"L2kw"}],
    "success":[{"request_put":{"key":"L3QvYQ==","value":"eA==","lease":"42"}},{"request_delete_range":{"key":"L2I="}}],
    "failure":[{"request_range":{"key":"L3QvYQ=="}}]})"));
  CHECK(json::parse(encode(watch_create{"/t/a", {}, 5, true})) ==
        json::parse(R"({"create_request":{"key":"L3QvYQ==","start_revision":"5","progress_notify":true}})"));
  CHECK(json::parse(encode_lease_grant(10)) == json::parse(R"({"TTL":"10"})"));
}

TEST_CASE("etcd: answers read back, defaults left out included") {
  auto range = parse_range_response(
      R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"2","raft_term":"2"},)"
      R"("kvs":[{"key":"L3QvYQ==","create_revision":"2","mod_revision":"2","version":"1","value":"aGVsbG8="}],"count":"1"})");
  REQUIRE(range);
  CHECK(range->header.cluster_id == "15118495548433857066");
  CHECK(range->header.revision == 2);
  REQUIRE(range->kvs.size() == 1);
  CHECK(range->kvs[0].key == "/t/a");
  CHECK(range->kvs[0].value == "hello");
  CHECK(range->kvs[0].mod_revision == 2);
  CHECK(range->kvs[0].lease == 0);

  // A txn that failed: "succeeded" is left out; its failure ops' answers carry the keys.
  auto failed = parse_txn_response(
      R"({"header":{"cluster_id":"1","revision":"4"},"responses":[{"response_range":{"header":{"revision":"4"},)"
      R"("kvs":[{"key":"L3QvYQ==","create_revision":"4","mod_revision":"4","version":"1","value":"eA=="}],"count":"1"}}]})");
  REQUIRE(failed);
  CHECK_FALSE(failed->succeeded);
  REQUIRE(failed->ranges.size() == 1);
  CHECK(failed->ranges[0].kvs[0].value == "x");
  auto ok = parse_txn_response(
      R"({"header":{"revision":"4"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]})");
  REQUIRE(ok);
  CHECK(ok->succeeded);
  CHECK(ok->ranges.empty());

  auto events = parse_watch_response(
      R"({"result":{"header":{"cluster_id":"7","revision":"3"},"events":[{"kv":{"key":"L3QvYQ==","create_revision":"2",)"
      R"("mod_revision":"2","version":"1","value":"aGVsbG8="}},{"type":"DELETE","kv":{"key":"L3QvYQ==","mod_revision":"3"}}]}})");
  REQUIRE(events);
  REQUIRE(events->events.size() == 2);
  CHECK_FALSE(events->events[0].deleted);
  CHECK(events->events[1].deleted);
  CHECK(events->events[1].kv.mod_revision == 3);
  auto compacted = parse_watch_response(
      R"({"result":{"header":{"cluster_id":"7","member_id":"1","raft_term":"2"},"canceled":true,"compact_revision":"3"}})");
  REQUIRE(compacted);
  CHECK(compacted->canceled);
  CHECK(compacted->compact_revision == 3);

  auto lease = parse_lease_grant_response(R"({"header":{"revision":"4"},"ID":"4111120414800531979","TTL":"5"})");
  REQUIRE(lease);
  CHECK(lease->id == 4111120414800531979);
  CHECK(parse_keepalive_response(R"({"result":{"header":{"revision":"4"},"ID":"1"}})").value() == 0);  // expired
  CHECK(parse_keepalive_response(R"({"result":{"header":{"revision":"4"},"ID":"1","TTL":"9"}})").value() == 9);
}

TEST_CASE("etcd: what is not etcd's answer is said, not guessed") {
  CHECK_FALSE(parse_range_response("<html>"));
  CHECK_FALSE(parse_range_response(R"({"kvs":[{"key":"not base64!"}]})"));
  CHECK_FALSE(parse_range_response(R"({"header":{"revision":"x"}})"));
  CHECK_FALSE(parse_watch_response(R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})"));
  CHECK(parse_watch_response(R"({"error":{"message":"etcdserver: no leader"}})").error() ==
        "watch: etcdserver: no leader");
  CHECK_FALSE(parse_lease_grant_response(R"({"error":"etcdserver: too many requests","code":8})"));
  CHECK(error_message(R"({"error":"etcdserver: request timed out","code":14,"message":"etcdserver: request timed out"})") ==
        "etcdserver: request timed out");
}
