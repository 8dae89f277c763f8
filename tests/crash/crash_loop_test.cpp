// The real crash loop: a child process writes a store on the real disk and is killed with
// SIGKILL at a random moment, again and again; after each kill the parent reopens the store and
// checks it against every acknowledgement the child managed to report.
//
// The child runs:
//   - 4 producer threads sharing one Producer with acks=all (concurrent durable appends share
//     fsyncs: group commit). Three records in four go to "crash" (3 partitions, 2 KiB
//     segments, retention.bytes), the fourth, keyed, to "compacted" (cleanup.policy=compact,
//     1 KiB segments);
//   - 2 consumer groups, one consumer thread each, reading "crash" and committing every few
//     records;
//   - a maintenance thread deleting the records of "crash" both groups have committed
//     (delete_records) and running maintenance passes (retention by size, compaction).
// After each delivery report and each commit it writes one line to a pipe, so what the parent
// reads is a lower bound of what was acknowledged. After each cycle the parent checks, over
// every cycle of the current store:
//   - the store opens (recovery succeeds) and every partition reads back without corruption;
//   - "crash": offsets are gap-free from the log start; every record is whole (its value is
//     self-describing) and each thread's records are in the order they were produced; every
//     acknowledged record at or above the log start is present at its offset; the log start
//     is at most both groups' committed offsets unless retention.bytes explains it (the
//     partition still holds at least retention.bytes);
//   - "compacted": offsets increase, every record is whole, and for every key the latest
//     acknowledged record is present or superseded by a later record with the same key;
//   - committed offsets are at or below the log end, at or above every commit the child
//     reported, and never move backwards from one cycle to the next.
//
// Cycles: 100 by default, 20 under sanitizers; `--cycles N` (or BROOK_CRASH_CYCLES=N) runs a
// longer soak and `--seed S` (or BROOK_CRASH_SEED=S) picks the kill times. A fresh store
// directory starts every 100 cycles. Other arguments go to doctest.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <brook/group_admin.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include "crash/crash_child.hpp"
#include "store/store_core.hpp"
#include "support/killed_child.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;
using namespace brook::testing::crash;

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kDefaultCycles = 20;
#else
constexpr std::uint64_t kDefaultCycles = 100;
#endif

// Set by main() from --cycles and --seed, else from the environment, else the defaults.
std::uint64_t g_cycles = 0;
std::uint64_t g_seed = 0;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

// Runs one child and kills it `run_for` after it reported ready, or, with `during_open`,
// `run_for` after it started. Returns the lines it reported.
std::string run_and_kill(const std::string& path, std::uint64_t cycle,
                         std::chrono::microseconds run_for, bool during_open) {
    ChildOutcome child =
        run_killed_child([&](int fd) { run_child(path, fd, cycle); }, run_for, during_open);
    std::string& received = child.received;
    // The child never stops on its own: it either was killed or reported an error.
    CHECK_MESSAGE(WIFSIGNALED(child.status), "the child exited by itself; its last lines: ",
                  received.substr(received.size() > 300 ? received.size() - 300 : 0));
    if (received.starts_with("R\n")) received.erase(0, 2);
    return std::move(received);
}

struct Acked {
    std::string topic;
    std::int32_t partition;
    std::int64_t offset;
};

// Everything the children of the current store reported, and what the last check saw.
struct History {
    std::map<std::string, Acked> acked;  // by value
    // Per group and partition: the highest commit reported, and the committed offset the
    // previous check read back.
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> reported_commit;
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> checked_commit;
    std::uint64_t commits = 0;
};

// What one check saw, for the figures.
struct CheckStats {
    std::uint64_t log_start_moved = 0;  // "crash" partitions with a log start above 0
    std::uint64_t compacted_away = 0;   // acknowledged "compacted" records no longer there
};

