// PauseDetector: tells a Producer with linger.ms = 0 whether a record comes after a pause, so
// that produce() appends it itself instead of handing it to the sender thread.
//
// A record that comes after a pause has nothing to batch with, and the hand-off would cost a
// wake-up of the sender and a context switch before the append (tens of microseconds on a
// virtual machine). Records that come fast go to the sender, which batches what arrives while
// it appends, so that a loop producing as fast as it can makes one write per batch.
//
// The pause is judged by a moving average of the time between calls: each gap moves the
// average half way to itself, and no gap counts for more than kLongestGapNs. A call comes
// after a pause while the average is at least kPauseNs. A run of kPacedCalls or more such
// calls marks a paced producer: the kBurstCalls calls that come fast right after the run
// still count as after a pause. One gap alone does not decide:
// - a stream paced at 50 µs that falls behind (its thread woke late, or was preempted for up
//   to 800 µs) sends the records it owes back to back, and produce() still appends them all:
//   handing them over would cost the first a wake-up of the sender;
// - a loop that produces as fast as it can and stalls once (a preemption, a page fault) keeps
//   handing its records to the sender: when its calls come 10 µs apart or less, the stall
//   lifts the average to kPauseNs or above for three of them at most, too few to mark it
//   paced;
// - after an idle spell, such a loop goes to the sender from its fourth record on, and from
//   its 21st at the latest if the spell followed a paced run (a new producer counts as
//   coming from one).
// A gap counts from the end of the previous call's own append (appended()), since the append
// is time the caller did not spend producing.
//
// Times are steady_clock nanoseconds, passed in so that tests choose them.
// Thread safety: any thread may call either function at any time. The Producer calls
// arrived() under its accumulator's lock; concurrent updates can only move the estimate,
// and either decision is correct, only slower.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>

namespace brook::client {

class PauseDetector {
  public:
    // The average gap at and above which a call comes after a pause.
    static constexpr std::int64_t kPauseNs = 20'000;
    // The most one gap counts for in the average.
    static constexpr std::int64_t kLongestGapNs = 8 * kPauseNs;
    // How many calls in a row after a pause mark a paced producer, and how many of its fast
    // calls after such a run still count as after a pause.
    static constexpr std::int64_t kPacedCalls = 4;
    static constexpr std::int64_t kBurstCalls = 16;

    // Records a call at `now_ns`.
    // @return whether it comes after a pause (the caller should append the record itself).
    bool arrived(std::int64_t now_ns) noexcept {
        const std::int64_t previous = last_ns_.exchange(now_ns, std::memory_order_relaxed);
        const std::int64_t gap = std::min(now_ns - previous, kLongestGapNs);
        std::int64_t mean = mean_gap_ns_.load(std::memory_order_relaxed);
        mean += (gap - mean) / 2;
        mean_gap_ns_.store(mean, std::memory_order_relaxed);
        if (mean >= kPauseNs) {
            const std::int64_t run = paced_calls_.load(std::memory_order_relaxed) + 1;
            paced_calls_.store(run, std::memory_order_relaxed);
            burst_calls_left_.store(run >= kPacedCalls ? kBurstCalls : 0,
                                    std::memory_order_relaxed);
            return true;
        }
        paced_calls_.store(0, std::memory_order_relaxed);
        const std::int64_t left = burst_calls_left_.load(std::memory_order_relaxed);
        if (left == 0) return false;
        burst_calls_left_.store(left - 1, std::memory_order_relaxed);
        return true;
    }

    // Records that a call which arrived() after a pause finished appending at `now_ns`: the
    // next gap counts from here.
    void appended(std::int64_t now_ns) noexcept {
        last_ns_.store(now_ns, std::memory_order_relaxed);
    }

  private:
    // Far enough in the past that the first gap counts as kLongestGapNs, yet without overflow.
    std::atomic<std::int64_t> last_ns_{std::numeric_limits<std::int64_t>::min() / 2};
    std::atomic<std::int64_t> mean_gap_ns_{kLongestGapNs};
    std::atomic<std::int64_t> paced_calls_{0};       // the current run of calls after a pause
    std::atomic<std::int64_t> burst_calls_left_{0};  // fast calls that still count as after it
};

}  // namespace brook::client
