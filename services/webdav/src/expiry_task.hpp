// expiry_task.hpp - polder-webdavd's periodic clean-up: every
// webdav.expire_interval_seconds (with jitter) it runs maintenance::run_once:
// trash and versions past their retention are dropped and blobs nothing
// references any more (older than webdav.gc_grace_hours) are removed, the
// same code as `polderctl file expire` and `polderctl file gc`.
//
// Timing and jitter: service::periodic_task; the advisory lock of run_once
// makes sure only one replica works at a time.
// The work runs on a database thread of the pool (it walks the blob folder
// there too), never on an I/O thread.
//
// SECURITY: see maintenance.hpp (references checked, grace period, lock).
// STANDARDS: none.
#pragma once

#include "store.hpp"

#include "polder/asio/asio.hpp"
#include "polder/blob/fs_store.hpp"
#include "polder/db/pool.hpp"
#include "polder/service/periodic.hpp"

#include <atomic>
#include <chrono>

namespace polder::webdav {

struct expiry_settings {
    std::chrono::seconds interval{3600};
    std::chrono::seconds grace{24 * 3600};
    store::retention keep;
};

class expiry_task {
public:
    expiry_task(db::pool& pool, blob::fs_store& blobs, expiry_settings settings);
    // start - spawn the loop on ex (once).
    void start(asio::any_io_executor ex);
    // stop - the loop ends within a second (a run in progress finishes first).
    void stop() { task_.stop(); }

private:
    awaitable<void> round(const std::atomic<bool>& stopping);

    db::pool& pool_;
    blob::fs_store& blobs_;
    expiry_settings settings_;
    service::periodic_task task_;
};

}  // namespace polder::webdav
