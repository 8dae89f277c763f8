// StoreCore: the shared state behind a Store and its Producers and Consumers.
//
// It owns the FileSystem (POSIX, or memory for in-memory stores), the writer lock, the
// metadata store (LMDB, or memory) and one PartitionLog per partition. Topics are published
// as immutable TopicState snapshots: a reader takes a shared_ptr and keeps using it while the
// topic is altered or deleted; a deleted partition is marked so calls on it return not_found.
//
// Ownership: Store, Producer::Impl and Consumer::Impl each hold a shared_ptr<StoreCore>.
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <atomic>
#include <brook/store.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "cleaner/cleaner_state.hpp"
#include "cleaner/maintenance_thread.hpp"
#include "fs/file_system.hpp"
#include "group/group_registry.hpp"
#include "log/partition_log.hpp"
#include "meta/meta_store.hpp"
#include "store/change_notifier.hpp"
#include "store/store_group_view.hpp"
#include "store/store_txn_view.hpp"
#include "store/topic_config.hpp"

namespace brook::txn {
class Coordinator;
}

namespace brook::detail {

struct PartitionState {
    std::string topic;
    PartitionId id;
    std::unique_ptr<log::PartitionLog> log;
    std::atomic<bool> deleted{false};
    // Retention, compaction and delete_records of this partition take turns under cleaner_mu.
    std::mutex cleaner_mu;
    cleaner::CleanerState cleaner;            // guarded by cleaner_mu
    std::atomic<std::int64_t> cleaned_to{0};  // cleaner.first_dirty(), for describe_topic

    // not_found if the topic was deleted, else ok.
    Status check_live() const;
};

struct TopicState {
    meta::TopicRecord record;
    store::TopicConfig config;
    std::vector<ConfigEntry> config_entries;
    std::vector<std::shared_ptr<PartitionState>> partitions;

    std::int32_t partition_count() const noexcept {
        return static_cast<std::int32_t>(partitions.size());
    }
};

class StoreCore {
  public:
    // Opens the store at `path` on the POSIX file system, or, `in_memory`, a new store on a
    // fresh memory file system with a memory meta store (`path` is then ignored).
    static Result<std::shared_ptr<StoreCore>> open(const std::string& path, Options options,
                                                   bool in_memory);
    // Opens a store whose directory `root` lives on `files`, with metadata in `meta`: for tests
    // that inject faults and power cuts into the file system. Takes the lock as a writer does.
    static Result<std::shared_ptr<StoreCore>> open_on(std::shared_ptr<fs::FileSystem> files,
                                                      std::string root,
                                                      std::unique_ptr<meta::MetaStore> meta,
                                                      Options options);
    // A Store handle on `core`, for the same tests (Producer and Consumer take a Store).
    static std::unique_ptr<Store> make_store(std::shared_ptr<StoreCore> core);
    ~StoreCore();

    Status close();
    Status check_open() const;
    // check_open() failing, without building a Status: for per-record paths.
    bool is_closed() const noexcept { return closed_.load(std::memory_order_acquire); }
    bool read_only() const noexcept { return options_.read_only; }
    const Clock& clock() const noexcept { return *clock_; }
    const std::string& path() const noexcept { return path_; }

    // Admin, as Store documents them.
    Status create_topic(std::string_view name, std::int32_t partitions, const Config& config);
    // For read-only stores these first refresh from disk, so they show the writer's changes.
    Result<std::vector<std::string>> list_topics();
    Result<TopicDescription> describe_topic(std::string_view name);
    Status alter_topic_config(std::string_view name, const Config& config);
    Status add_partitions(std::string_view name, std::int32_t new_total);
    Status delete_topic(std::string_view name);

    // The current snapshot of a topic. A read-only store that does not know the topic yet
    // refreshes from disk first. @return not_found; closed.
    Result<std::shared_ptr<const TopicState>> topic(std::string_view name);
    // One partition of a topic. @return not_found (topic or partition); closed.
    Result<std::shared_ptr<PartitionState>> partition(std::string_view topic,
                                                      PartitionId partition);

    // Appends an encoded batch to a partition and wakes waiting consumers. With `durable`, the
    // result is returned only once an fsync covers the batch; concurrent durable appends share
    // fsyncs (group commit). `options` go to PartitionLog::append.
    // @return not_found if the topic was deleted; the log's errors otherwise.
    Result<log::AppendResult> append(PartitionState& partition, std::span<std::byte> batch,
                                     bool durable, const log::AppendOptions& options = {});

    // A counter that grows whenever data is appended or the store changes. Consumers read it
    // before looking for data, then wait_for_change() until it moves.
    std::uint64_t change_version() const noexcept { return changes_.version(); }
    // Blocks until change_version() != seen, `deadline`, or `stop` becomes true, spinning
    // briefly first as `spin` allows (store/change_notifier.hpp). For a read-only store it
    // then refreshes from disk, since its writer cannot wake it.
    void wait_for_change(std::uint64_t seen, std::chrono::steady_clock::time_point deadline,
                         const std::atomic<bool>& stop, store::SpinBudget& spin);
    // Wakes every waiter (for Consumer::wakeup and close).
    void notify_change();

