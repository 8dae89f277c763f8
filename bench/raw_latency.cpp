// raw's latency: the physical limit of handing a record from one thread to another through a
// file on this machine, the floor brook's latency row is read against. The sender writes each
// record (length, key, value) to a file with write(2), publishes its send stamp in memory and
// bumps a counter; the reader, blocked as brook's poll() is, spins on the counter for up to
// brook's longest spin (store::kMaxSpin) and then sleeps on a futex until the sender wakes
// it. No checksum, no index, no batch: only the write, the hand-off and the wake-up.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "paced_stream.hpp"
#include "store/change_notifier.hpp"
#include "util/futex.hpp"

namespace brook::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kSpinNs =
    std::chrono::duration_cast<std::chrono::nanoseconds>(store::kMaxSpin).count();
constexpr std::int64_t kReceiveTimeoutNs = 5'000'000'000;

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

// The counter of published records, which the reader waits on. The sender wakes the reader
// only when it has said it may sleep (Dekker's pattern on published_ and sleepers_).
class Handoff {
  public:
    void publish(std::uint32_t count) noexcept {
        published_.store(count, std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) != 0) {
            util::futex_wake(&published_, INT_MAX);
        }
    }

    // @return whether more than `seen` records were published within the timeout.
    bool wait_past(std::uint32_t seen) noexcept {
        const std::int64_t start = now_ns();
        for (int i = 0; published_.load(std::memory_order_seq_cst) == seen; ++i) {
            cpu_relax();
            if (i % 16 != 0) continue;
            const std::int64_t waited = now_ns() - start;
            if (waited > kReceiveTimeoutNs) return false;
            if (waited < kSpinNs) continue;
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            if (published_.load(std::memory_order_seq_cst) == seen) {
                util::futex_wait(&published_, seen, std::chrono::steady_clock::now() + 1s);
            }
            sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        }
        return true;
    }

  private:
    static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
    std::atomic<std::uint32_t> published_{0};
    std::atomic<std::uint32_t> sleepers_{0};
};

Row raw_latency(const Spec& spec) {
    const RecordGen gen(spec.value_bytes);
    Row row = base_row(spec, gen);
    const std::string path = spec.dir + "/raw.log";
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) die("raw: cannot create " + path + ": " + std::strerror(errno));
    if (spec.records > INT_MAX) die("raw: too many records for the latency workload");

    std::vector<std::int64_t> stamps(static_cast<std::size_t>(spec.records));
    Handoff handoff;
    std::vector<char> record(4 + 8 + spec.value_bytes);
    const auto length = static_cast<std::uint32_t>(record.size() - 4);
    std::memcpy(record.data(), &length, 4);

    Stopwatch watch;
    Latencies latencies = run_paced_stream(
        spec.records, {.send =
                           [&](std::int64_t i) {
                               gen.key(i, record.data() + 4);
                               const std::string_view value = gen.value(i);
                               std::memcpy(record.data() + 12, value.data(), value.size());
                               const std::int64_t sent = now_ns();
                               std::memcpy(record.data() + 12, &sent, sizeof sent);
                               if (::write(fd, record.data(), record.size()) !=
                                   static_cast<ssize_t>(record.size())) {
                                   die(std::string("raw: write failed: ") + std::strerror(errno));
                               }
                               stamps[static_cast<std::size_t>(i)] = sent;
                               handoff.publish(static_cast<std::uint32_t>(i + 1));
                           },
                       .receive = [&](std::int64_t i) -> std::optional<std::int64_t> {
                           if (!handoff.wait_past(static_cast<std::uint32_t>(i)))
                               return std::nullopt;
                           return stamps[static_cast<std::size_t>(i)];
                       }});
    row.seconds = watch.seconds();
    ::close(fd);
    latencies.fill(row);
    row.notes.push_back(
        "a record every 50 us; write(2) to a file, then a hand-off to a reader that spins for " +
        std::to_string(kSpinNs / 1000) + " us and then sleeps on a futex");
    return row;
}

BROOK_BENCH_CASE("latency", "raw", raw_latency);

}  // namespace
}  // namespace brook::bench
