// memory_trim.cpp - see memory_trim.hpp.
// SECURITY: none. STANDARDS: none.
#include "memory_trim.hpp"

#include <malloc.h>

namespace polder::service {

memory_trimmer::memory_trimmer(std::chrono::milliseconds interval, std::size_t threshold)
    : interval_(interval), threshold_(threshold), thread_([this] { loop(); }) {}

memory_trimmer::~memory_trimmer() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void memory_trimmer::loop() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
        // fordblks: free bytes held in the arenas (under a sanitizer's allocator: 0).
        if (::mallinfo2().fordblks > threshold_) ::malloc_trim(0);
#endif
    }
}

}  // namespace polder::service
