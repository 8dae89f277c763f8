// FetchPool, which recycles a consumer's read buffers: the buffers one consume() call held at
// once must all come back for the next call, with the memory they had (a buffer made anew has
// none), as long as their capacities add up to at most 4 MiB (FetchPool::kKeptBytes); beyond
// that only 4 MiB of them are kept, and a buffer larger than the pool's limit is never kept.
#include <doctest/doctest.h>

#include <brook/message.hpp>
#include <cstddef>
#include <memory>
#include <vector>

#include "client/fetched_records.hpp"

using namespace brook;
using client::FetchedBytesRef;
using client::FetchPool;

namespace {

constexpr std::size_t kKeptBytes = 4 << 20;  // FetchPool::kKeptBytes

// Takes `count` buffers from `pool` at once and grows each to `bytes`, as reads fill them.
std::vector<FetchedBytesRef> take_filled(FetchPool& pool, std::size_t count, std::size_t bytes) {
    std::vector<FetchedBytesRef> taken;
    for (std::size_t i = 0; i < count; ++i) {
        taken.push_back(pool.take("t"));
        taken.back()->raw.bytes.resize(bytes);
    }
    return taken;
}

// Drops every reference, as a caller that clears its Messages does; the pool has them back
// once this thread's deferred drops are flushed.
void release(std::vector<FetchedBytesRef>& taken) {
    taken.clear();
    detail::flush_deferred_release();
}

// How many of `count` buffers taken now come with a buffer of at least `bytes` already held.
std::size_t recycled_of(FetchPool& pool, std::size_t count, std::size_t bytes) {
    std::vector<FetchedBytesRef> taken;
    std::size_t recycled = 0;
    for (std::size_t i = 0; i < count; ++i) {
        taken.push_back(pool.take("t"));
        if (taken.back()->raw.bytes.capacity() >= bytes) ++recycled;
    }
    release(taken);
    return recycled;
}

}  // namespace

TEST_CASE("every small read buffer one call held is found again by the next") {
    // max.partition.fetch.bytes of 64 KiB: a consume() of a few thousand records holds a
    // dozen reads at once.
    constexpr std::size_t kRead = 64 * 1024;
    auto pool = std::make_shared<FetchPool>(2 * kRead);
    for (const std::size_t count : {std::size_t{12}, std::size_t{40}}) {
        CAPTURE(count);
        REQUIRE(count * kRead <= kKeptBytes);
        auto taken = take_filled(*pool, count, kRead);
        release(taken);
        CHECK(recycled_of(*pool, count, kRead) == count);
    }
}

TEST_CASE("the free buffers kept add up to at most 4 MiB, and never fewer than two") {
    constexpr std::size_t kRead = 1 << 20;
    auto pool = std::make_shared<FetchPool>(2 * kRead);
    auto taken = take_filled(*pool, 10, kRead);
    release(taken);
    CHECK(recycled_of(*pool, 10, kRead) == kKeptBytes / kRead);

    // Two buffers of 3 MiB (a read of one large batch) are kept even though they exceed 4 MiB
    // together.
    auto large_pool = std::make_shared<FetchPool>(4 << 20);
    auto large = take_filled(*large_pool, 3, 3 << 20);
    release(large);
    CHECK(recycled_of(*large_pool, 3, 3 << 20) == 2);
}

TEST_CASE("a buffer larger than the pool's limit is not kept") {
    auto pool = std::make_shared<FetchPool>(1 << 20);
    auto taken = take_filled(*pool, 1, 2 << 20);
    release(taken);
    CHECK(recycled_of(*pool, 1, 1) == 0);
}
