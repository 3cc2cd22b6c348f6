// cmd_migrate.cpp - polderctl migrate: apply the schema migrations built into
// this binary (schema/NNNN_*.sql), each once, in order.
//
// SECURITY: runs the embedded SQL only (no file is read at run time), under the
// migration runner's advisory lock, so two concurrent runs are safe; the
// change is recorded in the audit trail.
// STANDARDS: none.
#include "commands.hpp"

#include "polder/auth/audit.hpp"

#include <iostream>

namespace polder::admin {

void add_migrate_commands(CLI::App& app, action& chosen) {
    auto* sub = app.add_subcommand("migrate", "Apply pending database schema migrations (running it twice is safe)");
    on_run(sub, chosen, [](context& ctx) {
        auto& conn = ctx.connection();
        db::migrate_report report;
        try {
            report = db::migrate(conn);
        } catch (const pqxx::failure&) {
            ctx.guarded([&]() -> int { throw; });
        } catch (const db::migration_error& e) {
            // The runner's own refusals (a database newer than this binary, a failed migration).
            refuse(std::string("migration refused: ") + e.what());
        } catch (const std::exception&) {
            ctx.guarded([&]() -> int { throw; });
        }
        if (!report.applied.empty()) {
            ctx.guarded([&] {
                return db::transact(conn, [&](pqxx::work& tx) {
                    auth::audit(tx, "admin.migrate", std::nullopt, std::nullopt, ctx.who().actor, "",
                                {{"applied", report.applied}, {"version", report.current_version}});
                    return 0;
                });
            });
            std::string list;
            for (int v : report.applied) list += (list.empty() ? "" : ", ") + std::to_string(v);
            std::cout << "applied migration(s) " << list << "; schema is at version " << report.current_version
                      << '\n';
        } else {
            std::cout << "schema is up to date (version " << report.current_version << ")\n";
        }
    });
}

}  // namespace polder::admin
