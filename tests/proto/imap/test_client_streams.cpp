// test_client_streams.cpp - replays the seed corpus of the command-parser fuzz target:
// whole sessions as Thunderbird, Apple Mail, mutt and mbsync send them (files named
// valid_*) must parse with no error at every fragment size; hostile streams (invalid_*)
// must produce errors and still end at a command boundary. The first octet of each corpus
// file is the fuzzer's control octet and is skipped here.
//
// SECURITY: real-client regression corpus for the network-facing parser.
// STANDARDS: RFC 9051 / RFC 3501 command syntax as used by common clients.
#include "drive.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using namespace polder::imap::proto;
using namespace polder::imap::proto::test;

namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// line modes exactly as a server would enter them
void switch_modes(command_parser& p, const command& c) {
    if (c.kind == command_kind::idle) p.expect_idle_done();
    if (c.kind == command_kind::authenticate && !c.get<authenticate_args>().initial_response)
        p.expect_continuation_line();
}

}  // namespace

TEST_CASE("imap parser reads real client sessions from the seed corpus without errors") {
    std::size_t valid = 0, invalid = 0;
    for (const auto& entry : std::filesystem::directory_iterator(POLDER_IMAP_CORPUS_DIR)) {
        std::string name = entry.path().filename().string();
        std::string data = read_file(entry.path());
        REQUIRE(!data.empty());
        std::string stream = data.substr(1);
        INFO("corpus file " << name);
        if (name.rfind("valid_", 0) == 0) {
            ++valid;
            run r = drive_all(stream, {}, nullptr, switch_modes);
            for (const auto& e : r.errors) FAIL_CHECK(describe(e));
            CHECK(r.commands.size() >= 10);
            for (const auto& c : r.commands) {
                auto again = parse_command_text(format_command(c));
                REQUIRE(std::holds_alternative<command>(again));
                CHECK(std::get<command>(again) == c);
            }
        } else if (name.rfind("invalid_", 0) == 0) {
            ++invalid;
            parser_options small;  // the limits the fuzz target runs with
            small.max_command_size = 2048;
            small.max_append_size = 4096;
            run r = drive_all(stream, small, nullptr, switch_modes);
            CHECK_FALSE(r.errors.empty());
        }
    }
    CHECK(valid >= 5);
    CHECK(invalid >= 3);
}

TEST_CASE("imap parser yields the expected commands for the Thunderbird session") {
    std::string data = read_file(std::filesystem::path(POLDER_IMAP_CORPUS_DIR) / "valid_thunderbird").substr(1);
    run r = drive_all(data, {}, nullptr, switch_modes);
    REQUIRE(r.lines.size() == 1);
    REQUIRE(r.dones.size() == 1);
    CHECK(r.dones[0].done);
    std::vector<std::string> names;
    for (const auto& c : r.commands) names.push_back(c.name());
    CHECK(names == std::vector<std::string>{"CAPABILITY", "AUTHENTICATE", "ID", "ENABLE", "NAMESPACE", "LIST", "LIST",
                                            "SELECT", "GETQUOTAROOT", "UID FETCH", "UID FETCH", "IDLE", "UID FETCH",
                                            "UID STORE", "UID MOVE", "APPEND", "LOGOUT"});
    const auto& append = r.commands[15].get<append_args>();
    CHECK(append.mailbox == "Sent");
    CHECK_THAT(append.messages[0].data, Catch::StartsWith("From: Fred Foobar"));
}
