// Group commit of a partition log's fsyncs (log/group_commit.hpp): which callers share an
// fsync, that a leader gathers the callers the last fsync released, and that a failed fsync
// fails every caller it would have covered and every later one, with no retry. The GroupCommit
// tests drive the fsync by hand (SyncGate), so each step happens in a known order: threads are
// only ever waited for on a condition, never for a time. The PartitionLog tests run threads
// through the fault-injecting file system and check outcomes that hold in any interleaving.
// Run under ThreadSanitizer by .ci/run.
#include "log/group_commit.hpp"

#include <atomic>
#include <brook/clock.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// An fsync the test controls. Each call takes the log end as its target when it starts; while
// the gate is held it then blocks until release(), which can make it fail.
class SyncGate {
  public:
    log::GroupCommit::SyncFn fn() {
        return [this] { return run(); };
    }
    void hold() {
        std::lock_guard lock(mu_);
        held_ = true;
    }
    // Lets a held fsync finish, with `outcome` (ok: success); later ones run through.
    void release(Status outcome = Status::ok()) {
        std::lock_guard lock(mu_);
        held_ = false;
        outcome_ = std::move(outcome);
        cv_.notify_all();
    }
    // Lets one held fsync finish successfully; later ones are held still.
    void release_one() {
        std::lock_guard lock(mu_);
        ++passes_;
        cv_.notify_all();
    }
    void wait_started(int n) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return started_ >= n; });
    }
    int started() const {
        std::lock_guard lock(mu_);
        return started_;
    }
    void set_log_end(std::int64_t end) {
        std::lock_guard lock(mu_);
        log_end_ = end;
    }
    // The threads that ran the fsyncs, in order.
    std::vector<std::thread::id> runners() const {
        std::lock_guard lock(mu_);
        return runners_;
    }

  private:
    Result<std::int64_t> run() {
        std::unique_lock lock(mu_);
        const std::int64_t target = log_end_;
        ++started_;
        runners_.push_back(std::this_thread::get_id());
        cv_.notify_all();
        cv_.wait(lock, [&] { return !held_ || passes_ > 0; });
        if (held_) {
            --passes_;
            return target;
        }
        if (!outcome_.is_ok()) return std::exchange(outcome_, Status::ok());
        return target;
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool held_ = false;
    int passes_ = 0;  // held fsyncs release_one() let go, not yet finished
    Status outcome_;
    int started_ = 0;
    std::int64_t log_end_ = 0;
    std::vector<std::thread::id> runners_;
};

// Spins (yielding) until `n` callers wait in `gc`: a condition, not a time.
void wait_for_waiters(const log::GroupCommit& gc, std::size_t n) {
    while (gc.waiting() < n) std::this_thread::yield();
}

const Status kDiskError = Status::error(Code::io_error, "injected fsync failure");

// A caller in its own thread; join() returns its outcome.
class Caller {
  public:
    Caller(log::GroupCommit& gc, SyncGate& gate, std::int64_t end)
        : thread_([this, &gc, &gate, end] { status_ = gc.sync_to(end, gate.fn()); }) {}
    std::thread::id id() const { return thread_.get_id(); }
    Status join() {
        thread_.join();
        return status_;
    }

