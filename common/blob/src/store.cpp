// store.cpp - the writer and reader value types that wrap a backend's implementation.
//
// SECURITY: an empty (moved-from or default) writer/reader refuses every call with
// errc::invalid_argument instead of dereferencing nothing.
//
// STANDARDS: none.
#include "polder/blob/store.hpp"

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

}  // namespace polder::blob
