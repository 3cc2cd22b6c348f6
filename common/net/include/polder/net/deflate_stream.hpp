// polder/net/deflate_stream.hpp - a stream that compresses what it writes and
// decompresses what it reads with raw DEFLATE, wrapped around another stream: IMAP
// COMPRESS=DEFLATE (RFC 4978). Thunderbird turns it on for every account that offers
// it; on a mobile link it cuts a FETCH of headers to a fifth.
//
// Reads inflate straight into the caller's buffer, so one read never yields more than
// the buffer holds whatever the compression ratio (no decompression bomb can grow
// memory). Each write is deflated and flushed with Z_SYNC_FLUSH before it goes out, as
// the RFC requires, so a response is never held back waiting for more output.
// Memory per compressed connection: zlib's deflate state (window 2^15, memLevel 8,
// about 256 KiB) plus the inflate window (32 KiB) and a 16 KiB input buffer.
//
// SECURITY: corrupt compressed input is a read error (errc::protocol_error); the caller
// ends the session. start_tls() is refused (invalid_argument): TLS after compression
// would compress plaintext-chosen data next to secrets (and RFC 4978 forbids it).
// Timeouts, cancel and close pass through to the wrapped stream.
// STANDARDS: RFC 4978 (IMAP COMPRESS), RFC 1951 (DEFLATE; raw, no zlib header).
#pragma once

#include "polder/net/stream.hpp"

#include <memory>
#include <string>

namespace polder::net {

// make_deflate_stream - `already_read` holds bytes the session read from `inner` after the
// COMPRESS command (a pipelining client's first compressed bytes); they are inflated
// before anything new is read.
std::unique_ptr<stream> make_deflate_stream(std::unique_ptr<stream> inner, std::string already_read = {});

}  // namespace polder::net
