#include "log/tail_buffer.hpp"

#include <cstring>

namespace brook::log {

TailBuffer::Block::Block(std::uint64_t start, Offset first_offset, std::shared_ptr<Spare> spare)
    : start(start), first_offset(first_offset), spare(std::move(spare)) {
    {
        std::lock_guard lock(this->spare->mu);
        bytes = std::move(this->spare->buffer);
    }
    if (!bytes) bytes.reset(new std::byte[kBlockBytes]);
}

TailBuffer::Block::~Block() {
    std::lock_guard lock(spare->mu);
    if (!spare->buffer) spare->buffer = std::move(bytes);
}

void TailBuffer::append(std::uint64_t position, Offset base, std::span<const std::byte> batch) {
    if (!wanted_.load(std::memory_order_relaxed)) return;
    if (batch.size() > kBlockBytes) {
        release();
        return;
    }
    // Only the appender changes block_, so it reads the pointer without the lock, and without
    // a reference of its own: readers take theirs on the same count.
    Block* block = block_.get();
    if (!block || block->end.load(std::memory_order_relaxed) != position ||
        position + batch.size() - block->start > kBlockBytes) {
        auto fresh = std::make_shared<Block>(position, base, spare_);
        block = fresh.get();
        std::lock_guard lock(mu_);
        block_ = std::move(fresh);
    }
    std::memcpy(block->bytes.get() + (position - block->start), batch.data(), batch.size());
    block->end.store(position + batch.size(), std::memory_order_release);
}

void TailBuffer::release() {
    {
        std::lock_guard lock(mu_);
        block_.reset();
    }
    spare_ = std::make_shared<Spare>();
}

InPlaceBytes TailBuffer::find(Offset from, std::uint64_t limit) const {
    std::shared_ptr<const Block> block;
    {
        std::lock_guard lock(mu_);
        block = block_;
    }
    // Offsets grow with positions: from the block's first offset on, the batch holding `from`
    // starts inside the block.
    if (!block || from < block->first_offset || block->start > limit ||
        block->end.load(std::memory_order_acquire) < limit) {
        return {};
    }
    InPlaceBytes bytes{.owner = nullptr,
                       .data = block->bytes.get(),
                       .start = block->start,
                       .end = limit,
                       .first_offset = block->first_offset};
    bytes.owner = std::move(block);
    return bytes;
}

}  // namespace brook::log
