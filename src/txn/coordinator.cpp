#include "txn/coordinator.hpp"

#include <fmt/format.h>

#include <limits>

#include "txn/markers.hpp"
#include "txn/txn_format.hpp"

namespace brook::txn {
namespace {

// Kafka's transaction.max.timeout.ms default: the longest transaction.timeout.ms accepted.
constexpr std::int32_t kMaxTimeoutMs = 900'000;
constexpr std::int16_t kLastEpoch = std::numeric_limits<std::int16_t>::max();

}  // namespace

Coordinator::Coordinator(StoreView& store) : store_(store), ids_(store.meta()) {}

std::shared_ptr<Coordinator::Entry> Coordinator::entry(std::string_view transactional_id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(transactional_id);
    if (it == entries_.end()) {
        it = entries_.emplace(std::string(transactional_id), std::make_shared<Entry>()).first;
    }
    return it->second;
}

Status Coordinator::recover() {
    BROOK_ASSIGN_OR_RETURN(const auto stored,
                           store_.meta().scan(format::kTxnSpace, record_key("")));
    for (const auto& [key, value] : stored) {
        const std::string id(id_of_key(key));
        if (id.empty()) continue;
        BROOK_ASSIGN_OR_RETURN(TxnRecord record, decode_record(id, value));
        auto e = entry(id);
        std::lock_guard lock(e->mu);
        e->record = std::move(record);
        e->exists = true;
        if (e->record.state == TxnState::ongoing) e->record.state = TxnState::prepare_abort;
        if (e->record.state != TxnState::empty) BROOK_RETURN_IF_ERROR(complete(*e, id));
    }
    // Whatever is still open in a log belonged to a producer that is gone.
    return abort_open_transactions(store_);
}

Result<ProducerIdAndEpoch> Coordinator::new_producer_id() {
    BROOK_ASSIGN_OR_RETURN(const std::int64_t id, ids_.allocate());
    return ProducerIdAndEpoch{id, 0};
}

Status Coordinator::abort_with_new_epoch(Entry& e, std::string_view transactional_id) {
    TxnRecord decided = e.record;
    ++decided.producer_epoch;
    decided.state = TxnState::prepare_abort;
    BROOK_RETURN_IF_ERROR(persist(transactional_id, decided));
    e.record = std::move(decided);
    return complete(e, transactional_id);
}

Result<ProducerIdAndEpoch> Coordinator::init_producer(std::string_view transactional_id,
                                                      std::int32_t timeout_ms) {
    BROOK_RETURN_IF_ERROR(validate_transactional_id(transactional_id));
    if (timeout_ms < 1 || timeout_ms > kMaxTimeoutMs) {
        return Status::invalid_argument(
            fmt::format("transaction.timeout.ms = {} is out of range: it must be 1 to {} "
                        "(transaction.max.timeout.ms)",
                        timeout_ms, kMaxTimeoutMs));
    }
    auto e = entry(transactional_id);
    std::lock_guard lock(e->mu);
    // An ongoing transaction of the older producer is aborted under a new epoch, which fences
    // that producer on every partition it touched; a decided outcome is completed as decided.
    if (e->record.state == TxnState::ongoing) {
        BROOK_RETURN_IF_ERROR(abort_with_new_epoch(*e, transactional_id));
    } else if (e->record.state != TxnState::empty) {
        BROOK_RETURN_IF_ERROR(complete(*e, transactional_id));
    }
    TxnRecord next = e->record;
    next.timeout_ms = timeout_ms;
    if (!e->exists || next.producer_epoch >= kLastEpoch - 1) {
        // As Kafka does when the epoch is exhausted: a new producer id at epoch 0. A producer
        // holding the old id is fenced because its id no longer matches.
        BROOK_ASSIGN_OR_RETURN(next.producer_id, ids_.allocate());
        next.producer_epoch = 0;
    } else {
        ++next.producer_epoch;
    }
    BROOK_RETURN_IF_ERROR(persist(transactional_id, next));
    e->record = std::move(next);
    e->exists = true;
    return ProducerIdAndEpoch{e->record.producer_id, e->record.producer_epoch};
}

Status Coordinator::check_producer(const Entry& e, std::string_view transactional_id,
                                   ProducerIdAndEpoch producer) {
    if (e.exists && e.record.producer_id == producer.id &&
        e.record.producer_epoch == producer.epoch) {
        return Status::ok();
    }
    return Status::fenced(fmt::format(
        "transactional.id '{}': this producer (id {}, epoch {}) was fenced by a newer producer "
        "with the same transactional.id, or its transaction timed out (now id {}, epoch {}); "
        "close it and create a new producer",
        transactional_id, producer.id, producer.epoch, e.record.producer_id,
        e.record.producer_epoch));
}

Status Coordinator::start_if_empty(Entry& e, std::string_view transactional_id) {
    switch (e.record.state) {
        case TxnState::empty:
            e.record.state = TxnState::ongoing;
            e.record.start_ms = store_.now_ms();
            return Status::ok();
        case TxnState::ongoing: return Status::ok();
        case TxnState::prepare_commit:
        case TxnState::prepare_abort: break;
    }
    return Status::invalid_txn_state(fmt::format(
        "transactional.id '{}': the transaction is being completed ({}); finish it with "
        "commit_transaction or abort_transaction first",
        transactional_id, state_name(e.record.state)));
}

Status Coordinator::add_partition(std::string_view transactional_id, ProducerIdAndEpoch producer,
                                  const TopicPartition& partition) {
    auto e = entry(transactional_id);
    std::lock_guard lock(e->mu);
    BROOK_RETURN_IF_ERROR(check_producer(*e, transactional_id, producer));
    BROOK_RETURN_IF_ERROR(start_if_empty(*e, transactional_id));
    e->record.partitions.insert(partition);
    return Status::ok();
}

Status Coordinator::add_offsets(std::string_view transactional_id, ProducerIdAndEpoch producer,
                                const std::string& group_id,
                                const std::vector<TopicPartitionOffset>& offsets) {
    auto e = entry(transactional_id);
    std::lock_guard lock(e->mu);
    BROOK_RETURN_IF_ERROR(check_producer(*e, transactional_id, producer));
    BROOK_RETURN_IF_ERROR(start_if_empty(*e, transactional_id));
    auto& pending = e->record.pending_offsets[group_id];
    for (const auto& o : offsets) pending[{o.topic, o.partition}] = o.offset;
    return Status::ok();
}

Status Coordinator::end_transaction(std::string_view transactional_id, ProducerIdAndEpoch producer,
                                    bool commit) {
    auto e = entry(transactional_id);
    std::lock_guard lock(e->mu);
    BROOK_RETURN_IF_ERROR(check_producer(*e, transactional_id, producer));
    const TxnState wanted = commit ? TxnState::prepare_commit : TxnState::prepare_abort;
    switch (e->record.state) {
        case TxnState::empty:
            return Status::invalid_txn_state(fmt::format(
                "transactional.id '{}': no transaction is in progress", transactional_id));
        case TxnState::ongoing:
            if (commit) BROOK_RETURN_IF_ERROR(sync_partitions(e->record));
            return decide_and_complete(*e, transactional_id, wanted);
        case TxnState::prepare_commit:
        case TxnState::prepare_abort: break;
    }
    if (e->record.state != wanted) {
        return Status::invalid_txn_state(fmt::format(
            "transactional.id '{}': the transaction is already decided ({}); it cannot be {}",
            transactional_id, state_name(e->record.state), commit ? "committed" : "aborted"));
    }
    return complete(*e, transactional_id);  // a retry after a failed completion
}

Status Coordinator::decide_and_complete(Entry& e, std::string_view transactional_id,
                                        TxnState next) {
    TxnRecord decided = e.record;
    decided.state = next;
    BROOK_RETURN_IF_ERROR(persist(transactional_id, decided));
    e.record = std::move(decided);
    return complete(e, transactional_id);
}

Status Coordinator::complete(Entry& e, std::string_view transactional_id) {
    const bool commit = e.record.state == TxnState::prepare_commit;
    BROOK_RETURN_IF_ERROR(write_markers(store_, e.record, commit));
    if (commit) {
        const std::int64_t now = store_.now_ms();
        for (const auto& [group_id, offsets] : e.record.pending_offsets) {
            std::vector<TopicPartitionOffset> list;
            for (const auto& [tp, offset] : offsets)
                list.push_back({tp.topic, tp.partition, offset});
            BROOK_RETURN_IF_ERROR(store_.groups().with_offsets(
                [&](group::OffsetTable& table) { return table.commit(group_id, list, now); }));
        }
    }
    TxnRecord done = e.record;
    done.state = TxnState::empty;
    done.start_ms = -1;
    done.partitions.clear();
    done.pending_offsets.clear();
    BROOK_RETURN_IF_ERROR(persist(transactional_id, done));
    e.record = std::move(done);
    return Status::ok();
}

Status Coordinator::sync_partitions(const TxnRecord& record) {
    for (const TopicPartition& tp : record.partitions) {
        auto log = store_.partition_log(tp);
        if (log.code() == Code::not_found) continue;  // deleted: nothing to commit there
        BROOK_RETURN_IF_ERROR(log.status());
        BROOK_RETURN_IF_ERROR((*log)->sync_to((*log)->log_end_offset()));
    }
    return Status::ok();
}

Status Coordinator::persist(std::string_view transactional_id, const TxnRecord& record) {
    return store_.meta().put(format::kTxnSpace, record_key(transactional_id),
                             encode_record(record));
}

Status Coordinator::expire() {
    std::vector<std::pair<std::string, std::shared_ptr<Entry>>> all;
    {
        std::lock_guard lock(mu_);
        for (const auto& [id, e] : entries_) all.emplace_back(id, e);
    }
    Status first;
    const std::int64_t now = store_.now_ms();
    for (const auto& [id, e] : all) {
        std::lock_guard lock(e->mu);
        if (e->record.state != TxnState::ongoing ||
            now - e->record.start_ms < e->record.timeout_ms) {
            continue;
        }
        // Abort under a new epoch: the markers fence the stale producer in every partition it
        // wrote, and the coordinator refuses its later calls.
        if (Status expired = abort_with_new_epoch(*e, id); !expired.is_ok() && first.is_ok()) {
            first = expired;
        }
    }
    return first;
}

std::optional<TxnRecord> Coordinator::describe(std::string_view transactional_id) {
    auto e = entry(transactional_id);
    std::lock_guard lock(e->mu);
    if (!e->exists) return std::nullopt;
    return e->record;
}

}  // namespace brook::txn
