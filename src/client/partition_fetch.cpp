#include "client/partition_fetch.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace brook::client {

std::string name_of(const TopicPartition& tp) {
    return fmt::format("{}/{}", tp.topic, tp.partition.value());
}

PartitionFetch::PartitionFetch(const ConsumerConfig& config)
    : config_(config),
      fetch_pool_(std::make_shared<FetchPool>(
          2 * std::max<std::size_t>(static_cast<std::size_t>(config.max_partition_fetch_bytes),
                                    std::size_t{1} << 16))) {}

Offset PartitionFetch::end_offset(const detail::PartitionState& state) const {
    return config_.isolation == IsolationLevel::read_committed ? state.log->last_stable_offset()
                                                               : state.log->log_end_offset();
}

log::Isolation PartitionFetch::isolation() const {
    return config_.isolation == IsolationLevel::read_committed ? log::Isolation::read_committed
                                                               : log::Isolation::read_uncommitted;
}

Result<Offset> PartitionFetch::resolve_start(const AssignedPartition& p, Offset offset) const {
    if (offset == kOffsetBeginning) return p.state->log->log_start_offset();
    if (offset == kOffsetEnd) return end_offset(*p.state);
    if (offset == kOffsetInvalid || offset >= Offset(0)) return offset;
    return Status::invalid_argument(
        fmt::format("{}: offset {} is neither an offset nor kOffsetBeginning, kOffsetEnd or "
                    "kOffsetInvalid",
                    name_of(p.tp), offset.value()));
}

bool PartitionFetch::take(AssignedPartition& p, std::vector<Message>& out, std::size_t max) {
    const std::size_t before = out.size();
    while (out.size() < max) {
        if (p.buffered.empty()) {
            if (auto error = fill(p)) {
                out.push_back(std::move(*error));
                return true;
            }
            if (p.buffered.empty()) break;
        }
        // Room for as much of the read as is asked for, so that its batches are decoded into
        // `out` without moving it.
        const std::size_t had = out.size();
        const std::size_t wanted = std::min(max, had + p.buffered.remaining_at_most());
        if (out.capacity() < wanted) {
            out.reserve(std::min(max, std::max(wanted, 2 * out.capacity())));
        }
        const Status emitted = p.buffered.emit(max - had, out);
        if (out.size() > had) {
            p.position = out.back().offset() + 1;
        } else if (emitted.is_ok() && p.buffered.empty()) {
            // Nothing at or after the position in the rest of the read (control batches,
            // aborted transactions, compaction's gaps): move past it.
            p.position = p.buffered.end_offset();
        }
        if (!emitted.is_ok()) {
            p.errored = true;
            out.push_back(Message::from_error(emitted, p.tp.topic, p.tp.partition));
            return true;
        }
    }
    return out.size() > before;
}

std::optional<Message> PartitionFetch::fill(AssignedPartition& p) {
    if (Status live = p.state->check_live(); !live) {
        p.deleted = true;
        return Message::from_error(std::move(live), p.tp.topic, p.tp.partition);
    }
    // A reset moves the position to the log start or end and reads again.
    for (;;) {
        if (p.position == kOffsetInvalid) {
            if (auto error = reset(p, "the partition has no position")) return error;
        }
        p.buffered.clear();
        FetchedBytesRef fetched = take_ahead(p);
        if (!fetched) {
            fetched = fetch_pool_->take(p.tp.topic);
            if (Status read = p.state->log->read_raw_into(
                    p.position, static_cast<std::size_t>(config_.max_partition_fetch_bytes),
                    isolation(), fetched->raw);
                !read) {
                if (read.code() != Code::offset_out_of_range) {
                    p.errored = true;
                    return Message::from_error(std::move(read), p.tp.topic, p.tp.partition);
                }
                if (auto error = reset(p, read.message())) return error;
                continue;
            }
        }
        if (!fetched->raw.headers.empty()) {
            const bool sequential = p.position == p.last_read_end;
            const std::size_t read_bytes = fetched->raw.batches().size();
            p.buffered.reset(std::move(fetched), p.tp.partition, p.position);
            p.last_read_end = p.buffered.end_offset();
            if (sequential) read_ahead(p, read_bytes);
        }
        return std::nullopt;
    }
}

FetchedBytesRef PartitionFetch::take_ahead(AssignedPartition& p) {
    if (!p.ahead) return {};
    if (p.ahead.from() != p.position) {
        p.ahead = AheadRead();
        return {};
    }
    return read_ahead_.take(p.ahead);
}

void PartitionFetch::read_ahead(AssignedPartition& p, std::size_t read_bytes) {
    const auto max_bytes = static_cast<std::size_t>(config_.max_partition_fetch_bytes);
    if (!config_.read_ahead || read_bytes < max_bytes / 2) return;
    const Offset from = p.buffered.end_offset();
    if (from >= end_offset(*p.state)) return;
    p.ahead =
        read_ahead_.start(p.state, from, max_bytes, isolation(), fetch_pool_->take(p.tp.topic));
}

std::optional<Message> PartitionFetch::reset(AssignedPartition& p, std::string_view why) {
    switch (config_.auto_offset_reset) {
        case OffsetReset::earliest:
            p.position = p.state->log->log_start_offset();
            return std::nullopt;
        case OffsetReset::latest: p.position = end_offset(*p.state); return std::nullopt;
        case OffsetReset::none: break;
    }
    p.errored = true;
    return Message::from_error(
        Status::error(Code::offset_out_of_range,
                      fmt::format("{}: {}, and auto.offset.reset is none; seek() to go on",
                                  name_of(p.tp), why)),
        p.tp.topic, p.tp.partition);
}

}  // namespace brook::client
