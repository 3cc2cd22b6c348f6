// polder/auth/validated.hpp - a value or the human-readable reason it was refused.
//
// Validators of administrator and client input (addresses, sizes, passwords,
// CSV lines) must say WHY something is wrong, in words an operator can act on
// ("consecutive dots in the local part"), not only that it is wrong. result<T>
// carries an error_code, which is right for machines; validated<T> carries the
// sentence. Callers that need an errc treat every refusal as
// errc::invalid_argument.
//
// SECURITY: reasons describe the input's shape only; they never echo secrets.
// STANDARDS: none.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace polder::auth {

template <class T>
class validated {
public:
    validated(T value) : value_(std::move(value)) {}  // NOLINT: implicit, like result<T>

    static validated refused(std::string reason) {
        validated v;
        v.reason_ = std::move(reason);
        return v;
    }

    [[nodiscard]] bool ok() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }

    // value - the accepted value; calling it on a refusal is a bug (throws).
    const T& value() const& {
        if (!value_) throw std::logic_error("validated::value() on a refused input: " + reason_);
        return *value_;
    }
    T&& value() && {
        if (!value_) throw std::logic_error("validated::value() on a refused input: " + reason_);
        return std::move(*value_);
    }
    const T& operator*() const& { return value(); }
    const T* operator->() const { return &value(); }

    // reason - why the input was refused; empty when it was accepted.
    const std::string& reason() const noexcept { return reason_; }

private:
    validated() = default;
    std::optional<T> value_;
    std::string reason_;
};

}  // namespace polder::auth
