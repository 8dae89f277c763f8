// brook groups list|describe|reset-offsets|delete and consume --group against the library:
// what a group consumer prints and commits, resuming exactly after it, and the offsets the
// admin commands set, checked with GroupAdmin on the same store.
#include <brook/brook.hpp>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "cli_process.hpp"

using brook_cli_test::contains;
using brook_cli_test::Outcome;
using brook_cli_test::Process;
using brook_cli_test::TempStore;

namespace {

constexpr int kRecords = 40;

// (partition, offset, value) as consume prints them with kFormat.
using Row = std::tuple<int, std::int64_t, std::string>;
const std::string kFormat = "%p %o %s\\n";

std::vector<Row> rows_of(const std::string& text) {
    std::vector<Row> rows;
    std::istringstream in(text);
    int partition = 0;
    std::int64_t offset = 0;
    std::string value;
    while (in >> partition >> offset >> value) rows.emplace_back(partition, offset, value);
    return rows;
}

// Every record of `topic`, read without a group.
std::vector<Row> all_rows(const TempStore& store, const std::string& topic) {
    const Outcome all = store.run({"consume", topic, "--from-beginning", "--format", kFormat});
    REQUIRE(all.exit_code == 0);
    return rows_of(all.out);
}

// The group as the library reports it, through a read-only open.
brook::GroupDescription library_group(const TempStore& store, const std::string& group) {
    brook::Options options;
    options.read_only = true;
    auto opened = brook::Store::open(store.path(), options);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().to_string());
    auto described = brook::GroupAdmin(**opened).describe_group(group);
    REQUIRE_MESSAGE(described.is_ok(), described.status().to_string());
    return *described;
}

// The committed offset per partition the library reports (-1: none).
std::map<int, std::int64_t> committed_of(const TempStore& store, const std::string& group) {
    std::map<int, std::int64_t> out;
    for (const auto& p : library_group(store, group).partitions) {
        out[p.partition.value()] = p.committed ? p.committed->value() : -1;
    }
    return out;
}

void fill_two_partitions(const TempStore& store) {
    REQUIRE(store.run({"topics", "create", "t", "--partitions", "2"}).exit_code == 0);
    std::string input;
    for (int i = 0; i < kRecords; ++i) {
        input += "k" + std::to_string(i % 5) + ":v" + std::to_string(i) + "\n";
    }
    REQUIRE(store.run({"produce", "t", "--key-separator", ":"}, input).exit_code == 0);
}

}  // namespace

TEST_CASE("consume --group commits what it printed and the next run resumes right after it") {
    TempStore store;
    fill_two_partitions(store);
    const auto all = all_rows(store, "t");
    REQUIRE(all.size() == kRecords);

    const Outcome first = store.run({"consume", "t", "--group", "g", "--from-beginning",
                                     "--max-messages", "7", "--format", kFormat});
    REQUIRE(first.exit_code == 0);
    const auto first_rows = rows_of(first.out);
    REQUIRE(first_rows.size() == 7);
    // The group committed, per partition, the offset after the last record printed from it.
    std::map<int, std::int64_t> expected;
    for (const auto& [partition, offset, value] : first_rows) {
        expected[partition] = std::max(expected[partition], offset + 1);
    }
    auto committed = committed_of(store, "g");
    for (const auto& [partition, next] : expected) CHECK(committed[partition] == next);
    // The group left on exit: no members.
    CHECK(library_group(store, "g").members.empty());

    // Without --from-beginning the group's offsets win: the rest, each record once.
    const Outcome second = store.run({"consume", "t", "--group", "g", "--format", kFormat});
    REQUIRE(second.exit_code == 0);
    const auto second_rows = rows_of(second.out);
    std::set<Row> seen(first_rows.begin(), first_rows.end());
    for (const auto& row : second_rows) CHECK(seen.insert(row).second);
    CHECK(seen == std::set<Row>(all.begin(), all.end()));
    for (const auto& p : library_group(store, "g").partitions) {
        REQUIRE(p.lag.has_value());
        CHECK(*p.lag == 0);
    }
    // Caught up: nothing more.
    const Outcome third = store.run({"consume", "t", "--group", "g"});
    CHECK(third.exit_code == 0);
    CHECK(third.out.empty());

    // A new group without --from-beginning starts at the end, commits nothing it did not print.
    const Outcome latest = store.run({"consume", "t", "--group", "h"});
    CHECK(latest.exit_code == 0);
    CHECK(latest.out.empty());
}

