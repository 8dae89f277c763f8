#include "log/transaction_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <mutex>

#include "log/format.hpp"
#include "log/producer_snapshot.hpp"
#include "log/segment.hpp"
#include "log/txn_index.hpp"

namespace brook::log {

TransactionState::TransactionState(fs::FileSystem& fs, std::string dir)
    : fs_(fs), dir_(std::move(dir)) {}

Result<TransactionState::Checked> TransactionState::check(std::span<const std::byte> batch,
                                                          const BatchHeader& header) const {
    Checked checked;
    if (header.producer_id < 0) {
        if (header.is_transactional() || header.is_control()) {
            return Status::invalid_argument(fmt::format(
                "a transactional or control batch for {} has no producer id; transactions need "
                "an idempotent producer",
                dir_));
        }
        return checked;
    }
    if (header.is_control()) {
        auto decoded = decode_batch(batch);
        auto marker = decoded.is_ok() ? parse_control_batch(*decoded)
                                      : Result<ControlMarker>(decoded.status());
        if (!marker.is_ok()) {
            return Status::invalid_argument(fmt::format(
                "a control batch for {} is not a well-formed transaction marker ({}); encode it "
                "with encode_control_batch",
                dir_, marker.status().message()));
        }
        checked.marker = *marker;
    }
    BROOK_ASSIGN_OR_RETURN(const auto verdict, table_.check(header, dir_));
    checked.duplicate_of = verdict.duplicate_of;
    return checked;
}

Status TransactionState::record(const BatchHeader& header,
                                const std::optional<ControlMarker>& marker, Offset active_base) {
    auto aborted = table_.apply(header, marker);
    if (aborted) {
        aborted->last_stable_offset =
            table_.first_unstable_offset().value_or(header.last_offset() + 1);
        if (!active_index_ || active_index_base_ != active_base) {
            const std::string path =
                fs::join_path(dir_, Segment::file_name(active_base, format::kTxnIndexSuffix));
            const bool existed = fs_.exists(path);
            BROOK_ASSIGN_OR_RETURN(active_index_, fs_.open(path, fs::OpenMode::create_or_open));
            active_index_base_ = active_base;
            if (!existed) BROOK_RETURN_IF_ERROR(fs_.sync_dir(dir_));
        }
        BROOK_RETURN_IF_ERROR(active_index_->append(encode_txn_entry(*aborted)));
        std::unique_lock lock(aborted_mu_);
        aborted_.push_back(*aborted);
        max_span_ = std::max(max_span_, aborted->last_offset - aborted->first_offset);
    }
    publish_first_unstable();
    return Status::ok();
}

void TransactionState::publish_first_unstable() noexcept {
    const auto first = table_.first_unstable_offset();
    first_unstable_.store(first ? first->value() : -1, std::memory_order_release);
}

std::optional<Offset> TransactionState::first_unstable() const noexcept {
    const std::int64_t first = first_unstable_.load(std::memory_order_acquire);
    if (first < 0) return std::nullopt;
    return Offset(first);
}

Status TransactionState::seal_index() {
    if (!active_index_) return Status::ok();
    BROOK_RETURN_IF_ERROR(active_index_->sync());
    active_index_.reset();
    return Status::ok();
}

Status TransactionState::write_snapshot(Offset at, std::int64_t expire_before_ms) {
    table_.expire(expire_before_ms);
    return log::write_snapshot(fs_, dir_, at, table_.producers());
}

ProducerMap TransactionState::producers_for_snapshot(std::int64_t expire_before_ms) {
    table_.expire(expire_before_ms);
    return table_.producers();
}

Status TransactionState::replay_batch(const DecodedBatch& batch,
                                      std::vector<AbortedTransaction>& aborted) {
    std::optional<ControlMarker> marker;
    if (batch.header.is_control()) {
        BROOK_ASSIGN_OR_RETURN(marker, parse_control_batch(batch));
    }
    if (auto ended = table_.apply(batch.header, marker)) {
        ended->last_stable_offset =
            table_.first_unstable_offset().value_or(batch.header.last_offset() + 1);
        aborted.push_back(*ended);
    }
    return Status::ok();
}

void TransactionState::add_aborted(const std::vector<AbortedTransaction>& entries) {
    std::unique_lock lock(aborted_mu_);
    for (const auto& e : entries) {
        aborted_.push_back(e);
        max_span_ = std::max(max_span_, e.last_offset - e.first_offset);
    }
}

Status TransactionState::replay(Offset from, const Scanner& scan) {
    std::vector<AbortedTransaction> found;
    BROOK_RETURN_IF_ERROR(
        scan(from, [&](const DecodedBatch& batch) { return replay_batch(batch, found); }));
    add_aborted(found);
    publish_first_unstable();
    return Status::ok();
}

Result<TransactionState::LoadReport> TransactionState::load(const std::vector<std::string>& names,
                                                            const std::vector<Offset>& bases,
                                                            Offset end, Offset rescan_from,
                                                            const Scanner& scan, bool read_only) {
    LoadReport report;

    // A damaged index below the rescan point moves the replay back to its segment. Most
    // segments have no .txnindex (no aborted transaction): the listing saves opening them.
    std::vector<TxnIndexContents> indexes;
    Offset replay_limit = rescan_from;
    for (const Offset base : bases) {
        const std::string index_name = Segment::file_name(base, format::kTxnIndexSuffix);
        if (std::find(names.begin(), names.end(), index_name) == names.end()) {
            indexes.emplace_back();
            continue;
        }
        BROOK_ASSIGN_OR_RETURN(auto contents, read_txn_index(fs_, dir_, base));
        if (contents.damaged) replay_limit = std::min(replay_limit, base);
        indexes.push_back(std::move(contents));
    }

    // The newest snapshot at or below the replay limit; strays and corrupt ones are removed.
    const auto remove_snapshot = [&](Offset at) {
        if (read_only) return Status::ok();
        return fs_.remove_file(
            fs::join_path(dir_, Segment::file_name(at, format::kSnapshotSuffix)));
    };
    bool removed_any = false;
    std::optional<Offset> from;
    ProducerMap producers;
    const auto offsets = snapshot_offsets(names);
    for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
        if (*it < bases.front() || *it > end) {
            BROOK_RETURN_IF_ERROR(remove_snapshot(*it));
            removed_any = true;
            continue;
        }
        if (from || *it > replay_limit) continue;
        auto loaded = read_snapshot(fs_, dir_, *it);
        if (loaded.is_ok()) {
            from = *it;
            producers = std::move(*loaded);
        } else if (loaded.code() == Code::corruption) {
            ++report.snapshots_rejected;
            BROOK_RETURN_IF_ERROR(remove_snapshot(*it));
            removed_any = true;
        } else if (read_only && loaded.code() == Code::not_found) {
            continue;  // the writer removed it after the listing: an older one, or a replay
        } else {
            return loaded.status();
        }
    }
    if (removed_any && !read_only) BROOK_RETURN_IF_ERROR(fs_.sync_dir(dir_));

