// polder/db/db.hpp - everything of polder::db: connections and error
// translation (connection.hpp), transactions with retry (transact.hpp), the
// coroutine pool (pool.hpp), migrations (migrate.hpp) and the LISTEN/NOTIFY
// bridge (notifier.hpp). from_config() is in polder/db/config.hpp.
//
// SECURITY / STANDARDS: see each header.
#pragma once

#include "polder/db/async_connection.hpp"
#include "polder/db/connection.hpp"
#include "polder/db/group_commit.hpp"
#include "polder/db/migrate.hpp"
#include "polder/db/migration.hpp"
#include "polder/db/notifier.hpp"
#include "polder/db/pool.hpp"
#include "polder/db/prepared.hpp"
#include "polder/db/transact.hpp"

// The whole of libpqxx, since every user of the pool writes queries.
#include <pqxx/pqxx>
