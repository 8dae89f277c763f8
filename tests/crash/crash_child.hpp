// The child process of the crash loop (crash_loop_test.cpp): the workload that runs on a real
// store until it is killed, and the self-describing values it writes.
//
// The child runs 4 producer threads sharing one acks=all Producer (three records in four to
// kTopic, the fourth, keyed, to kCompacted), one consumer per group of kGroups reading kTopic
// and committing every few records, and a maintenance thread deleting what both groups
// committed and running maintenance passes. It reports to the parent through a pipe, one line
// per event, each written with one write() of less than PIPE_BUF bytes:
//   "R"                                     ready (the store is open, the topics exist)
//   "<topic> <partition> <offset> <value>"  a delivery report
//   "C <group> <partition> <offset>"        a commit that returned ok
//   "E <message>"                           an error; the child then exits with status 3
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <brook/consumer.hpp>
#include <brook/group_admin.hpp>
#include <brook/producer.hpp>
#include <brook/store.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace brook::testing::crash {

constexpr const char* kTopic = "crash";
constexpr const char* kCompacted = "compacted";
constexpr int kPartitions = 3;
constexpr int kThreads = 4;
constexpr int kKeysPerThread = 5;
constexpr std::int64_t kRetentionBytes = 16 * 1024;
const char* const kGroups[] = {"g1", "g2"};

// "c<cycle>-t<thread>-<i>-" then (i % 50) letters: a torn or mixed-up value cannot pass.
inline std::string make_value(std::uint64_t cycle, int thread, std::uint64_t i) {
    return fmt::format("c{}-t{}-{}-{}", cycle, thread, i, std::string(i % 50, char('a' + i % 26)));
}

struct Parsed {
    std::uint64_t cycle = 0;
    int thread = 0;
    std::uint64_t i = 0;
};

inline std::optional<Parsed> parse_value(const std::string& value) {
    Parsed p;
    char tail[64] = {};
    if (std::sscanf(value.c_str(), "c%lu-t%d-%lu-%63s", &p.cycle, &p.thread, &p.i, tail) < 3) {
        return std::nullopt;
    }
    if (make_value(p.cycle, p.thread, p.i) != value) return std::nullopt;
    return p;
}

// Records with i % 4 == 3 go to the compacted topic, under one of the thread's keys.
inline bool to_compacted(std::uint64_t i) {
    return i % 4 == 3;
}

inline std::string key_of(int thread, std::uint64_t i) {
    return to_compacted(i) ? fmt::format("t{}-k{}", thread, i % kKeysPerThread)
                           : fmt::format("t{}", thread);
}

inline void write_line(int fd, const std::string& line) {
    // One write of less than PIPE_BUF bytes: the line arrives whole or not at all.
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(4);
}

// The child's consumer of one group: polls "crash" and commits every few records; reports
// "C <group> <partition> <offset>" for each committed offset once commit() returned ok.
inline void consume(Store& store, const std::string& group, int fd,
                    const std::function<void(std::string)>& fail) {
    auto consumer = Consumer::create(
        store,
        {{"group.id", group}, {"enable.auto.commit", "false"}, {"auto.offset.reset", "earliest"}});
    if (!consumer.is_ok()) fail("consumer: " + consumer.status().to_string());
    if (Status s = (*consumer)->subscribe({kTopic}); !s.is_ok())
        fail("subscribe: " + s.to_string());
    std::map<int, std::int64_t> next;  // per partition: the offset after the last record read
    for (int n = 1;; ++n) {
        auto message = (*consumer)->poll(std::chrono::milliseconds(5));
        if (message && !message->error().is_ok()) fail("poll: " + message->error().to_string());
        if (message) {
            if (!parse_value(std::string(message->value().value_or("")))) {
                fail("poll: a damaged record at offset " +
                     std::to_string(message->offset().value()));
            }
            next[message->partition().value()] = message->offset().value() + 1;
        }
        if (n % 7 != 0 || next.empty()) continue;
        std::vector<TopicPartitionOffset> offsets;
        for (const auto& [p, offset] : next)
            offsets.push_back({kTopic, PartitionId(p), Offset(offset)});
        if (Status s = (*consumer)->commit(offsets); !s.is_ok()) fail("commit: " + s.to_string());
        for (const auto& o : offsets) {
            write_line(fd,
                       fmt::format("C {} {} {}\n", group, o.partition.value(), o.offset.value()));
        }
        next.clear();
    }
}

