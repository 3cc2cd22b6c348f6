// gmime_init.cpp - one-time GMime initialisation.
//
// SECURITY: see gmime_init.hpp. GMime is never shut down: other threads may still be
// decoding while the process exits, and its caches are reclaimed by the OS.
// STANDARDS: none.
#include "gmime_init.hpp"

#include <gmime/gmime.h>

#include <mutex>

namespace polder::mime {

void ensure_gmime() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

}  // namespace polder::mime
