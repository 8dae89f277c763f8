// PartitionFetch: how a Consumer reads one assigned partition: its position, its buffered read
// and handing its messages out, with auto.offset.reset and isolation.level applied.
//
// A partition keeps its position (the next offset to return) and its last read of up to
// max.partition.fetch.bytes: the raw batches, read in one piece and decoded batch by batch as
// their records are handed out, into Messages viewing the read (client/fetched_records.hpp).
// A bad batch ends a read: the records before it are handed out, then the error. A partition
// whose position is unknown (kOffsetInvalid) or falls outside the log is reset per
// auto.offset.reset; with "none", and after any other read error, it returns one error message
// and is then marked errored (the Consumer skips it until seek() moves it).
//
// Ownership: a Consumer's Impl owns one, and the partitions it reads. Thread safety: none of
// its own; every call runs under the Consumer's mutex, which guards the partitions.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/consumer_config.hpp"
#include "client/fetched_records.hpp"
#include "client/read_ahead.hpp"
#include "log/partition_log.hpp"
#include "store/store_core.hpp"

namespace brook::client {

struct AssignedPartition {
    TopicPartition tp;
    std::shared_ptr<detail::PartitionState> state;
    Offset position = kOffsetInvalid;  // kOffsetInvalid until auto.offset.reset resolves it
    // Read but not yet returned, starting at position.
    FetchedRecords buffered;
    // Where the last read ended: a read from there continues a sequential scan.
    Offset last_read_end = kOffsetInvalid;
    // The read after `buffered`, done ahead while it is handed out (client/read_ahead.hpp).
    AheadRead ahead;
    bool paused = false;
    bool errored = false;  // an error was returned; skipped until seek()
    bool deleted = false;  // the topic was deleted; dropped once its error is returned
};

// "topic/partition", for messages.
std::string name_of(const TopicPartition& tp);

class PartitionFetch {
  public:
    // REQUIRES: `config` outlives this.
    explicit PartitionFetch(const ConsumerConfig& config);

    // Where reading ends: the log end, or for read_committed the last stable offset.
    Offset end_offset(const detail::PartitionState& state) const;

    // The position an assign() or seek() offset stands for; kOffsetInvalid stays unresolved.
    // @return invalid_argument for a negative offset that is none of the special ones.
    Result<Offset> resolve_start(const AssignedPartition& p, Offset offset) const;

    // Appends messages of `p` to `out`, up to `max` in all: buffered, freshly read, or one
    // error (after the records of a read before its bad batch).
    // @return false if it has none now.
    bool take(AssignedPartition& p, std::vector<Message>& out, std::size_t max);

  private:
    // Reads from the position into the (empty) buffer, resetting the position as needed.
    // @return an error message for the partition, after marking it errored or deleted.
    std::optional<Message> fill(AssignedPartition& p);
    // Applies auto.offset.reset to `p`. With none, marks it errored.
    // @return the offset_out_of_range message to return when the policy is none.
    std::optional<Message> reset(AssignedPartition& p, std::string_view why);
    log::Isolation isolation() const;
    // The read done ahead from `p`'s position, waited for; empty if there is none, it starts
    // elsewhere or it failed (the caller then reads for itself).
    FetchedBytesRef take_ahead(AssignedPartition& p);
    // Asks for the read after `p.buffered`, which copied `read_bytes`, unless enable.read.ahead
    // is off, the log ends there, or that read was less than half full: a read cut short by the
    // log end, as a consumer keeping up with the producer makes, then ends the scan (a record
    // appended just after it would wait for the thread to wake instead of being read at once).
    void read_ahead(AssignedPartition& p, std::size_t read_bytes);

    const ConsumerConfig& config_;
    // Read buffers, recycled once the Messages sharing them are gone.
    const std::shared_ptr<FetchPool> fetch_pool_;
    ReadAhead read_ahead_;
};

}  // namespace brook::client
