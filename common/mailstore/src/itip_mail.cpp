// itip_mail.cpp - the iMIP hand-off at local delivery (see itip_mail.hpp).
//
// SECURITY: see itip_mail.hpp: attached messages are not descended into, sizes are
// checked before reading, the decoded text is sanitised, SQL is parameterized.
// STANDARDS: RFC 6047 2.2-2.4, RFC 2045/2046, RFC 5546.
#include "polder/mailstore/itip_mail.hpp"

#include "polder/db/notifier.hpp"
#include "polder/db/prepared.hpp"
#include "polder/mime/text.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <span>

namespace polder::mailstore {

namespace {

// Quoted-printable can triple the size: an encoded part beyond this cannot decode to an
// acceptable object.
constexpr std::uint64_t max_encoded_bytes = 3 * max_itip_bytes + 64 * 1024;

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

const mime::body_part* find_in(const mime::body_part& part) {
    if (part.is_message()) return nullptr;   // a forwarded or attached message is not ours to act on
    if (part.is_multipart()) {
        for (const auto& child : part.children)
            if (auto* found = find_in(child)) return found;
        return nullptr;
    }
    if ((part.type == "text" && part.subtype == "calendar") || (part.type == "application" && part.subtype == "ics"))
        return &part;
    return nullptr;
}

std::string param(const mime::body_part& part, std::string_view name) {
    for (const auto& p : part.params)
        if (p.name == name) return p.value;
    return {};
}

// method_property - the value of the VCALENDAR's METHOD line (unfolded lines are enough:
// METHOD values are short tokens), "" when absent.
std::string method_property(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        auto line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > 7 && upper(line.substr(0, 7)) == "METHOD:") return upper(line.substr(7));
        if (upper(line) == "BEGIN:VEVENT" || upper(line) == "BEGIN:VTODO") break;   // METHOD precedes components
        pos = end + 1;
    }
    return {};
}

bool schedulable(std::string_view method) { return method == "REQUEST" || method == "REPLY" || method == "CANCEL"; }

}  // namespace

const mime::body_part* find_itip_part(const mime::message_info& m) { return find_in(m.body); }

std::optional<itip_part> extract_itip(blob::store& blobs, const prepared_message& p) {
    const auto* part = find_itip_part(p.info);
    if (!part || part->size() == 0 || part->size() > max_encoded_bytes) return std::nullopt;
    auto reader = blobs.open(p.blob, part->body_start, part->size());
    if (!reader) return std::nullopt;
    std::string encoded;
    encoded.resize(static_cast<std::size_t>(reader->remaining()));
    std::size_t have = 0;
    while (have < encoded.size()) {
        auto n = reader->read(std::as_writable_bytes(std::span<char>(encoded.data() + have, encoded.size() - have)));
        if (!n || *n == 0) return std::nullopt;
        have += *n;
    }
    bool truncated = false;
    std::string charset = param(*part, "charset");
    if (charset.empty()) charset = "utf-8";   // RFC 5545 3.1.4: iCalendar's default charset
    itip_part out;
    out.text = mime::decode_body_text(encoded, part->encoding, charset, max_itip_bytes + 1, &truncated);
    if (truncated || out.text.empty() || out.text.size() > max_itip_bytes) return std::nullopt;
    // RFC 6047 2.4 requires the method parameter; its value must match METHOD inside, which
    // polder-caldavd checks again on the parsed object.
    out.method = upper(param(*part, "method"));
    if (out.method.empty()) out.method = method_property(out.text);
    if (!schedulable(out.method)) return std::nullopt;
    return out;
}

std::size_t queue_itip(pqxx::work& tx, const itip_part& part, const prepared_message& p,
                       const std::vector<std::int64_t>& accounts, const itip_origin& origin) {
    std::string from;
    for (const auto& a : p.info.env.from)
        if (a.mailbox && a.host) {
            from = *a.mailbox + "@" + *a.host;
            break;
        }
    if (from.size() > 320) from.clear();   // no real address is that long; "" fails every sender check
    std::string sender = origin.envelope_sender.size() <= 320 ? origin.envelope_sender : std::string();
    std::string message_id = p.info.message_id.substr(0, std::min<std::size_t>(p.info.message_id.size(), 998));
    auto bounded = [](const std::optional<std::string>& v) -> std::optional<std::string> {
        if (!v) return std::nullopt;
        return v->substr(0, std::min<std::size_t>(v->size(), 32));
    };
    std::size_t queued = 0;
    for (auto account : accounts) {
        auto rows = db::exec_cached(
            tx,
            "INSERT INTO cal.itip_inbound (account_id, org_id, method, itip, envelope_sender, from_address, via, "
            "spf, dmarc, message_id) SELECT a.id, a.org_id, $2, $3, $4, $5, $6, $7, $8, $9 "
            "FROM directory.accounts a WHERE a.id = $1 RETURNING id",
            account, part.method, part.text, sender, from, origin.via, bounded(origin.spf), bounded(origin.dmarc),
            message_id);
        for (const auto& r : rows) {
            db::notify(tx, itip_channel, r[0].c_str());
            ++queued;
        }
    }
    return queued;
}

}  // namespace polder::mailstore
