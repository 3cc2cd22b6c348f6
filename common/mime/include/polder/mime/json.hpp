// polder/mime/json.hpp - JSON (nlohmann) form of the parsed message, for storage beside the
// message blob (PostgreSQL jsonb) and for reading it back in IMAP without re-parsing.
//
// SECURITY: raw header values may hold bytes that are not UTF-8 or contain NUL; JSON
// strings (and PostgreSQL jsonb, which refuses \u0000) cannot carry those, so such a
// string is stored as {"b64": "<base64>"} and restored byte-exact. Everything else is a
// plain JSON string. from_json throws nlohmann::json::exception on malformed input.
// STANDARDS: RFC 8259 (JSON), RFC 4648 (base64 for non-UTF-8 strings).
//
// Shape (version 1): addresses are IMAP-like arrays [name, adl, mailbox, host] with null
// for NIL; parameters are [name, value] pairs; header fields [name, value, offset, length];
// display addresses [name, address]; parts are objects with the field names of body_part.
#pragma once

#include "polder/mime/message.hpp"

#include <nlohmann/json.hpp>

namespace polder::mime {

inline constexpr int json_version = 1;

void to_json(nlohmann::json& j, const address& a);
void from_json(const nlohmann::json& j, address& a);
void to_json(nlohmann::json& j, const envelope& e);
void from_json(const nlohmann::json& j, envelope& e);
void to_json(nlohmann::json& j, const parameter& p);
void from_json(const nlohmann::json& j, parameter& p);
void to_json(nlohmann::json& j, const disposition& d);
void from_json(const nlohmann::json& j, disposition& d);
void to_json(nlohmann::json& j, const body_part& p);
void from_json(const nlohmann::json& j, body_part& p);
void to_json(nlohmann::json& j, const header_field& h);
void from_json(const nlohmann::json& j, header_field& h);
void to_json(nlohmann::json& j, const display_address& d);
void from_json(const nlohmann::json& j, display_address& d);
void to_json(nlohmann::json& j, const message_info& m);
void from_json(const nlohmann::json& j, message_info& m);

}  // namespace polder::mime
