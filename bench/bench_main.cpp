// brook_bench: runs the benchmark suite and writes its table, JSON rows and plot data.
//
// Usage:
//   brook_bench [--quick] [--repeat N] [--only W1,W2] [--systems S1,S2] [--scratch DIR]
//               [--results DIR]
//       Runs every registered case, each in a child process of its own (this binary again,
//       with --case), in the workload order of the issue. Each case runs N times (default 5,
//       1 with --quick; once if its first run takes 5 s or more), the systems of a workload in
//       turn, and its row is the median run. Prints the table and the targets
//       to stdout and writes, in the results directory (default bench/results): latest.json
//       (the rows), latest.txt (what was printed, with notes), throughput.dat and latency.dat
//       (for bench/plot.gp).
//   brook_bench --case WORKLOAD SYSTEM --dir DIR [--shared DIR] [--quick]
//       Runs one case in DIR and prints its row on stdout (one "ROW" line, "NOTE" lines).
//       Fixtures that cost much to build (the 400-partition store) are kept in the shared
//       directory for the next case of the run.
//   brook_bench --list
//       Lists the registered cases and the workloads that have none yet.
//   brook_bench --report RESULTS.json
//       Prints the table and the targets again from a results file (without the notes, which
//       only latest.txt keeps).
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "report.hpp"

