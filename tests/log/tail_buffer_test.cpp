// TailBuffer: the copies of a segment's newest batches that readers at the tail view instead of
// reading the file. A model file (every appended batch, back to back) says what any bytes found
// must be; the tests check that what is found matches it, that the batch just appended is
// always found once a reader wants the tail (unless it is larger than a block), that nothing is
// copied before, and that bytes a reader holds stay as they were after the buffer moves on.
#include "log/tail_buffer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using namespace brook;
using brook::log::InPlaceBytes;
using brook::log::TailBuffer;

namespace {

// The file the buffer's segment would hold: batches back to back, each with its base offset.
struct ModelFile {
    std::vector<std::byte> bytes;
    struct Batch {
        std::uint64_t position;
        Offset base;
        std::size_t size;
    };
    std::vector<Batch> batches;
    std::int64_t next_offset = 0;

    // Appends a batch of `size` bytes holding `records` offsets to the model and to `tail`.
    const Batch& append(TailBuffer& tail, std::size_t size, int records, std::mt19937& rng) {
        const std::uint64_t position = bytes.size();
        for (std::size_t i = 0; i < size; ++i) bytes.push_back(static_cast<std::byte>(rng()));
        batches.push_back({position, Offset(next_offset), size});
        next_offset += records;
        tail.append(position, batches.back().base,
                    std::span(bytes).subspan(static_cast<std::size_t>(position), size));
        return batches.back();
    }

    std::uint64_t end() const { return bytes.size(); }
};

// Checks that `found` holds exactly the model's bytes from the batch holding `from` up to
// `limit`.
void check_matches(const InPlaceBytes& found, const ModelFile& file, Offset from,
                   std::uint64_t limit) {
    REQUIRE(found);
    CHECK(found.first_offset <= from);
    CHECK(found.end == limit);
    REQUIRE(found.start <= limit);
    const auto view = found.view(found.start, limit);
    CHECK(std::memcmp(view.data(), file.bytes.data() + found.start, view.size()) == 0);
}

}  // namespace

TEST_CASE("nothing is copied until a reader wants the tail") {
    TailBuffer tail;
    ModelFile file;
    std::mt19937 rng(1);
    for (int i = 0; i < 10; ++i) file.append(tail, 100, 1, rng);
    CHECK_FALSE(tail.find(Offset(9), file.end()));

    tail.want();
    const auto& batch = file.append(tail, 100, 1, rng);
    // The batches from before the want are not there, the one after it is.
    CHECK_FALSE(tail.find(Offset(9), file.end()));
    check_matches(tail.find(batch.base, file.end()), file, batch.base, file.end());
}

TEST_CASE("random appends: the newest batch is always found, and what is found is the file's") {
    TailBuffer tail;
    tail.want();
    ModelFile file;
    std::mt19937 rng(7);
    int found_older = 0;
    for (int i = 0; i < 3000; ++i) {
        // Mostly small batches, some of a block or near it, a few larger than a block.
        std::size_t size = 1 + rng() % 2000;
        if (rng() % 20 == 0) size = TailBuffer::kBlockBytes - rng() % 100;
        if (rng() % 50 == 0) size = TailBuffer::kBlockBytes + 1 + rng() % 1000;
        const auto& batch = file.append(tail, size, 1 + static_cast<int>(rng() % 5), rng);
        CAPTURE(i);

        const InPlaceBytes newest = tail.find(batch.base, file.end());
        if (size > TailBuffer::kBlockBytes) {
            CHECK_FALSE(newest);
            continue;
        }
        check_matches(newest, file, batch.base, file.end());
        CHECK(newest.start <= batch.position);
        // A batch up to 100 back: found only from the same block, and then right.
        const std::size_t back_by = rng() % std::min<std::size_t>(file.batches.size(), 100);
        const auto& older = file.batches[file.batches.size() - 1 - back_by];
        const InPlaceBytes back = tail.find(older.base, file.end());
        if (back) {
            check_matches(back, file, older.base, file.end());
            CHECK(back.start <= older.position);
            found_older += older.position < batch.position;
        } else {
            CHECK(older.position < newest.start);
        }
        // A reader whose published size is older than the block the appender started since.
        if (newest.start > 0) CHECK_FALSE(tail.find(batch.base, newest.start - 1));
    }
    CHECK(found_older > 100);
}

TEST_CASE("bytes a reader holds stay the same after release and after new blocks") {
    TailBuffer tail;
    tail.want();
    ModelFile file;
    std::mt19937 rng(3);
    const auto& first = file.append(tail, 1000, 1, rng);
    const InPlaceBytes held = tail.find(first.base, file.end());
    REQUIRE(held);
    const std::vector<std::byte> copy(held.data, held.data + 1000);

    // Enough appends to start several new blocks, then a release.
    for (int i = 0; i < 40; ++i) file.append(tail, TailBuffer::kBlockBytes / 8, 1, rng);
    tail.release();
    CHECK_FALSE(tail.find(Offset(file.next_offset - 1), file.end()));
    CHECK(std::memcmp(held.data, copy.data(), copy.size()) == 0);
    CHECK(std::memcmp(held.data, file.bytes.data(), copy.size()) == 0);

    // After a release the next append starts a new block, wanted as before.
    const auto& next = file.append(tail, 500, 1, rng);
    check_matches(tail.find(next.base, file.end()), file, next.base, file.end());
}

