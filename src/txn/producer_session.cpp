#include "txn/producer_session.hpp"

#include <fmt/format.h>

#include <limits>

namespace brook::txn {
namespace {

// Kafka's sequences wrap from INT32_MAX to 0.
std::int32_t advance(std::int32_t sequence, std::int32_t records) {
    const std::int64_t next = static_cast<std::int64_t>(sequence) + records;
    constexpr std::int64_t kWrap = std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1;
    return static_cast<std::int32_t>(next % kWrap);
}

}  // namespace

Result<std::unique_ptr<ProducerSession>> ProducerSession::create(StoreView& store,
                                                                 SessionConfig config) {
    std::unique_ptr<ProducerSession> session(new ProducerSession(store, std::move(config)));
    if (session->config_.idempotent && !session->transactional()) {
        BROOK_ASSIGN_OR_RETURN(session->producer_, store.transactions().new_producer_id());
    }
    return session;
}

BatchStamp ProducerSession::stamp(const TopicPartition& partition) {
    std::lock_guard lock(mu_);
    if (producer_.id < 0) return {};
    auto it = next_sequence_.find(partition);
    return {producer_.id, producer_.epoch, it == next_sequence_.end() ? 0 : it->second,
            transactional()};
}

void ProducerSession::appended(const TopicPartition& partition, const BatchStamp& stamp,
                               std::int32_t records) {
    if (stamp.producer_id < 0) return;
    std::lock_guard lock(mu_);
    // A stamp of an older epoch (a batch sent before init_transactions bumped it) must not
    // move the new epoch's sequences.
    if (stamp.producer_id != producer_.id || stamp.producer_epoch != producer_.epoch) return;
    next_sequence_[partition] = advance(stamp.base_sequence, records);
}

void ProducerSession::append_failed(const Status& error) {
    std::lock_guard lock(mu_);
    if (error.code() == Code::fenced || error.code() == Code::out_of_order_sequence) {
        // The log no longer accepts this producer's sequence: nothing it sends can be trusted
        // to land exactly once, as Kafka makes these errors fatal.
        if (state_ != State::fatal) fatal_ = error;
        state_ = State::fatal;
        fatal_seen_.store(true, std::memory_order_release);
        return;
    }
    if (state_ == State::in_transaction && abortable_.is_ok()) abortable_ = error;
}

Status ProducerSession::check_transactional(std::string_view op) const {
    if (!transactional()) {
        return Status::invalid_argument(fmt::format(
            "{}: the producer has no transactional.id; set it in the producer config to use "
            "transactions",
            op));
    }
    std::lock_guard lock(mu_);
    if (state_ == State::fatal) return fatal_;
    return Status::ok();
}

Status ProducerSession::require_in_transaction_locked(std::string_view op) const {
    switch (state_) {
        case State::in_transaction: return Status::ok();
        case State::fatal: return fatal_;
        case State::uninitialized:
            return Status::invalid_txn_state(fmt::format("{}: call init_transactions() first", op));
        case State::ready: break;
    }
    return Status::invalid_txn_state(
        fmt::format("{}: no transaction is in progress; call begin_transaction() first", op));
}

Status ProducerSession::before_produce(const TopicPartition& partition) {
    // The common case, an idempotent producer in good standing, takes no lock.
    if (!transactional() && !fatal_seen_.load(std::memory_order_acquire)) return Status::ok();
    std::lock_guard lock(mu_);
    if (state_ == State::fatal) return fatal_;
    if (!transactional()) return Status::ok();
    BROOK_RETURN_IF_ERROR(require_in_transaction_locked("produce"));
    if (partitions_.contains(partition)) return Status::ok();
    BROOK_RETURN_IF_ERROR(fatal_if_fenced_locked(
        store_.transactions().add_partition(*config_.transactional_id, producer_, partition)));
    partitions_.insert(partition);
    return Status::ok();
}

Status ProducerSession::init_transactions() {
    BROOK_RETURN_IF_ERROR(check_transactional("init_transactions"));
    std::lock_guard txn(txn_mu_);
    {
        std::lock_guard lock(mu_);
        if (state_ != State::uninitialized) {
            return Status::invalid_txn_state(
                "init_transactions: already called; it is called once per producer");
        }
    }
    BROOK_ASSIGN_OR_RETURN(const ProducerIdAndEpoch producer,
                           store_.transactions().init_producer(*config_.transactional_id,
                                                               config_.transaction_timeout_ms));
    std::lock_guard lock(mu_);
    producer_ = producer;
    next_sequence_.clear();
    state_ = State::ready;
    return Status::ok();
}

Status ProducerSession::begin_transaction() {
    BROOK_RETURN_IF_ERROR(check_transactional("begin_transaction"));
    std::lock_guard txn(txn_mu_);
    std::lock_guard lock(mu_);
    switch (state_) {
        case State::ready:
            state_ = State::in_transaction;
            abortable_ = Status::ok();
            return Status::ok();
        case State::uninitialized:
            return Status::invalid_txn_state("begin_transaction: call init_transactions() first");
        case State::in_transaction:
            return Status::invalid_txn_state(
                "begin_transaction: a transaction is already in progress; commit or abort it");
        case State::fatal: break;
    }
    return fatal_;
}

Status ProducerSession::send_offsets(const std::vector<TopicPartitionOffset>& offsets,
                                     const std::string& group_id, const std::string& member_id,
                                     std::int32_t generation) {
    BROOK_RETURN_IF_ERROR(check_transactional("send_offsets_to_transaction"));
    std::lock_guard txn(txn_mu_);
    {
        std::lock_guard lock(mu_);
        BROOK_RETURN_IF_ERROR(require_in_transaction_locked("send_offsets_to_transaction"));
    }
    for (const auto& o : offsets) {
        if (o.offset < Offset(0)) {
            return Status::invalid_argument(fmt::format(
                "send_offsets_to_transaction: offset {} of {}/{} is negative; send the next "
                "offset to read",
                o.offset.value(), o.topic, o.partition.value()));
        }
    }
    // As Kafka's TxnOffsetCommit: the group refuses offsets from a member it no longer has.
    BROOK_ASSIGN_OR_RETURN(auto group, store_.groups().get(group_id));
    BROOK_RETURN_IF_ERROR(group->check_commit(member_id, generation, offsets, store_.now_ms()));
    std::lock_guard lock(mu_);
    BROOK_RETURN_IF_ERROR(fatal_if_fenced_locked(store_.transactions().add_offsets(
        *config_.transactional_id, producer_, group_id, offsets)));
    has_offsets_ = true;
    return Status::ok();
}

Status ProducerSession::end_transaction(const Flush& flush, bool commit) {
    const std::string_view op = commit ? "commit_transaction" : "abort_transaction";
    BROOK_RETURN_IF_ERROR(check_transactional(op));
    std::lock_guard txn(txn_mu_);
    {
        std::lock_guard lock(mu_);
        BROOK_RETURN_IF_ERROR(require_in_transaction_locked(op));
    }
    // Queued records are appended first: a commit covers them, and an abort marker follows
    // every one of them.
    BROOK_RETURN_IF_ERROR(flush());
    std::lock_guard lock(mu_);
    if (state_ == State::fatal) return fatal_;
    if (commit && !abortable_.is_ok()) {
        return Status::invalid_txn_state(
            fmt::format("commit_transaction: a record of this transaction failed ({}); call "
                        "abort_transaction()",
                        abortable_.to_string()));
    }
    if (!partitions_.empty() || has_offsets_) {
        BROOK_RETURN_IF_ERROR(fatal_if_fenced_locked(
            store_.transactions().end_transaction(*config_.transactional_id, producer_, commit)));
    }
    state_ = State::ready;
    partitions_.clear();
    has_offsets_ = false;
    abortable_ = Status::ok();
    return Status::ok();
}

Status ProducerSession::fatal_if_fenced_locked(Status status) {
    if (status.code() == Code::fenced && state_ != State::fatal) {
        state_ = State::fatal;
        fatal_ = status;
        fatal_seen_.store(true, std::memory_order_release);
    }
    return status;
}

}  // namespace brook::txn
