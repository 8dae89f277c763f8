// Store: an open brook store, the root object of the API.
//
// A store is a directory holding topics (each a set of partition logs) and their metadata in
// LMDB, or the same thing held in memory for tests. Store::open is to brook what sqlite3_open
// is to SQLite: there is no server, and the store lives as long as the object.
//
// One process writes a store at a time: an exclusive lock file in the directory makes a second
// writer, in this process or another, fail with `busy` naming the holder's pid. Options::
// read_only opens a store another process is writing, to read and tail it.
//
// Ownership: Producers and Consumers created on a store keep what they need alive; after
// close() their calls fail with `closed`. Thread safety: every method may be called from any
// thread at once.
#pragma once

#include <brook/clock.hpp>
#include <brook/config.hpp>
#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace brook {

namespace detail {
class StoreCore;
}

struct Options {
    // Topic config defaults for this store, layered between Kafka's defaults and each topic's
    // own settings (keys as for create_topic).
    Config topic_defaults{};
    // Where time comes from: null means the system clock. Tests inject a ManualClock.
    std::shared_ptr<const Clock> clock{};
    // Open a store that another process writes. Writes fail with invalid_argument.
    bool read_only = false;
    // Fail with not_found instead of creating a missing store directory.
    bool create_if_missing = true;
    // Limits that keep a mistake from exhausting the machine.
    std::int32_t max_partitions_per_topic = 10'000;
    std::int32_t max_topics = 100'000;
    // Run retention and compaction on a background thread (see docs/retention-and-compaction.md).
    // Off, nothing is cleaned until run_maintenance() is called: tests and tools stay
    // deterministic.
    bool background_maintenance = true;
    // log.retention.check.interval.ms: how often the thread applies retention.
    std::int64_t log_retention_check_interval_ms = 300'000;
    // log.cleaner.backoff.ms: how often the thread looks for logs to compact.
    std::int64_t log_cleaner_backoff_ms = 15'000;
    // log.flush.offset.checkpoint.interval.ms: the least time between two writes, by the
    // thread, of the producer snapshot and recovery point a segment roll leaves to it
    // (docs/durability.md, section 7). A crash recovers from the last one written, so this
    // bounds how much more a recovery may validate; retention, compaction and close() write a
    // pending one at once. 0 writes each roll's as soon as the thread is free.
    std::int64_t log_flush_offset_checkpoint_interval_ms = 60'000;
    // log.cleaner.dedupe.buffer.size: the memory one compaction pass may use for its key map
    // (24 bytes per key). A smaller buffer only makes compaction take more passes.
    std::int64_t log_cleaner_dedupe_buffer_size = 128LL * 1024 * 1024;
    // Read segment files through read-only memory mappings instead of copying them with pread
    // (docs/durability.md, "Mapped reads"). Off by default, as SQLite's mmap_size is 0: as with
    // LMDB and brook's own index files, a disk read error or a segment cut short by another
    // program while the store is open then ends the process with SIGBUS instead of failing the
    // read with io_error or corruption. A mapping saves the copy, but every page it shows costs
    // a page fault on first touch; which is cheaper depends on the host (the consume-100b
    // figures in docs/performance.md: on one host a sequential scan ran 1.2 times faster mapped,
    // on one that maps pages in software the copy won). Consumers at the tail read neither way:
    // they view the segment's copies of its newest batches. No effect on in-memory stores.
    bool mmap_segment_reads = false;
};

struct PartitionDescription {
    PartitionId partition{};
    Offset log_start_offset{};
    Offset log_end_offset{};
    std::size_t segment_count = 0;
    std::uint64_t size_bytes = 0;
    // Compacted topics: the share of the cleanable bytes not yet compacted (0 when nothing is
    // cleanable), and the offset below which the last compaction pass compacted everything.
    double dirty_ratio = 0;
    Offset last_cleaned_offset{};
};

