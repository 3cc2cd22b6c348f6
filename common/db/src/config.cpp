// config.cpp - connection options from the [database] configuration section.
// SECURITY: copies the password; never logs it. STANDARDS: none.
#include "polder/db/config.hpp"

namespace polder::db {

connection_options from_config(const config::database_settings& s, std::string application_name) {
    connection_options o;
    o.host = s.host;
    o.port = s.port;
    o.dbname = s.name;
    o.user = s.user;
    o.password = s.password;
    o.connect_timeout_seconds = s.connect_timeout_seconds;
    o.application_name = std::move(application_name);
    return o;
}

}  // namespace polder::db
