// csv.cpp - incremental RFC 4180 reader (see polder/auth/csv.hpp).
//
// A byte-at-a-time state machine, so chunk boundaries can fall anywhere (inside
// a quoted field, between CR and LF, inside the byte-order mark) without
// changing the result.
//
// SECURITY: bounded memory: a field stops growing at max_field_bytes, a record at
// max_fields, the reader at max_records; errors never depend on chunking.
// STANDARDS: RFC 4180.
#include "polder/auth/csv.hpp"

namespace polder::auth {
namespace {
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";
}

void csv_reader::mark(std::string message) {
    if (current_.error.empty()) current_.error = std::move(message);
}

void csv_reader::add_char(char c) {
    record_has_content_ = true;
    if (field_.size() >= limits_.max_field_bytes) {
        if (!field_too_long_)
            mark("field " + std::to_string(current_.fields.size() + 1) + " is longer than " +
                 std::to_string(limits_.max_field_bytes) + " bytes");
        field_too_long_ = true;
        return;
    }
    field_ += c;
}

void csv_reader::end_field() {
    if (current_.fields.size() >= limits_.max_fields)
        mark("more than " + std::to_string(limits_.max_fields) + " fields");
    else
        current_.fields.push_back(std::move(field_));
    field_.clear();
    field_too_long_ = false;
}

result<void> csv_reader::end_record(std::vector<record>& out) {
    if (record_has_content_) {
        end_field();
        if (++records_ > limits_.max_records) {
            fatal_ = "line " + std::to_string(current_.line) + ": more than " + std::to_string(limits_.max_records) +
                     " records";
            return errc::limit_exceeded;
        }
        out.push_back(std::move(current_));
    }
    ++line_;
    current_ = record{};
    current_.line = line_;
    field_.clear();
    field_too_long_ = false;
    record_has_content_ = false;
    return {};
}

result<void> csv_reader::consume(char c, std::vector<record>& out) {
    switch (state_) {
    case state::after_cr:
        state_ = state::field_start;
        if (c == '\n') return {};   // the LF of a CRLF
        [[fallthrough]];
    case state::field_start:
        if (c == '"') {
            state_ = state::quoted;
            quote_line_ = line_;
            record_has_content_ = true;
        } else if (c == ',') {
            record_has_content_ = true;
            end_field();
        } else if (c == '\n' || c == '\r') {
            state_ = c == '\r' ? state::after_cr : state::field_start;
            return end_record(out);
        } else {
            add_char(c);
            state_ = state::unquoted;
        }
        return {};
    case state::unquoted:
        if (c == ',') {
            end_field();
            state_ = state::field_start;
        } else if (c == '\n' || c == '\r') {
            state_ = c == '\r' ? state::after_cr : state::field_start;
            return end_record(out);
        } else {
            if (c == '"') mark("a quote inside an unquoted field (quote the whole field and double the quote)");
            add_char(c);
        }
        return {};
    case state::quoted:
        if (c == '"') {
            state_ = state::quote_in_quoted;
        } else {
            if (c == '\n') ++line_;
            add_char(c);
        }
        return {};
    case state::quote_in_quoted:
        if (c == '"') {
            add_char('"');
            state_ = state::quoted;
        } else if (c == ',') {
            end_field();
            state_ = state::field_start;
        } else if (c == '\n' || c == '\r') {
            state_ = c == '\r' ? state::after_cr : state::field_start;
            return end_record(out);
        } else {
            mark("text after the closing quote of a field");
            add_char(c);
            state_ = state::unquoted;
        }
        return {};
    }
    return {};
}

result<void> csv_reader::feed(std::string_view chunk, std::vector<record>& out) {
    if (!fatal_.empty()) return errc::invalid_argument;
    if (!bom_checked_) {
        std::size_t take = std::min(chunk.size(), utf8_bom.size() - pending_bom_.size());
        pending_bom_.append(chunk.substr(0, take));
        chunk.remove_prefix(take);
        if (pending_bom_.size() < utf8_bom.size() && utf8_bom.substr(0, pending_bom_.size()) == pending_bom_)
            return {};   // could still be a BOM: wait for more bytes
        bom_checked_ = true;
        std::string replay = pending_bom_ == utf8_bom ? std::string() : std::move(pending_bom_);
        pending_bom_.clear();
        for (char c : replay)
            if (auto r = consume(c, out); !r) return r;
    }
    for (char c : chunk)
        if (auto r = consume(c, out); !r) return r;
    return {};
}

result<void> csv_reader::finish(std::vector<record>& out) {
    if (!fatal_.empty()) return errc::invalid_argument;
    if (!bom_checked_) {
        bom_checked_ = true;
        std::string replay = std::move(pending_bom_);
        pending_bom_.clear();
        for (char c : replay)
            if (auto r = consume(c, out); !r) return r;
    }
    if (state_ == state::quoted) {
        fatal_ = "line " + std::to_string(quote_line_) + ": a quoted field is never closed";
        return errc::invalid_argument;
    }
    state_ = state::field_start;
    return end_record(out);   // no-op for an empty last line
}

}  // namespace polder::auth