TEST_CASE("groups describe and list print the library's numbers; reset-offsets and delete") {
    TempStore store;
    fill_two_partitions(store);
    const auto all = all_rows(store, "t");
    REQUIRE(store.run({"consume", "t", "--group", "g", "--from-beginning", "--max-messages", "5"})
                .exit_code == 0);
    REQUIRE(store.run({"groups", "reset-offsets", "b", "--topic", "t", "--to-latest"}).exit_code ==
            0);
    CHECK(store.run({"groups", "list"}).out == "b\ng\n");

    // describe: text and JSON built from GroupAdmin::describe_group.
    const auto group = library_group(store, "g");
    std::string text = "Group: g\nState: Empty\nMembers: 0\n";
    text += "TOPIC PARTITION    COMMITTED          END          LAG\n";
    std::string json =
        "{\"group\":\"g\",\"state\":\"Empty\",\"generation\":" + std::to_string(group.generation) +
        ",\"protocol\":\"" + group.protocol + "\",\"members\":[],\"partitions\":[";
    for (std::size_t i = 0; i < group.partitions.size(); ++i) {
        const auto& p = group.partitions[i];
        const std::string committed = p.committed ? std::to_string(p.committed->value()) : "";
        const std::string lag = p.lag ? std::to_string(*p.lag) : "";
        char row[128];
        std::snprintf(row, sizeof row, "%-5s %9d %12s %12lld %12s\n", p.topic.c_str(),
                      p.partition.value(), committed.empty() ? "-" : committed.c_str(),
                      static_cast<long long>(p.log_end_offset.value()),
                      lag.empty() ? "-" : lag.c_str());
        text += row;
        json += std::string(i ? "," : "") +
                "{\"topic\":\"t\",\"partition\":" + std::to_string(p.partition.value()) +
                ",\"committed\":" + (committed.empty() ? "null" : committed) +
                ",\"end_offset\":" + std::to_string(p.log_end_offset.value()) +
                ",\"lag\":" + (lag.empty() ? "null" : lag) + "}";
    }
    json += "],\"total_lag\":" + std::to_string(group.total_lag) + "}\n";
    CHECK(group.total_lag == kRecords - 5);
    CHECK(store.run({"groups", "describe", "g"}).out == text);
    CHECK(store.run({"groups", "describe", "g", "--json"}).out == json);

    // reset-offsets: each target, checked against the log's offsets and GroupAdmin.
    std::map<int, std::int64_t> end;
    for (const auto& [partition, offset, value] : all) {
        end[partition] = std::max(end[partition], offset + 1);
    }
    const Outcome earliest =
        store.run({"groups", "reset-offsets", "g", "--topic", "t", "--to-earliest"});
    CHECK(earliest.exit_code == 0);
    CHECK(earliest.out ==
          "TOPIC PARTITION   NEW-OFFSET\nt             0            0\nt             1            "
          "0\n");
    CHECK(committed_of(store, "g") == std::map<int, std::int64_t>{{0, 0}, {1, 0}});
    // After a reset to the earliest the group reads everything again.
    const Outcome again = store.run({"consume", "t", "--group", "g", "--format", kFormat});
    CHECK(rows_of(again.out).size() == all.size());

    REQUIRE(
        store.run({"groups", "reset-offsets", "g", "--topic", "t", "--to-offset", "3"}).exit_code ==
        0);
    CHECK(committed_of(store, "g") ==
          std::map<int, std::int64_t>{{0, std::min<std::int64_t>(3, end[0])},
                                      {1, std::min<std::int64_t>(3, end[1])}});
    const Outcome from3 = store.run({"consume", "t", "--group", "g", "--format", kFormat});
    std::set<Row> expected3;
    for (const auto& row : all) {
        if (std::get<1>(row) >= 3) expected3.insert(row);
    }
    const auto rows3 = rows_of(from3.out);
    CHECK(std::set<Row>(rows3.begin(), rows3.end()) == expected3);
    CHECK(rows3.size() == expected3.size());

    REQUIRE(store.run({"groups", "reset-offsets", "g", "--topic", "t", "--to-latest"}).exit_code ==
            0);
    CHECK(committed_of(store, "g") == end);

    // --to-time: each partition's first record at or after the time, else its end.
    const Outcome stamped =
        store.run({"consume", "t", "--from-beginning", "--format", "%p %o %T\\n"});
    std::map<int, std::vector<std::pair<std::int64_t, std::int64_t>>> times;  // offset, ts
    std::istringstream in(stamped.out);
    int partition = 0;
    std::int64_t offset = 0;
    std::int64_t ts = 0;
    std::int64_t middle = 0;
    while (in >> partition >> offset >> ts) {
        times[partition].emplace_back(offset, ts);
        if (partition == 0 && offset == end[0] / 2) middle = ts;
    }
    REQUIRE(store
                .run({"groups", "reset-offsets", "g", "--topic", "t", "--to-time",
                      std::to_string(middle)})
                .exit_code == 0);
    std::map<int, std::int64_t> expected_time;
    for (const auto& [p, entries] : times) {
        expected_time[p] = end[p];
        for (const auto& [o, t] : entries) {
            if (t >= middle) {
                expected_time[p] = o;
                break;
            }
        }
    }
    CHECK(committed_of(store, "g") == expected_time);

    // delete: gone from list and describe; a second delete is an error.
    const Outcome deleted = store.run({"groups", "delete", "g"});
    CHECK(deleted.exit_code == 0);
    CHECK(deleted.out == "Deleted group g.\n");
    CHECK(store.run({"groups", "list"}).out == "b\n");
    const Outcome gone = store.run({"groups", "describe", "g"});
    CHECK(gone.exit_code == 1);
    CHECK(contains(gone.err, "group 'g' does not exist"));
    CHECK(contains(gone.err, "brook groups list"));
    CHECK(store.run({"groups", "delete", "g"}).exit_code == 1);
}

