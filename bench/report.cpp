// The report: table, targets, JSON rows and plot data.
#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace brook::bench {
namespace {

// Why a workload of the issue has no case in this build.
const std::map<std::string, std::string> kPending = {
    {"group-4x8", "needs consumer groups (not in this build)"},
    {"compaction", "needs the log cleaner (not in this build)"},
    {"retention", "needs the log cleaner (not in this build)"},
};

std::string json_number(const std::optional<double>& v) {
    if (!v) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", *v);
    return buf;
}

// The figure a case's runs are ranked by: the latency workload by its p99, the others by time.
double rank_key(const Row& r) {
    if (r.workload == "latency" && r.p99_us) return *r.p99_us;
    return r.seconds;
}

}  // namespace

const Row* find_row(const std::vector<Row>& rows, const std::string& workload,
                    const std::string& system) {
    for (const Row& r : rows) {
        if (r.workload == workload && r.system == system) return &r;
    }
    return nullptr;
}

std::string json_rows(const std::vector<Row>& rows) {
    std::string out = "[\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        char buf[1024];
        std::snprintf(
            buf, sizeof buf,
            "  {\"workload\": \"%s\", \"system\": \"%s\", \"records\": %lld, "
            "\"record_bytes\": %zu, \"batch\": %zu, \"seconds\": %.6f, \"records_per_s\": %.1f, "
            "\"mb_per_s\": %.3f, \"p50_us\": %s, \"p99_us\": %s, \"p999_us\": %s, \"peak_rss_kb\": "
            "%lld}%s\n",
            r.workload.c_str(), r.system.c_str(), static_cast<long long>(r.records), r.record_bytes,
            r.batch, r.seconds, r.records_per_s(), r.mb_per_s(), json_number(r.p50_us).c_str(),
            json_number(r.p99_us).c_str(), json_number(r.p999_us).c_str(),
            static_cast<long long>(r.peak_rss_kb), i + 1 < rows.size() ? "," : "");
        out += buf;
    }
    out += "]\n";
    return out;
}

std::string human_rate(double v) {
    char buf[32];
    if (v >= 1e6) {
        std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    } else if (v >= 1e3) {
        std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%.1f", v);
    }
    return buf;
}

std::string table(const std::vector<Row>& rows, const std::set<std::string>& ran) {
    std::string out;
    char buf[512];
    std::snprintf(buf, sizeof buf, "%-19s %-13s %9s %7s %9s %9s %9s %9s %9s %9s %7s\n", "workload",
                  "system", "records", "batch", "rec/s", "MB/s", "p50 us", "p99 us", "p999 us",
                  "RSS MB", "x raw");
    out += buf;
    for (const Row& r : rows) {
        const Row* raw = find_row(rows, r.workload, "raw");
        std::string ratio = "-";
        if (raw != nullptr && raw->records_per_s() > 0) {
            std::snprintf(buf, sizeof buf, "%.2f", r.records_per_s() / raw->records_per_s());
            ratio = buf;
        }
        auto lat = [](const std::optional<double>& v) {
            if (!v) return std::string("-");
            char b[32];
            std::snprintf(b, sizeof b, v < 100 ? "%.1f" : "%.0f", *v);
            return std::string(b);
        };
        std::snprintf(buf, sizeof buf, "%-19s %-13s %9lld %7zu %9s %9.1f %9s %9s %9s %9.1f %7s\n",
                      r.workload.c_str(), r.system.c_str(), static_cast<long long>(r.records),
                      r.batch, human_rate(r.records_per_s()).c_str(), r.mb_per_s(),
                      lat(r.p50_us).c_str(), lat(r.p99_us).c_str(), lat(r.p999_us).c_str(),
                      double(r.peak_rss_kb) / 1024.0, ratio.c_str());
        out += buf;
    }
    bool header = false;
    for (const Row& r : rows) {
        for (const std::string& note : r.notes) {
            if (!header) out += "\nnotes:\n", header = true;
            out += "  " + r.workload + "/" + r.system + ": " + note + "\n";
        }
    }
    std::string missing;
    for (const std::string& w : kWorkloads) {
        if (ran.count(w) != 0) continue;
        auto why = kPending.find(w);
        missing += "  " + w + ": " + (why != kPending.end() ? why->second : "not run") + "\n";
    }
    if (!missing.empty()) out += "\nno rows:\n" + missing;
    return out;
}

