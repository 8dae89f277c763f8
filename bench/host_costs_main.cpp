// brook_host_costs: what the kernel and the hypervisor charge for the operations brook's hot
// paths are made of, so that a run's figures can be read against the host they came from.
// scripts/bench runs it before the suite and keeps its lines in bench/results/host.txt.
//
// Usage: brook_host_costs SCRATCH_DIR
//   Writes two files in SCRATCH_DIR (removed on exit) and prints one line per measurement:
//   - a system call that does nothing (getppid), mean of 100,000;
//   - a steady_clock read, mean of 100,000;
//   - a 120-byte pwrite that appends to a file, p50 and p99 of 20,000;
//   - the first read through a shared mapping of a page just written with pwrite (a minor
//     page fault), p50 and p99 of 4,000 pages;
//   - reading 128 MiB of a file in the page cache through a new mapping, one load per 64
//     bytes, against pread in 128 KiB chunks into one buffer (the best of three each);
//   - 200 commits of append-sync-batch's size (a pwrite of 118,933 bytes, then fdatasync):
//     appending to a new file; overwriting those blocks, written and synced before; and
//     appending with each MiB first written as zeros and synced, as a log that kept written
//     blocks ahead of its end would (fdatasync p50 and p99, and the total).
//   Exits 1 with a message on stderr if a file cannot be made.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Where the loops' loads go, so that the compiler keeps them.
volatile std::int64_t g_sink = 0;

double elapsed_ns(Clock::time_point since) {
    return std::chrono::duration<double, std::nano>(Clock::now() - since).count();
}

// p50 and p99 of `samples`, in microseconds.
void print_percentiles(const char* what, std::vector<double>& samples) {
    std::sort(samples.begin(), samples.end());
    std::printf("%s: p50 %.2f us, p99 %.2f us\n", what, samples[samples.size() / 2] / 1e3,
                samples[samples.size() * 99 / 100] / 1e3);
}

[[noreturn]] void die(const std::string& what) {
    std::perror(what.c_str());
    std::exit(1);
}

int open_scratch(const std::string& path) {
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) die("open " + path);
    return fd;
}

void null_syscall_and_clock() {
    constexpr int kCalls = 100'000;
    auto start = Clock::now();
    for (int i = 0; i < kCalls; ++i) ::syscall(SYS_getppid);
    std::printf("system call (getppid): %.0f ns\n", elapsed_ns(start) / kCalls);
    std::int64_t sink = 0;
    start = Clock::now();
    for (int i = 0; i < kCalls; ++i) sink += Clock::now().time_since_epoch().count();
    std::printf("steady_clock::now: %.0f ns\n", elapsed_ns(start) / kCalls);
    g_sink = sink;
}

void appending_pwrite(const std::string& path) {
    const int fd = open_scratch(path);
    constexpr int kWrites = 20'000;
    const std::vector<char> record(120, 'r');
    std::vector<double> took;
    took.reserve(kWrites);
    for (int i = 0; i < kWrites; ++i) {
        const auto start = Clock::now();
        if (::pwrite(fd, record.data(), record.size(), off_t{i} * 120) < 0) die("pwrite");
        took.push_back(elapsed_ns(start));
    }
    print_percentiles("appending pwrite of 120 bytes", took);
    ::close(fd);
}

void first_touch_after_pwrite(const std::string& path) {
    const int fd = open_scratch(path);
    constexpr long kPages = 4000;
    const long page = ::sysconf(_SC_PAGESIZE);
    void* map = ::mmap(nullptr, kPages * page, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) die("mmap");
    const auto* bytes = static_cast<const volatile char*>(map);
    const std::vector<char> block(page, 'p');
    std::vector<double> took;
    took.reserve(kPages);
    for (long i = 0; i < kPages; ++i) {
        if (::pwrite(fd, block.data(), block.size(), i * page) < 0) die("pwrite");
        const auto start = Clock::now();
        (void)bytes[i * page];
        took.push_back(elapsed_ns(start));
    }
    print_percentiles("first read of a page just written, through a shared mapping", took);
    ::munmap(map, kPages * page);
    ::close(fd);
}