// What maintenance (retention and compaction) has done since the store opened.
struct MaintenanceStats {
    std::uint64_t passes = 0;                // maintenance passes run
    std::int64_t last_pass_ms = -1;          // when the last one ended (store clock), -1: never
    std::uint64_t bytes_deleted = 0;         // by retention and delete_records
    std::uint64_t segments_deleted = 0;      // by retention and delete_records
    std::uint64_t bytes_compacted = 0;       // segment bytes rewritten by compaction
    std::uint64_t bytes_compacted_away = 0;  // how much smaller compaction made them
};

struct TopicDescription {
    std::string name{};
    std::vector<PartitionDescription> partitions{};
    // Every topic config key with its effective value and where it came from, sorted by key.
    std::vector<ConfigEntry> config{};
};

class Store {
  public:
    // Opens the store in directory `path`, creating it if needed, and recovers its logs.
    // @return busy (another writer holds the lock; the message names its pid); not_found
    //         (missing and !create_if_missing, or read_only and never created); invalid_argument
    //         (bad options); corruption (a damaged log or metadata, named in the message);
    //         io_error, no_space.
    static Result<std::unique_ptr<Store>> open(const std::string& path, Options options = {});

    // A store held entirely in memory, with the same behaviour and no files.
    static Result<std::unique_ptr<Store>> open_in_memory(Options options = {});

    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Flushes and closes every log and releases the lock, so the next open needs no recovery.
    // Later calls, here and on producers and consumers of this store, return closed.
    Status close();

    // Creates a topic with `partitions` partitions (1 to max_partitions_per_topic).
    // @return invalid_argument (bad name, partition count or config, naming what was wrong);
    //         already_exists; closed; io_error, no_space.
    Status create_topic(std::string_view name, std::int32_t partitions, const Config& config = {});

    // Topic names, sorted.
    Result<std::vector<std::string>> list_topics() const;

    // @return not_found if there is no such topic.
    Result<TopicDescription> describe_topic(std::string_view name) const;

    // Sets (or, with an empty value, removes) topic-level config overrides; other keys are kept.
    // @return not_found; invalid_argument naming the key.
    Status alter_topic_config(std::string_view name, const Config& config);

    // Raises the partition count to `new_total`. Existing partitions are untouched.
    // @return not_found; invalid_argument if new_total is not above the current count.
    Status add_partitions(std::string_view name, std::int32_t new_total);

    // Deletes a topic and its data. Producers and consumers using it then get not_found.
    // @return not_found.
    Status delete_topic(std::string_view name);

    // Runs one full maintenance pass now, on the calling thread: retention for every topic
    // whose cleanup.policy contains delete, then compaction of every compacted partition that
    // is cleanable. Safe to call while the background thread runs (passes take turns).
    // @return the first error met (the other partitions are still maintained); closed;
    //         invalid_argument for a read-only store.
    Status run_maintenance();

    // Kafka's DeleteRecords: raises the partition's log start offset to `before_offset`, so
    // the records below it are gone for readers at once and their segments are deleted when
    // wholly below it. Consumers positioned below get auto.offset.reset behaviour.
    // @return the new log start offset; offset_out_of_range if before_offset is negative or
    //         beyond the log end; not_found; closed; invalid_argument for a read-only store.
    Result<Offset> delete_records(std::string_view topic, PartitionId partition,
                                  Offset before_offset);

    // Counters of what maintenance has done.
    MaintenanceStats maintenance_stats() const;

    // The store's directory, or "" for an in-memory store.
    const std::string& path() const noexcept;

    // For Producer and Consumer: the shared state they keep alive.
    const std::shared_ptr<detail::StoreCore>& core() const noexcept { return core_; }

  private:
    friend class detail::StoreCore;
    explicit Store(std::shared_ptr<detail::StoreCore> core);
    std::shared_ptr<detail::StoreCore> core_;
};

}  // namespace brook
