// acks=all from several threads (group commit through the Producer): a produce_sync() waiting
// for its fsync must not keep other threads from appending to the partition, so their records
// join the next fsync; and a failed fsync fails every record waiting for it and every later
// one, with no retry. The fsync of the partition's segment is held deterministically in the
// fault-injecting file system's before_sync hook: the test waits on conditions, never for a
// time (the 60 s bounds only turn a hang into a failure).
// Run under ThreadSanitizer by .ci/run.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <brook/brook.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/producer_testing.hpp"
#include "log/partition_log.hpp"
#include "meta/meta_store.hpp"
#include "store/store_core.hpp"
#include "support/fault_fs.hpp"

using namespace brook;
using namespace brook::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* kRoot = "/store";
constexpr const char* kTopic = "events";

// Holds the fsyncs of segment files while held; release() lets them go on, or fails the one
// held (and no other) with `outcome`.
class SegmentSyncGate {
  public:
    Status before_sync(const std::string& path) {
        if (!path.ends_with(".log")) return Status::ok();
        std::unique_lock lock(mu_);
        ++started_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return !held_; });
        return std::exchange(outcome_, Status::ok());
    }
    // Holds the next fsyncs of segments, counting them from zero.
    void hold() {
        std::lock_guard lock(mu_);
        held_ = true;
        started_ = 0;
    }
    void release(Status outcome = Status::ok()) {
        std::lock_guard lock(mu_);
        held_ = false;
        outcome_ = std::move(outcome);
        cv_.notify_all();
    }
    bool wait_started(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, 60s, [&] { return started_ >= n; });
    }
    int started() {
        std::lock_guard lock(mu_);
        return started_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool held_ = false;
    Status outcome_;
    int started_ = 0;
};

struct Env {
    std::shared_ptr<fs::FileSystem> memory = fs::new_memory_file_system();
    FaultFileSystem faulty{*memory};
    SegmentSyncGate gate;
    std::unique_ptr<Store> store;
    std::unique_ptr<Producer> producer;

    Env() {
        REQUIRE(memory->create_dirs(kRoot).is_ok());
        faulty.mark_durable(kRoot);
        faulty.before_sync = [this](const std::string& path) { return gate.before_sync(path); };
        auto core = detail::StoreCore::open_on(
            std::shared_ptr<fs::FileSystem>(&faulty, [](fs::FileSystem*) {}), kRoot,
            meta::new_memory_meta_store(), {});
        REQUIRE(core.is_ok());
        store = detail::StoreCore::make_store(*core);
        REQUIRE(store->create_topic(kTopic, 1).is_ok());
        auto created = Producer::create(*store, {{"acks", "all"}});
        REQUIRE(created.is_ok());
        producer = std::move(created).value();
    }
    ~Env() { faulty.before_sync = nullptr; }

    log::PartitionLog& log() {
        auto partition = store->core()->partition(kTopic, PartitionId(0));
        REQUIRE(partition.is_ok());
        return *(*partition)->log;
    }

    // Waits (yielding) until `done` holds; false after 60 s.
    template <typename Pred>
    static bool wait_until(Pred done) {
        const auto give_up = std::chrono::steady_clock::now() + 60s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > give_up) return false;
            std::this_thread::yield();
        }
        return true;
    }
    // Waits until the partition's log end reaches `end`; false after 60 s.
    bool wait_log_end(std::int64_t end) {
        return wait_until([&] { return log().log_end_offset() >= Offset(end); });
    }
};

// The first thread to append a partition's batches stops in the before_send hook until
// released, and the threads that send are recorded; after_queue_sync counts produce_sync()
// records queued. Installed for one test, removed however it ends.
struct HeldSend {
    static inline std::mutex mu;
    static inline std::condition_variable cv;
    static inline bool entered = false;
    static inline bool open = false;
    static inline int queued = 0;
    static inline std::vector<std::thread::id> senders;

    static void before_send() {
        std::unique_lock lock(mu);
        senders.push_back(std::this_thread::get_id());
        if (entered) return;
        entered = true;
        cv.notify_all();
        cv.wait(lock, [] { return open; });
    }
    static void after_queue_sync() {
        std::lock_guard lock(mu);
        ++queued;
        cv.notify_all();
    }