void mapped_against_pread(const std::string& path) {
    constexpr std::size_t kBytes = std::size_t{128} << 20;
    const int fd = open_scratch(path);
    std::vector<char> chunk(std::size_t{128} << 10, 'x');
    for (std::size_t at = 0; at < kBytes; at += chunk.size()) {
        if (::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(at)) < 0) die("pwrite");
    }
    double mapped_ms = 1e30;
    double pread_ms = 1e30;
    long sink = 0;
    for (int round = 0; round < 3; ++round) {
        auto start = Clock::now();
        void* map = ::mmap(nullptr, kBytes, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) die("mmap");
        const auto* bytes = static_cast<const volatile char*>(map);
        for (std::size_t at = 0; at < kBytes; at += 64) sink += bytes[at];
        ::munmap(map, kBytes);
        mapped_ms = std::min(mapped_ms, elapsed_ns(start) / 1e6);

        start = Clock::now();
        for (std::size_t at = 0; at < kBytes; at += chunk.size()) {
            if (::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(at)) < 0) die("pread");
            for (std::size_t i = 0; i < chunk.size(); i += 64) sink += chunk[i];
        }
        pread_ms = std::min(pread_ms, elapsed_ns(start) / 1e6);
    }
    std::printf("128 MiB from the page cache: %.1f ms through a new mapping, %.1f ms with pread\n",
                mapped_ms, pread_ms);
    g_sink = sink;
    ::close(fd);
}

// One commit per call of `commit(i)`, which writes commit i's bytes; times each fdatasync.
template <typename Commit>
void time_commits(const char* what, int fd, Commit commit) {
    constexpr int kCommits = 200;
    std::vector<double> took;
    took.reserve(kCommits);
    const auto start = Clock::now();
    for (int i = 0; i < kCommits; ++i) {
        commit(i);
        const auto synced = Clock::now();
        if (::fdatasync(fd) != 0) die("fdatasync");
        took.push_back(elapsed_ns(synced));
    }
    const double total_ms = elapsed_ns(start) / 1e6;
    std::sort(took.begin(), took.end());
    std::printf("fdatasync of a commit, %s: p50 %.0f us, p99 %.0f us; 200 commits in %.1f ms\n",
                what, took[took.size() / 2] / 1e3, took[took.size() * 99 / 100] / 1e3, total_ms);
}

void commit_fdatasync(const std::string& path) {
    constexpr off_t kCommit = 118'933;
    constexpr off_t kZeroChunk = off_t{1} << 20;
    const std::vector<char> batch(kCommit, 'b');
    const std::vector<char> zeros(kZeroChunk, 0);
    const auto write_at = [&](int fd, const std::vector<char>& bytes, off_t at) {
        if (::pwrite(fd, bytes.data(), bytes.size(), at) != static_cast<ssize_t>(bytes.size()))
            die("pwrite");
    };

    int fd = open_scratch(path);
    time_commits("appending", fd, [&](int i) { write_at(fd, batch, i * kCommit); });
    time_commits("overwriting blocks synced before", fd,
                 [&](int i) { write_at(fd, batch, i * kCommit); });
    ::close(fd);

    fd = open_scratch(path);
    off_t zeroed = 0;
    time_commits("appending into zeros synced a MiB at a time", fd, [&](int i) {
        const off_t end = (i + 1) * kCommit;
        if (end > zeroed) {
            for (; zeroed < end; zeroed += kZeroChunk) write_at(fd, zeros, zeroed);
            if (::fdatasync(fd) != 0) die("fdatasync");
        }
        write_at(fd, batch, i * kCommit);
    });
    ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: brook_host_costs SCRATCH_DIR\n");
        return 2;
    }
    const std::string data = std::string(argv[1]) + "/host-costs.data";
    const std::string pages = std::string(argv[1]) + "/host-costs.pages";
    null_syscall_and_clock();
    appending_pwrite(data);
    first_touch_after_pwrite(pages);
    mapped_against_pread(data);
    commit_fdatasync(data);
    ::unlink(data.c_str());
    ::unlink(pages.c_str());
    return 0;
}
