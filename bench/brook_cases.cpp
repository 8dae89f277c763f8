// brook's own workloads: produce-to-consume latency, open times and idle memory.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "brook_engine.hpp"
#include "paced_stream.hpp"

namespace brook::bench {
namespace {

using namespace std::chrono_literals;

// One producer sends single records at a steady rate (linger.ms=0); a consumer thread blocked
// in poll() stamps each on arrival (see paced_stream.hpp).
Row latency(const Spec& spec) {
    const RecordGen gen(spec.value_bytes);
    Row row = base_row(spec, gen);
    auto store = open_store(spec.dir + "/store");
    check(store->create_topic(kBenchTopic, 1, bench_topic_config()), "create_topic");
    auto producer = Producer::create(*store, {{"acks", "1"}, {"linger.ms", "0"}});
    if (!producer.is_ok()) die("Producer::create: " + producer.status().to_string());
    auto consumer = Consumer::create(*store, {{"auto.offset.reset", "earliest"}});
    if (!consumer.is_ok()) die("Consumer::create: " + consumer.status().to_string());
    check((*consumer)->assign({{kBenchTopic, PartitionId(0), Offset(0)}}), "assign");

    Stopwatch watch;
    Latencies latencies = run_paced_stream(
        spec.records, {.send =
                           [&](std::int64_t i) {
                               ProducerRecord record = bench_record(gen, i);
                               const std::int64_t sent = now_ns();
                               std::memcpy(record.value->data(), &sent, sizeof sent);
                               check((*producer)->produce(std::move(record)), "produce");
                           },
                       .receive = [&](std::int64_t i) -> std::optional<std::int64_t> {
                           const std::optional<Message> m = (*consumer)->poll(5s);
                           if (!m || !m->error().is_ok() || m->offset() != Offset(i))
                               return std::nullopt;
                           std::int64_t sent = 0;
                           std::memcpy(&sent, m->value()->data(), sizeof sent);
                           return sent;
                       },
                       .finish = [&] { check((*producer)->flush(), "flush"); }});
    row.seconds = watch.seconds();
    latencies.fill(row);
    row.notes.push_back("a record every 50 us; latency from produce() to poll() returning it");
    return row;
}

// Times Store::open_in_memory; closing is not timed.
Row open_memory(const Spec& spec) {
    Row row = bare_row(spec);
    Latencies latencies;
    for (std::int64_t i = 0; i < spec.records; ++i) {
        const std::int64_t start = now_ns();
        auto store = Store::open_in_memory();
        const std::int64_t took = now_ns() - start;
        if (!store.is_ok()) die("open_in_memory: " + store.status().to_string());
        latencies.add_ns(took);
        row.seconds += double(took) / 1e9;
    }
    latencies.fill(row);
    row.notes.push_back("records = opens; latencies are per open");
    return row;
}

constexpr int kPartitionsPerTopic = 4;

// 100 topics of 4 partitions; a tenth of that with --quick.
int topic_count(const Spec& spec) {
    return spec.quick ? 10 : 100;
}
constexpr int kRecordsPerPartition = 10;

// The shared store of 100 topics x 4 partitions, each with a few records, closed cleanly.
// It is made once per suite run, in a child process so the caller's memory holds nothing of it.
std::string store_400(const Spec& spec) {
    const int topics = topic_count(spec);
    const std::string path = spec.shared + "/store-" + std::to_string(topics * kPartitionsPerTopic);
    const std::string done = path + ".done";
    if (access(done.c_str(), F_OK) == 0) return path;
    const pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
        auto store = open_store(path);
        const RecordGen gen(100);
        auto producer = Producer::create(*store, {{"linger.ms", "0"}});
        if (!producer.is_ok()) die("Producer::create: " + producer.status().to_string());
        for (int t = 0; t < topics; ++t) {
            const std::string topic = "topic-" + std::to_string(t);
            check(store->create_topic(topic, kPartitionsPerTopic), "create_topic");
            for (int p = 0; p < kPartitionsPerTopic; ++p) {
                for (int r = 0; r < kRecordsPerPartition; ++r) {
                    ProducerRecord record = bench_record(gen, r);
                    record.topic = topic;
                    record.partition = PartitionId(p);
                    check((*producer)->produce(std::move(record)), "produce");
                }
            }
        }
        check((*producer)->flush(), "flush");
        producer->reset();
        check(store->close(), "close");
        std::fflush(nullptr);
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        die("making the 400-partition store failed");
    }
    if (FILE* f = std::fopen(done.c_str(), "w")) std::fclose(f);
    return path;
}

void check_store_400(const Spec& spec, const Store& store) {
    auto topics = store.list_topics();
    if (!topics.is_ok() || topics->size() != static_cast<std::size_t>(topic_count(spec))) {
        die("the store lost topics");
    }
}

// Times Store::open of the 400-partition store after a clean shutdown; closing is not timed.
Row open_disk_400(const Spec& spec) {
    Row row = bare_row(spec);
    const std::string path = store_400(spec);
    Latencies latencies;
    double close_seconds = 0;
    for (std::int64_t i = 0; i < spec.records; ++i) {
        const std::int64_t start = now_ns();
        auto store = open_store(path);
        const std::int64_t took = now_ns() - start;
        check_store_400(spec, *store);
        Stopwatch closing;
        check(store->close(), "close");
        close_seconds += closing.seconds();
        latencies.add_ns(took);
        row.seconds += double(took) / 1e9;
    }
    latencies.fill(row);
    row.notes.push_back("records = opens of " + std::to_string(topic_count(spec)) +
                        " topics x 4 partitions; latencies are per open");
    row.notes.push_back(
        "a clean close (not timed above) took " +
        std::to_string(static_cast<int>(close_seconds * 1000 / double(spec.records))) +
        " ms on average");
    return row;
}

// Runs brook_idle_rss (built beside this binary) on the store and returns its VmRSS before the
// open and with the store open and idle, in KiB.
std::pair<std::int64_t, std::int64_t> probe_idle_rss(const std::string& path, int topics) {
    char self[4096];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) die("cannot find this executable through /proc/self/exe");
    self[len] = '\0';
    std::string probe(self);
    probe = probe.substr(0, probe.rfind('/') + 1) + "brook_idle_rss";
    const std::optional<std::string> out =
        run_capturing_stdout({probe, path, std::to_string(topics)});
    long long before = 0;
    long long after = 0;
    if (!out || std::sscanf(out->c_str(), "%lld %lld", &before, &after) != 2) {
        die("running " + probe + " failed");
    }
    return {before, after};
}

