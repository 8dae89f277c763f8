#include "client/record_accumulator.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "log/format.hpp"

namespace brook::client {

RecordAccumulator::RecordAccumulator(std::chrono::milliseconds linger, std::size_t batch_size,
                                     std::size_t buffer_memory, SealHook on_seal)
    : linger_(linger),
      batch_size_(batch_size),
      on_seal_(std::move(on_seal)),
      memory_(buffer_memory) {
    assert(batch_size <= buffer_memory);
}

RecordAccumulator::Slot& RecordAccumulator::slot(const std::string& topic, PartitionId partition,
                                                 const BatchTarget& target) {
    if (has_last_slot_) {
        Slot& last = last_slot_->second;
        // The open batch holds its PartitionState, so the same one means the same partition
        // of the same topic: no name to compare.
        if (last.open && last.open->partition == *target.partition) return last;
        if (last_slot_->first.partition == partition && last_slot_->first.topic == topic) {
            return last;
        }
    }
    const auto found = slots_.try_emplace(TopicPartition{topic, partition}).first;
    // drain() keeps the slot found last when it goes idle (so that a producer writing one
    // record at a time to a partition does not create and erase its slot for each); forget
    // it now that another one is the last.
    if (has_last_slot_ && idle(last_slot_->second)) slots_.erase(last_slot_);
    last_slot_ = found;
    has_last_slot_ = true;
    return last_slot_->second;
}

void RecordAccumulator::seal(Slot& slot) {
    Batch& batch = *slot.open;
    memory_.resize(batch.share, batch.records.buffer_bytes());
    batch.share = batch.records.buffer_bytes();
    on_seal_(batch);
    slot.sealed.push_back(std::move(*slot.open));
    slot.open.reset();
}

Batch& RecordAccumulator::open_batch(Slot& slot, const BatchTarget& target, bool* wake_sender) {
    // A topic deleted and created again under the same name has new PartitionStates; records
    // for the new one must not join a batch bound for the old one.
    if (slot.open && slot.open->partition != *target.partition) seal(slot);
    if (!slot.open) {
        Batch& batch = slot.open.emplace();
        if (!spare_buffers_.empty()) {
            batch.records = log::BatchBuilder(std::move(spare_buffers_.back()));
            spare_buffers_.pop_back();
        }
        batch.partition = *target.partition;
        batch.partition_count = target.partition_count;
        batch.compression = target.compression;
        batch.created = std::chrono::steady_clock::now();
        batch.share = batch_size_;
        memory_.take(batch.share);
        // The sender is awake, or will wake before this batch is due: no need to signal it.
        // Otherwise the caller signals it once mu_ is released, so it does not wake only to
        // block on mu_.
        const TimePoint due = flushes_ > 0 ? batch.created : batch.created + linger_;
        if (wake_sender && due < sleeping_until_) {
            *wake_sender = true;
            sleeping_until_ = TimePoint::min();  // one signal is enough
        }
    }
    return *slot.open;
}

void RecordAccumulator::seal_if_record_overflows(Slot& slot, const BatchTarget& target,
                                                 const RecordToAdd& record) {
    if (!slot.open || slot.open->partition != *target.partition) return;
    const std::size_t after =
        slot.open->records.size_bytes() + record.fields + log::BatchBuilder::kMaxRecordOverhead;
    if (after > target.max_batch_bytes) seal(slot);
}

std::size_t RecordAccumulator::room_missing(const std::string& topic, PartitionId partition,
                                            const BatchTarget& target, std::size_t fields,
                                            bool may_join_open) {
    const std::size_t share = std::max(batch_size_, log::format::kBatchHeaderSize + fields +
                                                        log::BatchBuilder::kMaxRecordOverhead);
    if (memory_.has_room(share)) [[likely]]
        return 0;
    // No room for a new batch, but the record may still fit in the partition's open one.
    if (may_join_open) {
        const auto found = slots_.find(TopicPartition{topic, partition});
        if (found != slots_.end() && found->second.open &&
            found->second.open->partition == *target.partition &&
            found->second.open->records.size_bytes() + fields +
                    log::BatchBuilder::kMaxRecordOverhead <=
                target.max_batch_bytes) {
            return 0;
        }
    }
    return share;
}

bool RecordAccumulator::wait_for_room(Lock& lock, std::size_t bytes,
                                      std::chrono::steady_clock::time_point deadline) {
    assert(lock.mutex() == &mu_ && lock.owns_lock());
    if (sleeping_until_ != TimePoint::min()) {
        sleeping_until_ = TimePoint::min();
        due_cv_.notify_one();
    }
    return memory_.wait_for_room(lock, bytes, deadline);
}

std::optional<TopicPartition> RecordAccumulator::add(Lock lock, const std::string& topic,
                                                     PartitionId partition,
                                                     const BatchTarget& target,
                                                     const RecordToAdd& record, ReportSink&& sink) {
    assert(lock.mutex() == &mu_ && lock.owns_lock());
    Slot& slot = this->slot(topic, partition, target);
    const std::size_t sealed_before = slot.sealed.size();
    seal_if_record_overflows(slot, target, record);
    bool wake_sender = false;
    Batch& batch = open_batch(slot, target, &wake_sender);
    encode(batch, record, std::move(sink));
    if (batch.records.size_bytes() - log::format::kBatchHeaderSize >= batch_size_) seal(slot);
    std::optional<TopicPartition> to_drain;
    if (slot.sealed.size() != sealed_before) to_drain.emplace(topic, partition);
    lock.unlock();
    if (wake_sender) due_cv_.notify_one();
    return to_drain;
}

RecordAccumulator::AllAdded RecordAccumulator::add_all(
    [[maybe_unused]] Lock& lock, const std::string& topic, PartitionId partition,
    const BatchTarget& target, const RecordsToAdd& add, const DeliveryCallback& callback,
    bool seal_now) {
    assert(lock.mutex() == &mu_ && lock.owns_lock());
    Slot& slot = this->slot(topic, partition, target);
    const std::size_t sealed_before = slot.sealed.size();
    AllAdded result;
    Batch* taken = nullptr;   // the batch the records went into, if any
    std::uint32_t first = 0;  // the index of the first of them in it
    // Into the open batch if they fit beside its records: encoded there, and taken out again
    // if they take it past the limit (no pass over the records to size them first).
    if (slot.open && slot.open->partition == *target.partition) {
        Batch& open = *slot.open;
        const log::BatchBuilder::Mark mark = open.records.mark();
        if (encode_all(open, add, target.max_batch_bytes) == 0) {
            taken = &open;
            first = mark.count;
        } else {
            open.records.rollback(mark);
            seal(slot);
        }
    }
    if (taken == nullptr) {
        Batch& batch = open_batch(slot, target, seal_now ? nullptr : &result.wake_sender);
        result.refused_bytes = encode_all(batch, add, target.max_batch_bytes);
        if (result.refused_bytes == 0) {
            taken = &batch;
        } else {
            // Too large even alone: nothing is queued. The batch holds nothing else.
            memory_.give_back(batch.share);
            slot.open.reset();
        }
    }
    if (taken != nullptr) {
        if (callback) add_reports(*taken, add, first, callback);
        if (seal_now ||
            taken->records.size_bytes() - log::format::kBatchHeaderSize >= batch_size_) {
            seal(slot);
        }
    }
    if (slot.sealed.size() != sealed_before) result.to_drain.emplace(topic, partition);
    return result;
}

std::size_t RecordAccumulator::encode_all(Batch& batch, const RecordsToAdd& add,
                                          std::size_t limit) {
    log::BatchBuilder& records = batch.records;
    auto index = static_cast<std::int32_t>(records.record_count());
    constexpr std::span<const Header> kNone;
    for (const BatchRecord& r : add.records) {
        const std::int64_t timestamp = r.timestamp.value_or(add.timestamp);
        // A record whose fields alone take the batch past `limit` is not encoded: a call of
        // any size or count never makes the batch grow much beyond it, nor its offset deltas
        // overflow.
        if (r.key && r.value && r.headers.empty()) [[likely]] {
            // Most records have a key and a value and no headers: the encoder's null checks
            // and header loop drop out.
            const log::BatchBuilder::Bytes key(*r.key);
            const log::BatchBuilder::Bytes value(*r.value);
            const std::size_t fields = log::BatchBuilder::fields_size(key, value, kNone);
            if (records.size_bytes() + fields > limit) return records.size_bytes() + fields;
            records.add(key, value, kNone, timestamp, index, fields);
        } else {
            const std::size_t fields = log::BatchBuilder::fields_size(r.key, r.value, r.headers);
            if (records.size_bytes() + fields > limit) return records.size_bytes() + fields;
            records.add(r.key, r.value, r.headers, timestamp, index, fields);
        }
        ++index;
    }
    return records.size_bytes() > limit ? records.size_bytes() : 0;
}

void RecordAccumulator::add_reports(Batch& batch, const RecordsToAdd& add, std::uint32_t first,
                                    const DeliveryCallback& callback) {
    for (std::size_t i = 0; i < add.records.size(); ++i) {
        const BatchRecord& r = add.records[i];
        batch.reports.push_back({first + static_cast<std::uint32_t>(i),
                                 r.timestamp ? *r.timestamp : add.timestamp,
                                 ReportSink{callback, nullptr}});
    }
}

void RecordAccumulator::wake_sender() {
    due_cv_.notify_one();
}

TopicPartition RecordAccumulator::add_alone([[maybe_unused]] Lock lock, const std::string& topic,
                                            PartitionId partition, const BatchTarget& target,
                                            const RecordToAdd& record, ReportSink&& sink) {
    assert(lock.mutex() == &mu_ && lock.owns_lock());
    Slot& slot = this->slot(topic, partition, target);
    if (slot.open) seal(slot);
    // Sealed at once and drained by the caller: the sender thread has nothing to wait for.
    encode(open_batch(slot, target, nullptr), record, std::move(sink));
    seal(slot);
    return TopicPartition{topic, partition};
}

TopicPartition RecordAccumulator::add_and_seal([[maybe_unused]] Lock lock, const std::string& topic,
                                               PartitionId partition, const BatchTarget& target,
                                               const RecordToAdd& record, ReportSink&& sink) {
    assert(lock.mutex() == &mu_ && lock.owns_lock());
    Slot& slot = this->slot(topic, partition, target);
    seal_if_record_overflows(slot, target, record);
    encode(open_batch(slot, target, nullptr), record, std::move(sink));
    seal(slot);
    return {topic, partition};
}

std::vector<TopicPartition> RecordAccumulator::seal_all() {
    std::lock_guard lock(mu_);
    std::vector<TopicPartition> keys;
    for (auto& [key, slot] : slots_) {
        if (slot.open) seal(slot);
        if (!slot.sealed.empty()) keys.push_back(key);
    }
    return keys;
}

void RecordAccumulator::begin_flush() {
    std::lock_guard lock(mu_);
    ++flushes_;
}

void RecordAccumulator::end_flush() {
    std::lock_guard lock(mu_);
    --flushes_;
}

std::vector<TopicPartition> RecordAccumulator::wait_for_due() {
    std::unique_lock lock(mu_);
    // Finding no open batch, the sender first sleeps for one linger.ms before it sleeps until
    // woken. A producer that opens batch after batch (and has each sealed by flush() or
    // batch.size well before linger.ms) then finds the sender due to wake before the new batch
    // is due, so opening it wakes nobody; waking the sender for every batch cost a futex call
    // and a context switch each.
    bool found_none = false;
    while (!stopped_) {
        std::optional<std::chrono::steady_clock::time_point> oldest;
        for (const auto& [key, slot] : slots_) {
            if (slot.open && (!oldest || slot.open->created < *oldest)) {
                oldest = slot.open->created;
            }
        }
        const auto now = std::chrono::steady_clock::now();
        if (!oldest) {
            if (linger_.count() > 0 && !found_none) {
                found_none = true;
                sleeping_until_ = now + linger_;
                // A copy: wait_until() reads the time with mu_ released, while others may
                // reset sleeping_until_.
                const TimePoint until = sleeping_until_;
                due_cv_.wait_until(lock, until);
            } else {
                sleeping_until_ = TimePoint::max();
                due_cv_.wait(lock);
                found_none = false;
            }
            sleeping_until_ = TimePoint::min();
            continue;
        }
        found_none = false;
        // A produce() call waiting for buffer.memory, or a flush, makes every open batch due
        // at once.
        const bool all_due = memory_.waiters() > 0 || flushes_ > 0;
        if (!all_due && now < *oldest + linger_) {
            sleeping_until_ = *oldest + linger_;
            const TimePoint until = sleeping_until_;
            due_cv_.wait_until(lock, until);
            sleeping_until_ = TimePoint::min();
            continue;
        }
        std::vector<TopicPartition> keys;
        for (auto& [key, slot] : slots_) {
            if (slot.open && (all_due || slot.open->created + linger_ <= now)) {
                seal(slot);
                keys.push_back(key);
            }
        }
        return keys;
    }
    return {};
}

void RecordAccumulator::stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    due_cv_.notify_all();
}

