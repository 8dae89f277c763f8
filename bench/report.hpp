// The suite's report: the table, the targets of the issue as ratios of this run, the JSON rows
// (bench/results/latest.json) and the data files that bench/plot.gp draws.
//
// Thread safety: pure functions over the rows.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "harness.hpp"

namespace brook::bench {

// The row of `workload` for `system`, or null.
const Row* find_row(const std::vector<Row>& rows, const std::string& workload,
                    const std::string& system);

// A rate with a k or M suffix: "2.54M".
std::string human_rate(double v);

// The table: one line per row with its ratio to raw's row of the same workload, the rows'
// notes, and which workloads of the issue have no rows (with why, when known).
std::string table(const std::vector<Row>& rows, const std::set<std::string>& ran);

// The median of one case's runs (the lower middle one for an even count), ranked by time, or
// by p99 for the latency workload, with the spread of the runs as its first note.
// REQUIRES: runs is not empty.
Row median_row(std::vector<Row> runs);

// Each target of the issue that this run's rows can judge: measured value, goal, met or not.
std::string targets(const std::vector<Row>& rows);

// The rows as a JSON list, one object per line, in the fields and order of the issue.
std::string json_rows(const std::vector<Row>& rows);

// Reads rows back from json_rows() output (notes are not in the JSON).
// Dies on a line it cannot parse.
std::vector<Row> parse_json_rows(const std::string& text);

// Writes latest.json, latest.txt (`text`), throughput.dat and latency.dat into `dir`.
void write_results(const std::string& dir, const std::vector<Row>& rows, const std::string& text);

}  // namespace brook::bench
