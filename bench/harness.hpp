// The benchmark harness: workloads, the record generator, measurements and the case registry.
//
// A case is one (workload, system) pair: one row of bench/results/latest.json. Each system's
// file registers the workloads it can run with BROOK_BENCH_CASE; the driver (bench_main.cpp)
// runs every registered case in a process of its own, so peak RSS is per row and a crash in
// one peer costs one row. A workload no system registers yet (consumer groups, compaction,
// retention) is listed in kWorkloads and simply produces no rows until its cases land.
//
// Thread safety: the registry is filled by static initialisers before main() and only read
// afterwards. A Case runs on one thread of its own process; it may start more threads.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brook::bench {

// Workload ids in the order of the issue, then those added since (txn-100x3, append-roll);
// the table and the JSON follow this order.
inline const std::vector<std::string> kWorkloads = {
    "append-100b",   "append-1kb", "append-sync-batch", "append-sync-record", "group-commit-4",
    "consume-100b",  "latency",    "produce-unbatched", "zstd-json",          "seek-offset",
    "seek-time",     "group-4x8",  "compaction",        "retention",          "open-memory",
    "open-disk-400", "recovery",   "idle-rss-400",      "txn-100x3",          "append-roll",
};

// System names in table order. raw is the physical limit every ratio is taken against.
inline const std::vector<std::string> kSystems = {
    "brook", "brook-log", "raw", "lmdb", "sqlite", "rocksdb", "rdkafka_mock",
};

// What a peer must guarantee when a commit returns.
enum class Durability : std::uint8_t {
    none,        // in the OS page cache (no fsync)
    per_batch,   // fsync per commit batch
    per_record,  // fsync per record (batch of 1)
};

// The parameters of one case, derived from the workload id and --quick.
struct Spec {
    std::string workload;
    std::string system;
    bool quick = false;
    std::string dir;     // an empty scratch directory of this case's own
    std::string shared;  // a directory all cases of one suite run share, for costly fixtures
    std::int64_t records = 0;
    std::size_t value_bytes = 100;
    std::size_t batch = 1000;
    int threads = 1;
    Durability durability = Durability::none;
    bool json = false;  // values are JSON events (zstd-json)
    // Commits made before the timed part (records [0, warmup_commits * batch)), which the row's
    // records, time and latencies leave out: a disk's syncs just after a process starts are not
    // its steady pace (docs/performance.md, "Warm-up commits").
    std::int64_t warmup_commits = 0;
};

// One row of results. Unset optionals are written as null.
struct Row {
    std::string workload;
    std::string system;
    std::int64_t records = 0;
    std::size_t record_bytes = 0;  // key + value bytes of one record (average for JSON)
    std::size_t batch = 0;
    double seconds = 0;
    std::optional<double> p50_us, p99_us, p999_us;
    std::int64_t peak_rss_kb = 0;
    // Free text printed under the table (bytes on disk, what a number covers).
    std::vector<std::string> notes;

    double records_per_s() const { return seconds > 0 ? double(records) / seconds : 0; }
    double mb_per_s() const {
        return seconds > 0 ? double(records) * double(record_bytes) / seconds / 1e6 : 0;
    }
};

using CaseFn = std::function<Row(const Spec&)>;

struct Case {
    std::string workload;
    std::string system;
    CaseFn run;
};

// Adds a case; returns true so it can initialise a static.
bool register_case(std::string workload, std::string system, CaseFn fn);
const std::vector<Case>& cases();

#define BROOK_BENCH_CONCAT_INNER_(a, b) a##b
#define BROOK_BENCH_CONCAT_(a, b) BROOK_BENCH_CONCAT_INNER_(a, b)
#define BROOK_BENCH_CASE(workload, system, fn)                                      \
    [[maybe_unused]] static const bool BROOK_BENCH_CONCAT_(registered_, __LINE__) = \
        ::brook::bench::register_case(workload, system, fn)

// The parameters for a workload at full or quick size.
Spec make_spec(std::string_view workload, std::string_view system, bool quick, std::string dir,
               std::string shared);

// Records in the log that the seek workloads search (10M, or 1M with --quick).
std::int64_t log_records(const Spec& spec);

// The seeded record generator every system uses: record i has an 8-byte key (big-endian, from
// a splitmix64 stream) and a value picked from a fixed pool, so generating a record costs the
// same little for every system and copies nothing. Values are either `value_bytes`
// pseudo-random bytes (a window into 64 KiB of random bytes) or, for the zstd workload, one of
// 65,536 JSON events like the quickstart's.
class RecordGen {
  public:
    explicit RecordGen(std::size_t value_bytes, std::uint64_t seed = 0x5eed);
    // The generator a spec asks for (JSON values for zstd-json).
    static RecordGen for_spec(const Spec& spec);
    static RecordGen json(std::uint64_t seed = 0x5eed);

    std::uint64_t key_u64(std::int64_t i) const noexcept;
    // The key as 8 big-endian bytes, written into `out`.
    void key(std::int64_t i, char out[8]) const noexcept;
    std::string_view value(std::int64_t i) const noexcept;
    // Key and value bytes of a record (the average, for JSON values).
    std::size_t record_bytes() const noexcept { return 8 + value_bytes_; }

