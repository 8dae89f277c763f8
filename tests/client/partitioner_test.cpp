// Tests for the partitioners: murmur2 against Kafka's own test vectors and against values the
// Java algorithm gives for binary keys, the partition a key maps to, xxh3 stability and
// spread, parsing of the "partitioner" config, and sticky partitioning for null keys,
// including from several threads at once.
#include "client/partitioner.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "util/checksum.hpp"

using brook::Code;
using brook::client::murmur2;
using brook::client::murmur2_partition;
using brook::client::parse_partitioner;
using brook::client::PartitionerKind;
using brook::client::StickyPartitioner;
using brook::client::to_positive;
using brook::client::xxh3_partition;

namespace {

struct Vector {
    std::string_view key;
    std::int32_t hash;
};

// Kafka's UtilsTest.testMurmur2, apache/kafka
// clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (read at commit
// f55581dc73953c3509a4702433aeeeddc2970779).
constexpr std::array<Vector, 6> kKafkaVectors{{
    {"21", -973932308},
    {"foobar", -790332482},
    {"a-little-bit-long-string", -985981536},
    {"a-little-bit-longer-string", -1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
    {"abc", 479470107},
}};

// Partition counts the table below covers.
constexpr std::array<std::int32_t, 6> kPartitionCounts{1, 2, 3, 7, 12, 100};

// Expected partitions of kKafkaVectors' keys for kPartitionCounts, computed with Java 17 from
// the vectors as toPositive(hash) % n (BuiltInPartitioner.partitionForKey).
constexpr std::array<std::array<std::int32_t, 6>, 6> kKafkaPartitions{{
    {0, 0, 0, 3, 0, 40},
    {0, 0, 0, 0, 6, 66},
    {0, 0, 2, 1, 8, 12},
    {0, 1, 2, 0, 11, 19},
    {0, 1, 2, 3, 5, 77},
    {0, 1, 0, 4, 3, 7},
}};

std::vector<std::byte> bytes(std::initializer_list<unsigned> values) {
    std::vector<std::byte> out;
    for (unsigned v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

}  // namespace

TEST_CASE("murmur2 matches Kafka's UtilsTest.testMurmur2 vectors") {
    for (const Vector& v : kKafkaVectors) {
        CAPTURE(v.key);
        CHECK(murmur2(v.key) == v.hash);
        CHECK(murmur2(std::as_bytes(std::span(v.key.data(), v.key.size()))) == v.hash);
    }
}

TEST_CASE("murmur2 of binary keys with bytes >= 0x80 matches Java") {
    // Java bytes are signed; Utils.murmur2 masks every byte with 0xff, in the 4-byte chunks and
    // in the tail. These values come from Kafka's Utils.murmur2 run on OpenJDK 17; they cover
    // tails of 1, 2 and 3 bytes, a full chunk, and a chunk followed by a 3-byte tail.
    CHECK(murmur2(bytes({0x80})) == 857690492);
    CHECK(murmur2(bytes({0xff, 0xfe})) == 1717632651);
    CHECK(murmur2(bytes({0x80, 0x81, 0x82})) == -1975640061);
    CHECK(murmur2(bytes({0xff, 0xff, 0xff, 0xff})) == 644171429);
    CHECK(murmur2(bytes({0xde, 0xad, 0xbe, 0xef, 0x80, 0x90, 0xa0})) == 912326475);
    CHECK(murmur2(bytes({0x00})) == 375494588);
    // UTF-8 "héllo wörld", 13 bytes: three chunks and a 1-byte tail.
    CHECK(murmur2("h\xc3\xa9llo w\xc3\xb6rld") == 439213890);
    CHECK(murmur2_partition("h\xc3\xa9llo w\xc3\xb6rld", 12) == 6);
    CHECK(murmur2_partition(std::string_view("\x80\x81\x82", 3), 7) == 6);
}

TEST_CASE("murmur2 of the empty key") {
    // An empty key is a key: it is hashed, not sticky-partitioned. Value from Java, as above.
    CHECK(murmur2(std::string_view()) == 275646681);
    CHECK(murmur2(std::span<const std::byte>()) == 275646681);
    CHECK(murmur2_partition("", 12) == 9);
    CHECK(murmur2_partition("", 100) == 81);
}

TEST_CASE("to_positive clears the sign bit, as Kafka's Utils.toPositive") {
    CHECK(to_positive(0) == 0);
    CHECK(to_positive(5) == 5);
    CHECK(to_positive(-1) == std::numeric_limits<std::int32_t>::max());
    CHECK(to_positive(std::numeric_limits<std::int32_t>::min()) == 0);
    CHECK(to_positive(-790332482) == 1357151166);  // Not the absolute value, 790332482.
}

TEST_CASE("murmur2_partition of Kafka's vectors across partition counts") {
    for (std::size_t i = 0; i < kKafkaVectors.size(); ++i) {
        const Vector& v = kKafkaVectors[i];
        for (std::size_t j = 0; j < kPartitionCounts.size(); ++j) {
            const std::int32_t n = kPartitionCounts[j];
            CAPTURE(v.key);
            CAPTURE(n);
            CHECK(murmur2_partition(v.key, n) == kKafkaPartitions[i][j]);
            CHECK(murmur2_partition(v.key, n) == to_positive(v.hash) % n);
        }
    }
}

TEST_CASE("murmur2_partition spreads keys over every partition") {
    constexpr std::int32_t kPartitions = 8;
    constexpr int kKeys = 10000;
    std::array<int, kPartitions> counts{};
    for (int i = 0; i < kKeys; ++i) {
        const std::int32_t p = murmur2_partition("key-" + std::to_string(i), kPartitions);
        REQUIRE(p >= 0);
        REQUIRE(p < kPartitions);
        ++counts[static_cast<std::size_t>(p)];
    }
    for (int c : counts) {
        CHECK(c >= kKeys / kPartitions * 8 / 10);
        CHECK(c <= kKeys / kPartitions * 12 / 10);
    }
}

TEST_CASE("xxh3_partition is the XXH3-64 of the key modulo the partition count") {
    for (const Vector& v : kKafkaVectors) {
        const std::uint64_t hash =
            brook::util::xxh3_64(std::as_bytes(std::span(v.key.data(), v.key.size())));
        for (std::int32_t n : kPartitionCounts) {
            CAPTURE(v.key);
            CAPTURE(n);
            CHECK(xxh3_partition(v.key, n) ==
                  static_cast<std::int32_t>(hash % static_cast<std::uint64_t>(n)));
            CHECK(xxh3_partition(v.key, n) == xxh3_partition(std::string(v.key), n));
        }
    }
    CHECK(xxh3_partition("", 1) == 0);
    CHECK(xxh3_partition(std::string_view("\xff\x00\x80", 3), 1) == 0);
}

TEST_CASE("xxh3_partition spreads 10k keys evenly over 8 partitions") {
    constexpr std::int32_t kPartitions = 8;
    constexpr int kKeys = 10000;
    constexpr int kMean = kKeys / kPartitions;
    std::array<int, kPartitions> counts{};
    for (int i = 0; i < kKeys; ++i) {
        const std::string key = "key-" + std::to_string(i);
        const std::int32_t p = xxh3_partition(key, kPartitions);
        REQUIRE(p >= 0);
        REQUIRE(p < kPartitions);
        REQUIRE(xxh3_partition(key, kPartitions) == p);
        ++counts[static_cast<std::size_t>(p)];
    }
    for (int c : counts) {
        CAPTURE(c);
        CHECK(c >= kMean * 8 / 10);
        CHECK(c <= kMean * 12 / 10);
    }
}

TEST_CASE("parse_partitioner accepts exactly murmur2, murmur2_random and xxh3") {
    auto murmur = parse_partitioner("murmur2");
    REQUIRE(murmur.is_ok());
    CHECK(*murmur == PartitionerKind::murmur2);

    auto random = parse_partitioner("murmur2_random");
    REQUIRE(random.is_ok());
    CHECK(*random == PartitionerKind::murmur2);

    auto xxh3 = parse_partitioner("xxh3");
    REQUIRE(xxh3.is_ok());
    CHECK(*xxh3 == PartitionerKind::xxh3);

    for (std::string_view bad :
         {"", "MURMUR2", "murmur2 ", "random", "consistent_random", "xxh64", "fnv1a"}) {
        CAPTURE(bad);
        auto result = parse_partitioner(bad);
        REQUIRE_FALSE(result.is_ok());
        CHECK(result.code() == Code::invalid_argument);
        const std::string message = result.status().message();
        CHECK(message.find("partitioner") != std::string::npos);
        CHECK(message.find("murmur2,") != std::string::npos);
        CHECK(message.find("murmur2_random") != std::string::npos);
        CHECK(message.find("xxh3") != std::string::npos);
    }
}

TEST_CASE("StickyPartitioner sticks to one partition until a new batch") {
    StickyPartitioner sticky(42);
    const std::int32_t first = sticky.partition("t", 6);
    REQUIRE(first >= 0);
    REQUIRE(first < 6);
    for (int i = 0; i < 100; ++i) CHECK(sticky.partition("t", 6) == first);

    sticky.on_new_batch("t", first, 6);
    const std::int32_t second = sticky.partition("t", 6);
    CHECK(second != first);
    CHECK(second >= 0);
    CHECK(second < 6);
    for (int i = 0; i < 100; ++i) CHECK(sticky.partition("t", 6) == second);

    SUBCASE("a report for a batch that is no longer current changes nothing") {
        sticky.on_new_batch("t", first, 6);
        CHECK(sticky.partition("t", 6) == second);
    }
}

TEST_CASE("StickyPartitioner never picks the previous partition again at once") {
    StickyPartitioner sticky(7);
    SUBCASE("two partitions alternate") {
        std::int32_t p = sticky.partition("t", 2);
        for (int i = 0; i < 100; ++i) {
            sticky.on_new_batch("t", p, 2);
            const std::int32_t next = sticky.partition("t", 2);
            CHECK(next == 1 - p);
            p = next;
        }
    }
    SUBCASE("many partitions") {
        std::int32_t p = sticky.partition("t", 5);
        for (int i = 0; i < 500; ++i) {
            sticky.on_new_batch("t", p, 5);
            const std::int32_t next = sticky.partition("t", 5);
            CHECK(next != p);
            p = next;
        }
    }
    SUBCASE("one partition stays 0") {
        CHECK(sticky.partition("t", 1) == 0);
        sticky.on_new_batch("t", 0, 1);
        CHECK(sticky.partition("t", 1) == 0);
    }
    SUBCASE("a new batch on a topic never seen avoids the reported partition") {
        for (int i = 0; i < 50; ++i) {
            const std::string topic = "fresh-" + std::to_string(i);
            sticky.on_new_batch(topic, 3, 4);
            CHECK(sticky.partition(topic, 4) != 3);
        }
    }
}

TEST_CASE("StickyPartitioner is deterministic for a fixed seed") {
    StickyPartitioner a(1234);
    StickyPartitioner b(1234);
    for (int i = 0; i < 200; ++i) {
        for (const std::string topic : {"orders", "payments", "audit"}) {
            const std::int32_t pa = a.partition(topic, 16);
            REQUIRE(pa == b.partition(topic, 16));
            a.on_new_batch(topic, pa, 16);
            b.on_new_batch(topic, pa, 16);
        }
    }
}

TEST_CASE("StickyPartitioner uses every partition over many batches") {
    constexpr std::int32_t kPartitions = 8;
    StickyPartitioner sticky(99);
    std::array<int, kPartitions> counts{};
    for (int i = 0; i < 800; ++i) {
        const std::int32_t p = sticky.partition("t", kPartitions);
        ++counts[static_cast<std::size_t>(p)];
        sticky.on_new_batch("t", p, kPartitions);
    }
    for (int c : counts) CHECK(c > 0);
}

TEST_CASE("StickyPartitioner keeps topics apart") {
    StickyPartitioner sticky(5);
    const std::int32_t b = sticky.partition("b", 10);
    for (int i = 0; i < 20; ++i) {
        const std::int32_t a = sticky.partition("a", 10);
        sticky.on_new_batch("a", a, 10);
        CHECK(sticky.partition("a", 10) != a);
        CHECK(sticky.partition("b", 10) == b);
    }
}

TEST_CASE("StickyPartitioner follows a change in the partition count") {
    StickyPartitioner sticky(2024);
    // Move the topic onto a partition that will not exist after shrinking to 4.
    std::int32_t p = sticky.partition("t", 8);
    while (p < 4) {
        sticky.on_new_batch("t", p, 8);
        p = sticky.partition("t", 8);
    }

    SUBCASE("shrinking re-chooses a partition in range, then sticks to it") {
        const std::int32_t shrunk = sticky.partition("t", 4);
        CHECK(shrunk >= 0);
        CHECK(shrunk < 4);
        for (int i = 0; i < 20; ++i) CHECK(sticky.partition("t", 4) == shrunk);
    }
    SUBCASE("growing keeps the sticky partition") {
        CHECK(sticky.partition("t", 16) == p);
    }
    SUBCASE("a batch report after shrinking moves to a partition in range") {
        sticky.on_new_batch("t", p, 4);
        const std::int32_t next = sticky.partition("t", 4);
        CHECK(next >= 0);
        CHECK(next < 4);
    }
}

TEST_CASE("StickyPartitioner is safe to share between threads") {
    constexpr int kThreads = 4;
    constexpr int kIterations = 5000;
    constexpr std::int32_t kPartitions = 6;
    StickyPartitioner sticky(11);
    std::array<std::set<std::int32_t>, kThreads> seen;
    std::array<bool, kThreads> in_range{};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            bool ok = true;
            for (int i = 0; i < kIterations; ++i) {
                const std::string topic = i % 2 == 0 ? "shared" : "own-" + std::to_string(t);
                const std::int32_t p = sticky.partition(topic, kPartitions);
                ok = ok && p >= 0 && p < kPartitions;
                seen[static_cast<std::size_t>(t)].insert(p);
                if (i % 10 == 0) sticky.on_new_batch(topic, p, kPartitions);
            }
            in_range[static_cast<std::size_t>(t)] = ok;
        });
    }
    for (std::thread& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) {
        CHECK(in_range[static_cast<std::size_t>(t)]);
        CHECK(seen[static_cast<std::size_t>(t)].size() > 1);
    }

    // Every thread reports the same finished batch; the topic moves off it exactly once.
    const std::int32_t before = sticky.partition("shared", kPartitions);
    threads.clear();
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] { sticky.on_new_batch("shared", before, kPartitions); });
    }
    for (std::thread& thread : threads) thread.join();
    const std::int32_t after = sticky.partition("shared", kPartitions);
    CHECK(after != before);
    CHECK(after == sticky.partition("shared", kPartitions));
}
