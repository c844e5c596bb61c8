// The check of the tests of the readers and writers: a call throws crbm::Error,
// and its message names what went wrong.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "crbm/error.hpp"

namespace crbm::testing {

// Runs fn, expects a crbm::Error whose message contains every fragment.
inline void expect_error(const std::function<void()>& fn,
                         const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected crbm::Error containing '" << fragments.front() << "'";
  } catch (const crbm::Error& e) {
    const std::string message = e.what();
    for (const std::string& f : fragments) {
      EXPECT_NE(message.find(f), std::string::npos) << "'" << f << "' not in: " << message;
    }
  }
}

}  // namespace crbm::testing