// The resident set of a process that links only brook, with the 400-partition store open and
// idle; the same open inside this process, with every peer library loaded, goes in a note.
Row idle_rss_400(const Spec& spec) {
    Row row = bare_row(spec);
    row.records = topic_count(spec) * kPartitionsPerTopic;
    const std::string path = store_400(spec);
    const auto [probe_before, probe_after] = probe_idle_rss(path, topic_count(spec));
    row.peak_rss_kb = probe_after;
    row.notes.push_back(
        "records = partitions; peak_rss_kb = VmRSS of brook_idle_rss (links only "
        "brook), idle with the store open: " +
        std::to_string(probe_before) + " KiB before the open, " +
        std::to_string(probe_after - probe_before) + " KiB added by the store");

    const std::int64_t before = current_rss_kb();
    Stopwatch watch;
    auto store = open_store(path);
    row.seconds = watch.seconds();
    check_store_400(spec, *store);
    std::this_thread::sleep_for(200ms);
    const std::int64_t after = current_rss_kb();
    row.notes.push_back("the same open inside brook_bench (SQLite, RocksDB, librdkafka loaded): " +
                        std::to_string(after) + " KiB, " + std::to_string(before) +
                        " KiB of it before the open");
    // Nothing reads the store after this case: skip the slow clean close.
    [[maybe_unused]] Store* leaked = store.release();
    return row;
}

BROOK_BENCH_CASE("latency", "brook", latency);
BROOK_BENCH_CASE("open-memory", "brook", open_memory);
BROOK_BENCH_CASE("open-disk-400", "brook", open_disk_400);
BROOK_BENCH_CASE("idle-rss-400", "brook", idle_rss_400);

}  // namespace
}  // namespace brook::bench
