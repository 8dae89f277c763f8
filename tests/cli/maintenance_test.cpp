// brook maintain and brook stats against the library: retention and compaction run by the
// binary must leave exactly the records the model says survive, and stats / topics describe
// must print the numbers Store::describe_topic reports for the same store.
#include <brook/brook.hpp>
#include <cstdio>
#include <map>
#include <sstream>

#include "cli_process.hpp"

using brook_cli_test::contains;
using brook_cli_test::Outcome;
using brook_cli_test::Process;
using brook_cli_test::TempStore;

namespace {

constexpr int kRuns = 20;
constexpr int kLinesPerRun = 10;

struct Produced {
    std::int64_t offset;
    std::string key;
    std::optional<std::string> value;  // nullopt: a tombstone
};

// The topic as the library sees it, through a read-only open as the CLI's readers use.
brook::TopicDescription library_describe(const TempStore& store, const std::string& topic) {
    brook::Options options;
    options.read_only = true;
    auto opened = brook::Store::open(store.path(), options);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    auto described = (*opened)->describe_topic(topic);
    REQUIRE_MESSAGE(described.is_ok(), described.status().to_string());
    return *described;
}

// Produces kRuns separate `brook produce` runs, so every run is at least one batch of its
// own and, with a small segment.bytes, lands in segments of its own. `line(i)` gives line i.
template <typename LineFn>
void produce_runs(const TempStore& store, const std::string& topic, LineFn line,
                  std::vector<std::string> extra_flags = {}) {
    for (int run = 0; run < kRuns; ++run) {
        std::string input;
        for (int j = 0; j < kLinesPerRun; ++j) input += line(run * kLinesPerRun + j) + "\n";
        std::vector<std::string> args{"produce", topic, "--key-separator", ":"};
        args.insert(args.end(), extra_flags.begin(), extra_flags.end());
        REQUIRE(store.run(args, input).exit_code == 0);
    }
}

std::string ratio(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", value);
    return text;
}

// The fields that open a partition object in both `stats --json` and `topics describe --json`.
std::string offsets_json(const brook::PartitionDescription& p) {
    return "{\"partition\":" + std::to_string(p.partition.value()) +
           ",\"start_offset\":" + std::to_string(p.log_start_offset.value()) +
           ",\"end_offset\":" + std::to_string(p.log_end_offset.value());
}

// What `stats --json` must print for a store holding only `topic`, from the library's numbers.
std::string expected_stats_json(const brook::TopicDescription& topic, const std::string& policy) {
    std::string out = "{\"topics\":[{\"topic\":\"" + topic.name + "\",\"cleanup_policy\":\"" +
                      policy + "\",\"partitions\":[";
    for (std::size_t i = 0; i < topic.partitions.size(); ++i) {
        const auto& p = topic.partitions[i];
        out += (i ? "," : "") + offsets_json(p) + ",\"records\":" +
               (policy == "compact" ? std::string("null")
                                    : std::to_string(p.log_end_offset - p.log_start_offset)) +
               ",\"segments\":" + std::to_string(p.segment_count) +
               ",\"bytes\":" + std::to_string(p.size_bytes) +
               ",\"dirty_ratio\":" + ratio(p.dirty_ratio) +
               ",\"last_cleaned_offset\":" + std::to_string(p.last_cleaned_offset.value()) + "}";
    }
    return out + "]}]}\n";
}

std::string expected_describe_partitions_json(const brook::TopicDescription& topic) {
    std::string out = "{\"topic\":\"" + topic.name + "\",\"partitions\":[";
    for (std::size_t i = 0; i < topic.partitions.size(); ++i) {
        const auto& p = topic.partitions[i];
        out += (i ? "," : "") + offsets_json(p) +
               ",\"segments\":" + std::to_string(p.segment_count) +
               ",\"bytes\":" + std::to_string(p.size_bytes) + "}";
    }
    return out + "],\"config\":[";
}

// The "maintain" lines that must report the pass's deletions and one partition's change.
void check_maintain_report(const Outcome& maintained, const brook::PartitionDescription& before,
                           const brook::PartitionDescription& after, const std::string& topic) {
    CAPTURE(maintained.out);
    CHECK(maintained.exit_code == 0);
    CHECK(maintained.err.empty());
    CHECK(maintained.out.starts_with("maintenance pass done in "));
    CHECK(contains(maintained.out, topic + "/0: start offset " +
                                       std::to_string(before.log_start_offset.value()) + " -> " +
                                       std::to_string(after.log_start_offset.value()) +
                                       ", segments " + std::to_string(before.segment_count) +
                                       " -> " + std::to_string(after.segment_count) + ", bytes " +
                                       std::to_string(before.size_bytes) + " -> " +
                                       std::to_string(after.size_bytes) + "\n"));
}

}  // namespace

