// Transaction markers: the control batches that end a transaction in each partition it wrote.
//
// A marker carries the producer id and epoch of the transaction and says commit or abort
// (log/control_batch.hpp encodes it, as Kafka's end-transaction marker). It is appended
// through the store (StoreView::append_control) so that waiting consumers wake: a commit
// marker moves the last stable offset, which is what read_committed consumers wait for.
//
// Thread safety: any thread; the log serialises appends.
#pragma once

#include <brook/status.hpp>

#include "txn/store_view.hpp"
#include "txn/txn_record.hpp"

namespace brook::txn {

// Appends a marker (commit if `commit`, else abort) for record.producer_id and
// record.producer_epoch to every partition of `record`. Commit markers are made durable
// before this returns; abort markers need not be, as recovery aborts what it finds open.
// Partitions of deleted topics are skipped.
// @return the append and fsync errors (io_error, no_space, closed).
Status write_markers(StoreView& store, const TxnRecord& record, bool commit);

// Appends an abort marker for every transaction open in any partition of the store: after a
// crash these belong to producers that are gone.
// @return the first append error.
Status abort_open_transactions(StoreView& store);

}  // namespace brook::txn