    // Maintenance, as Store documents it (store_maintenance.cpp).
    Status run_maintenance() { return maintain(true); }
    Result<Offset> delete_records(std::string_view topic, PartitionId partition, Offset before);
    MaintenanceStats maintenance_stats() const;

    // For read-only stores: picks up topics, partitions and batches the writer process has
    // added since, and marks deleted topics. Wakes waiters if anything changed.
    Status refresh();

    // Consumer groups (group/). The metadata store is for the group layer's offset table,
    // which reaches it only through GroupRegistry::with_offsets while the store is open.
    group::GroupRegistry& groups() noexcept { return *groups_; }
    meta::MetaStore& meta() noexcept { return *meta_; }
    // The transaction coordinator (txn/coordinator.hpp); it recovered at open.
    txn::Coordinator& transactions() noexcept { return *transactions_; }
    // The store as the transaction layer sees it, for producer sessions.
    txn::StoreView& txn_view() noexcept { return txn_view_; }
    // Moves whenever a topic is created, grown or deleted, so groups notice cheaply.
    std::uint64_t topology_version() const noexcept {
        return topology_version_.load(std::memory_order_acquire);
    }

  private:
    StoreCore(std::string path, Options options);
    // One maintenance pass: retention (if `retention`) and compaction of cleanable logs.
    Status maintain(bool retention);
    // The partition's pending roll checkpoint, then retention and compaction of it.
    // REQUIRES: partition.cleaner_mu held.
    Status maintain_partition(const TopicState& topic, PartitionState& partition, bool retention);
    void start_maintenance_thread();
    // Whether partition logs leave their roll checkpoints to the maintenance thread
    // (PartitionLog::defer_roll_checkpoints): only when there is one.
    bool defers_roll_checkpoints() const noexcept;
    // On the maintenance thread, once a roll asked for it: writes every partition's pending
    // roll checkpoint. An error stays pending and is reported by the next maintenance pass.
    void write_roll_checkpoints();
    // Adds dirty ratio and last cleaned offset to a description of a compacted partition.
    void describe_cleaning(const TopicState& topic, const PartitionState& partition,
                           PartitionDescription& out) const;
    static Status validate(const Options& options);
    Status load();
    // corruption if the metadata looks new while topics/ holds partitions (an emptied or
    // replaced meta file); otherwise marks the metadata as this store's.
    Status check_meta_matches_data(const std::vector<meta::TopicRecord>& records);
    // Builds a topic's snapshot, reusing the partitions of `known` (same incarnation) and
    // opening the rest.
    Result<std::shared_ptr<TopicState>> load_topic(const meta::TopicRecord& record,
                                                   const TopicState* known) const;
    Result<std::shared_ptr<PartitionState>> open_partition(const meta::TopicRecord& record,
                                                           PartitionId id,
                                                           const store::TopicConfig& config) const;
    std::string partition_dir(std::string_view topic, PartitionId id) const;
    // Removes a partition directory and its files, making the removal durable.
    Status remove_partition_dir(const std::string& dir);
    Status check_writable() const;
    std::shared_ptr<const TopicState> find_topic(std::string_view name) const;
    // Publishes a new snapshot of a topic (or removes it when `state` is null).
    void publish(const std::string& name, std::shared_ptr<const TopicState> state);

    const std::string path_;
    const Options options_;
    std::shared_ptr<const Clock> clock_;
    std::shared_ptr<fs::FileSystem> fs_;  // null when the POSIX file system is used
    fs::FileSystem* files_ = nullptr;
    std::string root_;  // the store directory on files_
    std::unique_ptr<fs::FileLock> lock_;
    std::unique_ptr<meta::MetaStore> meta_;

    std::mutex admin_mu_;  // serialises admin operations
    mutable std::shared_mutex topics_mu_;
    std::map<std::string, std::shared_ptr<const TopicState>, std::less<>> topics_;
    std::atomic<bool> closed_{false};

    std::mutex maintenance_mu_;          // one maintenance pass at a time
    std::atomic<bool> stopping_{false};  // set by close(): a running pass stops early
    mutable std::mutex stats_mu_;
    MaintenanceStats stats_;  // guarded by stats_mu_
    std::atomic<std::uint64_t> topology_version_{0};
    StoreGroupView group_view_{*this};
    StoreTxnView txn_view_{*this};
    std::unique_ptr<group::GroupRegistry> groups_;
    std::unique_ptr<txn::Coordinator> transactions_;
    store::ChangeNotifier changes_;
    std::unique_ptr<cleaner::MaintenanceThread> maintenance_thread_;
};

}  // namespace brook::detail
