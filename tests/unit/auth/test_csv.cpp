// test_csv.cpp - the incremental CSV reader, fed at every fragment size.
#include <catch2/catch.hpp>

#include "polder/auth/csv.hpp"

#include <string>
#include <vector>

using polder::auth::csv_reader;

namespace {

struct parsed {
    std::vector<csv_reader::record> records;
    bool ok = true;
    std::string fatal;
};

parsed parse(std::string_view input, std::size_t chunk, csv_reader::limits limits = {}) {
    csv_reader reader(limits);
    parsed p;
    for (std::size_t i = 0; i < input.size() && p.ok; i += chunk) {
        if (!reader.feed(input.substr(i, chunk), p.records)) p.ok = false;
    }
    if (p.ok && !reader.finish(p.records)) p.ok = false;
    p.fatal = reader.fatal_error();
    return p;
}

// parse_all_sizes - parse at fragment sizes 1, 2, 3, 5, 7, 100 and whole; all
// must agree; returns the whole-input result.
parsed parse_all_sizes(std::string_view input, csv_reader::limits limits = {}) {
    parsed whole = parse(input, input.empty() ? 1 : input.size(), limits);
    for (std::size_t chunk : {1, 2, 3, 5, 7, 100}) {
        INFO("fragment size " << chunk);
        parsed p = parse(input, chunk, limits);
        REQUIRE(p.ok == whole.ok);
        REQUIRE(p.fatal == whole.fatal);
        REQUIRE(p.records.size() == whole.records.size());
        for (std::size_t i = 0; i < p.records.size(); ++i) {
            CHECK(p.records[i].line == whole.records[i].line);
            CHECK(p.records[i].fields == whole.records[i].fields);
            CHECK(p.records[i].error == whole.records[i].error);
        }
    }
    return whole;
}

using fields = std::vector<std::string>;

}  // namespace

TEST_CASE("csv reader splits plain records and numbers their lines") {
    auto p = parse_all_sizes("address,display_name\na@example.org,Anna\nb@example.org,Bert\n");
    REQUIRE(p.ok);
    REQUIRE(p.records.size() == 3);
    CHECK(p.records[0].fields == fields{"address", "display_name"});
    CHECK(p.records[1].fields == fields{"a@example.org", "Anna"});
    CHECK(p.records[0].line == 1);
    CHECK(p.records[2].line == 3);
    CHECK(p.records[2].error.empty());
}

TEST_CASE("csv reader handles quotes, doubled quotes, commas and newlines inside quotes") {
    auto p = parse_all_sizes("a,\"Vries, Jan \"\"JJ\"\" de\",x\r\n\"multi\nline\",y\r\nlast,z");
    REQUIRE(p.ok);
    REQUIRE(p.records.size() == 3);
    CHECK(p.records[0].fields == fields{"a", "Vries, Jan \"JJ\" de", "x"});
    CHECK(p.records[1].fields == fields{"multi\nline", "y"});
    CHECK(p.records[1].line == 2);
    CHECK(p.records[2].line == 4);   // the quoted newline took a line
    CHECK(p.records[2].fields == fields{"last", "z"});
}

TEST_CASE("csv reader accepts CRLF, lone CR, a BOM, empty lines and empty fields") {
    auto p = parse_all_sizes("\xEF\xBB\xBF" "h1,h2\r\n\r\na,\rb,c\n\n,\n");
    REQUIRE(p.ok);
    REQUIRE(p.records.size() == 4);
    CHECK(p.records[0].fields == fields{"h1", "h2"});
    CHECK(p.records[1].fields == fields{"a", ""});
    CHECK(p.records[1].line == 3);
    CHECK(p.records[2].fields == fields{"b", "c"});
    CHECK(p.records[2].line == 4);
    CHECK(p.records[3].fields == fields{"", ""});
    CHECK(p.records[3].line == 6);
}

TEST_CASE("csv reader keeps bytes that only start like a BOM") {
    auto p = parse_all_sizes("\xEF\xBB" "x,y\n");
    REQUIRE(p.ok);
    REQUIRE(p.records.size() == 1);
    CHECK(p.records[0].fields == fields{"\xEF\xBB" "x", "y"});
    auto q = parse_all_sizes("\xEF");
    REQUIRE(q.ok);
    REQUIRE(q.records.size() == 1);
    CHECK(q.records[0].fields == fields{"\xEF"});
}

TEST_CASE("csv reader marks a malformed record and goes on with the next") {
    auto p = parse_all_sizes("ok,1\nbad\"quote,2\n\"closed\"junk,3\nok,4\n");
    REQUIRE(p.ok);
    REQUIRE(p.records.size() == 4);
    CHECK(p.records[0].error.empty());
    CHECK_THAT(p.records[1].error, Catch::Contains("quote inside an unquoted field"));
    CHECK(p.records[1].line == 2);
    CHECK_THAT(p.records[2].error, Catch::Contains("after the closing quote"));
    CHECK(p.records[2].line == 3);
    CHECK(p.records[3].error.empty());
    CHECK(p.records[3].fields == fields{"ok", "4"});
}

TEST_CASE("csv reader reports an unterminated quote with the line it started on") {
    auto p = parse_all_sizes("a,b\nc,\"never\nclosed\n");
    CHECK_FALSE(p.ok);
    CHECK(p.fatal == "line 2: a quoted field is never closed");
}

TEST_CASE("csv reader bounds fields, fields per record and records") {
    csv_reader::limits l;
    l.max_field_bytes = 8;
    l.max_fields = 3;
    l.max_records = 4;
    auto p = parse_all_sizes("123456789,x\na,b,c,d\n\"0123456789\",y\nfine\n", l);
    REQUIRE(p.ok);
    REQUIRE(p.records.size() == 4);
    CHECK_THAT(p.records[0].error, Catch::Contains("field 1 is longer than 8 bytes"));
    CHECK(p.records[0].fields == fields{"12345678", "x"});
    CHECK_THAT(p.records[1].error, Catch::Contains("more than 3 fields"));
    CHECK_THAT(p.records[2].error, Catch::Contains("longer than 8"));
    CHECK(p.records[2].fields.size() == 2);   // the quote structure survived the overflow
    CHECK(p.records[3].error.empty());

    auto q = parse_all_sizes("1\n2\n3\n4\n5\n", l);
    CHECK_FALSE(q.ok);
    CHECK_THAT(q.fatal, Catch::Contains("more than 4 records") && Catch::Contains("line 5"));
}

TEST_CASE("csv reader returns nothing for empty input") {
    auto p = parse_all_sizes("");
    CHECK(p.ok);
    CHECK(p.records.empty());
    auto q = parse_all_sizes("\n\r\n\n");
    CHECK(q.ok);
    CHECK(q.records.empty());
}
