// message_cache.cpp - see message_cache.hpp.
// SECURITY: bounded in bytes; see the header. STANDARDS: none.
#include "polder/mailstore/message_cache.hpp"

namespace polder::mailstore {

std::shared_ptr<const std::string> message_cache::get(std::int64_t row) {
    std::lock_guard lock(m_);
    auto it = index_.find(row);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
}

void message_cache::put(std::int64_t row, std::shared_ptr<const std::string> octets) {
    if (!octets || octets->size() > capacity_ / 4) return;
    std::lock_guard lock(m_);
    if (auto it = index_.find(row); it != index_.end()) {
        order_.splice(order_.begin(), order_, it->second);
        return;   // the same octets: a row's never change
    }
    bytes_ += octets->size();
    order_.emplace_front(row, std::move(octets));
    index_.emplace(row, order_.begin());
    while (bytes_ > capacity_ && !order_.empty()) {
        auto& last = order_.back();
        bytes_ -= last.second->size();
        index_.erase(last.first);
        order_.pop_back();
    }
}

std::size_t message_cache::bytes() const {
    std::lock_guard lock(m_);
    return bytes_;
}

std::size_t message_cache::entries() const {
    std::lock_guard lock(m_);
    return index_.size();
}

}  // namespace polder::mailstore