TEST_CASE("groups on a locked store: list and describe work, writes name the holder") {
    TempStore store;
    fill_two_partitions(store);
    REQUIRE(store.run({"consume", "t", "--group", "g", "--from-beginning"}).exit_code == 0);
    std::int64_t end0 = 0;
    for (const auto& [partition, offset, value] : all_rows(store, "t")) {
        if (partition == 0) end0 = std::max(end0, offset + 1);
    }
    Process writer({"--dir", store.path(), "produce", "t", "--partition", "0"});
    writer.write_stdin("x\n");
    // The writer holds the lock once its record can be read.
    Process tail({"--dir", store.path(), "consume", "t", "--partition", "0", "--offset",
                  std::to_string(end0), "--follow", "--max-messages", "1"});
    REQUIRE_MESSAGE(tail.wait_for_lines(1), tail.printed());
    tail.finish();

    CHECK(store.run({"groups", "list"}).out == "g\n");
    const Outcome described = store.run({"groups", "describe", "g", "--json"});
    CHECK(described.exit_code == 0);
    CHECK(contains(described.out, "\"group\":\"g\""));
    const std::string holder = "held by pid " + std::to_string(writer.pid());
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"groups", "reset-offsets", "g", "--topic", "t", "--to-latest"},
          {"groups", "delete", "g"},
          {"consume", "t", "--group", "g"}}) {
        const Outcome refused = store.run(args);
        CAPTURE(args[1]);
        CHECK(refused.exit_code == 1);
        CHECK(contains(refused.err, holder));
    }
    CHECK(writer.finish().exit_code == 0);
}

TEST_CASE("groups: usage errors and --help") {
    TempStore store;
    fill_two_partitions(store);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"groups", "reset-offsets", "g", "--to-latest"},
          {"groups", "reset-offsets", "g", "--topic", "t"},
          {"groups", "reset-offsets", "g", "--topic", "t", "--to-latest", "--to-earliest"},
          {"groups", "reset-offsets", "g", "--topic", "t", "--to-offset", "-1"},
          {"groups", "describe"},
          {"groups", "list", "x"},
          {"consume", "t", "--group", "g", "--partition", "0"},
          {"consume", "t", "--group", "g", "--offset", "1"}}) {
        const Outcome usage = store.run(args);
        CAPTURE(args[1]);
        CHECK(usage.exit_code == 2);
        CHECK(contains(usage.err, "--help"));
    }
    const Outcome unknown_topic =
        store.run({"groups", "reset-offsets", "g", "--topic", "nope", "--to-latest"});
    CHECK(unknown_topic.exit_code == 1);
    CHECK(contains(unknown_topic.err, "unknown topic 'nope'"));
    for (const char* command : {"list", "describe", "reset-offsets", "delete"}) {
        const Outcome help = brook_cli_test::brook({"groups", command, "--help"});
        CHECK(help.exit_code == 0);
        CHECK(contains(help.out, "Example"));
    }
    CHECK(brook_cli_test::brook({"groups", "--help"}).exit_code == 0);
}
