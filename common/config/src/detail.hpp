// detail.hpp - helpers shared by the config sources (not installed, not public).
//
// SECURITY: quote_for_message() escapes and shortens values echoed into error messages,
// so a hostile or binary config value cannot forge extra log lines.
//
// STANDARDS: TOML v1.0.0 basic-string escapes.
#pragma once

#include <string>
#include <string_view>

namespace polder::config::detail {

// toml_string - s as a TOML basic string, quotes included.
std::string toml_string(std::string_view s);

// quote_for_message - toml_string(), cut to 80 characters of content.
std::string quote_for_message(std::string_view s);

}  // namespace polder::config::detail