  private:
    RecordGen() = default;

    std::size_t value_bytes_ = 0;
    std::uint64_t seed_ = 0;
    std::string pool_;
    std::vector<std::uint32_t> starts_;  // JSON: where each event of pool_ starts, plus the end
};

// JSON events like the quickstart's, for the zstd workload: deterministic from the seed.
std::string json_event(std::int64_t i, std::uint64_t seed = 0x5eed);

std::uint64_t splitmix64(std::uint64_t x) noexcept;

// Wall time, and this process's CPU time (all threads) and page faults, since construction.
// On a shared machine the CPU time says how much of the wall time the case actually ran, and
// the major faults how often it waited for the kernel to bring in a page of a file: of its own
// program (this guest's DAMON pages out memory left idle) or of a file it maps.
class Stopwatch {
  public:
    Stopwatch()
        : start_(std::chrono::steady_clock::now()),
          cpu_start_(process_cpu_seconds()),
          faults_start_(process_faults()) {}
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    double cpu_seconds() const { return process_cpu_seconds() - cpu_start_; }
    // "timed part: X s of process CPU, M major and N minor page faults, in Y s of wall time":
    // a note for a row timed by this watch.
    std::string cpu_note() const;

    static double process_cpu_seconds();

  private:
    struct Faults {
        long major = 0;
        long minor = 0;
    };
    static Faults process_faults();

    std::chrono::steady_clock::time_point start_;
    double cpu_start_;
    Faults faults_start_;
};

// Where a write path's wall time goes: the time of each named phase, summed over the calls
// and the writer threads, for a note under an append row. Off until enabled, when start()
// and add() read no clock: timing single-record calls would slow them. Any thread may call
// start() and add(); enable() comes before them.
class PhaseTimes {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kMaxPhases = 4;

    // REQUIRES: at most kMaxPhases names, each a string literal.
    PhaseTimes(std::initializer_list<const char*> names);
    void enable(bool on) noexcept { enabled_ = on; }
    // @return now when enabled: where the first phase starts.
    Clock::time_point start() const noexcept {
        return enabled_ ? Clock::now() : Clock::time_point{};
    }
    // Adds the time from `since` to now to phase `phase` when enabled.
    // @return now: where the next phase starts.
    Clock::time_point add(std::size_t phase, Clock::time_point since) noexcept {
        return enabled_ ? record(phase, since) : since;
    }
    // "write() time by phase: fill 7.8 ms, produce_batch 12.2 ms, flush 42.3 ms", or nullopt
    // when not enabled.
    std::optional<std::string> note() const;
    // Forgets the times added so far. REQUIRES: no add() runs meanwhile.
    void reset() noexcept;

  private:
    Clock::time_point record(std::size_t phase, Clock::time_point since) noexcept;

    std::array<const char*, kMaxPhases> names_{};
    std::size_t count_ = 0;
    bool enabled_ = false;
    std::array<std::atomic<std::int64_t>, kMaxPhases> ns_{};
};

// Collects per-operation latencies and fills a Row's percentiles.
class Latencies {
  public:
    void reserve(std::size_t n) { samples_.reserve(n); }
    void add_ns(std::int64_t ns) { samples_.push_back(ns); }
    std::size_t size() const { return samples_.size(); }
    void merge(const Latencies& other) {
        samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
    }
    void fill(Row& row);

  private:
    std::vector<std::int64_t> samples_;
};

std::int64_t now_ns() noexcept;

// This process's peak resident set (ru_maxrss) and current resident set, in KiB.
std::int64_t peak_rss_kb();
std::int64_t current_rss_kb();

// Total size of the regular files under `dir`, recursively; only of names ending in `suffix`
// when one is given.
std::uint64_t dir_bytes(const std::string& dir, std::string_view suffix = {});

// Makes everything written under `dir` durable (syncfs). A set-up calls it before the timed
// part, so that what is timed does not share the disk and the CPUs with the writeback of the
// data the set-up wrote without fsync.
void make_durable(const std::string& dir);

// Runs the program at argv[0] with `argv` and returns what it wrote to stdout, or nullopt if it
// could not start or did not exit with status 0.
std::optional<std::string> run_capturing_stdout(const std::vector<std::string>& argv);

// Prints "bench: <what>" to stderr and exits with status 2: a case that cannot do its work
// must not produce a row.
[[noreturn]] void die(const std::string& what);

// A Row naming the spec's workload and system, with records = spec.records.
Row bare_row(const Spec& spec);

// bare_row() with the record size of `gen` and the spec's batch: the base of a throughput case.
Row base_row(const Spec& spec, const RecordGen& gen);

// Writes `v` as 8 big-endian bytes: the sequential keys of the key-value peers.
inline void put_be64(char out[8], std::uint64_t v) noexcept {
    for (int b = 0; b < 8; ++b) out[b] = static_cast<char>(v >> (56 - 8 * b));
}

}  // namespace brook::bench
