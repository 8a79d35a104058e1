#pragma once
// What crash and full-disk tests ask of a SQLite database the process under test left behind.
#include "banyan/platform/sqlite.hpp"

#include <string>

namespace banyan::test {

// SQLite's own verdict on the whole database: "ok" when it is intact, else what is wrong.
inline std::string integrity_of(banyan::sqlite::connection& db) {
  auto st = db.prepare("PRAGMA integrity_check");
  return st.step() ? st.get_text(0) : std::string("no answer from integrity_check");
}

}  // namespace banyan::test
