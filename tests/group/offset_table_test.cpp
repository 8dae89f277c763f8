// Tests of the offset table on LMDB (in a fresh directory, reopened to prove durability) and
// on the in-memory meta store: random commits checked against a model map, groups that are
// prefixes of each other, removal by group and by topic, bad input, and damaged records.
#include "group/offset_table.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>

#include "group/offset_format.hpp"

namespace brook::group {
namespace {

struct LmdbFixture {
    LmdbFixture() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/brook-offsets-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir = pattern;
        reopen();
    }
    ~LmdbFixture() {
        meta.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    void reopen() {
        meta.reset();
        auto opened = meta::open_lmdb_meta_store(dir + "/meta", {});
        REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
        meta = std::move(opened).value();
    }
    std::string dir;
    std::unique_ptr<meta::MetaStore> meta;
};

struct MemoryFixture {
    void reopen() {}
    std::unique_ptr<meta::MetaStore> meta = meta::new_memory_meta_store();
};

TopicPartition tp(const std::string& topic, int p) {
    return {topic, PartitionId(p)};
}

}  // namespace

TEST_CASE_TEMPLATE("offset table: random commits match a model, across reopening", F, LmdbFixture,
                   MemoryFixture) {
    F f;
    std::mt19937 rng(7);
    const std::vector<std::string> groups{"g", "g2", "g\xff", "orders-service"};
    const std::vector<std::string> topics{"a", "a.b", "b"};
    std::map<std::string, std::map<TopicPartition, std::int64_t>> model;
    for (int i = 0; i < 400; ++i) {
        const std::string& group = groups[rng() % groups.size()];
        std::vector<TopicPartitionOffset> batch;
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < n; ++k) {
            // Partition numbers straddle byte boundaries of the big-endian key.
            const int p = static_cast<int>(rng() % 3) * 255 + static_cast<int>(rng() % 2);
            const auto offset = static_cast<std::int64_t>(rng() % 100000);
            batch.push_back({topics[rng() % topics.size()], PartitionId(p), Offset(offset)});
        }
        OffsetTable table(*f.meta);
        REQUIRE(table.commit(group, batch, 1000 + i).is_ok());
        for (const auto& o : batch) model[group][{o.topic, o.partition}] = o.offset.value();
        if (i % 100 == 99) f.reopen();
    }
    OffsetTable table(*f.meta);
    auto listed = table.groups();
    REQUIRE(listed.is_ok());
    std::vector<std::string> expected_groups;
    for (const auto& [g, offsets] : model) expected_groups.push_back(g);
    CHECK(*listed == expected_groups);
    for (const auto& [group, offsets] : model) {
        auto all = table.fetch_all(group);
        REQUIRE(all.is_ok());
        REQUIRE(all->size() == offsets.size());
        for (const auto& [partition, offset] : offsets) {
            CHECK(all->at(partition).offset == Offset(offset));
            auto one = table.fetch(group, partition);
            REQUIRE(one.is_ok());
            REQUIRE(one->has_value());
            CHECK((*one)->offset == Offset(offset));
        }
    }
    auto none = table.fetch("g", tp("never", 0));
    REQUIRE(none.is_ok());
    CHECK(!none->has_value());
}

TEST_CASE_TEMPLATE("offset table: removal by topic and by group leaves other groups alone", F,
                   LmdbFixture, MemoryFixture) {
    F f;
    OffsetTable table(*f.meta);
    const std::vector<TopicPartitionOffset> offsets{{"a", PartitionId(0), Offset(5)},
                                                    {"a", PartitionId(1), Offset(6)},
                                                    {"b", PartitionId(0), Offset(7)}};
    REQUIRE(table.commit("g", offsets, 1).is_ok());
    REQUIRE(table.commit("g2", offsets, 1).is_ok());
    REQUIRE(table.remove("g", "a").is_ok());
    auto g = table.fetch_all("g");
    REQUIRE(g.is_ok());
    CHECK(g->size() == 1);
    CHECK(g->at(tp("b", 0)).offset == Offset(7));
    REQUIRE(table.remove("g").is_ok());
    CHECK(table.fetch_all("g")->empty());
    CHECK(table.fetch_all("g2")->size() == 3);
    CHECK(*table.groups() == std::vector<std::string>{"g2"});
    REQUIRE(table.commit("g3", offsets, 1).is_ok());
    REQUIRE(table.remove_topic("a").is_ok());
    for (const char* group : {"g2", "g3"}) {
        auto left = table.fetch_all(group);
        REQUIRE(left.is_ok());
        CHECK(left->size() == 1);
        CHECK(left->contains(tp("b", 0)));
    }
}

