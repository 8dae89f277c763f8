// Quick start: what a typical confluent-kafka quickstart does in Python, in C++ with brook.
//
// It opens a store, creates topic "user-events" with 3 partitions, produces 100 JSON
// user.signup events keyed by user_id with delivery reports, and consumes them back from the
// earliest offset.
//
// Usage: quickstart [DIR]   (default: ./quickstart-data)
#include <brook/brook.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

using namespace std::chrono_literals;

namespace {

int fail(const char* what, const brook::Status& status) {
    std::fprintf(stderr, "quickstart: %s failed: %s\n", what, status.to_string().c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "quickstart-data";

    // A store is a directory, like a SQLite database file. There is no broker to start.
    auto store = brook::Store::open(dir);
    if (!store.is_ok()) return fail("Store::open", store.status());

    auto created = (*store)->create_topic("user-events", 3, {{"retention.ms", "604800000"}});
    if (!created.is_ok() && created.code() != brook::Code::already_exists) {
        return fail("create_topic", created);
    }

    // producer = Producer({"acks": "all", "linger.ms": 5, "compression.type": "zstd"})
    auto producer = brook::Producer::create(
        **store, {{"acks", "all"}, {"linger.ms", "5"}, {"compression.type", "zstd"}});
    if (!producer.is_ok()) return fail("Producer::create", producer.status());

    int delivered = 0;
    auto on_delivery = [&delivered](const brook::DeliveryReport& report) {
        if (!report.error.is_ok()) {
            std::fprintf(stderr, "delivery failed: %s\n", report.error.to_string().c_str());
            return;
        }
        ++delivered;
        if (delivered % 20 == 1) {
            std::printf("delivered to %s [%d] @ offset %lld\n", report.topic.c_str(),
                        report.partition.value(), static_cast<long long>(report.offset.value()));
        }
    };
    for (int i = 0; i < 100; ++i) {
        const std::string user_id = "user-" + std::to_string(i % 25);
        const std::string event = R"({"type": "user.signup", "user_id": ")" + user_id +
                                  R"(", "plan": ")" + (i % 3 == 0 ? "pro" : "free") + R"("})";
        brook::Status queued = (*producer)->produce({.topic = "user-events",
                                                     .key = user_id,
                                                     .value = event,
                                                     .headers = {{"source", "quickstart"}}},
                                                    on_delivery);
        if (!queued.is_ok()) return fail("produce", queued);
        (*producer)->poll(0ms);  // serve delivery callbacks as they come
    }
    if (brook::Status flushed = (*producer)->flush(10s); !flushed.is_ok()) {
        return fail("flush", flushed);
    }
    std::printf("produced %d events\n", delivered);

    // consumer = Consumer({"auto.offset.reset": "earliest"}); consumer.assign(...)
    auto consumer = brook::Consumer::create(**store, {{"auto.offset.reset", "earliest"}});
    if (!consumer.is_ok()) return fail("Consumer::create", consumer.status());
    std::vector<brook::TopicPartitionOffset> partitions;
    for (int p = 0; p < 3; ++p) {
        partitions.push_back({"user-events", brook::PartitionId(p), brook::kOffsetBeginning});
    }
    if (brook::Status assigned = (*consumer)->assign(partitions); !assigned.is_ok()) {
        return fail("assign", assigned);
    }

    std::map<int, int> per_partition;
    int consumed = 0;
    while (auto message = (*consumer)->poll(500ms)) {
        if (!message->error().is_ok()) return fail("poll", message->error());
        ++per_partition[message->partition().value()];
        if (consumed++ % 25 == 0) {
            std::printf("consumed %s [%d] @ %lld key=%.*s value=%.*s\n", message->topic().c_str(),
                        message->partition().value(),
                        static_cast<long long>(message->offset().value()),
                        static_cast<int>(message->key()->size()), message->key()->data(),
                        static_cast<int>(message->value()->size()), message->value()->data());
        }
    }
    for (const auto& [partition, count] : per_partition) {
        std::printf("partition %d: %d events\n", partition, count);
    }
    std::printf("consumed %d events\n", consumed);
    return consumed >= delivered ? 0 : 1;
}
