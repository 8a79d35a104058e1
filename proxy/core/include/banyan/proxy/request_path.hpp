#pragma once
// One spelling per path. Before a request is matched to a route, its target's path is put in the
// one form RFC 3986 §6.2.2 calls equivalent, and that form is what the upstream receives: a path
// cannot reach an owner other than the one its route names by being spelled differently (after a
// write cut-over, a write that slips to the old owner is lost data).
//
// What happens to each spelling (Envoy's normalize_path with escaped slashes rejected is the model):
//   %41 %7e %2E ...         percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded
//   %3a                     other percent-encodings keep their meaning, hex digits upper-cased: %3A
//   /a/./b  /a/x/../b       dot-segments are removed (RFC 3986 §5.2.4), also when spelled %2e
//   //a  /a/                kept as sent; the route table matches them as /a (empty segments do not count)
// Refused with 400, as no single owner can be named for them:
//   /../x  /a/../../x       a dot-segment climbing above the root (nginx refuses these too)
//   %2F %5C                 an encoded slash or backslash: one server splits there, another does not
//   \                       a raw backslash: some servers read it as '/'
//   %00  %zz  %4            an encoded NUL, or a '%' not followed by two hex digits
// The query (after '?') is left exactly as sent. "*" (OPTIONS *) is not a path and passes as is.
#include <string>
#include <string_view>

namespace banyan::proxy {

enum class path_verdict : unsigned char { unchanged, normalized, refused };

struct path_result {
  path_verdict verdict = path_verdict::unchanged;
  const char* code = "";     // on refusal: bad_path_dot_segment, bad_path_encoded_slash, ...
  const char* message = "";  // on refusal: what was wrong, for the client's 400
};

// Normalises `target` (origin form, "/path?query"). On `normalized`, `out` holds the whole new
// target (path and query); on `unchanged` and `refused`, `out` is left untouched. The common path
// with no '%', '\' or "/." is recognised in one scan without copying.
path_result normalize_target(std::string_view target, std::string& out);

}  // namespace banyan::proxy
