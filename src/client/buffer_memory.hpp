// BufferMemory: a Producer's buffer.memory, the bytes its batches may hold before they are
// appended, and the wait of a produce() call that finds it full (max.block.ms).
//
// As in Kafka's producer, a batch takes its share when it opens: batch.size bytes, or more for
// a record larger than that. When it is sealed its share becomes the bytes its buffer holds
// (its records, and the room the buffer grew beyond them), and the share is given back once
// the batch was appended to its partition log (with acks=all, before its fsync). A record that
// needs a new batch waits while the shares taken, plus the new one, are above the limit; one that
// fits in its partition's open batch never waits.
//
// The RecordAccumulator owns it and guards it with its own mutex: every method requires that
// lock held.
#pragma once

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "client/accumulator_mutex.hpp"

namespace brook::client {

class BufferMemory {
  public:
    using Lock = std::unique_lock<AccumulatorMutex>;

    explicit BufferMemory(std::size_t limit) : limit_(limit) {}

    BufferMemory(const BufferMemory&) = delete;
    BufferMemory& operator=(const BufferMemory&) = delete;

    // Whether a new batch's share of `bytes` fits now. Once no batch holds a share, any share
    // fits, so a batch larger than the limit still gets its turn.
    bool has_room(std::size_t bytes) const { return taken_ == 0 || taken_ + bytes <= limit_; }

    void take(std::size_t bytes) { taken_ += bytes; }

    // A batch's share changed from `from` to `to` bytes (it was sealed).
    void resize(std::size_t from, std::size_t to) {
        assert(from <= taken_);
        taken_ = taken_ - from + to;
        if (to < from && waiters_ > 0) room_cv_.notify_all();
    }

    // Gives back the shares of batches that were appended, or dropped unqueued.
    void give_back(std::size_t bytes) {
        if (bytes == 0) return;
        assert(bytes <= taken_);
        taken_ -= bytes;
        if (waiters_ > 0) room_cv_.notify_all();
    }

    // Blocks, with `lock` released, until a share of `bytes` fits or `deadline` passes. The
    // caller has the sender seal every open batch while anyone waits (see waiters()): a batch
    // lingering for linger.ms must not keep a full buffer full.
    // @return whether there is room.
    bool wait_for_room(Lock& lock, std::size_t bytes,
                       std::chrono::steady_clock::time_point deadline) {
        ++waiters_;
        const bool room = room_cv_.wait_until(lock, deadline, [&] { return has_room(bytes); });
        --waiters_;
        return room;
    }

    // The number of produce() calls waiting for room.
    std::size_t waiters() const { return waiters_; }

    std::size_t taken() const { return taken_; }

  private:
    const std::size_t limit_;
    std::size_t taken_ = 0;
    std::size_t waiters_ = 0;
    std::condition_variable_any room_cv_;
};

}  // namespace brook::client
