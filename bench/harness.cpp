// The harness: sizes of each workload, the record generator, latencies and process stats.
#include "harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace brook::bench {

double Stopwatch::process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

Stopwatch::Faults Stopwatch::process_faults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return {.major = usage.ru_majflt, .minor = usage.ru_minflt};
}

std::string Stopwatch::cpu_note() const {
    const Faults now = process_faults();
    char text[160];
    std::snprintf(text, sizeof text,
                  "timed part: %.3f s of process CPU, %ld major and %ld minor page faults, in "
                  "%.3f s of wall time",
                  cpu_seconds(), now.major - faults_start_.major, now.minor - faults_start_.minor,
                  seconds());
    return text;
}

PhaseTimes::PhaseTimes(std::initializer_list<const char*> names) {
    for (const char* name : names) {
        if (count_ == kMaxPhases) die("PhaseTimes: too many phases");
        names_[count_++] = name;
    }
}

PhaseTimes::Clock::time_point PhaseTimes::record(std::size_t phase,
                                                 Clock::time_point since) noexcept {
    const Clock::time_point now = Clock::now();
    ns_[phase].fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(now - since).count(),
                         std::memory_order_relaxed);
    return now;
}

void PhaseTimes::reset() noexcept {
    for (auto& ns : ns_) ns.store(0, std::memory_order_relaxed);
}

std::optional<std::string> PhaseTimes::note() const {
    if (!enabled_) return std::nullopt;
    std::string note = "write() time by phase:";
    for (std::size_t i = 0; i < count_; ++i) {
        char text[64];
        std::snprintf(text, sizeof text, "%s %s %.1f ms", i == 0 ? "" : ",", names_[i],
                      double(ns_[i].load(std::memory_order_relaxed)) / 1e6);
        note += text;
    }
    return note;
}

namespace {

std::vector<Case>& registry() {
    static std::vector<Case> all;
    return all;
}

}  // namespace

bool register_case(std::string workload, std::string system, CaseFn fn) {
    if (std::find(kWorkloads.begin(), kWorkloads.end(), workload) == kWorkloads.end() ||
        std::find(kSystems.begin(), kSystems.end(), system) == kSystems.end()) {
        std::fprintf(stderr, "bench: unknown workload or system in case %s/%s\n", workload.c_str(),
                     system.c_str());
        std::abort();
    }
    registry().push_back({std::move(workload), std::move(system), std::move(fn)});
    return true;
}

const std::vector<Case>& cases() {
    return registry();
}

Spec make_spec(std::string_view workload, std::string_view system, bool quick, std::string dir,
               std::string shared) {
    Spec s;
    s.workload = workload;
    s.system = system;
    s.quick = quick;
    s.dir = std::move(dir);
    s.shared = std::move(shared);
    // Full size, as the issue gives it; --quick divides the record counts by ten.
    std::int64_t n = 0;
    if (workload == "append-100b" || workload == "consume-100b" || workload == "zstd-json" ||
        workload == "produce-unbatched" || workload == "append-roll") {
        n = 1'000'000;
    } else if (workload == "append-1kb") {
        n = 200'000;
        s.value_bytes = 1024;
    } else if (workload == "append-sync-batch") {
        n = 200'000;
        s.durability = Durability::per_batch;
    } else if (workload == "append-sync-record") {
        n = 5'000;
        s.batch = 1;
        s.durability = Durability::per_record;
    } else if (workload == "group-commit-4") {
        n = 10'000;
        s.batch = 1;
        s.threads = 4;
        s.durability = Durability::per_record;
    } else if (workload == "latency") {
        n = 30'000;
        s.batch = 1;
    } else if (workload == "seek-offset" || workload == "seek-time") {
        n = 100'000;  // seeks; the log holds log_records()
    } else if (workload == "open-memory") {
        n = 1'000;
    } else if (workload == "group-4x8") {
        n = 1'000'000;
    } else if (workload == "compaction") {
        n = 8'600'000;  // about 1 GB of segments
    } else if (workload == "retention") {
        n = 1'000;  // segments deleted
    } else if (workload == "open-disk-400") {
        n = quick ? 1 : 5;
    } else if (workload == "recovery") {
        n = 256 * 1024;  // 256 MiB of 1 KiB values
        s.value_bytes = 1024;
    } else if (workload == "idle-rss-400") {
        n = 1;
    } else if (workload == "txn-100x3") {
        n = 30'000;  // 300 transactions of 100 records
    }
    if (workload == "produce-unbatched") s.batch = 1;
    s.json = workload == "zstd-json";
    if (quick && n >= 100) n /= 10;
    s.records = n;
    // The rows that wait for the disk start timing after as many commits as append-sync-batch
    // times, untimed.
    if (s.durability != Durability::none) s.warmup_commits = quick ? 20 : 200;
    return s;
}

std::int64_t log_records(const Spec& spec) {
    return spec.quick ? 1'000'000 : 10'000'000;
}

std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

