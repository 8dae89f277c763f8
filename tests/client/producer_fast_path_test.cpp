// produce()'s fast path (a record to the cached topic, into the open batch of the partition
// written last) against its general path (client::testing::fast_path off) and against a model
// of the records. The same random sequence is produced by each path into a fresh store: records
// with and without callbacks, keyed (Kafka's murmur2 partition) and with explicit partitions,
// runs to one partition and switches between topics and partitions, tombstones and headers,
// records near and above max.message.bytes (record_too_large), a compacted topic refusing null
// keys, unknown topics and partitions, a zstd topic, batches that fill batch.size, and flushes.
// Both paths must return the same statuses and reports and store the same records, and these
// must be what the model says: every accepted record once, in produce order per partition, at
// the offset its report gives.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "api/api_env.hpp"
#include "client/partitioner.hpp"
#include "client/producer_testing.hpp"
#include "producer_read_back.hpp"

using namespace brook;
using namespace brook_test;

namespace {

struct TopicSpec {
    std::string name;
    std::int32_t partitions;
    Config config;
};

const std::vector<TopicSpec> kTopics = {
    {"events", 3, {{"max.message.bytes", "1200"}}},
    {"compacted", 2, {{"cleanup.policy", "compact"}}},
    {"packed", 1, {{"compression.type", "zstd"}}},
};

// A record to produce, and whether it gets a callback.
struct Planned {
    ProducerRecord record;
    bool with_callback = false;
    bool flush_after = false;
    bool advance_clock = false;
};

std::vector<Planned> plan(std::uint32_t seed, int count) {
    std::mt19937 rng(seed);
    auto bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (char& c : s) c = static_cast<char>(rng() % 256);
        return s;
    };
    std::vector<Planned> out;
    std::size_t topic = 0;
    std::int32_t partition = 0;
    for (int i = 0; i < count; ++i) {
        // Runs to one topic and partition (the fast path), and switches (the general path).
        if (rng() % 8 == 0) topic = rng() % kTopics.size();
        if (rng() % 8 == 0) partition = static_cast<std::int32_t>(rng() % 4);
        Planned p;
        ProducerRecord& r = p.record;
        const TopicSpec& spec = kTopics[topic];
        r.topic = rng() % 97 == 0 ? "missing" : spec.name;
        if (rng() % 6 != 0) r.key = bytes(rng() % 20);
        const std::uint32_t size_class = rng() % 10;
        if (size_class == 0) {
            r.value.reset();  // a tombstone
        } else if (size_class == 1) {
            r.value = bytes(1050 + rng() % 200);  // around events' max.message.bytes
        } else {
            r.value = bytes(rng() % 300);
        }
        for (std::uint32_t h = rng() % 4 == 0 ? 1 + rng() % 2 : 0; h > 0; --h) {
            r.headers.push_back({bytes(1 + rng() % 6),
                                 rng() % 3 == 0 ? std::nullopt : std::optional(bytes(rng() % 9))});
        }
        if (rng() % 2 == 0) r.timestamp = 5'000'000 + i;
        // Null keys get a partition (sticky partitioning is random); so do half the others.
        // Partition 3 does not exist in any of the topics, 2 only in events.
        if (!r.key || rng() % 2 == 0) r.partition = PartitionId(partition);
        p.with_callback = rng() % 2 == 0;
        p.flush_after = rng() % 150 == 0;
        p.advance_clock = rng() % 40 == 0;
        out.push_back(std::move(p));
    }
    return out;
}

std::optional<std::string_view> view(const std::optional<std::string>& s) {
    return s ? std::optional<std::string_view>(*s) : std::nullopt;
}

// What a record's delivery report said: partition, offset, timestamp and error.
using Report = std::tuple<std::int32_t, std::int64_t, std::int64_t, Code>;

struct Outcome {
    std::vector<Code> statuses;                         // per planned record
    std::vector<std::optional<Report>> reports;         // per planned record with a callback
    std::vector<std::int64_t> clock_at;                 // the store clock when it was produced
    std::map<std::string, std::vector<Stored>> stored;  // per topic
    std::size_t outstanding_after_flush = 1;

    friend bool operator==(const Outcome&, const Outcome&) = default;
};

