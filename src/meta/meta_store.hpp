// MetaStore: the store's durable metadata, meaning topics, an id counter and small state.
//
// The store layer keeps everything that is not log data here: which topics exist, with their
// partition counts, config overrides and ids, and small per-feature state (group offsets,
// producer ids) in named key spaces. Two implementations share this interface: an LMDB
// environment on disk (format in meta/format.hpp) and an in-memory map for tests. Both apply
// the same argument checks, so a test that passes on one behaves the same on the other.
//
// Names and keys. A topic name is 1 to 511 bytes. A key space name is not empty and contains
// no 0x00 byte; a key may hold any bytes, 0x00 and 0xff included, and the space name plus one
// plus the key is at most 511 bytes. Values may be empty. Any other name or key is refused
// with invalid_argument before anything is written.
//
// Ownership: a MetaStore owns its environment or map; destroying it closes its share of the
// environment. Thread safety: every method may be called from any thread at once. Each call
// is one short transaction, and reads see every write that returned before they started.
#pragma once

#include <brook/config.hpp>
#include <brook/status.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brook::meta {

// A topic as the metadata store keeps it.
struct TopicRecord {
    std::string name;
    std::int32_t partitions = 0;
    Config overrides;            // topic-level config overrides
    std::uint64_t topic_id = 0;  // unique per creation, never reused; names partition directories

    friend bool operator==(const TopicRecord&, const TopicRecord&) = default;
};

struct MetaOptions {
    // Open an existing environment without the right to write. Another process may write it
    // meanwhile; each call sees what that process had committed when the call began.
    bool read_only = false;
    // The LMDB map size to start with, at least 64 KiB; the map doubles whenever it fills.
    // Ignored by read-only opens and when the directory is already open in this process.
    std::size_t initial_map_bytes = 1 << 20;
};

// The errors every method may return, besides those listed with it:
//   invalid_argument  a name or key breaks the rules above;
//   not_supported     a write through a store opened read-only;
//   corruption        LMDB found a damaged page, or a stored value failed its checks;
//   no_space          the disk is full;
//   io_error          the operating system failed a call, or denied access to the files;
//   busy              LMDB's reader table is full.
// write() also returns invalid_argument when one batch is too large for one LMDB transaction.
class MetaStore {
  public:
    virtual ~MetaStore() = default;

    // Inserts the topic, or replaces the topic of the same name.
    virtual Status put_topic(const TopicRecord& topic) = 0;

    // The topic named `name`, or nullopt when there is none.
    virtual Result<std::optional<TopicRecord>> get_topic(std::string_view name) = 0;

    // Every topic, sorted by name bytewise.
    virtual Result<std::vector<TopicRecord>> list_topics() = 0;

    // Removes the topic named `name`.
    // @return not_found if there is no such topic.
    virtual Status delete_topic(std::string_view name) = 0;

    // The next value of a durable counter: 1 on a new store, then strictly increasing, never
    // repeated, even across reopening or a crash after the call returned.
    virtual Result<std::uint64_t> allocate_id() = 0;

    // Sets `key` in `space` to `value`.
    virtual Status put(std::string_view space, std::string_view key, std::string_view value) = 0;

    // The value of `key` in `space`, or nullopt when it is not set.
    virtual Result<std::optional<std::string>> get(std::string_view space,
                                                   std::string_view key) = 0;

    // Removes `key` from `space`; succeeds when it is not set.
    virtual Status remove(std::string_view space, std::string_view key) = 0;

    // Every (key, value) in `space` whose key starts with `prefix`, sorted by key bytewise.
    virtual Result<std::vector<std::pair<std::string, std::string>>> scan(
        std::string_view space, std::string_view prefix) = 0;

    // One put (value set) or remove (value nullopt) for write().
    struct Write {
        std::string space;
        std::string key;
        std::optional<std::string> value;
    };

    // Applies `writes` in order, in one transaction: a reader sees all of them or none. If
    // any entry breaks the key rules, nothing is applied.
    virtual Status write(std::span<const Write> writes) = 0;
};

// Opens the LMDB environment in directory `dir` (files dir/data.mdb and dir/lock.mdb),
// creating the directory and the environment unless options.read_only is set.
//
// One process holds at most one LMDB environment per directory, as LMDB requires: opening a
// directory that is already open in this process shares that environment. A child process
// created by fork() must open its own; it must not use or close its parent's stores.
// @return not_found if read_only and dir/data.mdb does not exist;
//         busy if the directory is open read-only in this process and a writer is requested,
//              or another process holds the lock file in an incompatible way;
//         corruption if data.mdb is not an LMDB environment of a compatible version;
//         io_error (naming the path) if the files cannot be created, opened or mapped.
Result<std::unique_ptr<MetaStore>> open_lmdb_meta_store(const std::string& dir,
                                                        const MetaOptions& options);

// A new empty store held in memory, for tests. Nothing survives its destruction.
std::unique_ptr<MetaStore> new_memory_meta_store();

}  // namespace brook::meta
