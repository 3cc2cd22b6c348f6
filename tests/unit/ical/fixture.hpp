// fixture.hpp - loads the samples of tests/data/ical.
#pragma once

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace polder_test {

inline std::string read_sample(const std::string& name) {
    std::ifstream in(std::string(POLDER_TEST_ICAL_DIR) + "/" + name, std::ios::binary);
    if (!in) throw std::runtime_error("missing test sample " + name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace polder_test