    HeldSend() {
        std::lock_guard lock(mu);
        entered = false;
        open = false;
        queued = 0;
        senders.clear();
        client::testing::before_send.store(&before_send);
        client::testing::after_queue_sync.store(&after_queue_sync);
    }
    ~HeldSend() {
        release();
        client::testing::before_send.store(nullptr);
        client::testing::after_queue_sync.store(nullptr);
    }
    bool wait_entered_and_queued(int n) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, 60s, [&] { return entered && queued >= n; });
    }
    static void release() {
        std::lock_guard lock(mu);
        open = true;
        cv.notify_all();
    }
    std::vector<std::thread::id> send_threads() {
        std::lock_guard lock(mu);
        return senders;
    }
};

// produce_sync() of one record in its own thread. With `check_crash_image`, it also records
// whether a power cut right when produce_sync() returned would have kept the record. If the
// test ends without join() (a failed REQUIRE), the destructor lets held fsyncs and sends go on
// and joins, so that the failure is reported instead of aborting the run.
class SyncProduce {
  public:
    SyncProduce(Env& env, std::string value, bool check_crash_image = false)
        : env_(env),
          thread_([this, value = std::move(value),
                   dir = check_crash_image ? env.log().dir() : std::string()] {
              auto report = env_.producer->produce_sync(
                  {.topic = kTopic, .value = value, .partition = PartitionId(0)});
              std::optional<std::int64_t> durable_end;
              if (!dir.empty()) {
                  auto image = env_.faulty.crash_image(Tear::drop);
                  ManualClock clock;
                  auto log = log::PartitionLog::open(*image, dir, {}, clock);
                  durable_end = log.is_ok() ? (*log)->log_end_offset().value() : -1;
              }
              std::lock_guard lock(mu_);
              report_ = std::move(report);
              durable_end_ = durable_end;
          }) {}
    ~SyncProduce() {
        if (!thread_.joinable()) return;
        env_.gate.release();
        HeldSend::release();
        thread_.join();
    }
    // The log end in the crash image taken when produce_sync() returned.
    std::optional<std::int64_t> durable_end_when_returned() {
        std::lock_guard lock(mu_);
        return durable_end_;
    }
    bool done() {
        std::lock_guard lock(mu_);
        return report_.has_value();
    }
    Result<DeliveryReport> join() {
        thread_.join();
        return *report_;
    }

