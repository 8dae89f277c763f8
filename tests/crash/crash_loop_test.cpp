// The real crash loop: a child process writes a store on the real disk and is killed with
// SIGKILL at a random moment, again and again; after each kill the parent reopens the store and
// checks it against every acknowledgement the child managed to report.
//
// The child runs 4 producer threads sharing one Producer with acks=all (concurrent durable
// appends share fsyncs: group commit), on a topic with small segments so that rolls happen
// often. After each delivery report it writes one line "partition offset value" to a pipe, so
// what the parent reads is a lower bound of what was acknowledged. The parent checks, after
// each cycle and for every cycle so far:
//   - the store opens (recovery succeeds) and every partition reads back without corruption;
//   - offsets are gap-free from the log start;
//   - every record is whole (its value is self-describing) and each thread's records are in
//     the order they were produced;
//   - every acknowledged record is present at its offset with its value.
// Consumer groups committing offsets, retention and compaction join the child's workload when
// those features land; the checks then add "committed offsets never move backwards and never
// pass the log end" and allow the gaps retention and compaction make.
//
// Cycles: 100 by default, 20 under sanitizers; BROOK_CRASH_CYCLES=N runs a longer soak and
// BROOK_CRASH_SEED=S picks the kill times. A fresh store directory starts every 100 cycles.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <brook/producer.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "store/store_core.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

constexpr const char* kTopic = "crash";
constexpr int kPartitions = 3;
constexpr int kThreads = 4;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t kDefaultCycles = 20;
#else
constexpr std::uint64_t kDefaultCycles = 100;
#endif

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

// "c<cycle>-t<thread>-<i>-" then (i % 50) letters: a torn or mixed-up value cannot pass.
std::string make_value(std::uint64_t cycle, int thread, std::uint64_t i) {
    return fmt::format("c{}-t{}-{}-{}", cycle, thread, i, std::string(i % 50, char('a' + i % 26)));
}

struct Parsed {
    std::uint64_t cycle = 0;
    int thread = 0;
    std::uint64_t i = 0;
};

std::optional<Parsed> parse_value(const std::string& value) {
    Parsed p;
    char tail[64] = {};
    if (std::sscanf(value.c_str(), "c%lu-t%d-%lu-%63s", &p.cycle, &p.thread, &p.i, tail) < 3) {
        return std::nullopt;
    }
    if (make_value(p.cycle, p.thread, p.i) != value) return std::nullopt;
    return p;
}

void write_line(int fd, const std::string& line) {
    // One write of less than PIPE_BUF bytes: the line arrives whole or not at all.
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(4);
}

// The child: writes until it is killed. Never returns.
[[noreturn]] void run_child(const std::string& path, int fd, std::uint64_t cycle) {
    auto fail = [fd](const std::string& what) {
        write_line(fd, "E " + what + "\n");
        ::_exit(3);
    };
    auto store = Store::open(path);
    if (!store.is_ok()) fail("open: " + store.status().to_string());
    const Config config = {{"segment.bytes", "2048"},
                           {"segment.index.bytes", "4096"},
                           {"index.interval.bytes", "256"}};
    if (Status created = (*store)->create_topic(kTopic, kPartitions, config);
        !created.is_ok() && created.code() != Code::already_exists) {
        fail("create_topic: " + created.to_string());
    }
    auto producer = Producer::create(**store, {{"acks", "all"}});
    if (!producer.is_ok()) fail("producer: " + producer.status().to_string());
    write_line(fd, "R\n");
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint64_t i = 0;; ++i) {
                const std::string value = make_value(cycle, t, i);
                auto report = (*producer)->produce_sync(
                    {.topic = kTopic, .key = fmt::format("t{}", t), .value = value});
                if (!report.is_ok()) fail("produce: " + report.status().to_string());
                write_line(fd, fmt::format("{} {} {}\n", report->partition.value(),
                                           report->offset.value(), value));
            }
        });
    }
    for (auto& thread : threads) thread.join();
    ::_exit(0);
}

struct Acked {
    std::int32_t partition;
    std::int64_t offset;
};

