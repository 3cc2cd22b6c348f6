// mail_fixture.hpp - loads the test messages of tests/data/mail and slices byte ranges.
#pragma once

#include "polder/mime/message.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace polder_test {

inline std::string read_mail(const std::string& name) {
    std::ifstream in(std::string(POLDER_TEST_MAIL_DIR) + "/" + name, std::ios::binary);
    if (!in) throw std::runtime_error("missing test message " + name);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// slice - the bytes of BODY[section] (what IMAP would send), or "<invalid>".
inline std::string slice(const std::string& raw, const polder::mime::message_info& m, std::string_view section,
                         polder::mime::section_text what = polder::mime::section_text::body) {
    auto r = polder::mime::section_range(m, section, what);
    if (!r) return "<invalid>";
    if (r->begin > r->end || r->end > raw.size()) return "<out of range>";
    return raw.substr(r->begin, r->size());
}

}  // namespace polder_test
