// append-roll: what rolling segments costs an appending producer. The records and commits of
// append-100b (1,000,000 records of 100 B, a produce_batch() and a flush() per 1000, no fsync
// asked for), into a topic whose segment.bytes is 1 MiB, so that about every ninth commit
// rolls the active segment. The row times every commit (p50 is a commit that did not roll; the
// p99 and p999 fall among those that did); a note gives how many segments the log ended with
// and the mean of the commits that rolled, taken as the slowest commits, one per roll.
// Compare the row's rate with append-100b's brook row, whose 1 GiB segments never roll.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <vector>

#include "brook_engine.hpp"

namespace brook::bench {
namespace {

constexpr std::size_t kSegmentBytes = 1 << 20;

std::size_t count_segments(const std::string& dir) {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (entry.path().extension() == ".log") ++n;
    }
    return n;
}

Row append_roll(const Spec& spec) {
    const RecordGen gen(spec.value_bytes);
    Row row = base_row(spec, gen);
    auto store = open_store(spec.dir + "/store");
    Config topic = bench_topic_config();
    topic["segment.bytes"] = std::to_string(kSegmentBytes);
    check(store->create_topic(kBenchTopic, 1, topic), "create_topic");
    auto producer = Producer::create(*store, producer_config(spec));
    if (!producer.is_ok()) die("Producer::create: " + producer.status().to_string());

    std::vector<std::int64_t> commit_ns;
    Stopwatch watch;
    for (std::int64_t first = 0; first < spec.records;
         first += static_cast<std::int64_t>(spec.batch)) {
        const std::int64_t start = now_ns();
        const std::size_t count = std::min<std::size_t>(spec.batch, spec.records - first);
        check(
            (*producer)->produce_batch(kBenchTopic, PartitionId(0), fill_batch(gen, first, count)),
            "produce_batch");
        check((*producer)->flush(), "flush");
        commit_ns.push_back(now_ns() - start);
    }
    row.seconds = watch.seconds();
    row.notes.push_back(watch.cpu_note());
    Latencies latencies;
    for (const std::int64_t ns : commit_ns) latencies.add_ns(ns);
    latencies.fill(row);

    const std::size_t segments = count_segments(spec.dir + "/store");
    const std::size_t rolls = std::min(segments - 1, commit_ns.size());
    std::sort(commit_ns.begin(), commit_ns.end(), std::greater<>());
    const double rolled_ms =
        rolls == 0 ? 0
                   : double(std::accumulate(commit_ns.begin(), commit_ns.begin() + rolls,
                                            std::int64_t{0})) /
                         double(rolls) / 1e6;
    row.notes.push_back(fmt::format(
        "{} segments of segment.bytes = {}; the {} slowest commits (one per roll) took {:.2f} ms "
        "on average",
        segments, kSegmentBytes, rolls, rolled_ms));
    return row;
}

}  // namespace

BROOK_BENCH_CASE("append-roll", "brook", append_roll);

}  // namespace brook::bench