// The block the newest batch is in, as a reader at the tail finds it.
InPlaceBytes newest_block(const TailBuffer& tail, const ModelFile& file) {
    return tail.find(file.batches.back().base, file.end());
}

// Appends batches of a quarter block until the newest batch is in a block that starts after
// `start`, and returns that block.
InPlaceBytes next_block(TailBuffer& tail, ModelFile& file, std::uint64_t start,
                        std::mt19937& rng) {
    for (;;) {
        file.append(tail, TailBuffer::kBlockBytes / 4, 1, rng);
        InPlaceBytes found = newest_block(tail, file);
        REQUIRE(found);
        if (found.start > start) return found;
    }
}

TEST_CASE("a new block reuses the memory of one that nobody holds, never of one held") {
    TailBuffer tail;
    tail.want();
    ModelFile file;
    std::mt19937 rng(11);
    file.append(tail, 100, 1, rng);
    InPlaceBytes first = newest_block(tail, file);
    REQUIRE(first);
    const std::byte* const first_memory = first.data;
    const std::uint64_t first_start = first.start;

    SUBCASE("held: the block after next gets other memory, and the held bytes stay") {
        const std::vector<std::byte> copy(first.data, first.data + 100);
        const InPlaceBytes second = next_block(tail, file, first.start, rng);
        const InPlaceBytes third = next_block(tail, file, second.start, rng);
        CHECK(third.data != first_memory);
        CHECK(std::memcmp(first.data, copy.data(), copy.size()) == 0);
        check_matches(third, file, file.batches.back().base, file.end());
    }
    SUBCASE("dropped: the block after next reuses its memory, and holds the file's bytes") {
        first = {};
        const std::uint64_t second_start = next_block(tail, file, first_start, rng).start;
        // Had the first block's memory gone back to the allocator when the second replaced
        // it, this allocation of the same size would take it, and the third block could not
        // land there by chance.
        const std::unique_ptr<std::byte[]> decoy(new std::byte[TailBuffer::kBlockBytes]);
        const InPlaceBytes third = next_block(tail, file, second_start, rng);
        CHECK(third.data == first_memory);
        check_matches(third, file, file.batches.back().base, file.end());
    }
}

// The appender and readers at once, as a segment uses them: the appender copies each batch and
// then publishes the size; readers find from what was published. The byte at each position is
// a function of the position, so readers check what they view without sharing a model. Run
// under ThreadSanitizer by .ci/run.
TEST_CASE("readers view the copies while the appender appends") {
    constexpr int kBatches = 8000;
    constexpr int kReaders = 2;
    const auto byte_at = [](std::uint64_t position) {
        return static_cast<std::byte>((position * 2654435761u) >> 13);
    };
    TailBuffer tail;
    // The published size and the base offset of the batch that ends there, packed as the
    // segment publishes them: position in the low 40 bits, offset above.
    std::atomic<std::uint64_t> published{0};
    std::atomic<bool> done{false};
    std::atomic<int> mismatches{0};
    std::atomic<int> hits{0};

    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r) {
        readers.emplace_back([&] {
            tail.want();
            while (!done.load()) {
                const std::uint64_t seen = published.load(std::memory_order_acquire);
                const std::uint64_t limit = seen & ((std::uint64_t{1} << 40) - 1);
                const Offset last(static_cast<std::int64_t>(seen >> 40));
                const InPlaceBytes found = tail.find(last, limit);
                if (!found) continue;
                ++hits;
                const auto view = found.view(found.start, limit);
                for (std::size_t i = 0; i < view.size(); ++i) {
                    if (view[i] != byte_at(found.start + i)) {
                        ++mismatches;
                        break;
                    }
                }
            }
        });
    }
    std::mt19937 rng(5);
    std::vector<std::byte> batch;
    std::uint64_t position = 0;
    for (int b = 0; b < kBatches; ++b) {
        batch.resize(1 + rng() % (b % 100 == 0 ? TailBuffer::kBlockBytes + 10 : 3000));
        for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = byte_at(position + i);
        tail.append(position, Offset(b), batch);
        position += batch.size();
        published.store(position | (static_cast<std::uint64_t>(b) << 40),
                        std::memory_order_release);
    }
    done = true;
    for (auto& t : readers) t.join();
    CHECK(mismatches == 0);
    CHECK(hits > 0);
}
