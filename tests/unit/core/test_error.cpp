#include <catch2/catch.hpp>

#include "polder/core/error.hpp"

TEST_CASE("a polder errc converts to an error_code with a readable message") {
    boost::system::error_code ec = polder::errc::not_found;
    CHECK(polder::is(ec, polder::errc::not_found));
    CHECK_FALSE(polder::is(ec, polder::errc::conflict));
    CHECK(ec.message() == "not found");
    polder::result<int> r = ec;
    CHECK(r.has_error());
}