TEST_CASE("maintain applies retention.bytes: start offsets move, consume returns the survivors") {
    TempStore store;
    REQUIRE(store
                .run({"topics", "create", "r", "--config", "segment.bytes=300", "--config",
                      "retention.bytes=1500"})
                .exit_code == 0);
    std::vector<Produced> model;
    produce_runs(store, "r", [&](int i) {
        model.push_back({i, "k" + std::to_string(i), "value-" + std::to_string(i)});
        return model.back().key + ":" + *model.back().value;
    });
    const auto before = library_describe(store, "r");
    REQUIRE(before.partitions[0].log_end_offset.value() == kRuns * kLinesPerRun);
    REQUIRE(before.partitions[0].log_start_offset.value() == 0);
    REQUIRE(before.partitions[0].size_bytes > 1500);
    CHECK(store.run({"stats", "--json"}).out == expected_stats_json(before, "delete"));

    const Outcome maintained = store.run({"maintain"});
    const auto after = library_describe(store, "r");
    const auto& p = after.partitions[0];
    CHECK(p.log_start_offset.value() > 0);
    CHECK(p.log_end_offset.value() == kRuns * kLinesPerRun);
    CHECK(p.segment_count < before.partitions[0].segment_count);
    check_maintain_report(maintained, before.partitions[0], p, "r");
    CHECK(contains(
        maintained.out,
        "retention: deleted " +
            std::to_string(before.partitions[0].segment_count - p.segment_count) + " segments, " +
            std::to_string(before.partitions[0].size_bytes - p.size_bytes) + " bytes\n"));
    CHECK(contains(maintained.out, "compaction: rewrote 0 bytes, 0 bytes smaller\n"));

    // describe and stats print the library's numbers after the pass.
    CHECK(store.run({"topics", "describe", "r", "--json"})
              .out.starts_with(expected_describe_partitions_json(after)));
    CHECK(store.run({"stats", "--json"}).out == expected_stats_json(after, "delete"));

    // consume from the beginning returns exactly the records at and above the new start.
    std::string expected;
    for (const auto& record : model) {
        if (record.offset < p.log_start_offset.value()) continue;
        expected += std::to_string(record.offset) + " " + record.key + " " + *record.value + "\n";
    }
    const Outcome consumed =
        store.run({"consume", "r", "--from-beginning", "--format", "%o %k %s\\n"});
    CHECK(consumed.exit_code == 0);
    CHECK(consumed.out == expected);

    // A second pass finds nothing more to delete.
    const Outcome again = store.run({"maintain"});
    CHECK(again.exit_code == 0);
    CHECK(contains(again.out, "retention: deleted 0 segments, 0 bytes\n"));
    CHECK(contains(again.out, "no partition changed\n"));
}

TEST_CASE("maintain compacts: consume returns the latest value per key, tombstones included") {
    TempStore store;
    REQUIRE(store
                .run({"topics", "create", "c", "--config", "cleanup.policy=compact", "--config",
                      "segment.bytes=300", "--config", "min.cleanable.dirty.ratio=0.01"})
                .exit_code == 0);
    std::vector<Produced> model;
    produce_runs(store, "c",
                 [&](int i) {
                     const std::string key = "key" + std::to_string(i % 7);
                     // Every 13th record deletes its key (a tombstone: an empty value with
                     // --null-empty).
                     std::optional<std::string> value;
                     if (i % 13 != 12) value = "v" + std::to_string(i);
                     model.push_back({i, key, value});
                     return key + ":" + value.value_or("");
                 },
                 {"--null-empty"});
    const auto before = library_describe(store, "c");
    REQUIRE(before.partitions[0].dirty_ratio > 0.01);
    CHECK(store.run({"stats", "--json"}).out == expected_stats_json(before, "compact"));

    const Outcome maintained = store.run({"maintain"});
    const auto after = library_describe(store, "c");
    const auto& p = after.partitions[0];
    CHECK(p.size_bytes < before.partitions[0].size_bytes);
    CHECK(p.log_end_offset.value() == kRuns * kLinesPerRun);
    CHECK(store.run({"stats", "--json"}).out == expected_stats_json(after, "compact"));
    CHECK_FALSE(contains(maintained.out, "compaction: rewrote 0 bytes"));
    // Where compaction got to is known only inside the maintaining process (the library keeps
    // cleaner state in memory), so it comes from maintain's report.
    CAPTURE(maintained.out);
    const std::string marker = ", compacted below offset ";
    const auto at = maintained.out.find(marker);
    REQUIRE(at != std::string::npos);
    const std::int64_t cleaned = std::stoll(maintained.out.substr(at + marker.size()));
    CHECK(cleaned > 0);
    CHECK(cleaned < p.log_end_offset.value());
    CHECK(contains(maintained.out, "c/0: start offset 0 -> 0, segments " +
                                       std::to_string(before.partitions[0].segment_count) + " -> " +
                                       std::to_string(p.segment_count) + ", bytes " +
                                       std::to_string(before.partitions[0].size_bytes) + " -> " +
                                       std::to_string(p.size_bytes) + marker +
                                       std::to_string(cleaned) + ", dirty ratio "));

    // The model: below the cleaned offset a record survives only as the last of its key there
    // (tombstones are kept for delete.retention.ms, a day); at and above it everything does.
    std::map<std::string, std::int64_t> last_below;
    for (const auto& record : model) {
        if (record.offset < cleaned) last_below[record.key] = record.offset;
    }
    std::string expected;
    std::map<std::string, std::optional<std::string>> latest;
    for (const auto& record : model) {
        latest[record.key] = record.value;
        if (record.offset < cleaned && last_below[record.key] != record.offset) continue;
        expected += std::to_string(record.offset) + " " + record.key + " " +
                    std::to_string(record.value ? static_cast<long>(record.value->size()) : -1) +
                    " " + record.value.value_or("") + "\n";
    }
    const Outcome consumed =
        store.run({"consume", "c", "--from-beginning", "--format", "%o %k %S %s\\n"});
    CHECK(consumed.exit_code == 0);
    CHECK(consumed.out == expected);

    // Replaying the compacted log gives the latest value of every key.
    std::map<std::string, std::string> replayed;
    std::istringstream lines(consumed.out);
    for (std::string offset, key, size, value; lines >> offset >> key >> size;) {
        std::getline(lines, value);
        replayed[key] = size == "-1" ? std::string("<deleted>") : value.substr(1);
    }
    for (const auto& [key, value] : latest) {
        CAPTURE(key);
        CHECK(replayed[key] == value.value_or("<deleted>"));
    }
}