template <typename Fixture>
Outcome run(const std::vector<Planned>& planned, bool fast_path, const Config& config) {
    client::testing::fast_path.store(fast_path);
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(1'000'000);
    std::unique_ptr<Store> store = fixture.open({.clock = clock});
    for (const TopicSpec& t : kTopics) create_topic(*store, t.name, t.partitions, t.config);
    auto producer = make_producer(*store, config);

    Outcome out;
    out.reports.resize(planned.size());
    for (std::size_t i = 0; i < planned.size(); ++i) {
        const Planned& p = planned[i];
        if (p.advance_clock) clock->advance_ms(7);
        out.clock_at.push_back(clock->now_ms());
        DeliveryCallback callback;
        if (p.with_callback) {
            callback = [&out, i](const DeliveryReport& d) {
                REQUIRE_FALSE(out.reports[i].has_value());  // one report per record
                out.reports[i] =
                    Report{d.partition.value(), d.offset.value(), d.timestamp, d.error.code()};
            };
        }
        // Half from the caller's bytes, half as a ProducerRecord: both take the same paths.
        const ProducerRecord& r = p.record;
        const Status status =
            i % 2 == 0 ? producer->produce(r, std::move(callback))
                       : producer->produce(r.topic, r.partition, view(r.key), view(r.value),
                                           r.timestamp, r.headers, std::move(callback));
        out.statuses.push_back(status.code());
        if (p.flush_after) REQUIRE(producer->flush().is_ok());
    }
    REQUIRE(producer->flush().is_ok());
    out.outstanding_after_flush = producer->outstanding();
    for (const TopicSpec& t : kTopics) out.stored[t.name] = read_all(*store, t.name, t.partitions);
    client::testing::fast_path.store(true);
    return out;
}

// The model: where each accepted record must be, and what it must hold.
void check_against_model(const std::vector<Planned>& planned, const Outcome& out) {
    std::map<std::string, std::int32_t> partitions;
    for (const TopicSpec& t : kTopics) partitions[t.name] = t.partitions;
    // Per topic and partition, the indexes of the records accepted there, in produce order.
    std::map<std::pair<std::string, std::int32_t>, std::vector<std::size_t>> expected;
    int refused_large = 0;
    for (std::size_t i = 0; i < planned.size(); ++i) {
        const ProducerRecord& r = planned[i].record;
        const Code code = out.statuses[i];
        if (r.topic == "missing") {
            CHECK(code == Code::not_found);
            continue;
        }
        if (r.topic == "compacted" && !r.key) {
            CHECK(code == Code::invalid_argument);
            continue;
        }
        const std::int32_t count = partitions.at(r.topic);
        if (r.partition && r.partition->value() >= count) {
            CHECK(code == Code::not_found);
            continue;
        }
        if (code == Code::record_too_large) {
            // Only records near events' 1200-byte limit may be refused.
            CHECK(r.topic == "events");
            CHECK(r.value.value_or("").size() >= 1050);
            ++refused_large;
            continue;
        }
        REQUIRE_MESSAGE(code == Code::ok, "record ", i);
        const std::int32_t partition =
            r.partition ? r.partition->value() : client::murmur2_partition(*r.key, count);
        expected[{r.topic, partition}].push_back(i);
    }
    CHECK(refused_large > 0);

    std::size_t stored_total = 0;
    for (const auto& [topic, stored] : out.stored) {
        stored_total += stored.size();
        std::map<std::int32_t, std::int64_t> next_offset;
        for (const Stored& s : stored) {
            const std::vector<std::size_t>& indexes = expected[{topic, s.partition}];
            const std::int64_t offset = next_offset[s.partition]++;
            CHECK(s.offset == offset);
            REQUIRE(static_cast<std::size_t>(offset) < indexes.size());
            const std::size_t i = indexes[static_cast<std::size_t>(offset)];
            const ProducerRecord& r = planned[i].record;
            CHECK(s.key == r.key);
            CHECK(s.value == r.value);
            CHECK(s.headers == r.headers);
            CHECK(s.timestamp == r.timestamp.value_or(out.clock_at[i]));
            if (planned[i].with_callback) {
                REQUIRE(out.reports[i].has_value());
                CHECK(*out.reports[i] == Report{s.partition, s.offset, s.timestamp, Code::ok});
            }
        }
        for (std::int32_t p = 0; p < partitions.at(topic); ++p) {
            CHECK(static_cast<std::size_t>(next_offset[p]) == expected[{topic, p}].size());
        }
    }
    std::size_t accepted = 0;
    for (const auto& [where, indexes] : expected) accepted += indexes.size();
    CHECK(stored_total == accepted);
    // A refused record gets no report: its error is produce()'s return value.
    for (std::size_t i = 0; i < planned.size(); ++i) {
        if (out.statuses[i] != Code::ok) CHECK_FALSE(out.reports[i].has_value());
    }
    CHECK(out.outstanding_after_flush == 0);
}

}  // namespace

TEST_CASE_TEMPLATE("the fast path stores and reports what the general path does", Fixture,
                   MemoryStore, DiskStore) {
    const std::vector<Planned> planned = plan(20261126, 3000);
    // Batches that fill batch.size, the same with linger.ms = 0, and the defaults.
    const std::vector<Config> configs = {
        {{"batch.size", "4000"}}, {{"batch.size", "4000"}, {"linger.ms", "0"}}, {}};
    for (std::size_t c = 0; c < configs.size(); ++c) {
        CAPTURE(c);
        const Config& config = configs[c];
        const Outcome general = run<Fixture>(planned, false, config);
        const Outcome fast = run<Fixture>(planned, true, config);
        check_against_model(planned, general);
        check_against_model(planned, fast);
        CHECK(fast == general);
    }
}
