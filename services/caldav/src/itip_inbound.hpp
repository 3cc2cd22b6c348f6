// itip_inbound.hpp - polder-caldavd's consumer of iMIP received by mail: polder-smtpd
// queues every delivered text/calendar REQUEST/REPLY/CANCEL in cal.itip_inbound
// (schema/0203_cal_itip_inbound.sql, mailstore/itip_mail.hpp) and NOTIFYs
// cal_itip_inbound; this task takes the rows one at a time - FOR UPDATE SKIP LOCKED, so
// any number of caldavd processes share the work without applying a row twice - applies
// each with sched::apply_inbound in the same transaction that deletes it, and logs the
// outcome (applied, unchanged, or why it was refused).
//
// Wake-ups: a NOTIFY (one listening connection of its own, db::notifier), a resync after
// that connection was lost, and a sweep every sweep_interval (rows queued while no caldavd
// ran, retries). A row whose processing throws (a database error, a bug) is kept, retried
// after a growing delay, and dropped with an error log line after max_attempts.
// The work runs on the database pool's threads, never on an I/O thread.
//
// SECURITY: every decision about what a message may change is apply_inbound's
// (schedule.hpp); here only bounded batches, bounded retries and logs (the log names the
// row, account, method and outcome - never the calendar text).
// STANDARDS: RFC 6047 (iMIP), RFC 5546 (iTIP), RFC 6638 (scheduling).
#pragma once

#include "schedule.hpp"

#include "polder/asio/asio.hpp"
#include "polder/db/notifier.hpp"
#include "polder/db/pool.hpp"

#include <atomic>
#include <chrono>
#include <memory>

namespace polder::caldav {

struct itip_inbound_settings {
    std::chrono::seconds sweep_interval{30};
    int max_attempts = 5;
};

class itip_inbound_task {
public:
    itip_inbound_task(db::pool& pool, db::connection_options listen, options opts, itip_inbound_settings s = {});
    ~itip_inbound_task();
    // start - the listening connection and the loop on ex (once).
    void start(asio::any_io_executor ex);
    // stop - the loop ends within a second; the listening connection closes now.
    void stop();

    // process_one - take and apply one due row; false when there was none (or on a
    // database failure, logged). Public for the drain loop and its tests.
    awaitable<bool> process_one();

private:
    awaitable<void> loop();
    void wake();   // on the loop's strand

    db::pool& pool_;
    options opts_;
    itip_inbound_settings settings_;
    db::connection_options listen_;
    std::unique_ptr<db::notifier> notifier_;
    asio::steady_timer* timer_ = nullptr;   // the loop's sleep timer while it sleeps (strand only)
    db::subscription sub_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> wake_{true};
};

}  // namespace polder::caldav
