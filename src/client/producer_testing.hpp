// Faults and pauses a test can inject into every Producer of the process.
//
// resend_batches: each batch is appended twice, as a retry after a lost acknowledgement would
// append it, and the second answer is the one reported. With enable.idempotence the log
// recognises the second append by its producer id and sequence and answers with the original
// offsets, so nothing is stored twice.
//
// before_send: when set, called by whichever thread (the sender thread, or a thread in
// produce(), produce_sync() or flush()) is about to append a partition's sealed batches,
// before it appends them; a test blocks in it to hold that thread busy.
//
// after_report: when set, called by whichever thread appended a partition's batches once it has
// handed out the reports of their produce() records (queued their callbacks for poll() and
// flush(), counted the rest done), before it goes on; a test blocks in it to look at what a
// caller that has seen its reports finds.
//
// after_queue_sync: when set, called by produce_sync() once its record is queued for its
// partition, before it appends the queue (or leaves it to the thread already appending it).
//
// append_after_pause: true by default; false makes produce() leave every record to the sender
// thread even after a pause (see Producer::Impl::arrived_after_pause), so that a test's batches
// do not depend on how fast it produces.
//
// fast_path: true by default; false makes produce() take its general path for every record
// (TopicRouter::route() and RecordAccumulator::add()), so that a test can compare the two.
//
// Thread safety: atomics; set them before producing and clear them after.
#pragma once

#include <atomic>

namespace brook::client::testing {

extern std::atomic<bool> resend_batches;
extern std::atomic<void (*)()> before_send;
extern std::atomic<void (*)()> after_report;
extern std::atomic<void (*)()> after_queue_sync;
extern std::atomic<bool> append_after_pause;
extern std::atomic<bool> fast_path;

}  // namespace brook::client::testing
