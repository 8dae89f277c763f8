#include "log/producer_state.hpp"

#include <fmt/format.h>

#include <limits>

#include "log/format.hpp"

namespace brook::log {

std::int32_t next_sequence(std::int32_t sequence) noexcept {
    return add_sequence(sequence, 1);
}

std::int32_t add_sequence(std::int32_t sequence, std::uint32_t delta) noexcept {
    constexpr std::int64_t kModulus = std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1;
    return static_cast<std::int32_t>((std::int64_t{sequence} + delta) % kModulus);
}

Result<ProducerStateTable::Verdict> ProducerStateTable::check(const BatchHeader& header,
                                                              const std::string& partition) const {
    const std::int64_t pid = header.producer_id;
    const bool control = header.is_control();
    if (header.producer_epoch < 0 || (!control && header.base_sequence < 0)) {
        return Status::invalid_argument(fmt::format(
            "a batch of producer {} for {} has epoch {} and base sequence {}; an idempotent "
            "batch needs both >= 0",
            pid, partition, header.producer_epoch, header.base_sequence));
    }
    const auto found = producers_.find(pid);
    if (found == producers_.end()) return Verdict{};
    const ProducerEntry& entry = found->second;
    if (header.producer_epoch < entry.epoch) {
        return Status::fenced(fmt::format(
            "producer {} with epoch {} is fenced in {}: epoch {} has replaced it; close this "
            "producer, a newer instance owns its transactional.id",
            pid, header.producer_epoch, partition, entry.epoch));
    }
    if (control) return Verdict{};
    if (!header.is_transactional() && entry.transaction_first_offset) {
        return Status::invalid_txn_state(fmt::format(
            "producer {} wrote a non-transactional batch to {} while its transaction from offset "
            "{} is open; commit or abort it first",
            pid, partition, entry.transaction_first_offset->value()));
    }
    const std::int32_t first = header.base_sequence;
    const std::int32_t last = add_sequence(first, header.last_offset_delta);
    std::int32_t expected = 0;
    if (header.producer_epoch == entry.epoch) {
        for (const BatchMetadata& batch : entry.batches) {
            if (batch.first_sequence == first && batch.last_sequence == last) {
                return Verdict{batch};
            }
        }
        if (entry.last_sequence() >= 0) expected = next_sequence(entry.last_sequence());
    }
    if (first != expected) {
        return Status::out_of_order_sequence(fmt::format(
            "out of order sequence for producer {} (epoch {}) in {}: expected sequence {}, "
            "received {}{}",
            pid, header.producer_epoch, partition, expected, first,
            header.producer_epoch == entry.epoch ? "" : " (a new epoch starts at sequence 0)"));
    }
    return Verdict{};
}

std::optional<AbortedTransaction> ProducerStateTable::apply(
    const BatchHeader& header, const std::optional<ControlMarker>& marker) {
    const std::int64_t pid = header.producer_id;
    if (pid < 0) return std::nullopt;
    auto [it, fresh] = producers_.try_emplace(pid);
    ProducerEntry& entry = it->second;
    if (fresh) {
        entry.producer_id = pid;
        entry.epoch = header.producer_epoch;
    } else if (header.producer_epoch > entry.epoch) {
        entry.epoch = header.producer_epoch;
        entry.batches.clear();
    }
    entry.last_timestamp = header.max_timestamp;
    if (header.is_control()) {
        if (!entry.transaction_first_offset) return std::nullopt;
        const Offset first = *entry.transaction_first_offset;
        ongoing_.erase(first);
        entry.transaction_first_offset.reset();
        if (!marker || marker->type != ControlType::abort) return std::nullopt;
        return AbortedTransaction{pid, first, header.last_offset(), Offset(0)};
    }
    if (header.base_sequence >= 0) {
        entry.batches.push_back({header.base_sequence,
                                 add_sequence(header.base_sequence, header.last_offset_delta),
                                 header.base_offset, header.last_offset()});
        if (entry.batches.size() > format::kProducerBatchesKept) {
            entry.batches.erase(entry.batches.begin(),
                                entry.batches.end() - format::kProducerBatchesKept);
        }
    }
    if (header.is_transactional() && !entry.transaction_first_offset) {
        entry.transaction_first_offset = header.base_offset;
        ongoing_.emplace(header.base_offset, pid);
    }
    return std::nullopt;
}

std::optional<Offset> ProducerStateTable::first_unstable_offset() const {
    if (ongoing_.empty()) return std::nullopt;
    return ongoing_.begin()->first;
}

std::vector<OpenTransaction> ProducerStateTable::open_transactions() const {
    std::vector<OpenTransaction> out;
    out.reserve(ongoing_.size());
    for (const auto& [first, pid] : ongoing_) {
        out.push_back({pid, producers_.at(pid).epoch, first});
    }
    return out;
}

std::optional<ProducerEntry> ProducerStateTable::get(std::int64_t producer_id) const {
    const auto found = producers_.find(producer_id);
    if (found == producers_.end()) return std::nullopt;
    return found->second;
}

std::size_t ProducerStateTable::expire(std::int64_t cutoff_ms) {
    return std::erase_if(producers_, [&](const auto& item) {
        return !item.second.transaction_first_offset && item.second.last_timestamp < cutoff_ms;
    });
}

void ProducerStateTable::assign(std::map<std::int64_t, ProducerEntry> producers) {
    producers_ = std::move(producers);
    ongoing_.clear();
    for (const auto& [pid, entry] : producers_) {
        if (entry.transaction_first_offset) ongoing_.emplace(*entry.transaction_first_offset, pid);
    }
}

}  // namespace brook::log
