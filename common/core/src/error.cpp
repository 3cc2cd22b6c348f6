// error.cpp - the polder error category: names for polder::errc values.
#include "polder/core/error.hpp"

namespace polder {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "polder"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::ok: return "success";
        case errc::not_found: return "not found";
        case errc::already_exists: return "already exists";
        case errc::invalid_argument: return "invalid argument";
        case errc::permission_denied: return "permission denied";
        case errc::auth_failed: return "authentication failed";
        case errc::throttled: return "too many attempts, try again later";
        case errc::limit_exceeded: return "limit exceeded";
        case errc::quota_exceeded: return "quota exceeded";
        case errc::conflict: return "conflict";
        case errc::unavailable: return "service unavailable";
        case errc::timeout: return "timed out";
        case errc::protocol_error: return "protocol error";
        case errc::need_more_data: return "need more data";
        case errc::internal: return "internal error";
        }
        return "unknown polder error";
    }
};

}  // namespace

const boost::system::error_category& polder_category() noexcept {
    static const category c;
    return c;
}

}  // namespace polder
