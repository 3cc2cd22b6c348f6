// cmd_calendar.cpp - polderctl calendar list: a user's calendars and address books as
// polder-caldavd stores them (schema cal), with their number of entries and change
// counter, for support questions ("my appointments are gone") without reading anyone's
// appointments.
//
// SECURITY: read-only; prints names and counts, never calendar or contact content; the
// account is resolved like every other command (optionally restricted to --org).
// STANDARDS: none (operator tooling over RFC 4791 / RFC 6352 collections).
#include "commands.hpp"
#include "output.hpp"

#include <iostream>

namespace polder::admin {

void add_calendar_commands(CLI::App& app, action& chosen) {
    auto* calendar = app.add_subcommand("calendar", "Inspect calendars and address books (CalDAV/CardDAV)");
    calendar->require_subcommand(1);
    struct args_t {
        std::string address, org;
        bool json = false;
    };
    auto args = std::make_shared<args_t>();
    auto* list = calendar->add_subcommand("list", "List a user's calendars, task lists and address books");
    list->add_option("address", args->address, "The user's address")->required();
    add_org_option(list, args->org, "Refuse unless the user belongs to this organisation");
    list->add_flag("--json", args->json, "JSON output");
    on_run(list, chosen, [args](context& ctx) {
        const auth::address addr = parse_address_arg(args->address);
        auto rows = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto a = account_in(tx, addr.str(), org);
            std::vector<std::vector<std::string>> out;
            for (const auto& r : tx.exec_params(
                     "SELECT c.kind, c.name, c.displayname, array_to_string(c.components, ','), "
                     "(SELECT count(*) FROM cal.objects o WHERE o.collection_id = c.id)::text, c.modseq::text "
                     "FROM cal.collections c WHERE c.account_id = $1 ORDER BY c.kind, c.name",
                     a.id)) {
                std::vector<std::string> row;
                for (const auto& f : r) row.push_back(f.as<std::string>());
                out.push_back(std::move(row));
            }
            return out;
        });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : rows)
                out.push_back({{"kind", r[0]}, {"name", r[1]}, {"displayname", r[2]}, {"components", r[3]},
                               {"entries", std::stoll(r[4])}, {"modseq", std::stoll(r[5])}});
            print_json(out);
            return;
        }
        table t{{"KIND", "NAME", "DISPLAY NAME", "COMPONENTS", "ENTRIES", "MODSEQ"}, {}};
        for (const auto& r : rows) t.rows.push_back({r[0], r[1], r[2], r[3].empty() ? "-" : r[3], r[4], r[5]});
        t.print(std::cout);
    });
}

}  // namespace polder::admin
