#pragma once
// How the CLI tells of write ownership and the cut-over barrier (proxy/admin write_cutover.hpp):
// after a change that moved writes, in `banyan routes` and in `plan status`.
#include <boost/json/value.hpp>

#include <ostream>

namespace banyan::cli {

// "writes moved: product-create, product-change monolith → catalog (held 42 ms, 3 writes waited;
// catalog had applied monolith's feed to 1234 of 1234)", one line per pair; nothing for null.
void print_cutover(const boost::json::value& cutover, std::ostream& out);

// From GET /api/v1/routes: who owns each write route's writes and which way its data syncs, one
// line per owner; nothing when no route takes writes.
void print_write_owners(const boost::json::value& routes_reply, std::ostream& out);

// From GET /api/v1/cutover: a barrier holding writes now, or how the last one ended.
void print_cutover_state(const boost::json::value& cutover_reply, std::ostream& out);

}  // namespace banyan::cli