// Runs one child and kills it `run_for` after it reported ready, or, with `during_open`,
// `run_for` after it started. Returns the lines it reported.
std::string run_and_kill(const std::string& path, std::uint64_t cycle,
                         std::chrono::microseconds run_for, bool during_open) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        run_child(path, fds[1], cycle);
    }
    ::close(fds[1]);
    std::string received;
    char buffer[4096];
    using Clock = std::chrono::steady_clock;
    auto deadline = during_open ? Clock::now() + run_for : Clock::time_point::max();
    bool killed = false;
    for (;;) {
        if (deadline == Clock::time_point::max() && received.starts_with("R\n")) {
            deadline = Clock::now() + run_for;
        }
        int wait_ms = -1;
        if (!killed && deadline != Clock::time_point::max()) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) {
                ::kill(pid, SIGKILL);
                killed = true;
            } else {
                wait_ms = static_cast<int>(left);
            }
        }
        pollfd readable{fds[0], POLLIN, 0};
        if (::poll(&readable, 1, wait_ms) <= 0) continue;
        const ssize_t got = ::read(fds[0], buffer, sizeof buffer);
        if (got <= 0) break;  // EOF: the child is gone
        received.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    // The child never stops on its own: it either was killed or reported an error.
    CHECK_MESSAGE(WIFSIGNALED(status), "the child exited by itself; its last lines: ",
                  received.substr(received.size() > 300 ? received.size() - 300 : 0));
    if (received.starts_with("R\n")) received.erase(0, 2);
    return received;
}

// Reopens the store and checks it against every acknowledgement so far.
void check_store(const std::string& path, const std::map<std::string, Acked>& acked) {
    auto store = Store::open(path);
    REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
    auto topic = (*store)->core()->topic(kTopic);
    if (!topic.is_ok()) {
        REQUIRE(acked.empty());
        return;
    }
    std::map<std::string, Acked> found;
    for (const auto& partition : (*topic)->partitions) {
        const auto& log = *partition->log;
        CHECK(log.log_start_offset() == Offset(0));
        const auto records = read_all(log);
        std::map<std::pair<std::uint64_t, int>, std::uint64_t> next_i;  // per cycle and thread
        for (std::size_t n = 0; n < records.size(); ++n) {
            const auto& r = records[n];
            CHECK(r.offset == Offset(static_cast<std::int64_t>(n)));
            REQUIRE(r.value.has_value());
            const auto parsed = parse_value(*r.value);
            REQUIRE_MESSAGE(parsed.has_value(), "a damaged record: ", *r.value);
            CHECK(r.key == fmt::format("t{}", parsed->thread));
            auto& expected = next_i[{parsed->cycle, parsed->thread}];
            CHECK(parsed->i >= expected);
            expected = parsed->i + 1;
            found[*r.value] = {partition->id.value(), r.offset.value()};
        }
    }
    for (const auto& [value, at] : acked) {
        CAPTURE(value);
        const auto it = found.find(value);
        REQUIRE_MESSAGE(it != found.end(), "an acknowledged record is missing");
        CHECK(it->second.partition == at.partition);
        CHECK(it->second.offset == at.offset);
    }
    REQUIRE((*store)->close().is_ok());
}

}  // namespace

TEST_CASE("crash loop: SIGKILL during durable produce loses no acknowledged record") {
    const std::uint64_t cycles = env_number("BROOK_CRASH_CYCLES", kDefaultCycles);
    const std::uint64_t seed = env_number("BROOK_CRASH_SEED", 20261126);
    std::mt19937_64 random(seed);
    std::uint64_t total_acks = 0;
    std::uint64_t kills_before_first_ack = 0;

    std::unique_ptr<PosixEnv> env;
    std::map<std::string, Acked> acked;
    for (std::uint64_t cycle = 0; cycle < cycles; ++cycle) {
        if (cycle % 100 == 0) {
            env = std::make_unique<PosixEnv>();
            acked.clear();
        }
        CAPTURE(cycle);
        CAPTURE(seed);
        const std::string path = env->root() + "/store";
        // One cycle in ten is killed while opening (recovering) the store.
        const bool during_open = random() % 10 == 0;
        const auto run_for = std::chrono::microseconds(random() % 30'000);
        const std::string lines = run_and_kill(path, cycle, run_for, during_open);

        std::size_t start = 0;
        std::uint64_t cycle_acks = 0;
        while (start < lines.size()) {
            const std::size_t end = lines.find('\n', start);
            REQUIRE_MESSAGE(end != std::string::npos, "a partial line from the pipe");
            const std::string line = lines.substr(start, end - start);
            start = end + 1;
            REQUIRE_MESSAGE(!line.starts_with("E "), "the child failed: ", line);
            Acked at{};
            char value[128] = {};
            REQUIRE(std::sscanf(line.c_str(), "%d %ld %127s", &at.partition, &at.offset, value) ==
                    3);
            acked[value] = at;
            ++cycle_acks;
        }
        total_acks += cycle_acks;
        if (cycle_acks == 0) ++kills_before_first_ack;
        check_store(path, acked);
    }
    MESSAGE("crash loop: ", cycles, " cycles, ", total_acks, " acknowledged records checked, ",
            kills_before_first_ack, " kills before the first acknowledgement");
}
