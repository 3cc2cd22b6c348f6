// polder/mailstore/message_cache.hpp - what a process keeps in memory about stored
// messages, by mail.messages row, least recently used out first.
//
//   mailstore::message_cache cache(64 * 1024 * 1024);
//   cache.put(row, bytes);                  // after an APPEND, or a read from the database
//   if (auto bytes = cache.get(row)) ...    // a later FETCH of that message: no query
//
// row_cache<T> holds values of type T (T::size() is the bytes one costs). A message's row
// never changes once written (flags and mailboxes live in mail.mailbox_messages) and row
// ids are never reused, so a cached value never goes stale. Two caches use it:
//   - message_cache: the octets of messages APPENDed with at most max_inline_message
//     octets, which keep them in their row (schema 0109), so every read of one would be a
//     database query where a message in the blob store is a file read the kernel's page
//     cache serves. This cache is that page cache for them.
//   - header_cache (search.hpp): the lower-cased header text SEARCH's header keys read, so
//     a repeated SEARCH over a mailbox needs no lookup of its message rows (as Dovecot
//     answers from its per-mailbox cache file).
//
// SECURITY: a lookup by row id carries no rights: callers only look up rows a rights-
// checked read gave them. Bounded: at most `capacity` bytes (a value larger than a
// quarter of it is not kept).
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

template <class T>
class row_cache {
public:
    explicit row_cache(std::size_t capacity) : capacity_(capacity) {}
    row_cache(const row_cache&) = delete;
    row_cache& operator=(const row_cache&) = delete;

    // get - the value of row `row`, or null; a hit becomes the most recently used.
    std::shared_ptr<const T> get(std::int64_t row) {
        std::lock_guard lock(m_);
        auto it = index_.find(row);
        if (it == index_.end()) return nullptr;
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
    }

    // put - remembers the value of row `row`, evicting the least recently used entries
    // beyond the capacity.
    void put(std::int64_t row, std::shared_ptr<const T> value) {
        if (!value || value->size() > capacity_ / 4) return;
        std::lock_guard lock(m_);
        if (auto it = index_.find(row); it != index_.end()) {
            order_.splice(order_.begin(), order_, it->second);
            return;   // the same value: a row's never changes
        }
        bytes_ += value->size();
        order_.emplace_front(row, std::move(value));
        index_.emplace(row, order_.begin());
        while (bytes_ > capacity_ && !order_.empty()) {
            auto& last = order_.back();
            bytes_ -= last.second->size();
            index_.erase(last.first);
            order_.pop_back();
        }
    }

    std::size_t bytes() const {
        std::lock_guard lock(m_);
        return bytes_;
    }
    std::size_t entries() const {
        std::lock_guard lock(m_);
        return index_.size();
    }

private:
    using entry = std::pair<std::int64_t, std::shared_ptr<const T>>;
    const std::size_t capacity_;
    mutable std::mutex m_;
    std::list<entry> order_;   // most recently used first
    std::unordered_map<std::int64_t, typename std::list<entry>::iterator> index_;
    std::size_t bytes_ = 0;
};

// message_cache - the octets of messages kept in the database.
using message_cache = row_cache<std::string>;

}  // namespace polder::mailstore