// The child's maintenance: deletes what both groups committed, then runs a maintenance pass.
[[noreturn]] inline void maintain(Store& store, const std::function<void(std::string)>& fail) {
    GroupAdmin admin(store);
    for (;;) {
        std::map<int, std::vector<std::int64_t>> committed;
        for (const char* group : kGroups) {
            auto d = admin.describe_group(group);
            if (!d) continue;
            for (const auto& p : d->partitions) {
                if (p.committed) committed[p.partition.value()].push_back(p.committed->value());
            }
        }
        for (const auto& [p, offsets] : committed) {
            if (offsets.size() != std::size(kGroups)) continue;
            const Offset below(*std::min_element(offsets.begin(), offsets.end()));
            auto start = store.delete_records(kTopic, PartitionId(p), below);
            if (!start.is_ok()) fail("delete_records: " + start.status().to_string());
        }
        if (Status s = store.run_maintenance(); !s.is_ok()) fail("maintenance: " + s.to_string());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pacing, not a test wait
    }
}

// The child: writes, consumes and maintains until it is killed. Never returns.
[[noreturn]] inline void run_child(const std::string& path, int fd, std::uint64_t cycle) {
    const std::function<void(std::string)> fail = [fd](const std::string& what) {
        write_line(fd, "E " + what.substr(0, 400) + "\n");
        ::_exit(3);
    };
    Options options;
    options.background_maintenance = false;  // the maintenance thread below does it
    auto store = Store::open(path, options);
    if (!store.is_ok()) fail("open: " + store.status().to_string());
    const Config config = {{"segment.bytes", "2048"},
                           {"segment.index.bytes", "4096"},
                           {"index.interval.bytes", "256"},
                           {"retention.bytes", std::to_string(kRetentionBytes)}};
    const Config compacted = {{"cleanup.policy", "compact"},
                              {"segment.bytes", "1024"},
                              {"segment.index.bytes", "4096"},
                              {"min.cleanable.dirty.ratio", "0.01"}};
    for (const auto& [name, partitions, topic_config] :
         {std::tuple{kTopic, kPartitions, config}, std::tuple{kCompacted, 1, compacted}}) {
        if (Status created = (*store)->create_topic(name, partitions, topic_config);
            !created.is_ok() && created.code() != Code::already_exists) {
            fail("create_topic: " + created.to_string());
        }
    }
    auto producer = Producer::create(**store, {{"acks", "all"}});
    if (!producer.is_ok()) fail("producer: " + producer.status().to_string());
    write_line(fd, "R\n");
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint64_t i = 0;; ++i) {
                const std::string value = make_value(cycle, t, i);
                const char* topic = to_compacted(i) ? kCompacted : kTopic;
                auto report = (*producer)->produce_sync(
                    {.topic = topic, .key = key_of(t, i), .value = value});
                if (!report.is_ok()) fail("produce: " + report.status().to_string());
                write_line(fd, fmt::format("{} {} {} {}\n", topic, report->partition.value(),
                                           report->offset.value(), value));
            }
        });
    }
    for (const char* group : kGroups) {
        threads.emplace_back([&, group] { consume(**store, group, fd, fail); });
    }
    threads.emplace_back([&] { maintain(**store, fail); });
    for (auto& thread : threads) thread.join();
    ::_exit(0);
}

}  // namespace brook::testing::crash
