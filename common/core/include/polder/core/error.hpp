// polder/core/error.hpp - the one error vocabulary of Polder.
//
// Every fallible function returns polder::result<T> (boost::system::result with
// an error_code), the same vocabulary Asio and Beast use. Domain errors are the
// values of polder::errc below; I/O errors pass through as Asio's own codes.
// Each service maps these to wire replies in exactly one place (IMAP NO
// [NONEXISTENT], SMTP 550 5.1.1, HTTP 404 ...).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace polder {

enum class errc {
    ok = 0,
    not_found = 1,          // the named object does not exist (or is not visible to the caller)
    already_exists,         // unique constraint: duplicate account, domain, mailbox ...
    invalid_argument,       // malformed input from a user or client
    permission_denied,      // the caller may not do this
    auth_failed,            // wrong credentials
    throttled,              // too many failures or requests; try later
    limit_exceeded,         // a configured limit (line length, size, count) was exceeded
    quota_exceeded,         // storage quota would be exceeded
    conflict,               // precondition failed / concurrent change / ETag mismatch
    unavailable,            // a dependency (database, blob store) cannot be reached
    timeout,                // an operation did not finish in time
    protocol_error,         // the peer violated the protocol
    need_more_data,         // a parser needs more bytes (not a failure)
    internal,               // a bug or an unexpected failure: details are in the log
};

const boost::system::error_category& polder_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), polder_category()};
}

template <class T>
using result = boost::system::result<T, boost::system::error_code>;

// is - true when ec carries the given Polder error value.
inline bool is(const boost::system::error_code& ec, errc e) noexcept {
    return ec.category() == polder_category() && ec.value() == static_cast<int>(e);
}

}  // namespace polder

template <>
struct boost::system::is_error_code_enum<polder::errc> : std::true_type {};
