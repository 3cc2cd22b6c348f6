// itip_inbound.cpp - the consumer of cal.itip_inbound (see itip_inbound.hpp).
//
// SECURITY: see itip_inbound.hpp; apply_inbound runs under a savepoint so a failure
// inside it can neither half-apply a message nor lose the row.
// STANDARDS: RFC 6047, RFC 5546, RFC 6638.
#include "itip_inbound.hpp"

#include "polder/log/log.hpp"
#include "polder/mailstore/itip_mail.hpp"

#include <algorithm>

namespace polder::caldav {

itip_inbound_task::itip_inbound_task(db::pool& pool, db::connection_options listen, options opts,
                                     itip_inbound_settings s)
    : pool_(pool), opts_(std::move(opts)), settings_(s), listen_(std::move(listen)) {}

itip_inbound_task::~itip_inbound_task() { stop(); }

void itip_inbound_task::start(asio::any_io_executor ex) {
    auto strand = asio::make_strand(ex);
    notifier_ = std::make_unique<db::notifier>(strand, listen_);
    // Callbacks run on the loop's strand, so they may touch timer_.
    sub_ = notifier_->subscribe(
        std::string(mailstore::itip_channel), strand, [this](std::string) { wake(); }, [this] { wake(); });
    notifier_->start();
    asio::co_spawn(strand, loop(), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("caldav.itip_inbound_died", {{"error", std::string(ex.what())}});
        }
    });
}

void itip_inbound_task::stop() {
    stopping_ = true;
    sub_.reset();
    // Gone before the runtime's executors are: the notifier keeps a copy of the strand.
    if (notifier_) {
        notifier_->stop();
        notifier_.reset();
    }
}

void itip_inbound_task::wake() {
    wake_ = true;
    if (timer_) timer_->cancel();
}

awaitable<void> itip_inbound_task::loop() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!stopping_) {
        wake_ = false;
        while (!stopping_ && co_await process_one()) {
        }
        // Sleep until a NOTIFY, a resync or the sweep; in one-second slices so a stop
        // (from another thread) is noticed without touching the timer.
        const auto until = std::chrono::steady_clock::now() + settings_.sweep_interval;
        while (!stopping_ && !wake_ && std::chrono::steady_clock::now() < until) {
            timer.expires_after(std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(1),
                                                                              until - std::chrono::steady_clock::now()));
            timer_ = &timer;
            co_await timer.async_wait(use_tuple);
            timer_ = nullptr;
        }
    }
}

namespace {

struct step {
    bool found = false;
    sched::inbound_message msg;
    sched::inbound_outcome outcome;
    std::string error;    // apply_inbound threw
    int attempts = 0;
    bool dropped = false;
};

std::optional<std::string> opt_text(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
}

}  // namespace

awaitable<bool> itip_inbound_task::process_one() {
    step st;
    try {
        st = co_await pool_.transact([this](pqxx::work& tx) {
            step s;
            auto rows = tx.exec(
                "SELECT id, account_id, org_id, method, itip, envelope_sender, from_address, via, spf, dmarc, attempts "
                "FROM cal.itip_inbound WHERE not_before <= now() ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED");
            if (rows.empty()) return s;
            const auto& r = rows[0];
            s.found = true;
            auto& m = s.msg;
            m.id = r[0].as<std::int64_t>();
            m.account_id = r[1].as<std::int64_t>();
            m.org_id = r[2].as<std::int64_t>();
            m.method = r[3].as<std::string>();
            m.itip = r[4].as<std::string>();
            m.envelope_sender = r[5].as<std::string>();
            m.from_address = r[6].as<std::string>();
            m.via = r[7].as<std::string>();
            m.spf = opt_text(r[8]);
            m.dmarc = opt_text(r[9]);
            const int attempts = r[10].as<int>();
            tx.exec("SAVEPOINT itip_apply");
            try {
                s.outcome = sched::apply_inbound(tx, m, opts_);
                tx.exec("RELEASE SAVEPOINT itip_apply");
            } catch (const std::exception& e) {
                tx.exec("ROLLBACK TO SAVEPOINT itip_apply");
                s.error = std::string(e.what()).substr(0, 900);
                s.attempts = attempts + 1;
                if (s.attempts >= settings_.max_attempts) {
                    tx.exec_params("DELETE FROM cal.itip_inbound WHERE id = $1", m.id);
                    s.dropped = true;
                } else {
                    // 1, 2, 4, 8 ... minutes: a passing database problem gets time to pass.
                    const double delay = 60.0 * static_cast<double>(1 << std::min(s.attempts - 1, 10));
                    tx.exec_params("UPDATE cal.itip_inbound SET attempts = $2, last_error = $3, "
                                   "not_before = now() + make_interval(secs => $4) WHERE id = $1",
                                   m.id, s.attempts, s.error, delay);
                }
                return s;
            }
            tx.exec_params("DELETE FROM cal.itip_inbound WHERE id = $1", m.id);
            return s;
        });
    } catch (const std::exception& e) {
        // The next wake-up or sweep tries again; a broken database is the pool's to report.
        log::warn("caldav.itip_inbound_failed", {{"error", std::string(e.what())}});
        co_return false;
    }
    if (!st.found) co_return false;
    const auto& m = st.msg;
    if (!st.error.empty()) {
        if (st.dropped)
            log::error("caldav.itip_inbound_dropped", {{"id", m.id}, {"account", m.account_id}, {"method", m.method},
                                                      {"attempts", static_cast<std::int64_t>(st.attempts)},
                                                      {"error", st.error}});
        else
            log::warn("caldav.itip_inbound_retry", {{"id", m.id}, {"account", m.account_id}, {"method", m.method},
                                                   {"attempts", static_cast<std::int64_t>(st.attempts)},
                                                   {"error", st.error}});
        co_return true;
    }
    const bool refused = !st.outcome.applied && st.outcome.result != "unchanged";
    std::initializer_list<log::field> fields = {{"id", m.id},
                                                {"account", m.account_id},
                                                {"method", m.method},
                                                {"from", m.from_address},
                                                {"via", m.via},
                                                {"result", st.outcome.result}};
    if (refused) log::warn("caldav.itip_inbound_refused", fields);
    else log::info("caldav.itip_inbound", fields);
    co_return true;
}

}  // namespace polder::caldav
