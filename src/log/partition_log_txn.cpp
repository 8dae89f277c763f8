// PartitionLog's exactly-once parts: isolation-aware reads, the last stable offset, the
// producer state queries and the loading of the transaction state on open. The state itself
// lives in TransactionState (transaction_state.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <span>

#include "log/partition_log.hpp"

namespace brook::log {
namespace {

// Bytes read at once while replaying batches on open.
constexpr std::size_t kReplayReadBytes = 1u << 20;

bool aborted(const BatchHeader& header, const std::vector<AbortedTransaction>& aborted) {
    return std::any_of(aborted.begin(), aborted.end(), [&](const AbortedTransaction& e) {
        return e.producer_id == header.producer_id && e.first_offset <= header.base_offset &&
               header.last_offset() <= e.last_offset;
    });
}

}  // namespace

Result<std::vector<DecodedBatch>> PartitionLog::read(Offset from, std::size_t max_bytes,
                                                     Isolation isolation) const {
    BROOK_ASSIGN_OR_RETURN(const RawBatches raw, read_raw(from, max_bytes, isolation));
    BROOK_ASSIGN_OR_RETURN(auto batches, decode_raw(raw, from));
    for (std::size_t i = 0; i < batches.size(); ++i) {
        if (raw.hidden[i]) batches[i].records.clear();
    }
    return batches;
}

void PartitionLog::mark_hidden(RawBatches& raw, Isolation isolation) const {
    std::vector<AbortedTransaction> aborted_here;
    if (isolation == Isolation::read_committed && !raw.headers.empty()) {
        aborted_here = txn_.aborted_overlapping(raw.headers.front().base_offset,
                                                raw.headers.back().last_offset());
    }
    raw.hidden.assign(raw.headers.size(), false);
    for (std::size_t i = 0; i < raw.headers.size(); ++i) {
        const auto& h = raw.headers[i];
        raw.hidden[i] = h.is_control() ||
                        (h.is_transactional() && !aborted_here.empty() && aborted(h, aborted_here));
    }
}

Offset PartitionLog::stable_end(Offset log_end) const noexcept {
    const auto first = txn_.first_unstable();
    if (!first) return log_end;
    return std::min(log_end, std::max(*first, log_start_offset()));
}

std::int64_t PartitionLog::producer_expiry_cutoff() const noexcept {
    const std::int64_t now = clock_.now_ms();
    const std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
    return now < lowest + config_.producer_id_expiration_ms
               ? lowest
               : now - config_.producer_id_expiration_ms;
}

Offset PartitionLog::last_stable_offset() const noexcept {
    return stable_end(log_end_offset());
}

std::vector<OpenTransaction> PartitionLog::open_transactions() const {
    std::lock_guard lock(append_mu_);
    return txn_.open_transactions();
}

std::optional<ProducerEntry> PartitionLog::producer_state(std::int64_t producer_id) const {
    std::lock_guard lock(append_mu_);
    return txn_.producer(producer_id);
}

std::vector<AbortedTransaction> PartitionLog::aborted_transactions(Offset begin, Offset end) const {
    return txn_.aborted_in(begin, end);
}

Status PartitionLog::seal_txn_index() {
    if (Status sealed = txn_.seal_index(); !sealed.is_ok()) return fail_stop(sealed);
    return Status::ok();
}

Status PartitionLog::scan_batches(Offset from, Offset end,
                                  const TransactionState::BatchVisitor& visit) const {
    // Only control batches are decoded: the producer state needs the other batches' headers
    // alone, so their records are not copied out. Every checksum is still verified.
    DecodedBatch header_only;
    for (auto segment = segment_for(from); segment && from < end;
         segment = segment_after(segment->base_offset())) {
        for (;;) {
            BROOK_ASSIGN_OR_RETURN(const RawBatches raw,
                                   segment->read_raw(from, kReplayReadBytes, end));
            if (raw.headers.empty()) break;
            std::size_t pos = 0;
            for (const BatchHeader& header : raw.headers) {
                const auto bytes = raw.batches().subspan(pos, header.total_size());
                const std::uint64_t position = raw.position + pos;
                pos += header.total_size();
                if (header.is_control()) {
                    auto decoded = decode_batch(bytes);
                    if (!decoded.is_ok()) {
                        return segment_corruption(raw.file, position, decoded.status());
                    }
                    BROOK_RETURN_IF_ERROR(visit(*decoded));
                } else {
                    if (!checksum_matches(bytes)) {
                        return segment_corruption(raw.file, position,
                                                  Status::corruption(fmt::format(
                                                      "batch checksum mismatch at base offset {}",
                                                      header.base_offset.value())));
                    }
                    header_only.header = header;
                    BROOK_RETURN_IF_ERROR(visit(header_only));
                }
                from = header.last_offset() + 1;
            }
        }
    }
    return Status::ok();
}

Status PartitionLog::load_transactions(const std::vector<std::string>& names,
                                       const std::vector<Offset>& bases, Offset rescan_from) {
    BROOK_ASSIGN_OR_RETURN(
        auto report, txn_.load(names, bases, log_end_offset(), rescan_from,
                               [this](Offset from, const TransactionState::BatchVisitor& visit) {
                                   return scan_batches(from, log_end_offset(), visit);
                               }));
    recovery_.snapshots_rejected = report.snapshots_rejected;
    recovery_.producer_batches_replayed = report.batches_replayed;
    // The recovery point lagged the last roll (a deferred checkpoint the crash lost): the roll's
    // checkpoint is pending again, for retention and compaction to write before they remove
    // batches whose producer state no snapshot would otherwise keep.
    if (report.state_at_last_base) {
        pending_roll_checkpoint_ =
            RollCheckpoint{bases.back(), std::move(*report.state_at_last_base)};
    }
    return Status::ok();
}

Status PartitionLog::follow_transactions(Offset from, Offset to, bool first) {
    const auto scan = [this, to](Offset at, const TransactionState::BatchVisitor& visit) {
        return scan_batches(at, to, visit);
    };
    if (!first) return txn_.replay(from, scan);
    std::vector<Offset> bases;
    {
        std::shared_lock lock(segments_mu_);
        for (const auto& s : segments_) bases.push_back(s->base_offset());
    }
    BROOK_ASSIGN_OR_RETURN(const auto names, fs_.list_dir(dir_));
    // The writer's active segment may have aborts its .txnindex does not hold yet.
    return txn_.load(names, bases, to, std::min(bases.back(), to), scan, true).status();
}

}  // namespace brook::log
