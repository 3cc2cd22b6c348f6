// polder/db/config.hpp - connection options from the [database] section of
// polder.toml. Separate from db.hpp so that only code which reads the
// configuration depends on polder::config.
//
// SECURITY: the password is copied into the options, never logged.
// STANDARDS: none.
#pragma once

#include "polder/config/config.hpp"
#include "polder/db/connection.hpp"

namespace polder::db {

// from_config - host, port, name -> dbname, user, password and
// connect_timeout_seconds; application_name stays "polder" unless given.
connection_options from_config(const config::database_settings& settings,
                               std::string application_name = "polder");

}  // namespace polder::db