// Throughput plot data for bench/plot.gp: a line per workload, a column per system (million
// records/s; NaN where a system has no row).
static std::string throughput_data(const std::vector<Row>& rows,
                                   const std::vector<std::string>& workloads) {
    std::string out = "workload";
    for (const std::string& s : kSystems) out += " " + s;
    out += "\n";
    for (const std::string& w : workloads) {
        out += w;
        for (const std::string& s : kSystems) {
            const Row* r = find_row(rows, w, s);
            char buf[64];
            std::snprintf(buf, sizeof buf, " %.4f", r != nullptr ? r->records_per_s() / 1e6 : NAN);
            out += buf;
        }
        out += "\n";
    }
    return out;
}

// Latency plot data: a line per row that has latencies, "workload/system p50 p99 p999" (us).
static std::string latency_data(const std::vector<Row>& rows,
                                const std::vector<std::string>& workloads) {
    std::string out = "row p50 p99 p999\n";
    for (const std::string& w : workloads) {
        for (const std::string& s : kSystems) {
            const Row* r = find_row(rows, w, s);
            if (r == nullptr || !r->p50_us) continue;
            char buf[160];
            std::snprintf(buf, sizeof buf, "%s/%s %.3f %.3f %.3f\n", w.c_str(), s.c_str(),
                          *r->p50_us, *r->p99_us, *r->p999_us);
            out += buf;
        }
    }
    return out;
}

std::vector<Row> parse_json_rows(const std::string& text) {
    std::vector<Row> rows;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("{\"workload\"") == std::string::npos) continue;
        char workload[64], system[64], p50[32], p99[32], p999[32];
        long long records = 0, rss = 0;
        std::size_t record_bytes = 0, batch = 0;
        double seconds = 0, rate = 0, mb = 0;
        const int n = std::sscanf(
            line.c_str(),
            " {\"workload\": \"%63[^\"]\", \"system\": \"%63[^\"]\", \"records\": %lld, "
            "\"record_bytes\": %zu, \"batch\": %zu, \"seconds\": %lf, \"records_per_s\": %lf, "
            "\"mb_per_s\": %lf, \"p50_us\": %31[^,], \"p99_us\": %31[^,], \"p999_us\": %31[^,], "
            "\"peak_rss_kb\": %lld}",
            workload, system, &records, &record_bytes, &batch, &seconds, &rate, &mb, p50, p99, p999,
            &rss);
        if (n != 12) die("cannot parse the results line: " + line);
        auto opt = [](const char* s) -> std::optional<double> {
            if (std::strcmp(s, "null") == 0) return std::nullopt;
            return std::strtod(s, nullptr);
        };
        Row r;
        r.workload = workload;
        r.system = system;
        r.records = records;
        r.record_bytes = record_bytes;
        r.batch = batch;
        r.seconds = seconds;
        r.p50_us = opt(p50);
        r.p99_us = opt(p99);
        r.p999_us = opt(p999);
        r.peak_rss_kb = rss;
        rows.push_back(r);
    }
    return rows;
}

