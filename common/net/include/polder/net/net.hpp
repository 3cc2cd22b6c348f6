// polder/net/net.hpp - everything of polder::net in one include: runtime,
// server and listeners, TLS contexts, streams (TCP, memory) and the line reader.
//
// SECURITY / STANDARDS: see the individual headers.
#pragma once

#include "polder/net/connection.hpp"
#include "polder/net/line_reader.hpp"
#include "polder/net/memory_stream.hpp"
#include "polder/net/runtime.hpp"
#include "polder/net/server.hpp"
#include "polder/net/stream.hpp"
#include "polder/net/tls_context.hpp"
