// Consumer groups: the Kafka guide's consumer.py, in C++ on an embedded store.
//
// Two workers in the group "user-event-processor" split the partitions of "user-events",
// process each event and commit after processing (at-least-once). Then the example shows the
// group's lag with GroupAdmin, reopens the store, and a new worker resumes where the group
// stopped: it reads only the events produced since.
//
// Build and run: ninja -C build examples/consumer_group && ./build/examples/consumer_group [dir]
#include <unistd.h>

#include <atomic>
#include <brook/brook.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

bool check(const brook::Status& status, const char* what) {
    if (status.is_ok()) return true;
    std::fprintf(stderr, "%s: %s\n", what, status.to_string().c_str());
    return false;
}

void produce(brook::Store& store, int first, int count) {
    auto producer = brook::Producer::create(store).value();
    for (int i = first; i < first + count; ++i) {
        brook::ProducerRecord record;
        record.topic = "user-events";
        record.key = "user-" + std::to_string(i % 7);
        record.value = "{\"type\": \"login\", \"n\": " + std::to_string(i) + "}";
        producer->produce(std::move(record)).ignore();
    }
    producer->flush().ignore();
}

// Consumes until `stop`, committing each event after processing it.
void worker(brook::Store& store, const char* name, std::atomic<int>& processed,
            const std::atomic<bool>& stop) {
    auto consumer = brook::Consumer::create(store, {{"group.id", "user-event-processor"},
                                                    {"client.id", name},
                                                    {"auto.offset.reset", "earliest"},
                                                    {"enable.auto.commit", "false"}})
                        .value();
    if (!check(consumer->subscribe({"user-events"}), "subscribe")) return;
    while (!stop.load()) {
        auto msg = consumer->poll(100ms);
        if (!msg) continue;
        if (!msg->error().is_ok()) {
            std::fprintf(stderr, "%s: %s\n", name, msg->error().to_string().c_str());
            break;
        }
        std::printf("%s processing partition %d offset %lld: %.*s\n", name,
                    msg->partition().value(), static_cast<long long>(msg->offset().value()),
                    static_cast<int>(msg->value()->size()), msg->value()->data());
        ++processed;
        check(consumer->commit(*msg), "commit");  // commit AFTER successful processing
    }
    consumer->close().ignore();
}

void show_lag(brook::Store& store) {
    auto group = brook::GroupAdmin(store).describe_group("user-event-processor");
    if (!group) return;
    std::printf("group generation %d, %zu members, total lag %lld\n", group->generation,
                group->members.size(), static_cast<long long>(group->total_lag));
    for (const auto& p : group->partitions) {
        std::printf("  %s/%d committed %lld, log end %lld, lag %lld\n", p.topic.c_str(),
                    p.partition.value(),
                    static_cast<long long>(p.committed ? p.committed->value() : -1),
                    static_cast<long long>(p.log_end_offset.value()),
                    static_cast<long long>(p.lag.value_or(-1)));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1]
                                     : (std::filesystem::temp_directory_path() /
                                        ("brook-groups-" + std::to_string(::getpid())))
                                           .string();
    {
        auto store = brook::Store::open(dir).value();
        if (!check(store->create_topic("user-events", 3), "create_topic")) return 1;
        produce(*store, 0, 30);
        std::atomic<int> processed{0};
        std::atomic<bool> stop{false};
        std::thread a(worker, std::ref(*store), "worker-a", std::ref(processed), std::cref(stop));
        std::thread b(worker, std::ref(*store), "worker-b", std::ref(processed), std::cref(stop));
        while (processed.load() < 30) std::this_thread::sleep_for(10ms);
        stop = true;
        a.join();
        b.join();
        produce(*store, 30, 5);
        show_lag(*store);  // lag 5: produced after the workers stopped
    }
    auto store = brook::Store::open(dir).value();
    std::atomic<int> processed{0};
    std::atomic<bool> stop{false};
    std::thread c(worker, std::ref(*store), "worker-c", std::ref(processed), std::cref(stop));
    while (processed.load() < 5) std::this_thread::sleep_for(10ms);
    stop = true;
    c.join();
    show_lag(*store);  // lag 0
    store.reset();
    if (argc <= 1) std::filesystem::remove_all(dir);
    return 0;
}
