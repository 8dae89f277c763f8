// brook_io_timer: a library preloaded into one benchmark case to time the system calls that
// bound its I/O, without strace's cost per call. It wraps pread/read of 60,000 bytes or more,
// pwrite/write of 30,000 bytes or more (a commit's or a fetch's bulk, not headers and metadata)
// and every fdatasync, and prints on stderr at exit:
//   - the large reads: count, bytes, time;
//   - the large writes: count, bytes, time;
//   - the fdatasyncs: count and time, and of them the "data syncs", those that follow a large
//     write (a commit's fsync, not the set-up's);
//   - from each fdatasync's end to the next large write: the time a writer spends making its
//     next commit, summed;
//   - from each large write's end to the next fdatasync: summed;
//   - the medians of the data syncs and of the times from an fdatasync's end to the next large
//     write (of the first 65,536 of each), as "p50 sync" and "p50 gap", in microseconds.
//
// Usage, after a scripts/bench build: preload it into one --case run, whose totals it prints
// (under a full run every case's process would print its own), as one command, split here:
//   LD_PRELOAD=build-bench/bench/libbrook_io_timer.so
//       build-bench/bench/brook_bench --case append-sync-batch brook --dir /tmp/case
//
// The counters are plain globals: the cases it is meant for make these calls from one thread.
// docs/performance.md ("What limits the targets missed or met narrowly on this host") quotes it.
#include <dlfcn.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace {

constexpr size_t kLargeRead = 60'000;
constexpr size_t kLargeWrite = 30'000;

struct Totals {
    long reads = 0, writes = 0, syncs = 0, data_syncs = 0;
    double read_bytes = 0, write_bytes = 0;
    double read_s = 0, write_s = 0, sync_s = 0, data_sync_s = 0;
    double sync_to_write_s = 0, write_to_sync_s = 0;
    double last_sync_end = 0, last_write_end = 0;  // 0: none since the other kind of call
};
Totals totals;

// Per-call times, for their medians; plain arrays, as a preloaded library allocates nothing.
constexpr int kKept = 65'536;
struct Samples {
    double values[kKept];
    int count = 0;
    void add(double seconds) {
        if (count < kKept) values[count++] = seconds;
    }
    double median_us() {
        if (count == 0) return 0;
        std::nth_element(values, values + count / 2, values + count);
        return values[count / 2] * 1e6;
    }
};
Samples data_sync_times;
Samples sync_to_write_times;

double now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

template <typename Fn>
Fn next(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

void count_read(double start, ssize_t got) {
    ++totals.reads;
    totals.read_s += now() - start;
    if (got > 0) totals.read_bytes += double(got);
}

void count_write(double start, ssize_t put) {
    const double end = now();
    ++totals.writes;
    totals.write_s += end - start;
    if (put > 0) totals.write_bytes += double(put);
    if (totals.last_sync_end != 0) {
        totals.sync_to_write_s += start - totals.last_sync_end;
        sync_to_write_times.add(start - totals.last_sync_end);
    }
    totals.last_sync_end = 0;
    totals.last_write_end = end;
}

__attribute__((destructor)) void report() {
    std::fprintf(
        stderr,
        "io_timer: reads %ld, %.1f MB, %.2f ms; writes %ld, %.1f MB, %.2f ms; "
        "fdatasync %ld, %.2f ms (data syncs %ld, %.2f ms); fdatasync end to next write "
        "%.2f ms; write end to next fdatasync %.2f ms; p50 sync %.1f us, p50 gap %.1f us\n",
        totals.reads, totals.read_bytes / 1e6, totals.read_s * 1e3, totals.writes,
        totals.write_bytes / 1e6, totals.write_s * 1e3, totals.syncs, totals.sync_s * 1e3,
        totals.data_syncs, totals.data_sync_s * 1e3, totals.sync_to_write_s * 1e3,
        totals.write_to_sync_s * 1e3, data_sync_times.median_us(), sync_to_write_times.median_us());
}

}  // namespace

extern "C" {

ssize_t pread64(int fd, void* buf, size_t count, off_t offset) {
    static const auto real = next<ssize_t (*)(int, void*, size_t, off_t)>("pread64");
    if (count < kLargeRead) return real(fd, buf, count, offset);
    const double start = now();
    const ssize_t got = real(fd, buf, count, offset);
    count_read(start, got);
    return got;
}

ssize_t read(int fd, void* buf, size_t count) {
    static const auto real = next<ssize_t (*)(int, void*, size_t)>("read");
    if (count < kLargeRead) return real(fd, buf, count);
    const double start = now();
    const ssize_t got = real(fd, buf, count);
    count_read(start, got);
    return got;
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
    static const auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite64");
    if (count < kLargeWrite) return real(fd, buf, count, offset);
    const double start = now();
    const ssize_t put = real(fd, buf, count, offset);
    count_write(start, put);
    return put;
}

ssize_t write(int fd, const void* buf, size_t count) {
    static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
    if (count < kLargeWrite) return real(fd, buf, count);
    const double start = now();
    const ssize_t put = real(fd, buf, count);
    count_write(start, put);
    return put;
}

int fdatasync(int fd) {
    static const auto real = next<int (*)(int)>("fdatasync");
    const double start = now();
    const int result = real(fd);
    const double end = now();
    ++totals.syncs;
    totals.sync_s += end - start;
    if (totals.last_write_end != 0) {
        ++totals.data_syncs;
        totals.data_sync_s += end - start;
        data_sync_times.add(end - start);
        totals.write_to_sync_s += start - totals.last_write_end;
        totals.last_write_end = 0;
    }
    totals.last_sync_end = end;
    return result;
}

}  // extern "C"