TEST_CASE_TEMPLATE("offset table: bad input is refused and writes nothing", F, LmdbFixture,
                   MemoryFixture) {
    F f;
    OffsetTable table(*f.meta);
    REQUIRE(
        table.commit("g", std::vector<TopicPartitionOffset>{{"a", PartitionId(0), Offset(3)}}, 1)
            .is_ok());
    // One bad entry in a batch: nothing of the batch lands.
    const std::vector<TopicPartitionOffset> mixed{{"a", PartitionId(0), Offset(9)},
                                                  {"a", PartitionId(1), Offset(-1)}};
    Status refused = table.commit("g", mixed, 2);
    CHECK(refused == Code::invalid_argument);
    CHECK(refused.message().find("-1") != std::string::npos);
    CHECK((*table.fetch("g", tp("a", 0)))->offset == Offset(3));
    for (const std::string& bad :
         {std::string(), std::string(format::kMaxGroupIdBytes + 1, 'x'), std::string("a\0b", 3)}) {
        Status status = table.commit(bad, mixed, 1);
        CHECK(status == Code::invalid_argument);
        CHECK(status.message().find("group.id") != std::string::npos);
    }
    // The longest group id with the longest topic name fits LMDB's key limit.
    const std::string longest(format::kMaxGroupIdBytes, 'g');
    const std::string topic(249, 't');
    REQUIRE(
        table
            .commit(longest,
                    std::vector<TopicPartitionOffset>{{topic, PartitionId(0x7fffffff), Offset(1)}},
                    1)
            .is_ok());
    CHECK((*table.fetch(longest, {topic, PartitionId(0x7fffffff)}))->offset == Offset(1));
}

TEST_CASE_TEMPLATE("offset table: a damaged record is reported as corruption, never used", F,
                   LmdbFixture, MemoryFixture) {
    F f;
    OffsetTable table(*f.meta);
    REQUIRE(
        table.commit("g", std::vector<TopicPartitionOffset>{{"a", PartitionId(0), Offset(42)}}, 9)
            .is_ok());
    auto entries = f.meta->scan(format::kOffsetsSpace, "");
    REQUIRE(entries.is_ok());
    REQUIRE(entries->size() == 1);
    auto [key, value] = entries->front();
    CHECK(value.size() == format::kOffsetRecordSize);
    value[format::kOffsetPos] ^= 1;  // a flipped bit
    REQUIRE(f.meta->put(format::kOffsetsSpace, key, value).is_ok());
    auto damaged = table.fetch("g", tp("a", 0));
    CHECK(damaged.code() == Code::corruption);
    CHECK(damaged.status().message().find("reset_offsets") != std::string::npos);
    CHECK(table.fetch_all("g").code() == Code::corruption);
    REQUIRE(f.meta->put(format::kOffsetsSpace, key, "short").is_ok());
    CHECK(table.fetch("g", tp("a", 0)).code() == Code::corruption);
    // A fresh commit replaces the damaged record.
    REQUIRE(
        table.commit("g", std::vector<TopicPartitionOffset>{{"a", PartitionId(0), Offset(43)}}, 9)
            .is_ok());
    CHECK((*table.fetch("g", tp("a", 0)))->offset == Offset(43));
}

}  // namespace brook::group
