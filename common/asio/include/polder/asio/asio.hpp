// polder/asio/asio.hpp - the Asio names every networked module uses.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>

namespace polder {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace polder
