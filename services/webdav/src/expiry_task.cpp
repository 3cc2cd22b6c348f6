// expiry_task.cpp - the periodic trash / version expiry and blob collection
// of polder-webdavd.
//
// SECURITY: see expiry_task.hpp and maintenance.hpp.
// STANDARDS: none.
#include "expiry_task.hpp"

#include "maintenance.hpp"

#include "polder/log/log.hpp"


namespace polder::webdav {

expiry_task::expiry_task(db::pool& pool, blob::fs_store& blobs, expiry_settings settings)
    : pool_(pool), blobs_(blobs), settings_(settings),
      task_("webdav.expiry", settings.interval,
            [this](const std::atomic<bool>& stopping) { return round(stopping); }) {}

void expiry_task::start(asio::any_io_executor ex) { task_.start(std::move(ex)); }

awaitable<void> expiry_task::round(const std::atomic<bool>& stopping) {
    const auto started = std::chrono::steady_clock::now();
    auto r = co_await pool_.run([this, &stopping](pqxx::connection& conn) {
        return maintenance::run_once(conn, blobs_, settings_.keep, settings_.grace, &stopping);
    });
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (r.ran)
        log::info("webdav.expiry", {{"trash_expired", r.expired.trash},
                                    {"versions_expired", r.expired.versions},
                                    {"blobs_seen", r.gc.seen},
                                    {"blobs_removed", r.gc.removed},
                                    {"bytes_freed", r.gc.bytes},
                                    {"temp_swept", r.gc.temp_swept},
                                    {"inline_removed", r.gc.inline_removed},
                                    {"inline_bytes_freed", r.gc.inline_bytes},
                                    {"ms", static_cast<std::int64_t>(ms)}});
    else
        log::debug("webdav.expiry_skipped", {{"reason", "another process holds the expiry lock"}});
}

}  // namespace polder::webdav
