#include "client/read_ahead.hpp"

#include <atomic>
#include <chrono>
#include <system_error>
#include <utility>

#include "util/wake_flag.hpp"

namespace brook::client {
namespace {

// How long a thread that waits for the other (the consumer for a read, the thread for the next
// read asked) checks, yielding the CPU between checks, before it sleeps. A read of the default
// 1 MiB takes about 130 µs, and the consumer hands out such a read's records in about as
// long, so each usually waits for the other for less than this; a sleeping thread costs the
// one that wakes it tens of µs on a virtual machine (docs/performance.md, item 53).
constexpr std::chrono::microseconds kSpin{200};

// Calls `ready` until it returns true or kSpin passes, yielding between calls.
// @return whether `ready` returned true.
template <typename Ready>
bool spin_until(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::yield();
    }
    return true;
}

}  // namespace

// A read asked for: its arguments, its buffer, and how it went.
struct AheadJob {
    AheadJob(std::shared_ptr<detail::PartitionState> partition, Offset start, std::size_t size,
             log::Isolation level, FetchedBytesRef buffer)
        : state(std::move(partition)),
          from(start),
          max_bytes(size),
          isolation(level),
          bytes(std::move(buffer)) {}

    const std::shared_ptr<detail::PartitionState> state;
    const Offset from;
    const std::size_t max_bytes;
    const log::Isolation isolation;
    // Filled by the thread, and handed to the partition once done is set; empty if the read
    // failed or was skipped.
    FetchedBytesRef bytes;
    // Set by the thread once it no longer touches the job.
    util::WakeFlag done;
    // Set by the partition's AheadRead when it no longer wants the read.
    std::atomic<bool> abandoned{false};
};

AheadRead& AheadRead::operator=(AheadRead&& other) noexcept {
    if (this != &other) {
        abandon();
        job_ = std::move(other.job_);
    }
    return *this;
}

Offset AheadRead::from() const noexcept {
    return job_->from;
}

void AheadRead::abandon() noexcept {
    if (!job_) return;
    job_->abandoned.store(true, std::memory_order_relaxed);
    job_.reset();
}

ReadAhead::~ReadAhead() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    queued_.notify_one();
    if (thread_.joinable()) thread_.join();
}

AheadRead ReadAhead::start(std::shared_ptr<detail::PartitionState> state, Offset from,
                           std::size_t max_bytes, log::Isolation isolation, FetchedBytesRef bytes) {
    auto job =
        std::make_shared<AheadJob>(std::move(state), from, max_bytes, isolation, std::move(bytes));
    {
        std::lock_guard lock(mu_);
        if (!thread_.joinable()) {
            try {
                thread_ = std::thread([this] { run(); });
            } catch (const std::system_error&) {
                // No thread (the process is out of them): the consumer reads for itself.
                return AheadRead();
            }
        }
        queue_.push_back(job);
        queued_count_.store(queue_.size(), std::memory_order_relaxed);
    }
    queued_.notify_one();
    return AheadRead(std::move(job));
}

FetchedBytesRef ReadAhead::take(AheadRead& read) {
    const std::shared_ptr<AheadJob> job = std::move(read.job_);
    if (!spin_until([&] { return job->done.is_set(); })) job->done.wait();
    return std::move(job->bytes);
}

void ReadAhead::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        if (queue_.empty() && !stopping_) {
            // The consumer usually asks for the next read soon after this one is done.
            lock.unlock();
            spin_until([&] { return queued_count_.load(std::memory_order_relaxed) > 0; });
            lock.lock();
        }
        queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        const std::shared_ptr<AheadJob> job = std::move(queue_.front());
        queue_.pop_front();
        queued_count_.store(queue_.size(), std::memory_order_relaxed);
        lock.unlock();
        const bool read =
            !job->abandoned.load(std::memory_order_relaxed) &&
            job->state->log
                ->read_raw_into(job->from, job->max_bytes, job->isolation, job->bytes->raw)
                .is_ok();
        // A buffer not read into goes back to the pool now.
        if (!read) job->bytes = FetchedBytesRef();
        job->done.set();
        lock.lock();
    }
}

}  // namespace brook::client