  private:
    Status status_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("a caller whose end is already durable returns without an fsync") {
    log::GroupCommit gc;
    SyncGate gate;
    gate.set_log_end(10);
    REQUIRE(gc.sync_to(5, gate.fn()).is_ok());
    CHECK(gate.started() == 1);
    CHECK(gc.durable_end() == 10);  // the fsync covered everything appended when it started
    CHECK(gc.sync_to(7, gate.fn()).is_ok());
    CHECK(gc.sync_to(10, gate.fn()).is_ok());
    CHECK(gate.started() == 1);
    gate.set_log_end(11);
    CHECK(gc.sync_to(11, gate.fn()).is_ok());
    CHECK(gate.started() == 2);
}

TEST_CASE("a lone caller never waits for others to join its fsync") {
    // With gathering bounded by a minute, any wait for a caller that is not coming would
    // stall this loop for minutes.
    log::GroupCommit gc(std::chrono::minutes(1));
    SyncGate gate;
    for (std::int64_t end = 1; end <= 200; ++end) {
        gate.set_log_end(end);
        REQUIRE(gc.sync_to(end, gate.fn()).is_ok());
    }
    CHECK(gate.started() == 200);
    CHECK(gc.durable_end() == 200);
}

TEST_CASE("callers arriving during an fsync share the next one") {
    log::GroupCommit gc;
    SyncGate gate;
    gate.hold();
    gate.set_log_end(1);
    Caller a(gc, gate, 1);
    gate.wait_started(1);
    // Appended after the first fsync took its target: it does not cover them.
    gate.set_log_end(3);
    Caller b(gc, gate, 2);
    Caller c(gc, gate, 3);
    wait_for_waiters(gc, 3);
    // Three waited when the first fsync ended, and a never comes back: the next fsync's
    // gathering runs out of its bound and syncs b and c.
    gate.release();
    CHECK(a.join().is_ok());
    CHECK(b.join().is_ok());
    CHECK(c.join().is_ok());
    CHECK(gate.started() == 2);
    CHECK(gc.durable_end() == 3);
    CHECK(gc.waiting() == 0);
}

TEST_CASE("the next leader gathers the callers the last fsync released") {
    // Gathering waits up to a minute here, so it waits for the third caller whatever the
    // machine's speed.
    log::GroupCommit gc(std::chrono::minutes(1));
    SyncGate gate;
    gate.hold();
    gate.set_log_end(1);
    Caller a(gc, gate, 1);
    gate.wait_started(1);
    gate.set_log_end(3);
    Caller b(gc, gate, 2);
    Caller c(gc, gate, 3);
    wait_for_waiters(gc, 3);
    // Three callers waited when the first fsync ended: b or c leads the next one and waits
    // for a third caller before it starts.
    gate.release();
    CHECK(a.join().is_ok());
    gate.set_log_end(4);
    SUBCASE("their fsync covers the caller that came back, which runs it itself") {
        Caller d(gc, gate, 4);
        const std::thread::id d_thread = d.id();
        CHECK(d.join().is_ok());
        // No waiting thread had to be woken to start it.
        CHECK(gate.runners().back() == d_thread);
        CHECK(b.join().is_ok());
        CHECK(c.join().is_ok());
        CHECK(gate.started() == 2);
        CHECK(gc.durable_end() == 4);
    }
    SUBCASE("when it fails, every caller it covered gets the error and none retries") {
        gate.hold();
        Caller d(gc, gate, 4);
        gate.wait_started(2);
        gate.release(kDiskError);
        CHECK(d.join().code() == Code::io_error);
        CHECK(b.join().code() == Code::io_error);
        CHECK(c.join().code() == Code::io_error);
        CHECK(gate.started() == 2);
        CHECK(gc.durable_end() == 1);
        CHECK(gc.sync_to(1, gate.fn()).is_ok());  // durable before the failure
        CHECK(gc.sync_to(4, gate.fn()).code() == Code::io_error);
        CHECK(gate.started() == 2);
    }
}

TEST_CASE("callers an fsync did not cover wait for the next, which covers them all at once") {
    // No gathering: the next fsync starts as soon as the first ends.
    log::GroupCommit gc(std::chrono::nanoseconds(0));
    SyncGate gate;
    gate.hold();
    gate.set_log_end(1);
    Caller a(gc, gate, 1);
    gate.wait_started(1);
    gate.set_log_end(5);
    std::vector<std::unique_ptr<Caller>> later;
    for (std::int64_t end = 2; end <= 5; ++end) {
        later.push_back(std::make_unique<Caller>(gc, gate, end));
    }
    wait_for_waiters(gc, 5);
    // The first fsync releases a only (the others appended after it started). Its leader
    // wakes every sleeping caller at once: the four others sleep again, unacknowledged, while
    // the next fsync (one of them leads it) is held.
    gate.release_one();
    CHECK(a.join().is_ok());
    gate.wait_started(2);
    CHECK(gc.waiting() == 4);
    CHECK(gc.durable_end() == 1);
    // It covers the four in one go.
    gate.release();
    for (auto& caller : later) CHECK(caller->join().is_ok());
    CHECK(gate.started() == 2);
    CHECK(gc.durable_end() == 5);
}

TEST_CASE("a failed fsync fails its caller, the callers waiting and every later one") {
    log::GroupCommit gc;
    SyncGate gate;
    gate.set_log_end(1);
    REQUIRE(gc.sync_to(1, gate.fn()).is_ok());

    gate.hold();
    gate.set_log_end(2);
    Caller a(gc, gate, 2);
    gate.wait_started(2);
    gate.set_log_end(4);
    Caller b(gc, gate, 3);
    Caller c(gc, gate, 4);
    wait_for_waiters(gc, 3);
    gate.release(kDiskError);
    CHECK(a.join().code() == Code::io_error);
    // b and c needed a later fsync; after a failure there is none.
    CHECK(b.join().code() == Code::io_error);
    CHECK(c.join().code() == Code::io_error);
    CHECK(gate.started() == 2);
    CHECK(gc.waiting() == 0);

    CHECK(gc.sync_to(1, gate.fn()).is_ok());
    const Status later = gc.sync_to(2, gate.fn());
    CHECK(later.code() == Code::io_error);
    CHECK(later.message().find("injected fsync failure") != std::string::npos);
    CHECK(gate.started() == 2);
}

namespace {

constexpr int kThreads = 4;
constexpr int kPerThread = 40;

// What one appending thread saw: its records' offsets and each sync_to() outcome, in order.
struct Thread {
    std::vector<std::int64_t> acknowledged;  // offsets whose sync_to returned ok
    std::vector<Status> outcomes;
    // Acknowledged offsets a power cut right after the acknowledgement would have lost.
    std::vector<std::int64_t> acknowledged_not_durable;
};

// Small preallocated indexes, so that a crash image (a copy of every file) is cheap to take.
log::LogConfig small_indexes() {
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    return config;
}

// The end offset of the records the crash image of `faulty` holds in `dir`: what a power cut
// now would keep.
std::int64_t durable_records(FaultFileSystem& faulty, const std::string& dir) {
    auto image = faulty.crash_image(Tear::drop);
    ManualClock clock;
    auto log = open_log(*image, dir, small_indexes(), clock);
    return log->log_end_offset().value();
}

// kThreads threads each append kPerThread one-record batches, waiting for sync_to after each,
// and stop at their first error. With `faulty` set, each thread checks when its sync_to
// returns ok that a power cut at that moment would keep its record.
std::vector<Thread> append_durably(log::PartitionLog& log, FaultFileSystem* faulty = nullptr) {
    std::vector<Thread> seen(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&log, faulty, &mine = seen[t], t] {
            for (int i = 0; i < kPerThread; ++i) {
                auto bytes = encode({make_record(t * 1000 + i, i)});
                auto appended = log.append(bytes);
                if (!appended.is_ok()) {
                    mine.outcomes.push_back(appended.status());
                    return;
                }
                const Status synced = log.sync_to(appended->last_offset + 1);
                mine.outcomes.push_back(synced);
                if (!synced.is_ok()) return;
                mine.acknowledged.push_back(appended->base_offset.value());
                if (faulty &&
                    durable_records(*faulty, log.dir()) <= appended->base_offset.value()) {
                    mine.acknowledged_not_durable.push_back(appended->base_offset.value());
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    return seen;
}

}  // namespace

TEST_CASE("durable appends from several threads share fsyncs and survive a power cut") {
    MemoryEnv env;
    FaultFileSystem faulty(env.fs());
    ManualClock clock;
    const std::string dir = env.root() + "/p";
    auto log = open_log(faulty, dir, small_indexes(), clock);
    faulty.mark_durable(env.root());
    faulty.reset_counts();

    const auto seen = append_durably(*log, &faulty);
    std::int64_t acknowledged = 0;
    for (const Thread& t : seen) {
        for (const Status& s : t.outcomes) CHECK(s.is_ok());
        CHECK(t.acknowledged_not_durable.empty());
        acknowledged += static_cast<std::int64_t>(t.acknowledged.size());
    }
    CHECK(acknowledged == kThreads * kPerThread);
    // At most one fsync per record, fewer when callers shared them.
    CHECK(faulty.operations(op::sync) <= static_cast<std::uint64_t>(acknowledged));
    CHECK(durable_records(faulty, dir) == acknowledged);
    CHECK(read_all(*log).size() == static_cast<std::size_t>(acknowledged));
}

TEST_CASE("after a failed fsync no thread's append is acknowledged, and none is lost") {
    for (std::uint64_t nth : {1, 7, 30}) {
        CAPTURE(nth);
        MemoryEnv env;
        FaultFileSystem faulty(env.fs());
        ManualClock clock;
        const std::string dir = env.root() + "/p";
        auto log = open_log(faulty, dir, small_indexes(), clock);
        faulty.mark_durable(env.root());
        faulty.reset_counts();
        // Only the nth fsync fails: a retry after it would succeed, so any record acknowledged
        // after the failure would show that the log retried.
        faulty.inject({.kinds = op::sync, .nth = nth, .persistent = false});

        const auto seen = append_durably(*log, &faulty);
        CHECK(faulty.failures_injected() == 1);
        // Nothing was fsynced after the failure.
        CHECK(faulty.operations(op::sync) == nth);
        const std::int64_t durable = durable_records(faulty, dir);
        for (const Thread& t : seen) {
            // Every thread ends with the failure (io_error, the log stopped).
            REQUIRE_FALSE(t.outcomes.empty());
            CHECK(t.outcomes.back().code() == Code::io_error);
            for (std::size_t i = 0; i + 1 < t.outcomes.size(); ++i) CHECK(t.outcomes[i].is_ok());
            CHECK(t.acknowledged_not_durable.empty());
            // Every acknowledged record reached the disk.
            for (std::int64_t offset : t.acknowledged) CHECK(offset < durable);
        }
        CHECK(log->flush().sub_code() == SubCode::fail_stopped);
    }
}
