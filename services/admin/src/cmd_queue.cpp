// cmd_queue.cpp - polderctl queue list|show|retry|delete|flush: the outbound SMTP queue
// of polder-smtpd (tables mail.smtp_queue and mail.smtp_queue_rcpt, schema/0110_smtp.sql).
//
// retry and flush only make recipients due now (the delivery workers of any running
// polder-smtpd pick them up within a second); delete drops a message without a bounce.
//
// SECURITY: parameterized SQL only; delete writes an audit event in the same transaction.
// Message contents are never printed (only envelope data), so the queue view does not
// turn into a way of reading other people's mail.
// STANDARDS: RFC 3461 (the DSN fields shown: ENVID, RET, NOTIFY, ORCPT).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/audit.hpp"

#include <iostream>

namespace polder::admin {

namespace {

nlohmann::json opt_json(const pqxx::field& f) {
    return f.is_null() ? nlohmann::json(nullptr) : nlohmann::json(f.as<std::string>());
}

std::int64_t parse_id(const std::string& text) {
    try {
        std::size_t used = 0;
        const long long v = std::stoll(text, &used);
        if (used == text.size() && v > 0) return v;
    } catch (const std::exception&) {
    }
    usage_error("bad queue id '" + text + "': expected a positive number");
}

}  // namespace

void add_queue_commands(CLI::App& app, action& chosen) {
    auto* queue = app.add_subcommand("queue", "Inspect and manage the outbound mail queue");
    queue->require_subcommand(1);
    struct args_t {
        std::string id;
        bool json = false;
    };
    auto args = std::make_shared<args_t>();

    auto* list = queue->add_subcommand("list", "List queued recipients, the next due first");
    list->add_flag("--json", args->json, "Print JSON");
    on_run(list, chosen, [args](context& ctx) {
        auto rows = ctx.transact([](pqxx::work& tx) {
            return tx.exec("SELECT q.id, q.sender, r.recipient, r.attempts, "
                           "to_char(r.next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                           "r.last_error, q.size FROM mail.smtp_queue_rcpt r JOIN mail.smtp_queue q ON q.id = r.queue_id "
                           "ORDER BY r.next_attempt_at, r.id");
        });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : rows)
                out.push_back({{"id", r[0].as<std::int64_t>()}, {"sender", r[1].as<std::string>()},
                               {"recipient", r[2].as<std::string>()}, {"attempts", r[3].as<int>()},
                               {"next_attempt_at", r[4].as<std::string>()}, {"last_error", r[5].as<std::string>()},
                               {"size", r[6].as<std::int64_t>()}});
            print_json(out);
            return;
        }
        table t{{"ID", "SENDER", "RECIPIENT", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"}, {}};
        for (const auto& r : rows)
            t.rows.push_back({r[0].as<std::string>(), r[1].is_null() || r[1].as<std::string>().empty()
                                                          ? "<>" : r[1].as<std::string>(),
                              r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>(),
                              r[5].as<std::string>()});
        t.print(std::cout);
    });

    auto* show = queue->add_subcommand("show", "Show one queued message and its recipients");
    show->add_option("id", args->id, "Queue id (from queue list)")->required();
    show->add_flag("--json", args->json, "Print JSON");
    on_run(show, chosen, [args](context& ctx) {
        const auto id = parse_id(args->id);
        auto j = ctx.transact([&](pqxx::work& tx) {
            auto m = tx.exec_params(
                "SELECT q.sender, a.address, q.size, encode(q.blob_sha256, 'hex'), q.envid, q.ret, q.smtputf8, "
                "to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                "to_char(q.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                "FROM mail.smtp_queue q LEFT JOIN directory.accounts a ON a.id = q.sender_account_id WHERE q.id = $1",
                id);
            if (m.empty()) refuse("unknown queue id " + args->id);
            nlohmann::json out{{"id", id}, {"sender", m[0][0].as<std::string>()}, {"account", opt_json(m[0][1])},
                               {"size", m[0][2].as<std::int64_t>()}, {"blob", m[0][3].as<std::string>()},
                               {"envid", opt_json(m[0][4])}, {"ret", opt_json(m[0][5])},
                               {"smtputf8", m[0][6].as<bool>()}, {"created_at", m[0][7].as<std::string>()},
                               {"expires_at", m[0][8].as<std::string>()}, {"recipients", nlohmann::json::array()}};
            for (const auto& r : tx.exec_params(
                     "SELECT recipient, notify, orcpt, attempts, "
                     "to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), last_error "
                     "FROM mail.smtp_queue_rcpt WHERE queue_id = $1 ORDER BY id",
                     id))
                out["recipients"].push_back({{"recipient", r[0].as<std::string>()}, {"notify", opt_json(r[1])},
                                             {"orcpt", opt_json(r[2])}, {"attempts", r[3].as<int>()},
                                             {"next_attempt_at", r[4].as<std::string>()},
                                             {"last_error", r[5].as<std::string>()}});
            return out;
        });
        if (args->json) {
            print_json(j);
            return;
        }
        const auto text = [](const nlohmann::json& v) { return v.is_null() ? std::string("-") : v.get<std::string>(); };
        std::cout << "id: " << id << "\nsender: <" << j["sender"].get<std::string>() << ">\naccount: "
                  << text(j["account"]) << "\nsize: " << j["size"].get<std::int64_t>() << "\nblob: "
                  << j["blob"].get<std::string>() << "\nenvid: " << text(j["envid"]) << "\nret: " << text(j["ret"])
                  << "\ncreated: " << j["created_at"].get<std::string>()
                  << "\nexpires: " << j["expires_at"].get<std::string>() << '\n';
        table t{{"RECIPIENT", "NOTIFY", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"}, {}};
        for (const auto& r : j["recipients"])
            t.rows.push_back({r["recipient"].get<std::string>(), text(r["notify"]), std::to_string(r["attempts"].get<int>()),
                              r["next_attempt_at"].get<std::string>(), r["last_error"].get<std::string>()});
        t.print(std::cout);
    });

    auto* retry = queue->add_subcommand("retry", "Make a queued message's recipients due now");
    retry->add_option("id", args->id, "Queue id (from queue list)")->required();
    on_run(retry, chosen, [args](context& ctx) {
        const auto id = parse_id(args->id);
        auto n = ctx.transact([&](pqxx::work& tx) {
            if (tx.exec_params("SELECT 1 FROM mail.smtp_queue WHERE id = $1", id).empty())
                refuse("unknown queue id " + args->id);
            return tx.exec_params("UPDATE mail.smtp_queue_rcpt SET next_attempt_at = now() WHERE queue_id = $1", id)
                .affected_rows();
        });
        std::cout << "queue id " << id << ": " << n << " recipient(s) due now\n";
    });

    auto* del = queue->add_subcommand("delete", "Remove a queued message without a bounce");
    del->add_option("id", args->id, "Queue id (from queue list)")->required();
    on_run(del, chosen, [args](context& ctx) {
        const auto id = parse_id(args->id);
        ctx.transact([&](pqxx::work& tx) {
            auto m = tx.exec_params("DELETE FROM mail.smtp_queue WHERE id = $1 RETURNING sender, sender_account_id, "
                                    "(SELECT count(*) FROM mail.smtp_queue_rcpt WHERE queue_id = $1)",
                                    id);
            if (m.empty()) refuse("unknown queue id " + args->id);
            std::optional<std::int64_t> account;
            if (!m[0][1].is_null()) account = m[0][1].as<std::int64_t>();
            auth::audit(tx, "admin.queue.delete", std::nullopt, account, ctx.who().actor, ctx.who().remote_ip,
                        {{"queue_id", id}, {"sender", m[0][0].as<std::string>()},
                         {"recipients", m[0][2].as<std::int64_t>()}});
        });
        std::cout << "deleted queue id " << id << '\n';
    });

    auto* flush = queue->add_subcommand("flush", "Make every queued recipient due now");
    on_run(flush, chosen, [](context& ctx) {
        auto n = ctx.transact([](pqxx::work& tx) {
            return tx.exec("UPDATE mail.smtp_queue_rcpt SET next_attempt_at = now() WHERE next_attempt_at > now()")
                .affected_rows();
        });
        std::cout << n << " recipient(s) due now\n";
    });
}

}  // namespace polder::admin