namespace brook::bench {
namespace {

std::string fmt_opt(const std::optional<double>& v) {
    if (!v) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", *v);
    return buf;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, sep)) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

// The child side: run one case and print its row.
int run_case(const std::string& workload, const std::string& system, const std::string& dir,
             const std::string& shared, bool quick) {
    for (const Case& c : cases()) {
        if (c.workload != workload || c.system != system) continue;
        alarm(1800);  // a hung case dies instead of hanging the suite
        Row row = c.run(make_spec(workload, system, quick, dir, shared));
        if (row.peak_rss_kb == 0) row.peak_rss_kb = peak_rss_kb();
        std::printf("ROW\t%s\t%s\t%lld\t%zu\t%zu\t%.9f\t%s\t%s\t%s\t%lld\n", row.workload.c_str(),
                    row.system.c_str(), static_cast<long long>(row.records), row.record_bytes,
                    row.batch, row.seconds, fmt_opt(row.p50_us).c_str(),
                    fmt_opt(row.p99_us).c_str(), fmt_opt(row.p999_us).c_str(),
                    static_cast<long long>(row.peak_rss_kb));
        for (const std::string& note : row.notes) std::printf("NOTE\t%s\n", note.c_str());
        std::fflush(stdout);
        return 0;
    }
    std::fprintf(stderr, "bench: no case %s/%s in this build\n", workload.c_str(), system.c_str());
    return 2;
}

std::optional<double> parse_opt(const std::string& s) {
    if (s == "-") return std::nullopt;
    return std::strtod(s.c_str(), nullptr);
}

std::optional<Row> parse_output(const std::string& out) {
    std::optional<Row> row;
    for (const std::string& line : split(out, '\n')) {
        std::vector<std::string> f;
        std::string field;
        std::stringstream in(line);
        while (std::getline(in, field, '\t')) f.push_back(field);
        if (f.size() == 11 && f[0] == "ROW") {
            Row r;
            r.workload = f[1];
            r.system = f[2];
            r.records = std::strtoll(f[3].c_str(), nullptr, 10);
            r.record_bytes = std::strtoull(f[4].c_str(), nullptr, 10);
            r.batch = std::strtoull(f[5].c_str(), nullptr, 10);
            r.seconds = std::strtod(f[6].c_str(), nullptr);
            r.p50_us = parse_opt(f[7]);
            r.p99_us = parse_opt(f[8]);
            r.p999_us = parse_opt(f[9]);
            r.peak_rss_kb = std::strtoll(f[10].c_str(), nullptr, 10);
            row = r;
        } else if (f.size() == 2 && f[0] == "NOTE" && row) {
            row->notes.push_back(f[1]);
        }
    }
    return row;
}

int remove_entry(const char* path, const struct stat*, int, FTW*) {
    return ::remove(path);
}

void remove_tree(const std::string& dir) {
    nftw(dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void make_dirs(const std::string& dir) {
    std::string partial;
    for (const std::string& part : split(dir, '/')) {
        partial += (partial.empty() && dir[0] != '/') ? part : "/" + part;
        ::mkdir(partial.c_str(), 0755);
    }
}

// Runs `self --case ...` and returns its stdout, or nullopt if it failed.
std::optional<std::string> spawn_case(const std::string& self, const std::string& workload,
                                      const std::string& system, const std::string& dir,
                                      const std::string& shared, bool quick) {
    std::vector<std::string> argv = {self,    "--case", workload,   system,
                                     "--dir", dir,      "--shared", shared};
    if (quick) argv.push_back("--quick");
    return run_capturing_stdout(argv);
}

// How long a case's first run may take and still be repeated: the long ones (the seeks in a
// 10,000,000-record log, SQLite's unbatched inserts) run once, so a full run stays within minutes.
constexpr double kRepeatBelowSeconds = 5.0;

int run_suite(bool quick, int repeat, const std::set<std::string>& only,
              const std::set<std::string>& systems, std::string scratch,
              const std::string& results) {
    char self[4096];
    const ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) die("cannot find this executable through /proc/self/exe");
    self[len] = '\0';
    if (scratch.empty()) {
        char tmpl[] = "/tmp/brook-bench-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) die("mkdtemp failed");
        scratch = tmpl;
    }
    make_dirs(scratch + "/shared");
    make_dirs(results);

    std::vector<Row> rows;
    std::set<std::string> ran;
    int failed = 0;
    Stopwatch total;
    for (const std::string& w : kWorkloads) {
        if (!only.empty() && only.count(w) == 0) continue;
        std::vector<std::string> workload_systems;
        for (const std::string& s : kSystems) {
            if (!systems.empty() && systems.count(s) == 0) continue;
            const bool registered = std::any_of(cases().begin(), cases().end(), [&](const Case& c) {
                return c.workload == w && c.system == s;
            });
            if (registered) workload_systems.push_back(s);
        }
        // Round r runs every system of the workload once, so that drift on a shared machine
        // spreads over all of them instead of falling on one.
        std::map<std::string, std::vector<Row>> runs;
        std::set<std::string> repeating(workload_systems.begin(), workload_systems.end());
        for (int round = 0; round < repeat; ++round) {
            for (const std::string& s : workload_systems) {
                if (repeating.count(s) == 0) continue;
                const std::string dir = scratch + "/" + w + "/" + s;
                make_dirs(dir);
                std::fprintf(stderr, "[%6.1fs] %-19s %-13s %d/%d ", total.seconds(), w.c_str(),
                             s.c_str(), round + 1, repeat);
                Stopwatch one;
                std::optional<std::string> out =
                    spawn_case(self, w, s, dir, scratch + "/shared", quick);
                remove_tree(dir);
                std::optional<Row> row = out ? parse_output(*out) : std::nullopt;
                if (!row) {
                    std::fprintf(stderr, "FAILED\n");
                    ++failed;
                    repeating.erase(s);
                    continue;
                }
                std::fprintf(stderr, "%8.2fs %12s rec/s\n", one.seconds(),
                             human_rate(row->records_per_s()).c_str());
                runs[s].push_back(*row);
                if (one.seconds() >= kRepeatBelowSeconds) repeating.erase(s);
            }
        }
        for (const std::string& s : workload_systems) {
            if (runs[s].empty()) continue;
            rows.push_back(median_row(runs[s]));
            ran.insert(w);
        }
    }
    remove_tree(scratch);

    std::string text = table(rows, ran) + targets(rows);
    char footer[200];
    std::snprintf(footer, sizeof footer,
                  "\n%s run, %zu rows (median of up to %d runs each), %d failed runs, %.0f s\n",
                  quick ? "quick" : "full", rows.size(), repeat, failed, total.seconds());
    text += footer;
    std::fputs(text.c_str(), stdout);
    write_results(results, rows, text);
    return failed == 0 ? 0 : 1;
}

int list() {
    std::set<std::string> with_cases;
    for (const Case& c : cases()) {
        std::printf("%s %s\n", c.workload.c_str(), c.system.c_str());
        with_cases.insert(c.workload);
    }
    for (const std::string& w : kWorkloads) {
        if (with_cases.count(w) == 0) std::printf("%s (no case yet)\n", w.c_str());
    }
    return 0;
}

int print_report(const std::string& path) {
    std::ifstream in(path);
    if (!in) die("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    const std::vector<Row> rows = parse_json_rows(text.str());
    std::set<std::string> ran;
    for (const Row& r : rows) ran.insert(r.workload);
    std::fputs((table(rows, ran) + targets(rows)).c_str(), stdout);
    return 0;
}

int usage() {
    std::fputs(
        "usage: brook_bench [--quick] [--repeat N] [--only W1,W2] [--systems S1,S2] "
        "[--scratch DIR] [--results DIR]\n"
        "       brook_bench --case WORKLOAD SYSTEM --dir DIR [--shared DIR] [--quick]\n"
        "       brook_bench --list\n"
        "       brook_bench --report RESULTS.json\n",
        stderr);
    return 2;
}

}  // namespace
}  // namespace brook::bench

int main(int argc, char** argv) {
    using namespace brook::bench;
    bool quick = false;
    int repeat = 0;
    std::set<std::string> only, systems;
    std::string scratch, results = "bench/results", dir, shared, case_workload, case_system, report;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) std::exit(usage());
            return argv[++i];
        };
        if (arg == "--quick") {
            quick = true;
        } else if (arg == "--repeat") {
            repeat = std::atoi(next().c_str());
            if (repeat < 1) return usage();
        } else if (arg == "--only") {
            for (auto& w : split(next(), ',')) only.insert(w);
        } else if (arg == "--systems") {
            for (auto& s : split(next(), ',')) systems.insert(s);
        } else if (arg == "--scratch") {
            scratch = next();
        } else if (arg == "--results") {
            results = next();
        } else if (arg == "--dir") {
            dir = next();
        } else if (arg == "--shared") {
            shared = next();
        } else if (arg == "--case") {
            case_workload = next();
            case_system = next();
        } else if (arg == "--list") {
            return list();
        } else if (arg == "--report") {
            report = next();
        } else {
            return usage();
        }
    }
    if (!report.empty()) return print_report(report);
    if (!case_workload.empty()) {
        if (dir.empty()) return usage();
        return run_case(case_workload, case_system, dir, shared.empty() ? dir : shared, quick);
    }
    if (repeat == 0) repeat = quick ? 1 : 5;
    return run_suite(quick, repeat, only, systems, scratch, results);
}
