// The workloads every engine runs the same way: append (with and without fsync), group commit,
// sequential consume and random reads by offset.
#include "engine.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace brook::bench {

std::int64_t base_timestamp_ms() {
    static const std::int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
    return base;
}

void fill(const Spec& spec, Engine& engine, const RecordGen& gen, std::int64_t n) {
    const auto batch = static_cast<std::int64_t>(std::max<std::size_t>(spec.batch, 1));
    for (std::int64_t i = 0; i < n; i += batch) {
        engine.write(gen, i, static_cast<std::size_t>(std::min(batch, n - i)));
    }
    engine.finish_writes();
}

std::uint64_t expected_checksum(const RecordGen& gen, std::int64_t n) {
    std::uint64_t acc = 0;
    for (std::int64_t i = 0; i < n; ++i) fold_value(acc, gen.value(i));
    return acc;
}

Row run_append(const Spec& spec, Engine& engine) {
    const RecordGen gen = RecordGen::for_spec(spec);
    Row row = base_row(spec, gen);
    engine.open(spec);
    const bool timed_commits = spec.durability != Durability::none;
    const auto batch = static_cast<std::int64_t>(spec.batch);
    // Records [0, first) are the warm-up's; the timed records follow them.
    const std::int64_t first = spec.warmup_commits * batch;
    const std::int64_t end = first + spec.records;
    for (std::int64_t i = 0; i < first; i += batch) {
        engine.write(gen, i, static_cast<std::size_t>(batch));
    }
    engine.begin_timed();
    if (spec.warmup_commits > 0) {
        row.notes.push_back("timed after " + std::to_string(spec.warmup_commits) +
                            " untimed commits of the same size");
    }
    Latencies latencies;

    Stopwatch watch;
    if (spec.threads <= 1) {
        latencies.reserve(static_cast<std::size_t>(spec.records / batch + 1));
        for (std::int64_t i = first; i < end; i += batch) {
            const std::int64_t start = timed_commits ? now_ns() : 0;
            engine.write(gen, i, static_cast<std::size_t>(std::min(batch, end - i)));
            if (timed_commits) latencies.add_ns(now_ns() - start);
        }
    } else {
        // Every thread commits the next free batch until all are taken.
        std::atomic<std::int64_t> next{first};
        std::vector<Latencies> per_thread(static_cast<std::size_t>(spec.threads));
        std::vector<std::thread> threads;
        for (int t = 0; t < spec.threads; ++t) {
            threads.emplace_back([&, t] {
                Latencies& mine = per_thread[static_cast<std::size_t>(t)];
                while (true) {
                    const std::int64_t i = next.fetch_add(batch);
                    if (i >= end) return;
                    const std::int64_t start = now_ns();
                    engine.write(gen, i, static_cast<std::size_t>(std::min(batch, end - i)));
                    mine.add_ns(now_ns() - start);
                }
            });
        }
        for (std::thread& t : threads) t.join();
        for (Latencies& l : per_thread) latencies.merge(l);
    }
    engine.finish_writes();
    row.seconds = watch.seconds();
    row.notes.push_back(watch.cpu_note());

    latencies.fill(row);
    if (std::optional<std::string> phases = engine.write_phases()) {
        row.notes.push_back(std::move(*phases));
    }
    for (std::string& note : engine.notes()) row.notes.push_back(std::move(note));
    return row;
}

Row run_consume(const Spec& spec, Engine& engine) {
    const RecordGen gen = RecordGen::for_spec(spec);
    Row row = base_row(spec, gen);
    engine.open(spec);
    fill(spec, engine, gen, spec.records);

    std::uint64_t acc = 0;
    std::int64_t read = 0;
    const double earlier = engine.scanned_during_writes(acc, read);
    Stopwatch watch;
    read += engine.scan(acc);
    row.seconds = earlier + watch.seconds();
    row.notes.push_back(watch.cpu_note());

    if (read != spec.records) {
        die(spec.system + " scan read " + std::to_string(read) + " records, wrote " +
            std::to_string(spec.records));
    }
    if (acc != expected_checksum(gen, spec.records)) die(spec.system + " scan read wrong values");
    for (std::string& note : engine.notes()) row.notes.push_back(std::move(note));
    return row;
}