TEST_CASE("maintain needs the writer lock; stats works beside a writer") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "t", "--partitions", "2"}).exit_code == 0);
    REQUIRE(store.run({"produce", "t", "--partition", "1"}, "a\nb\n").exit_code == 0);
    Process writer({"--dir", store.path(), "produce", "t", "--partition", "0"});
    writer.write_stdin("x\n");
    // The writer holds the lock once its record can be read.
    Process tail({"--dir", store.path(), "consume", "t", "--partition", "0", "--from-beginning",
                  "--follow", "--max-messages", "1"});
    REQUIRE_MESSAGE(tail.wait_for_lines(1), tail.printed());
    CHECK(tail.finish().out == "x\n");

    const Outcome maintained = store.run({"maintain"});
    CHECK(maintained.exit_code == 1);
    CHECK(maintained.out.empty());
    CHECK(contains(maintained.err, "held by pid " + std::to_string(writer.pid())));

    const Outcome stats = store.run({"stats"});
    CHECK(stats.exit_code == 0);
    std::string expected =
        "TOPIC PARTITION        START          END      RECORDS  SEGMENTS"
        "          BYTES  DIRTY\n";
    for (const auto& p : library_describe(store, "t").partitions) {
        char row[160];
        std::snprintf(row, sizeof row, "%-5s %9d %12lld %12lld %12lld %9zu %14llu %6s\n", "t",
                      p.partition.value(), static_cast<long long>(p.log_start_offset.value()),
                      static_cast<long long>(p.log_end_offset.value()),
                      static_cast<long long>(p.log_end_offset - p.log_start_offset),
                      p.segment_count, static_cast<unsigned long long>(p.size_bytes), "-");
        expected += row;
    }
    CHECK(stats.out == expected);
    CHECK(contains(stats.out, "\nt             1            0            2            2 "));
    CHECK(writer.finish().exit_code == 0);
}

TEST_CASE("maintain and stats: usage errors, a missing store, an empty store") {
    TempStore store;
    CHECK(store.run({"maintain"}).exit_code == 1);
    CHECK(contains(store.run({"stats"}).err, "no store at"));
    CHECK(store.run({"maintain", "now"}).exit_code == 2);
    CHECK(store.run({"stats", "--yaml"}).exit_code == 2);
    CHECK(contains(store.run({"stats", "t"}).err, "stats takes no arguments"));
    REQUIRE(store.run({"topics", "create", "t"}).exit_code == 0);
    REQUIRE(store.run({"topics", "delete", "t"}).exit_code == 0);
    CHECK(store.run({"stats", "--json"}).out == "{\"topics\":[]}\n");
    const Outcome idle = store.run({"maintain"});
    CHECK(idle.exit_code == 0);
    CHECK(contains(idle.out, "no partition changed\n"));
    for (const char* command : {"maintain", "stats"}) {
        const Outcome help = brook_cli_test::brook({command, "--help"});
        CHECK(help.exit_code == 0);
        CHECK(help.out.starts_with("Usage: brook"));
        CHECK(contains(help.out, "Example"));
    }
}
