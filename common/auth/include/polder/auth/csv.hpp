// polder/auth/csv.hpp - an incremental CSV reader for bulk provisioning
// (polderctl user import): HR exports from spreadsheets and payroll systems.
//
// Feed it bytes in chunks of any size; it hands out complete records, each with
// the line number it starts on, so every problem can be reported as "line N:".
// A malformed record (a quote inside an unquoted field, text after a closing
// quote, a field or record over its limit) is still returned, with `error` set,
// and reading goes on with the next record: the importer reports every bad line,
// not only the first. Only an unterminated quoted field at the end of input and
// too many records are fatal.
//
// Accepted: RFC 4180 plus what real exports contain: LF, CRLF or lone CR line
// ends, a UTF-8 byte-order mark at the start, empty lines (skipped), a last line
// without a line end.
//
// SECURITY: pure; every field, every record and the record count are bounded,
// memory use is bounded by those limits whatever the input.
// STANDARDS: RFC 4180 (Common Format and MIME Type for CSV Files).
#pragma once

#include "polder/core/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace polder::auth {

class csv_reader {
public:
    struct limits {
        std::size_t max_field_bytes = 4096;
        std::size_t max_fields = 64;
        std::size_t max_records = 1'000'000;
    };
    struct record {
        std::size_t line = 0;              // 1-based line the record starts on
        std::vector<std::string> fields;
        std::string error;                 // empty when the record is well-formed
    };

    csv_reader() : csv_reader(limits{}) {}
    explicit csv_reader(limits l) : limits_(l) { current_.line = 1; }

    // feed - consume a chunk; complete records are appended to out.
    // Errors: errc::limit_exceeded (more than max_records records).
    [[nodiscard]] result<void> feed(std::string_view chunk, std::vector<record>& out);

    // finish - end of input: emits a last record without a line end.
    // Errors: errc::invalid_argument (a quoted field is still open: see fatal_error()),
    // errc::limit_exceeded.
    [[nodiscard]] result<void> finish(std::vector<record>& out);

    // fatal_error - a sentence describing the last fatal error, naming its line.
    const std::string& fatal_error() const noexcept { return fatal_; }

private:
    enum class state { field_start, unquoted, quoted, quote_in_quoted, after_cr };

    result<void> consume(char c, std::vector<record>& out);
    void add_char(char c);
    void end_field();
    result<void> end_record(std::vector<record>& out);
    void mark(std::string message);

    limits limits_;
    state state_ = state::field_start;
    std::string pending_bom_;        // first bytes, until we know whether they are a BOM
    bool bom_checked_ = false;
    std::size_t line_ = 1;           // current physical line
    std::size_t quote_line_ = 0;     // where the open quoted field began
    std::size_t records_ = 0;
    bool record_has_content_ = false;
    record current_;
    std::string field_;
    bool field_too_long_ = false;
    std::string fatal_;
};

}  // namespace polder::auth