// Reopens the store and checks it against every acknowledgement so far.
CheckStats check_store(const std::string& path, History& history) {
    Options options;
    options.background_maintenance = false;
    auto store = Store::open(path, options);
    REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
    CheckStats stats;
    auto topic = (*store)->core()->topic(kTopic);
    auto compacted = (*store)->core()->topic(kCompacted);
    if (!topic.is_ok() || !compacted.is_ok()) {
        REQUIRE(history.acked.empty());
        return stats;
    }
    // Committed offsets first: at or below the log end, never behind a reported commit or the
    // previous check.
    GroupAdmin admin(**store);
    std::map<std::int32_t, std::vector<std::int64_t>> committed;
    for (const char* group : kGroups) {
        CAPTURE(group);
        auto d = admin.describe_group(group);
        if (!d) continue;
        for (const auto& p : d->partitions) {
            if (!p.committed) continue;
            const std::int32_t partition = p.partition.value();
            const std::int64_t offset = p.committed->value();
            CAPTURE(partition);
            CAPTURE(offset);
            CHECK(p.committed <= p.log_end_offset);
            CHECK(offset >= history.reported_commit[{group, partition}]);
            auto& previous = history.checked_commit[{group, partition}];
            CHECK(offset >= previous);
            previous = offset;
            committed[partition].push_back(offset);
        }
    }
    for (const auto& [key, offset] : history.reported_commit) {
        CAPTURE(key.first);
        CHECK(history.checked_commit.contains(key));  // a reported commit was kept
    }

    std::map<std::string, Acked> found;
    auto description = (*store)->describe_topic(kTopic);
    REQUIRE(description.is_ok());
    for (const auto& partition : (*topic)->partitions) {
        const auto& log = *partition->log;
        const std::int32_t p = partition->id.value();
        const std::int64_t start = log.log_start_offset().value();
        if (start > 0) ++stats.log_start_moved;
        // The log start is explained by delete_records (at most both groups' commits) or by
        // retention.bytes (what is left still holds at least that much).
        const auto& commits = committed[p];
        const bool deleted_consumed = commits.size() == std::size(kGroups) &&
                                      start <= *std::min_element(commits.begin(), commits.end());
        const bool retained =
            description->partitions.at(p).size_bytes >= static_cast<std::uint64_t>(kRetentionBytes);
        CAPTURE(p);
        CAPTURE(start);
        CHECK((start == 0 || deleted_consumed || retained));
        const auto records = read_all(log);
        std::map<std::pair<std::uint64_t, int>, std::uint64_t> next_i;  // per cycle and thread
        for (std::size_t n = 0; n < records.size(); ++n) {
            const auto& r = records[n];
            CHECK(r.offset == Offset(start + static_cast<std::int64_t>(n)));
            REQUIRE(r.value.has_value());
            const auto parsed = parse_value(*r.value);
            REQUIRE_MESSAGE(parsed.has_value(), "a damaged record: ", *r.value);
            CHECK(r.key == key_of(parsed->thread, parsed->i));
            auto& expected = next_i[{parsed->cycle, parsed->thread}];
            CHECK(parsed->i >= expected);
            expected = parsed->i + 1;
            found[*r.value] = {kTopic, p, r.offset.value()};
        }
    }
    // The compacted topic: the latest acknowledged record of each key, or a later one.
    std::map<std::string, std::int64_t> last_of_key;  // offset of the last record read per key
    std::int64_t previous = -1;
    for (const auto& r : read_all(*(*compacted)->partitions.at(0)->log)) {
        REQUIRE(r.value.has_value());
        const auto parsed = parse_value(*r.value);
        REQUIRE_MESSAGE(parsed.has_value(), "a damaged record: ", *r.value);
        CHECK(r.key == key_of(parsed->thread, parsed->i));
        CHECK(r.offset.value() > previous);
        previous = r.offset.value();
        last_of_key[*r.key] = r.offset.value();
        found[*r.value] = {kCompacted, 0, r.offset.value()};
    }
    std::map<std::string, const std::pair<const std::string, Acked>*> latest_acked;
    for (const auto& entry : history.acked) {
        if (entry.second.topic != kCompacted) continue;
        const auto parsed = parse_value(entry.first);
        const auto*& latest = latest_acked[key_of(parsed->thread, parsed->i)];
        if (!latest || latest->second.offset < entry.second.offset) latest = &entry;
    }

    for (const auto& [value, at] : history.acked) {
        CAPTURE(value);
        CAPTURE(at.topic);
        const auto it = found.find(value);
        if (at.topic == kCompacted) {
            const auto parsed = parse_value(value);
            const std::string key = key_of(parsed->thread, parsed->i);
            if (latest_acked.at(key)->first != value) {
                stats.compacted_away += it == found.end();
                continue;
            }
            REQUIRE_MESSAGE(last_of_key.contains(key), "a key's latest value is gone");
            CHECK(last_of_key.at(key) >= at.offset);
            if (it != found.end()) CHECK(it->second.offset == at.offset);
            continue;
        }
        const auto& log = *(*topic)->partitions.at(at.partition)->log;
        if (at.offset < log.log_start_offset().value()) continue;  // deleted or retained away
        REQUIRE_MESSAGE(it != found.end(), "an acknowledged record is missing");
        CHECK(it->second.partition == at.partition);
        CHECK(it->second.offset == at.offset);
    }
    REQUIRE((*store)->close().is_ok());
    return stats;
}