namespace {

// Times `spec.records` random point reads in a log of log_records(spec) records; `read` reads
// record `target` one way or another.
Row run_point_reads(const Spec& spec, Engine& engine,
                    const std::function<std::string(std::int64_t target)>& read) {
    const RecordGen gen = RecordGen::for_spec(spec);
    Row row = base_row(spec, gen);
    engine.open(spec);
    const std::int64_t n = log_records(spec);
    fill(spec, engine, gen, n);

    std::vector<std::int64_t> targets(static_cast<std::size_t>(spec.records));
    for (std::size_t i = 0; i < targets.size(); ++i) {
        targets[i] =
            static_cast<std::int64_t>(splitmix64(0xbeef + i) % static_cast<std::uint64_t>(n));
    }
    Latencies latencies;
    latencies.reserve(targets.size());
    std::size_t wrong = 0;
    Stopwatch watch;
    for (const std::int64_t target : targets) {
        const std::int64_t start = now_ns();
        const std::string value = read(target);
        latencies.add_ns(now_ns() - start);
        if (value != gen.value(target)) ++wrong;
    }
    row.seconds = watch.seconds();
    if (wrong != 0) die(spec.system + " returned " + std::to_string(wrong) + " wrong values");

    latencies.fill(row);
    row.notes.push_back("random reads in a log of " + std::to_string(n) + " records; " +
                        "latencies are per read");
    for (std::string& note : engine.notes()) row.notes.push_back(std::move(note));
    return row;
}

}  // namespace

Row run_seek_offset(const Spec& spec, Engine& engine) {
    return run_point_reads(spec, engine,
                           [&](std::int64_t target) { return engine.read_at(target); });
}

Row run_seek_time(const Spec& spec, Engine& engine) {
    return run_point_reads(spec, engine, [&](std::int64_t target) {
        return engine.read_at_time(base_timestamp_ms() + target);
    });
}

Row run_recovery(const Spec& spec, const EngineFactory& factory) {
    const RecordGen gen = RecordGen::for_spec(spec);
    Row row = base_row(spec, gen);
    const pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
        std::unique_ptr<Engine> writer = factory();
        writer->open(spec);
        fill(spec, *writer, gen, spec.records);
        std::fflush(nullptr);
        _exit(0);  // a crash: nothing closed, no clean-shutdown marker, nothing fsynced
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        die("the writer process failed");
    }
    const std::uint64_t bytes = dir_bytes(spec.dir, ".log");  // segments (raw.log for raw)
    std::unique_ptr<Engine> engine = factory();
    Stopwatch watch;
    engine->recover(spec, spec.records);
    row.seconds = watch.seconds();
    row.notes.push_back(
        "validated " + std::to_string(bytes) + " bytes of log, " +
        std::to_string(static_cast<std::int64_t>(double(bytes) / row.seconds / 1e6)) + " MB/s");
    for (std::string& note : engine->notes()) row.notes.push_back(std::move(note));
    return row;
}

bool register_engine(const std::string& system, const std::vector<std::string>& workloads,
                     EngineFactory factory) {
    for (const std::string& w : workloads) {
        CaseFn fn;
        if (w == "consume-100b") {
            fn = [factory](const Spec& spec) { return run_consume(spec, *factory()); };
        } else if (w == "seek-offset") {
            fn = [factory](const Spec& spec) { return run_seek_offset(spec, *factory()); };
        } else if (w == "seek-time") {
            fn = [factory](const Spec& spec) { return run_seek_time(spec, *factory()); };
        } else if (w == "recovery") {
            fn = [factory](const Spec& spec) { return run_recovery(spec, factory); };
        } else {
            fn = [factory](const Spec& spec) { return run_append(spec, *factory()); };
        }
        register_case(w, system, fn);
    }
    return true;
}

}  // namespace brook::bench