  private:
    Env& env_;
    std::mutex mu_;
    std::optional<Result<DeliveryReport>> report_;
    std::optional<std::int64_t> durable_end_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("acks=all: another thread appends while a produce_sync waits for its fsync") {
    Env env;
    env.gate.hold();
    SyncProduce a(env, "a");
    REQUIRE(env.gate.wait_started(1));  // a's record is appended; its fsync is held
    SyncProduce b(env, "b");
    // b's record reaches the log although a still waits for its fsync.
    REQUIRE(env.wait_log_end(2));
    // The held fsync started before b's append, so b is not acknowledged yet.
    CHECK_FALSE(b.done());
    env.gate.release();
    auto first = a.join();
    auto second = b.join();
    REQUIRE(first.is_ok());
    REQUIRE(second.is_ok());
    CHECK(first->offset == Offset(0));
    CHECK(second->offset == Offset(1));
    CHECK(env.gate.started() == 2);

    // Both are durable: a power cut now keeps them.
    auto image = env.faulty.crash_image(Tear::drop);
    const std::string dir = env.log().dir();
    ManualClock clock;
    auto reopened = log::PartitionLog::open(*image, dir, {}, clock);
    REQUIRE_MESSAGE(reopened.is_ok(), reopened.status().to_string());
    CHECK((*reopened)->log_end_offset().value() == 2);
}

TEST_CASE("acks=all: a failed fsync fails every record waiting for it and every later one") {
    Env env;
    env.gate.hold();
    SyncProduce a(env, "a");
    REQUIRE(env.gate.wait_started(1));
    SyncProduce b(env, "b");
    REQUIRE(env.wait_log_end(2));
    env.gate.release(Status::error(Code::io_error, "injected: fdatasync failed"));
    auto first = a.join();
    auto second = b.join();
    CHECK(first.code() == Code::io_error);
    CHECK(second.code() == Code::io_error);
    // No retry: the failed fsync was the last one, and nothing later is acknowledged.
    auto third = env.producer->produce_sync({.topic = kTopic, .value = "c"});
    CHECK(third.code() == Code::io_error);
    CHECK(third.status().sub_code() == SubCode::fail_stopped);
    CHECK(env.gate.started() == 1);
}

TEST_CASE("acks=all: a produce_sync record another thread appends is acknowledged by its fsync") {
    Env env;
    HeldSend held;
    env.gate.hold();
    // The first of a and b to append stops before it does; the other's record is queued
    // behind, so that thread appends both.
    SyncProduce a(env, "a", true);
    SyncProduce b(env, "b", true);
    REQUIRE(held.wait_entered_and_queued(2));
    held.release();
    REQUIRE(env.gate.wait_started(1));
    REQUIRE(Env::wait_until([&] { return b.done() || env.log().sync_waiters() >= 2; }));
    // Both have their offsets but wait in sync_to for the held fsync.
    CHECK_FALSE(a.done());
    CHECK_FALSE(b.done());
    // One thread appended both records (in one send or two).
    const auto senders = held.send_threads();
    REQUIRE_FALSE(senders.empty());
    CHECK(std::count(senders.begin(), senders.end(), senders.front()) ==
          static_cast<std::ptrdiff_t>(senders.size()));

    SUBCASE("the fsync succeeds: both are acknowledged, durable when they return") {
        env.gate.release();
        auto first = a.join();
        auto second = b.join();
        REQUIRE(first.is_ok());
        REQUIRE(second.is_ok());
        CHECK(std::min(first->offset, second->offset) == Offset(0));
        CHECK(std::max(first->offset, second->offset) == Offset(1));
        CHECK(a.durable_end_when_returned() == 2);
        CHECK(b.durable_end_when_returned() == 2);
        CHECK(env.gate.started() == 1);  // that fsync covered both
    }
    SUBCASE("the fsync fails: neither is acknowledged, and nothing later") {
        env.gate.release(Status::error(Code::io_error, "injected: fdatasync failed"));
        CHECK(a.join().code() == Code::io_error);
        CHECK(b.join().code() == Code::io_error);
        auto later = env.producer->produce_sync({.topic = kTopic, .value = "c"});
        CHECK(later.code() == Code::io_error);
        CHECK(env.gate.started() == 1);
    }
}

TEST_CASE("acks=all from four threads: each record is durable at its offset when it returns") {
    // Whichever thread appends a record (its own, or one already appending the partition), its
    // produce_sync() returns only once it is in the crash image, at the offset it reports.
    Env env;
    const std::string dir = env.log().dir();
    constexpr int kThreads = 4;
    constexpr int kPerThread = 10;
    std::vector<std::vector<std::int64_t>> offsets(kThreads);
    std::vector<std::string> failures(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const std::string value = "t" + std::to_string(t) + "-" + std::to_string(i);
                auto report = env.producer->produce_sync({.topic = kTopic, .value = value});
                if (!report.is_ok()) {
                    failures[t] = value + ": " + report.status().to_string();
                    return;
                }
                const std::int64_t offset = report->offset.value();
                auto image = env.faulty.crash_image(Tear::drop);
                ManualClock clock;
                auto log = log::PartitionLog::open(*image, dir, {}, clock);
                auto read = log.is_ok() ? (*log)->read(Offset(offset), 1)
                                        : Result<std::vector<log::DecodedBatch>>(log.status());
                std::optional<std::string> found;
                if (read.is_ok()) {
                    for (const auto& batch : *read) {
                        for (const auto& r : batch.records) {
                            if (r.offset == Offset(offset)) found = r.value;
                        }
                    }
                }
                if (found != value) {
                    failures[t] = value + " is not at offset " + std::to_string(offset) +
                                  " in the crash image taken when produce_sync() returned";
                    return;
                }
                offsets[t].push_back(offset);
            }
        });
    }
    for (std::thread& t : threads) t.join();
    std::vector<std::int64_t> all;
    for (int t = 0; t < kThreads; ++t) {
        CHECK_MESSAGE(failures[t].empty(), failures[t]);
        // A thread's records keep the order it produced them in.
        CHECK(std::is_sorted(offsets[t].begin(), offsets[t].end()));
        all.insert(all.end(), offsets[t].begin(), offsets[t].end());
    }
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> expected(kThreads * kPerThread);
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::int64_t>(i);
    CHECK(all == expected);
}
