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
};

struct PartitionDescription {
    PartitionId partition{};
    Offset log_start_offset{};
    Offset log_end_offset{};
    std::size_t segment_count = 0;
    std::uint64_t size_bytes = 0;
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
