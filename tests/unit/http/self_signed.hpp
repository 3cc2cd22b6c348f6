// self_signed.hpp - a throwaway self-signed certificate for TLS tests,
// made with the OpenSSL API in a fresh temporary folder.
#pragma once

#include <filesystem>
#include <string>

namespace polder::http::test {

struct self_signed {
    std::filesystem::path dir;
    std::filesystem::path cert_file;   // PEM, CN=localhost, SAN DNS:localhost + IP:127.0.0.1
    std::filesystem::path key_file;    // PEM, P-256

    self_signed();    // throws std::runtime_error when OpenSSL fails
    ~self_signed();   // removes the folder
    self_signed(const self_signed&) = delete;
    self_signed& operator=(const self_signed&) = delete;
};

}  // namespace polder::http::test