    const Offset replay_from = from.value_or(bases.front());
    table_.assign(std::move(producers));
    std::vector<AbortedTransaction> replayed;
    const Offset last_base = bases.back();
    const bool capture = replay_from < last_base && !read_only;
    BROOK_RETURN_IF_ERROR(scan(replay_from, [&](const DecodedBatch& batch) {
        ++report.batches_replayed;
        if (capture && !report.state_at_last_base && batch.header.base_offset >= last_base) {
            report.state_at_last_base = table_.producers();
        }
        return replay_batch(batch, replayed);
    }));
    if (capture && !report.state_at_last_base) report.state_at_last_base = table_.producers();

    std::vector<AbortedTransaction> all;
    for (std::size_t i = 0; i < bases.size(); ++i) {
        const Offset segment_end =
            i + 1 < bases.size() ? bases[i + 1] : Offset(std::numeric_limits<std::int64_t>::max());
        std::vector<AbortedTransaction> wanted;
        for (const auto& e : indexes[i].entries) {
            if (e.last_offset < replay_from) wanted.push_back(e);
        }
        for (const auto& e : replayed) {
            if (e.last_offset >= bases[i] && e.last_offset < segment_end) wanted.push_back(e);
        }
        if (!read_only && (wanted != indexes[i].entries || indexes[i].damaged)) {
            if (wanted.empty()) {
                BROOK_RETURN_IF_ERROR(remove_txn_index(fs_, dir_, bases[i]));
                BROOK_RETURN_IF_ERROR(fs_.sync_dir(dir_));
            } else {
                BROOK_RETURN_IF_ERROR(write_txn_index(fs_, dir_, bases[i], wanted));
            }
        }
        all.insert(all.end(), wanted.begin(), wanted.end());
    }
    {
        std::unique_lock lock(aborted_mu_);
        aborted_.clear();
        max_span_ = 0;
    }
    add_aborted(all);
    publish_first_unstable();
    return report;
}

std::vector<AbortedTransaction> TransactionState::aborted_overlapping(Offset from,
                                                                      Offset to) const {
    std::shared_lock lock(aborted_mu_);
    std::vector<AbortedTransaction> out;
    auto it =
        std::lower_bound(aborted_.begin(), aborted_.end(), from,
                         [](const AbortedTransaction& e, Offset o) { return e.last_offset < o; });
    // An entry ending past to + max_span_ began after `to`, and so does every later one.
    for (; it != aborted_.end() && it->last_offset - to <= max_span_; ++it) {
        if (it->first_offset <= to) out.push_back(*it);
    }
    return out;
}

std::vector<AbortedTransaction> TransactionState::aborted_in(Offset begin, Offset end) const {
    std::shared_lock lock(aborted_mu_);
    std::vector<AbortedTransaction> out;
    for (const auto& e : aborted_) {
        if (e.last_offset >= begin && e.last_offset < end) out.push_back(e);
    }
    return out;
}

Status TransactionState::drop_below(Offset first_base) {
    {
        std::unique_lock lock(aborted_mu_);
        std::erase_if(aborted_,
                      [&](const AbortedTransaction& e) { return e.last_offset < first_base; });
    }
    BROOK_ASSIGN_OR_RETURN(const auto names, fs_.list_dir(dir_));
    for (const Offset at : snapshot_offsets(names)) {
        if (at >= first_base) break;
        const Status removed =
            fs_.remove_file(fs::join_path(dir_, Segment::file_name(at, format::kSnapshotSuffix)));
        if (!removed.is_ok() && removed.code() != Code::not_found) return removed;
    }
    return Status::ok();
}

}  // namespace brook::log