RecordGen::RecordGen(std::size_t value_bytes, std::uint64_t seed)
    : value_bytes_(value_bytes), seed_(seed) {
    // 64 KiB of random bytes plus room for a whole value at any start position.
    pool_.resize(65536 + value_bytes);
    std::uint64_t state = seed;
    for (std::size_t i = 0; i < pool_.size(); i += 8) {
        const std::uint64_t r = splitmix64(state++);
        for (std::size_t b = 0; b < 8 && i + b < pool_.size(); ++b) {
            pool_[i + b] = static_cast<char>(r >> (8 * b));
        }
    }
}

RecordGen RecordGen::for_spec(const Spec& spec) {
    return spec.json ? json() : RecordGen(spec.value_bytes);
}

RecordGen RecordGen::json(std::uint64_t seed) {
    RecordGen gen;
    gen.seed_ = seed;
    constexpr std::uint32_t kEvents = 65536;
    for (std::uint32_t e = 0; e < kEvents; ++e) {
        gen.starts_.push_back(static_cast<std::uint32_t>(gen.pool_.size()));
        gen.pool_ += json_event(e, seed);
    }
    gen.starts_.push_back(static_cast<std::uint32_t>(gen.pool_.size()));
    gen.value_bytes_ = gen.pool_.size() / kEvents;
    return gen;
}

std::uint64_t RecordGen::key_u64(std::int64_t i) const noexcept {
    return splitmix64(seed_ ^ static_cast<std::uint64_t>(i));
}

void RecordGen::key(std::int64_t i, char out[8]) const noexcept {
    put_be64(out, key_u64(i));
}

std::string_view RecordGen::value(std::int64_t i) const noexcept {
    const std::size_t start = key_u64(i) & 0xffff;
    if (!starts_.empty()) {
        return {pool_.data() + starts_[start], starts_[start + 1] - starts_[start]};
    }
    return {pool_.data() + start, value_bytes_};
}

std::string json_event(std::int64_t i, std::uint64_t seed) {
    static const char* const kTypes[] = {"user.signup", "page.view", "cart.add", "order.placed"};
    static const char* const kPlans[] = {"free", "pro", "team"};
    const std::uint64_t r = splitmix64(seed ^ static_cast<std::uint64_t>(i));
    char buf[320];
    const int n = std::snprintf(
        buf, sizeof buf,
        R"({"type": "%s", "user_id": "user-%llu", "plan": "%s", "page": "/products/%llu", )"
        R"("ts": %lld, "session": "%016llx", "amount_cents": %llu})",
        kTypes[r % 4], static_cast<unsigned long long>((r >> 8) % 100'000), kPlans[(r >> 4) % 3],
        static_cast<unsigned long long>((r >> 24) % 5'000), 1'700'000'000'000LL + i * 7,
        static_cast<unsigned long long>(splitmix64(r)),
        static_cast<unsigned long long>((r >> 40) % 100'000));
    return std::string(buf, static_cast<std::size_t>(n));
}

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void Latencies::fill(Row& row) {
    if (samples_.empty()) return;
    std::sort(samples_.begin(), samples_.end());
    auto at = [&](double q) {
        const auto idx = static_cast<std::size_t>(std::ceil(q * double(samples_.size()))) - 1;
        return double(samples_[std::min(idx, samples_.size() - 1)]) / 1000.0;
    };
    row.p50_us = at(0.50);
    row.p99_us = at(0.99);
    row.p999_us = at(0.999);
}

std::int64_t peak_rss_kb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

std::optional<std::string> run_capturing_stdout(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) die(std::string("pipe: ") + std::strerror(errno));
    const pid_t pid = fork();
    if (pid < 0) die(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        std::vector<char*> args;
        for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
    return out;
}

std::int64_t current_rss_kb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
    }
    return 0;
}

std::uint64_t dir_bytes(const std::string& dir, std::string_view suffix) {
    std::uint64_t total = 0;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return 0;
    while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        const std::string path = dir + "/" + name;
        struct stat st {};
        if (lstat(path.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            total += dir_bytes(path, suffix);
        } else if (S_ISREG(st.st_mode) &&
                   (suffix.empty() ||
                    (name.size() >= suffix.size() &&
                     name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0))) {
            total += static_cast<std::uint64_t>(st.st_size);
        }
    }
    closedir(d);
    return total;
}

void make_durable(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("open " + dir + ": " + std::strerror(errno));
    const int synced = ::syncfs(fd);
    const int error = errno;
    ::close(fd);
    if (synced != 0) die("syncfs " + dir + ": " + std::strerror(error));
}

void die(const std::string& what) {
    std::fprintf(stderr, "bench: %s\n", what.c_str());
    std::exit(2);
}

Row bare_row(const Spec& spec) {
    Row row;
    row.workload = spec.workload;
    row.system = spec.system;
    row.records = spec.records;
    return row;
}

Row base_row(const Spec& spec, const RecordGen& gen) {
    Row row = bare_row(spec);
    row.record_bytes = gen.record_bytes();
    row.batch = spec.batch;
    return row;
}

}  // namespace brook::bench
