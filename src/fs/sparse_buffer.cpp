// SparseBuffer: see sparse_buffer.hpp.
#include "fs/sparse_buffer.hpp"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace brook::fs {
namespace {

std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_up_to_page(std::size_t n) {
    const std::size_t page = page_size();
    return (n + page - 1) / page * page;
}

}  // namespace

SparseBuffer::~SparseBuffer() {
    release(base_, capacity_);
}

void SparseBuffer::release(std::byte* base, std::size_t capacity) {
    if (base == nullptr) return;
    if (capacity < kMappedFrom) {
        delete[] base;
    } else {
        ::munmap(base, capacity);
    }
}

Status SparseBuffer::reserve(std::size_t capacity) {
    if (capacity > kLargest) {
        return Status::no_space(fmt::format(
            "in-memory file: {} bytes is more than an in-memory file can hold ({} bytes)", capacity,
            kLargest));
    }
    // Doubling keeps a file that grows by appends to a logarithmic number of copies.
    std::size_t target = std::max(capacity, capacity_ * 2);
    std::byte* fresh = nullptr;
    if (target < kMappedFrom) {
        fresh = new (std::nothrow) std::byte[target]();
    } else {
        target = round_up_to_page(target);
        void* mapped = ::mmap(nullptr, target, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mapped != MAP_FAILED) fresh = static_cast<std::byte*>(mapped);
    }
    if (fresh == nullptr) {
        return Status::no_space(fmt::format(
            "in-memory file: cannot reserve {} bytes of memory; free memory or use a smaller "
            "segment.bytes or segment.index.bytes",
            target));
    }
    if (size_ > 0) std::memcpy(fresh, base_, size_);
    release(base_, capacity_);
    base_ = fresh;
    capacity_ = target;
    return Status::ok();
}

Status SparseBuffer::resize(std::size_t size) {
    if (size > capacity_) BROOK_RETURN_IF_ERROR(reserve(size));
    if (size < size_) zero_tail(size);
    size_ = size;
    return Status::ok();
}

void SparseBuffer::zero_tail(std::size_t from) {
    if (capacity_ < kMappedFrom) {
        std::memset(base_ + from, 0, size_ - from);
        return;
    }
    // Whole pages past `from` go back to the kernel, which supplies zeroed pages if they are
    // touched again; the rest of the page that holds `from` is zeroed here.
    const std::size_t first_whole_page = std::min(round_up_to_page(from), size_);
    std::memset(base_ + from, 0, first_whole_page - from);
    if (first_whole_page == size_) return;
    const std::size_t length = round_up_to_page(size_) - first_whole_page;
    if (::madvise(base_ + first_whole_page, length, MADV_DONTNEED) != 0) {
        std::memset(base_ + first_whole_page, 0, size_ - first_whole_page);
    }
}

Status SparseBuffer::write(std::size_t offset, std::span<const std::byte> bytes) {
    if (bytes.empty()) return Status::ok();
    if (offset > kLargest) {
        return Status::no_space(fmt::format(
            "in-memory file: a write at offset {} is past the largest in-memory file ({} bytes)",
            offset, kLargest));
    }
    const std::size_t end = offset + bytes.size();
    if (end > size_) BROOK_RETURN_IF_ERROR(resize(end));
    std::memcpy(base_ + offset, bytes.data(), bytes.size());
    return Status::ok();
}

}  // namespace brook::fs
