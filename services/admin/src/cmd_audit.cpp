// cmd_audit.cpp - polderctl audit list|purge: reading the audit trail (audit.events,
// schema/0002_audit.sql) and deleting its old events by hand. The services delete events
// older than audit.retention_days by themselves (polder::service, auth::purge_audit).
//
// Times: "30d", "12h", "45m" or "2w" before now, or an absolute "2026-11-01" (midnight)
// or "2026-11-01T08:30[:00]" - in UTC unless an offset ("Z", "+01:00") is given.
// PostgreSQL reads the absolute ones, so what it would refuse ("2026-02-30") is refused
// here with a usage error before anything is read or deleted.
//
// SECURITY: parameterized SQL only; the event filter is checked against the event-name
// syntax the table enforces. purge writes its own audit event (who, cutoff, how many) in
// a transaction after the deletion, so the trail always says when and by whom it was cut.
// --org limits list to one organisation's events (events without an organisation, such
// as failed logins to unknown addresses, are then left out).
// STANDARDS: RFC 3339 (the times printed and read), RFC 8259 (--json).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/audit.hpp"

#include <chrono>
#include <iostream>
#include <regex>

namespace polder::admin {

namespace {

bool valid_event_filter(const std::string& e) {
    static const std::regex name(R"([a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*)");
    return e.size() <= 100 && std::regex_match(e, name);
}

}  // namespace

void add_audit_commands(CLI::App& app, action& chosen) {
    auto* audit = app.add_subcommand("audit", "Read the audit trail (logins, administrative changes) and purge old events");
    audit->require_subcommand(1);
    struct args_t {
        std::string since, until, before, event, account, actor, org;
        std::int64_t limit = 100;
        bool json = false;
    };
    auto args = std::make_shared<args_t>();

    auto* list = audit->add_subcommand("list", "List events, the newest --limit of those that match, oldest first");
    list->add_option("--since", args->since, "Only events at or after this time (30d, 12h, 2026-11-01, 2026-11-01T08:30Z)");
    list->add_option("--until", args->until, "Only events before this time");
    list->add_option("--event", args->event, "Only this event or the events below it (auth.login = auth.login.*)");
    list->add_option("--account", args->account, "Only events about this user");
    list->add_option("--actor", args->actor, "Only events of this actor (a login name, or the OS user of polderctl)");
    add_org_option(list, args->org, "Only events of this organisation");
    list->add_option("--limit", args->limit, "At most this many events (default 100)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}));
    list->add_flag("--json", args->json, "Print JSON");
    on_run(list, chosen, [args](context& ctx) {
        if (!args->event.empty() && !valid_event_filter(args->event))
            usage_error("--event '" + args->event + "': expected a dotted lower-case name such as auth.login.failure");
        auto rows = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            std::optional<std::int64_t> account;
            if (!args->account.empty()) account = account_in(tx, args->account, org).id;
            std::optional<std::int64_t> since, until;
            if (!args->since.empty()) since = resolve_time(tx, args->since, "--since");
            if (!args->until.empty()) until = resolve_time(tx, args->until, "--until");
            // NULL parameters switch a filter off; the newest rows first for the LIMIT,
            // printed in time order below.
            return tx.exec_params(
                "SELECT e.id, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), e.event, e.actor, "
                "       e.org_id, o.name, e.account_id, a.address, host(e.remote_ip), e.details::text "
                "  FROM audit.events e"
                "  LEFT JOIN directory.orgs o ON o.id = e.org_id"
                "  LEFT JOIN directory.accounts a ON a.id = e.account_id"
                " WHERE ($1::bigint IS NULL OR e.at >= to_timestamp($1::double precision / 1000000))"
                "   AND ($2::bigint IS NULL OR e.at < to_timestamp($2::double precision / 1000000))"
                "   AND ($3::text IS NULL OR e.event = $3 OR left(e.event, length($3) + 1) = $3 || '.')"
                "   AND ($4::bigint IS NULL OR e.account_id = $4)"
                "   AND ($5::text IS NULL OR e.actor = $5)"
                "   AND ($6::bigint IS NULL OR e.org_id = $6)"
                " ORDER BY e.at DESC, e.id DESC LIMIT $7",
                since, until, args->event.empty() ? std::optional<std::string>() : args->event, account,
                args->actor.empty() ? std::optional<std::string>() : args->actor,
                org ? std::optional<std::int64_t>(org->id) : std::nullopt, args->limit);
        });
        auto opt_text = [](const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); };
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
                const auto& r = *it;
                auto opt_json = [](const pqxx::field& f) {
                    return f.is_null() ? nlohmann::json(nullptr) : nlohmann::json(f.as<std::string>());
                };
                out.push_back({{"id", r[0].as<std::int64_t>()},
                               {"at", r[1].as<std::string>()},
                               {"event", r[2].as<std::string>()},
                               {"actor", r[3].as<std::string>()},
                               {"org_id", r[4].is_null() ? nlohmann::json(nullptr) : nlohmann::json(r[4].as<std::int64_t>())},
                               {"org", opt_json(r[5])},
                               {"account_id", r[6].is_null() ? nlohmann::json(nullptr) : nlohmann::json(r[6].as<std::int64_t>())},
                               {"account", opt_json(r[7])},
                               {"remote_ip", opt_json(r[8])},
                               {"details", nlohmann::json::parse(r[9].as<std::string>())}});
            }
            print_json(out);
            return;
        }
        table t{{"TIME (UTC)", "EVENT", "ACTOR", "ACCOUNT", "IP", "DETAILS"}, {}};
        for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
            const auto& r = *it;
            std::string account = opt_text(r[7]);
            if (account.empty() && !r[6].is_null()) account = "#" + r[6].as<std::string>() + " (removed)";
            std::string time = r[1].as<std::string>();
            time = time.substr(0, 19) + "Z";   // seconds are enough for people; --json keeps microseconds
            t.rows.push_back({time, r[2].as<std::string>(), r[3].as<std::string>(), account, opt_text(r[8]),
                              r[9].as<std::string>() == "{}" ? std::string() : r[9].as<std::string>()});
        }
        t.print(std::cout);
    });

    auto* purge = audit->add_subcommand("purge", "Delete the events older than a time (the services also do this "
                                                 "by themselves after audit.retention_days)");
    purge->add_option("--before", args->before, "Delete the events before this time (90d, 2026-01-01, ...)")->required();
    on_run(purge, chosen, [args](context& ctx) {
        // The cutoff, and its text for the audit event, from one reading of the time.
        const auto [cutoff, before] = ctx.transact([&](pqxx::work& tx) {
            const auto at = resolve_time(tx, args->before, "--before");
            const auto r = tx.exec_params1("SELECT $1::bigint > (extract(epoch FROM now()) * 1000000)::bigint, "
                                           "to_char(to_timestamp($1::double precision / 1000000) AT TIME ZONE 'UTC', "
                                           "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                                           at);
            if (r[0].as<bool>()) refuse("--before '" + args->before + "' is in the future");
            return std::pair{at, r[1].as<std::string>()};
        });
        const auto n = ctx.guarded([&] {
            return auth::purge_audit(ctx.connection(),
                                     std::chrono::system_clock::time_point(std::chrono::microseconds(cutoff)), 10'000);
        });
        ctx.transact([&](pqxx::work& tx) {
            auth::audit(tx, "admin.audit.purge", std::nullopt, std::nullopt, ctx.who().actor, ctx.who().remote_ip,
                        {{"before", before}, {"events", n}});
        });
        std::cout << "purged " << n << " audit event" << (n == 1 ? "" : "s") << '\n';
    });
}

}  // namespace polder::admin
