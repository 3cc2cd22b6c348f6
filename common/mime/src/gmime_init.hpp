// gmime_init.hpp - one-time GMime initialisation (private to polder::mime).
//
// SECURITY: g_mime_init() is not thread-safe; std::call_once makes the first use from any
// thread safe. GMime's own caches (iconv, charsets) are locked internally after that.
// STANDARDS: none.
#pragma once

namespace polder::mime {
void ensure_gmime();
}
