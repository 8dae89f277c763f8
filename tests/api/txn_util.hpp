// Helpers for transaction tests through the public API: producers, and reading a topic the
// way a consumer with a given isolation.level sees it.
#pragma once

#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace brook_test {

inline std::unique_ptr<brook::Producer> make_producer(brook::Store& store,
                                                      const brook::Config& config = {}) {
    auto producer = brook::Producer::create(store, config);
    REQUIRE_MESSAGE(producer.is_ok(), producer.status().to_string());
    return std::move(producer).value();
}

// A transactional producer with init_transactions() done.
inline std::unique_ptr<brook::Producer> make_txn_producer(brook::Store& store,
                                                          const std::string& transactional_id,
                                                          brook::Config config = {}) {
    config["transactional.id"] = transactional_id;
    config.try_emplace("linger.ms", "0");
    auto producer = make_producer(store, config);
    const brook::Status initialized = producer->init_transactions();
    REQUIRE_MESSAGE(initialized.is_ok(), initialized.to_string());
    return producer;
}

struct ReadRecord {
    std::int64_t offset = 0;
    std::string key;
    std::string value;

    friend bool operator==(const ReadRecord&, const ReadRecord&) = default;
};

// Every record a fresh consumer with `isolation` ("read_committed" or "read_uncommitted")
// reads from the beginning of each partition, per partition. It reads until its position
// reaches the end it may read to (the LSO, or the log end), so nothing readable is missed.
inline std::map<int, std::vector<ReadRecord>> read_topic(brook::Store& store,
                                                         const std::string& topic, int partitions,
                                                         const std::string& isolation) {
    auto consumer = brook::Consumer::create(store, {{"isolation.level", isolation}});
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    std::vector<brook::TopicPartitionOffset> assignment;
    std::vector<brook::TopicPartition> parts;
    for (int p = 0; p < partitions; ++p) {
        assignment.push_back({topic, brook::PartitionId(p), brook::kOffsetBeginning});
        parts.push_back({topic, brook::PartitionId(p)});
    }
    REQUIRE((*consumer)->assign(assignment).is_ok());
    std::map<int, std::vector<ReadRecord>> out;
    for (int p = 0; p < partitions; ++p) out[p];
    // A poll that returns nothing has read past every empty (control or aborted) batch, so
    // the position is at the end; a few more polls cover an append racing with the check.
    for (int empty_polls = 0;;) {
        auto message = (*consumer)->poll(std::chrono::milliseconds(0));
        if (message) {
            empty_polls = 0;
            REQUIRE_MESSAGE(message->error().is_ok(), message->error().to_string());
            out[message->partition().value()].push_back(
                {message->offset().value(), std::string(message->key().value_or("")),
                 std::string(message->value().value_or(""))});
            continue;
        }
        bool done = true;
        auto positions = (*consumer)->position(parts);
        REQUIRE(positions.is_ok());
        for (const auto& position : *positions) {
            auto marks = (*consumer)->get_watermark_offsets({position.topic, position.partition});
            REQUIRE(marks.is_ok());
            if (position.offset < marks->high) done = false;
        }
        if (done) return out;
        REQUIRE_MESSAGE(++empty_polls < 100, "the consumer's position never reached the end");
    }
}

// The values of read_topic, all partitions together.
inline std::vector<std::string> values_of(const std::map<int, std::vector<ReadRecord>>& read) {
    std::vector<std::string> out;
    for (const auto& [partition, records] : read) {
        for (const auto& r : records) out.push_back(r.value);
    }
    return out;
}

}  // namespace brook_test
