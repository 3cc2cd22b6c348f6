// store.cpp - the writer and reader value types that wrap a backend's implementation.
//
// SECURITY: an empty (moved-from or default) writer/reader refuses every call with
// errc::invalid_argument instead of dereferencing nothing.
//
// STANDARDS: none.
#include "polder/blob/store.hpp"

#include <algorithm>
#include <cstring>

namespace polder::blob {

result<void> writer::write(std::span<const std::byte> data) {
    if (!impl_) return errc::invalid_argument;
    return impl_->write(data);
}

result<blob_id> writer::commit() {
    if (!impl_) return errc::invalid_argument;
    return impl_->commit();
}

void writer::abort() noexcept {
    if (impl_) impl_->abort();
}

std::uint64_t writer::size() const noexcept { return impl_ ? impl_->size() : 0; }

result<std::size_t> reader::read(std::span<std::byte> buffer) {
    if (!impl_) return errc::invalid_argument;
    return impl_->read(buffer);
}

std::uint64_t reader::remaining() const noexcept { return impl_ ? impl_->remaining() : 0; }

std::optional<file_range> reader::file() const noexcept {
    if (!impl_) return std::nullopt;
    return impl_->file();
}

namespace {

class memory_reader_impl final : public reader_impl {
 public:
    memory_reader_impl(std::shared_ptr<const std::string> bytes, std::size_t at, std::size_t end)
        : bytes_(std::move(bytes)), at_(at), end_(end) {}

    result<std::size_t> read(std::span<std::byte> buffer) override {
        const std::size_t n = std::min(buffer.size(), end_ - at_);
        if (n > 0) std::memcpy(buffer.data(), bytes_->data() + at_, n);
        at_ += n;
        return n;
    }
    std::uint64_t remaining() const noexcept override { return end_ - at_; }

 private:
    std::shared_ptr<const std::string> bytes_;
    std::size_t at_;
    std::size_t end_;
};

}  // namespace

result<reader> memory_reader(std::shared_ptr<const std::string> bytes, std::uint64_t offset,
                             std::optional<std::uint64_t> length) {
    if (!bytes) return errc::invalid_argument;
    const std::uint64_t size = bytes->size();
    if (offset > size) return errc::invalid_argument;
    const std::uint64_t end = length ? offset + std::min(*length, size - offset) : size;
    return reader(std::make_unique<memory_reader_impl>(std::move(bytes), static_cast<std::size_t>(offset),
                                                       static_cast<std::size_t>(end)));
}

}  // namespace polder::blob