// Reads the child's report lines into `history`. @return the number of acknowledgements.
std::uint64_t record_lines(const std::string& lines, History& history) {
    std::uint64_t acks = 0;
    std::size_t start = 0;
    while (start < lines.size()) {
        const std::size_t end = lines.find('\n', start);
        REQUIRE_MESSAGE(end != std::string::npos, "a partial line from the pipe");
        const std::string line = lines.substr(start, end - start);
        start = end + 1;
        REQUIRE_MESSAGE(!line.starts_with("E "), "the child failed: ", line);
        char first[64] = {};
        char value[128] = {};
        std::int32_t partition = 0;
        std::int64_t offset = 0;
        if (line.starts_with("C ")) {
            REQUIRE(std::sscanf(line.c_str(), "C %63s %d %ld", first, &partition, &offset) == 3);
            auto& reported = history.reported_commit[{first, partition}];
            reported = std::max(reported, offset);
            ++history.commits;
            continue;
        }
        REQUIRE(std::sscanf(line.c_str(), "%63s %d %ld %127s", first, &partition, &offset, value) ==
                4);
        history.acked[value] = {first, partition, offset};
        ++acks;
    }
    return acks;
}

}  // namespace

TEST_CASE("crash loop: SIGKILL during durable produce, commits and maintenance loses nothing") {
    const std::uint64_t cycles = g_cycles;
    const std::uint64_t seed = g_seed;
    std::mt19937_64 random(seed);
    std::uint64_t total_acks = 0;
    std::uint64_t total_commits = 0;
    std::uint64_t kills_before_first_ack = 0;
    std::uint64_t log_start_moved = 0;
    std::uint64_t compacted_away = 0;

    std::unique_ptr<PosixEnv> env;
    History history;
    for (std::uint64_t cycle = 0; cycle < cycles; ++cycle) {
        if (cycle % 100 == 0) {
            env = std::make_unique<PosixEnv>();
            total_commits += history.commits;
            history = {};
        }
        CAPTURE(cycle);
        CAPTURE(seed);
        const std::string path = env->root() + "/store";
        // One cycle in ten is killed while opening (recovering) the store.
        const bool during_open = random() % 10 == 0;
        const auto run_for = std::chrono::microseconds(random() % 30'000);
        const std::uint64_t cycle_acks =
            record_lines(run_and_kill(path, cycle, run_for, during_open), history);
        total_acks += cycle_acks;
        if (cycle_acks == 0) ++kills_before_first_ack;
        const CheckStats stats = check_store(path, history);
        if (cycle % 100 == 99 || cycle + 1 == cycles) {
            log_start_moved += stats.log_start_moved;
            compacted_away += stats.compacted_away;
        }
    }
    total_commits += history.commits;
    MESSAGE("crash loop: ", cycles, " cycles (seed ", seed, "), ", total_acks,
            " acknowledged records and ", total_commits, " commits checked, ",
            kills_before_first_ack, " kills before the first acknowledgement; at the end of each ",
            "store: ", log_start_moved, " partitions with a raised log start, ", compacted_away,
            " superseded records compacted away");
}

// doctest's main, plus --cycles N and --seed S (which doctest does not see).
int main(int argc, char** argv) {
    g_cycles = env_number("BROOK_CRASH_CYCLES", kDefaultCycles);
    g_seed = env_number("BROOK_CRASH_SEED", 20261126);
    std::vector<char*> rest;
    for (int i = 0; i < argc; ++i) {
        const bool cycles = std::strcmp(argv[i], "--cycles") == 0;
        const bool seed = std::strcmp(argv[i], "--seed") == 0;
        if ((cycles || seed) && i + 1 < argc) {
            char* end = nullptr;
            const std::uint64_t n = std::strtoull(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0') {
                std::fprintf(stderr, "%s needs a number, not '%s'\n", argv[i - 1], argv[i]);
                return 2;
            }
            (cycles ? g_cycles : g_seed) = n;
            continue;
        }
        rest.push_back(argv[i]);
    }
    doctest::Context context(static_cast<int>(rest.size()), rest.data());
    return context.run();
}
