// polder/mailstore/message_cache.hpp - the octets of messages kept in the database, held
// in memory by one process, least recently used out first.
//
//   mailstore::message_cache cache(64 * 1024 * 1024);
//   cache.put(row, bytes);                  // after an APPEND, or a read from the database
//   if (auto bytes = cache.get(row)) ...    // a later FETCH of that message: no query
//
// Why: a message APPENDed with at most max_inline_message octets keeps them in its
// mail.messages row (schema 0109), so every read of it would be a database query where a
// message in the blob store is a file read the kernel's page cache serves. This cache is
// that page cache for them: the messages a process stored or read lately, by row id (a
// row's octets never change, and row ids are never reused), bounded in bytes.
//
// SECURITY: a lookup by row id carries no rights: callers only look up rows a rights-
// checked read (mailstore::ops::fetch) gave them. Bounded: at most `capacity` bytes of
// octets (entries larger than a quarter of it are not kept).
// STANDARDS: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace polder::mailstore {

class message_cache {
public:
    explicit message_cache(std::size_t capacity) : capacity_(capacity) {}
    message_cache(const message_cache&) = delete;
    message_cache& operator=(const message_cache&) = delete;

    // get - the octets of row `row`, or null; a hit becomes the most recently used.
    std::shared_ptr<const std::string> get(std::int64_t row);
    // put - remembers the octets of row `row`, evicting the least recently used entries
    // beyond the capacity.
    void put(std::int64_t row, std::shared_ptr<const std::string> octets);

    std::size_t bytes() const;
    std::size_t entries() const;

private:
    using entry = std::pair<std::int64_t, std::shared_ptr<const std::string>>;
    const std::size_t capacity_;
    mutable std::mutex m_;
    std::list<entry> order_;   // most recently used first
    std::unordered_map<std::int64_t, std::list<entry>::iterator> index_;
    std::size_t bytes_ = 0;
};

}  // namespace polder::mailstore
