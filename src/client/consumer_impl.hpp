// Consumer::Impl: what a Consumer does behind its pimpl: manual assignment, serving the assigned
// partitions round-robin, blocking polls, and the GroupClient::Host interface the
// consumer-group client changes the assignment through.
//
// Its definitions are split by concern: client/consumer_assignment.cpp (the assignment: manual
// assign(), seek(), positions, pause, offset look-ups, close()), client/consumer_poll.cpp
// (poll(), consume(), wakeup()) and client/consumer_group.cpp (group.id: subscriptions,
// commits, group metadata and the Host callbacks). client/consumer.cpp forwards the public
// Consumer's calls here.
//
// Each assigned partition is read by PartitionFetch (client/partition_fetch.hpp): its position,
// its buffered read decoded batch by batch into Messages that view the read (no record is
// copied on its way from the file to the caller), auto.offset.reset. poll() serves the
// partitions round-robin, one message per call, starting after the partition served last, so
// a busy partition cannot starve the others; consume() does the same, except that a partition
// assigned alone hands out as much of its reads as asked for at once, each batch that fits
// decoded straight into the result. A partition that returned an error is skipped until
// seek() moves it. When no partition has data, poll() waits on the store's change version,
// which every append in this process bumps.
//
// With group.id, a GroupClient (client/group_client.hpp) does the group's work at the start
// of each poll and changes the assignment through the Host interface this Impl implements.
//
// Ownership: the Consumer owns its Impl, which owns the GroupClient, the PartitionFetch and the
// assigned partitions, and shares the StoreCore. Threads: those of the Consumer
// (include/brook/consumer.hpp): one thread at a time; wakeup() from any thread, and close()
// too for a consumer that did not subscribe().
//
// Locking: mu_ guards the assignment and closed_. It is held while reading a log but never
// while waiting or running a rebalance callback, so close() from another thread waits at most
// for one read and callbacks may call back into the consumer.
#pragma once

#include <atomic>
#include <brook/consumer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/consumer_config.hpp"
#include "client/group_client.hpp"
#include "client/partition_fetch.hpp"
#include "store/store_core.hpp"

namespace brook {

class Consumer::Impl final : public client::GroupClient::Host {
  public:
    Impl(std::shared_ptr<detail::StoreCore> core, client::ConsumerConfig config)
        : core_(std::move(core)), config_(std::move(config)) {}

    // ---- The assignment (client/consumer_assignment.cpp) --------------------------------------

    Status assign(const std::vector<TopicPartitionOffset>& partitions);
    Status unassign();
    std::vector<TopicPartition> assignment() const;
    Status seek(const TopicPartitionOffset& target);
    Result<std::vector<TopicPartitionOffset>> position(
        const std::vector<TopicPartition>& partitions) const;
    // Pauses or resumes every partition in `partitions`, or none if one is not assigned.
    Status set_paused(const std::vector<TopicPartition>& partitions, bool paused);
    Result<WatermarkOffsets> get_watermark_offsets(const TopicPartition& tp) const;
    Result<std::vector<TopicPartitionOffset>> offsets_for_times(
        const std::vector<TopicPartitionTimestamp>& query) const;
    Status close();

    // ---- Polling (client/consumer_poll.cpp) ---------------------------------------------------

    std::optional<Message> poll(std::chrono::milliseconds timeout);
    std::vector<Message> consume(std::size_t max_messages, std::chrono::milliseconds timeout);
    std::size_t consume(std::vector<Message>& out, std::size_t max_messages,
                        std::chrono::milliseconds timeout);
    void wakeup();

    // ---- The group (client/consumer_group.cpp) ------------------------------------------------

    // Creates the GroupClient when group.id is set. `self` is the Consumer that callbacks receive.
    Status init(Consumer& self);
    Status subscribe(const group::Subscription& subscription,
                     std::shared_ptr<RebalanceListener> listener);
    Status unsubscribe();
    std::string member_id() const;
    Result<ConsumerGroupMetadata> group_metadata() const;
    // Commits `offsets`, or without them the position of each assigned partition that has one.
    Status commit(std::optional<std::vector<TopicPartitionOffset>> offsets);
    void commit_async(std::optional<std::vector<TopicPartitionOffset>> offsets,
                      CommitCallback callback);
    Result<std::vector<TopicPartitionOffset>> committed(
        const std::vector<TopicPartition>& partitions) const;

    // GroupClient::Host
    std::vector<TopicPartition> owned() override;
    std::vector<TopicPartitionOffset> consumed(
        const std::vector<TopicPartition>& partitions) override;
    void add(const std::vector<TopicPartitionOffset>& partitions) override;
    void remove(const std::vector<TopicPartition>& partitions) override;
    void assigned(const std::vector<TopicPartition>& partitions) override;
    void revoked(const std::vector<TopicPartition>& partitions) override;
    void lost(const std::vector<TopicPartition>& partitions) override;

  private:
    // client/consumer_assignment.cpp
    bool is_closed() const;
    // @return closed if this consumer or its store is closed.
    Status check_open() const;
    // REQUIRES: mu_ held.
    Status check_open_locked() const;
    // The assigned partition `tp`, or null. REQUIRES: mu_ held.
    client::AssignedPartition* find_locked(const TopicPartition& tp);
    const client::AssignedPartition* find_locked(const TopicPartition& tp) const;

    // client/consumer_poll.cpp
    // Appends up to `max` messages to the empty `out`, waiting until `timeout` for the first:
    // what poll() and consume() do. After an error message it appends nothing more.
    void take_waiting(std::vector<Message>& out, std::size_t max,
                      std::chrono::milliseconds timeout);
    // Makes room in `out` for up to `max` messages: as many as there are offsets from each
    // partition's position to its end (and one for an error), so that reads are decoded into
    // it without moving it. REQUIRES: mu_ held.
    void reserve_locked(std::vector<Message>& out, std::size_t max) const;
    // Appends the next messages to `out`, up to `max` in all, serving partitions round-robin
    // one message at a time; a partition assigned alone hands out what it has read in one go.
    // After an error message it appends nothing more. REQUIRES: mu_ held.
    // @return false if none has one now.
    bool next_locked(std::vector<Message>& out, std::size_t max);
    // How often a group member inside a long poll reports to the group that it is polling.
    std::chrono::milliseconds heartbeat_interval() const;

    // client/consumer_group.cpp
    // @return invalid_argument naming `op` without group.id; closed.
    Status check_group(std::string_view op) const;

    const std::shared_ptr<detail::StoreCore> core_;
    const client::ConsumerConfig config_;
    Consumer* self_ = nullptr;
    std::unique_ptr<client::GroupClient> group_;  // with group.id; used by the polling thread
    std::shared_ptr<RebalanceListener> listener_;
    std::atomic<bool> wakeup_{false};
    client::PartitionFetch fetch_{config_};  // take() under mu_
    store::SpinBudget spin_;                 // used by the thread in poll()
    // poll()'s message on its way out, kept for its capacity; used by the thread in poll().
    std::vector<Message> polled_;

    mutable std::mutex mu_;  // guards the fields below
    bool closed_ = false;
    std::vector<client::AssignedPartition> assigned_;
    std::size_t next_index_ = 0;  // where the next round-robin pass starts
};

}  // namespace brook
