// Reading back what producer tests produced: every record of a topic, as a consumer sees it.
// Public API only, so that public-API tests can use it too.
#pragma once

#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace brook_test {

// A stored record, as a consumer reads it back.
struct Stored {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    brook::Headers headers;
    std::int64_t timestamp = 0;

    friend bool operator==(const Stored&, const Stored&) = default;
};

// Every record of the topic's partitions, partition by partition, in offset order.
inline std::vector<Stored> read_all(brook::Store& store, const std::string& topic,
                                    std::int32_t partitions) {
    using namespace std::chrono_literals;
    auto created = brook::Consumer::create(store, {{"auto.offset.reset", "earliest"}});
    REQUIRE_MESSAGE(created.is_ok(), created.status().to_string());
    std::unique_ptr<brook::Consumer> consumer = std::move(created).value();
    std::vector<Stored> out;
    for (std::int32_t p = 0; p < partitions; ++p) {
        REQUIRE(consumer->assign({{topic, brook::PartitionId(p), brook::Offset(0)}}).is_ok());
        while (true) {
            const std::vector<brook::Message> batch = consumer->consume(1000, 0ms);
            if (batch.empty()) break;
            for (const brook::Message& m : batch) {
                REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
                out.push_back({m.partition().value(), m.offset().value(),
                               m.key() ? std::optional<std::string>(*m.key()) : std::nullopt,
                               m.value() ? std::optional<std::string>(*m.value()) : std::nullopt,
                               m.headers(), m.timestamp()});
            }
        }
    }
    return out;
}

}  // namespace brook_test