void RecordAccumulator::recycle(std::vector<std::byte> buffer) {
    // A few buffers of at most about batch.size: enough for the batches in flight at once.
    constexpr std::size_t kSpareBuffers = 4;
    if (buffer.size() > batch_size_ + batch_size_ / 2 + 4096) return;
    std::lock_guard lock(mu_);
    if (spare_buffers_.size() < kSpareBuffers) spare_buffers_.push_back(std::move(buffer));
}

void DrainedShares::give_back() {
    std::lock_guard lock(accumulator_.mu_);
    accumulator_.memory_.give_back(bytes_);
    bytes_ = 0;
}

void RecordAccumulator::drain(const TopicPartition& key, const SendFn& send) {
    std::unique_lock lock(mu_);
    const auto it = slots_.find(key);
    if (it == slots_.end() || it->second.draining) return;
    // The slot cannot be erased while `draining` is set, so the reference outlives the unlocks.
    Slot& slot = it->second;
    slot.draining = true;
    std::vector<Batch> batches;
    std::vector<std::function<void()>> after_release;
    while (!slot.sealed.empty()) {
        std::size_t shares = 0;
        for (const Batch& batch : slot.sealed) shares += batch.share;
        batches.assign(std::make_move_iterator(slot.sealed.begin()),
                       std::make_move_iterator(slot.sealed.end()));
        slot.sealed.clear();
        lock.unlock();
        DrainedShares drained(*this, shares);
        if (auto rest = send(batches, drained)) after_release.push_back(std::move(rest));
        lock.lock();
        memory_.give_back(drained.bytes_);
    }
    slot.draining = false;
    // Forget idle partitions so a long-lived producer does not keep every partition it ever
    // wrote to (or every deleted topic) in its map; the one found last stays until slot()
    // finds another.
    if (idle(slot) && !(has_last_slot_ && last_slot_ == it)) slots_.erase(it);
    lock.unlock();
    for (const auto& rest : after_release) rest();
}

}  // namespace brook::client
