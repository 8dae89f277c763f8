// The cleaner's saved progress: CleanerState's encoding round-trips every field, and damaged
// or truncated records are refused as corruption rather than read as some other progress.
#include "cleaner/cleaner_state.hpp"

#include <doctest/doctest.h>

#include <random>

#include "cleaner/cleaner_state_format.hpp"

using namespace brook;
using cleaner::CleanerState;

namespace {

// A state after `passes` passes, each at a later time and a higher offset.
CleanerState after_passes(int passes, std::optional<std::int64_t> due) {
    CleanerState state;
    for (int i = 1; i <= passes; ++i) state.record_pass(Offset(100 * i), 1'000 * i, 1LL << 40);
    state.set_tombstones_due_ms(due);
    return state;
}

void check_same(const CleanerState& a, const CleanerState& b) {
    CHECK(a.first_dirty() == b.first_dirty());
    CHECK(a.tombstones_due_ms() == b.tombstones_due_ms());
    for (std::int64_t offset = 0; offset <= 7'000; offset += 7) {
        CHECK(a.first_seen_ms(Offset(offset)) == b.first_seen_ms(Offset(offset)));
    }
}

}  // namespace

TEST_CASE("saved progress decodes to the same state") {
    for (const int passes : {0, 1, 5, 64, 70}) {
        for (const auto due :
             {std::optional<std::int64_t>{}, std::optional<std::int64_t>{12'345}}) {
            CAPTURE(passes);
            const CleanerState state = after_passes(passes, due);
            auto decoded = CleanerState::decode(state.encode());
            REQUIRE_MESSAGE(decoded.is_ok(), decoded.status().to_string());
            check_same(*decoded, state);
        }
    }
}

TEST_CASE("every flipped byte and every truncation of a record is corruption") {
    const std::string bytes = after_passes(5, 777).encode();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (const int bit : {0, 7}) {
            std::string damaged = bytes;
            damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
            CAPTURE(i);
            CHECK(CleanerState::decode(damaged).code() == Code::corruption);
        }
    }
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        CHECK(CleanerState::decode(bytes.substr(0, size)).code() == Code::corruption);
    }
    CHECK(CleanerState::decode(bytes + "x").code() == Code::corruption);
}

TEST_CASE("limit_to pulls the progress back to a log cut short by recovery") {
    CleanerState state = after_passes(5, std::nullopt);
    state.limit_to(Offset(250));
    CHECK(state.first_dirty() == Offset(250));
    CHECK(state.first_seen_ms(Offset(99)) == 1'000);
    CHECK(state.first_seen_ms(Offset(249)) == 3'000);
    CHECK(!state.first_seen_ms(Offset(250)));
    state.clamp_to(Offset(300));
    CHECK(state.first_dirty() == Offset(300));
}

TEST_CASE("keys order by topic id, then partition, and share the topic's prefix") {
    const std::string a = cleaner::progress_key(1, PartitionId(2));
    const std::string b = cleaner::progress_key(1, PartitionId(10));
    const std::string c = cleaner::progress_key(2, PartitionId(0));
    CHECK(a.size() == cleaner::format::kTopicIdKeySize + cleaner::format::kPartitionKeySize);
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a.starts_with(cleaner::progress_key_prefix(1)));
    CHECK(!c.starts_with(cleaner::progress_key_prefix(1)));
}
