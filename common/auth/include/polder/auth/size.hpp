// polder/auth/size.hpp - storage sizes as administrators write them ("10G",
// "512MiB", "1.5T", "unlimited") and as they are shown back.
//
// Every unit is binary: K = KiB = 1024 bytes, M = 1024^2, G = 1024^3, T = 1024^4,
// P = 1024^5; "KB", "MB"... are read the same way, because mail quotas have always
// been counted like that and a quota that is 7% smaller than typed would surprise.
//
// SECURITY: pure; refuses negative numbers, overflow beyond the database's bigint
// and input longer than 32 bytes.
// STANDARDS: IEC 80000-13 binary prefixes (KiB, MiB, ...).
#pragma once

#include "polder/auth/validated.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::auth {

// parse_size - bytes for "123", "10G", "1.5GiB"; refuses anything else.
[[nodiscard]] validated<std::uint64_t> parse_size(std::string_view input);

// parse_quota - like parse_size, and "unlimited"/"none" give std::nullopt.
[[nodiscard]] validated<std::optional<std::uint64_t>> parse_quota(std::string_view input);

// format_size - "10 GiB", "1.5 MiB", "123 B": at most one decimal, rounded down.
[[nodiscard]] std::string format_size(std::uint64_t bytes);

}  // namespace polder::auth