std::string targets(const std::vector<Row>& rows) {
    std::string out = "\ntargets (this run):\n";
    char buf[256];
    auto line = [&](const std::string& what, std::optional<double> value, double goal,
                    bool at_least, const char* unit) {
        if (!value) {
            out += "  " + what + ": no row\n";
            return;
        }
        const bool met = at_least ? *value >= goal : *value <= goal;
        std::snprintf(buf, sizeof buf, "  %-56s %10.3g%s  goal %s %g%s  %s\n", what.c_str(), *value,
                      unit, at_least ? ">=" : "<=", goal, unit, met ? "met" : "MISSED");
        out += buf;
    };
    auto rate = [&](const std::string& w, const std::string& s) -> std::optional<double> {
        const Row* r = find_row(rows, w, s);
        if (r == nullptr) return std::nullopt;
        return r->records_per_s();
    };
    auto ratio = [&](const std::string& w, const std::string& s, const std::string& w2,
                     const std::string& s2) -> std::optional<double> {
        const auto a = rate(w, s), b = rate(w2, s2);
        if (!a || !b || *b <= 0) return std::nullopt;
        return *a / *b;
    };
    auto field = [&](const std::string& w, const std::string& s,
                     std::optional<double> Row::*f) -> std::optional<double> {
        const Row* r = find_row(rows, w, s);
        return r == nullptr ? std::nullopt : r->*f;
    };
    // Each ratio target: this system's rate in one workload over `base` in another (the
    // same system when `base` is empty).
    struct RatioGoal {
        const char* workload;
        const char* base_workload;
        const char* base;
        double goal;
    };
    static constexpr RatioGoal kRatioGoals[] = {
        {"append-100b", "append-100b", "raw", 0.6},
        {"append-100b", "append-100b", "lmdb", 1.5},
        {"append-100b", "append-100b", "sqlite", 10},
        {"append-100b", "append-100b", "rocksdb", 10},
        {"append-100b", "append-100b", "rdkafka_mock", 2.5},
        {"consume-100b", "consume-100b", "lmdb", 1},
        {"consume-100b", "consume-100b", "raw", 0.5},
        {"append-sync-batch", "append-sync-batch", "raw", 0.8},
        {"append-sync-record", "append-sync-record", "raw", 0.9},
        {"group-commit-4", "append-sync-record", "", 3},
    };
    for (const char* s : {"brook", "brook-log"}) {
        const std::string sys = s;
        for (const RatioGoal& g : kRatioGoals) {
            const std::string base = *g.base ? g.base : sys;
            const std::string label = std::string(g.workload) + " " + sys + " / " +
                                      (*g.base ? base : std::string(g.base_workload) + " " + sys);
            line(label, ratio(g.workload, sys, g.base_workload, base), g.goal, true, "x");
        }
        line("produce-unbatched " + sys + " (records/s)", rate("produce-unbatched", sys), 2e6, true,
             "");
    }
    line("latency brook p50", field("latency", "brook", &Row::p50_us), 5, false, " us");
    line("latency brook p99", field("latency", "brook", &Row::p99_us), 25, false, " us");
    // No goal: the same hand-off with nothing but a write(2), what the host allows.
    const auto raw_p50 = field("latency", "raw", &Row::p50_us);
    const auto raw_p99 = field("latency", "raw", &Row::p99_us);
    if (raw_p50 && raw_p99) {
        std::snprintf(buf, sizeof buf, "  %-56s %10.3g / %.3g us\n",
                      "latency raw p50 / p99 (this machine's floor)", *raw_p50, *raw_p99);
        out += buf;
    }
    line("open-memory brook p50", field("open-memory", "brook", &Row::p50_us), 1000, false, " us");
    line("open-disk-400 brook p50", field("open-disk-400", "brook", &Row::p50_us), 50000, false,
         " us");
    const Row* idle = find_row(rows, "idle-rss-400", "brook");
    line("idle-rss-400 brook (MB)",
         idle ? std::optional<double>(double(idle->peak_rss_kb) * 1024 / 1e6) : std::nullopt, 16,
         false, "");
    const Row* recovery = find_row(rows, "recovery", "brook");
    line("recovery brook (MB/s)",
         recovery ? std::optional<double>(recovery->mb_per_s()) : std::nullopt, 1000, true, "");
    const Row* compaction = find_row(rows, "compaction", "brook");
    line("compaction brook (MB/s)",
         compaction ? std::optional<double>(compaction->mb_per_s()) : std::nullopt, 200, true, "");
    return out;
}

void write_results(const std::string& dir, const std::vector<Row>& rows, const std::string& text) {
    auto write_file = [](const std::string& path, const std::string& contents) {
        std::ofstream out(path, std::ios::trunc);
        out << contents;
        if (!out) die("cannot write " + path);
    };
    write_file(dir + "/latest.json", json_rows(rows));
    write_file(dir + "/latest.txt", text);
    write_file(
        dir + "/throughput.dat",
        throughput_data(rows, {"append-100b", "append-1kb", "consume-100b", "produce-unbatched"}));
    write_file(dir + "/latency.dat",
               latency_data(rows, {"latency", "seek-offset", "seek-time", "open-memory",
                                   "append-sync-record", "group-commit-4"}));
}

Row median_row(std::vector<Row> runs) {
    std::sort(runs.begin(), runs.end(),
              [](const Row& a, const Row& b) { return rank_key(a) < rank_key(b); });
    Row median = runs[(runs.size() - 1) / 2];
    if (runs.size() > 1) {
        char note[160];
        if (median.workload == "latency") {
            std::snprintf(note, sizeof note, "median of %zu runs by p99; p99 %.1f to %.1f us",
                          runs.size(), rank_key(runs.front()), rank_key(runs.back()));
        } else {
            std::snprintf(note, sizeof note, "median of %zu runs; records/s %s to %s", runs.size(),
                          human_rate(runs.back().records_per_s()).c_str(),
                          human_rate(runs.front().records_per_s()).c_str());
        }
        median.notes.insert(median.notes.begin(), note);
    }
    return median;
}

}  // namespace brook::bench
