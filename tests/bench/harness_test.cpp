// Tests of the benchmark harness: the record generator every system shares, the sizes of each
// workload, the percentiles, the phase times, and the JSON rows read back as written. Nothing
// here is timed.
#include "harness.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "report.hpp"

namespace brook::bench {
namespace {

TEST_CASE("the record generator is seeded, deterministic and sized as asked") {
    const RecordGen a(100), b(100), other_seed(100, 7);
    std::set<std::uint64_t> keys;
    for (std::int64_t i = 0; i < 1000; ++i) {
        CHECK(a.value(i) == b.value(i));
        CHECK(a.value(i).size() == 100);
        char k1[8], k2[8];
        a.key(i, k1);
        b.key(i, k2);
        CHECK(std::string(k1, 8) == std::string(k2, 8));
        // The big-endian bytes are the key number.
        std::uint64_t decoded = 0;
        for (char c : k1) decoded = decoded << 8 | static_cast<unsigned char>(c);
        CHECK(decoded == a.key_u64(i));
        keys.insert(a.key_u64(i));
    }
    CHECK(keys.size() == 1000);
    CHECK(a.record_bytes() == 108);
    CHECK(a.key_u64(1) != other_seed.key_u64(1));
}

TEST_CASE("JSON values are events like the quickstart's, with their average size") {
    const RecordGen gen = RecordGen::json();
    std::size_t total = 0;
    for (std::int64_t i = 0; i < 65536; ++i) {
        const std::string_view v = gen.value(i);
        REQUIRE(v.size() > 20);
        CHECK(v.front() == '{');
        CHECK(v.back() == '}');
        CHECK(v.find("\"type\": ") != std::string_view::npos);
    }
    for (std::int64_t i = 0; i < 65536; ++i)
        total += gen.value(static_cast<std::int64_t>(i)).size();
    // Values are picked at random from the pool, so their mean is near the pool's.
    const double mean = double(total) / 65536;
    CHECK(mean == doctest::Approx(double(gen.record_bytes() - 8)).epsilon(0.05));
}

TEST_CASE("workload sizes follow the issue, and --quick is a tenth") {
    const Spec full = make_spec("append-100b", "brook", false, "/d", "/s");
    CHECK(full.records == 1'000'000);
    CHECK(full.value_bytes == 100);
    CHECK(full.batch == 1000);
    CHECK(full.durability == Durability::none);
    CHECK(make_spec("append-100b", "brook", true, "/d", "/s").records == 100'000);

    const Spec kb = make_spec("append-1kb", "raw", false, "/d", "/s");
    CHECK(kb.records == 200'000);
    CHECK(kb.value_bytes == 1024);

    const Spec per_record = make_spec("append-sync-record", "lmdb", false, "/d", "/s");
    CHECK(per_record.batch == 1);
    CHECK(per_record.durability == Durability::per_record);
    CHECK(make_spec("append-sync-batch", "lmdb", false, "/d", "/s").durability ==
          Durability::per_batch);

    const Spec group = make_spec("group-commit-4", "brook", false, "/d", "/s");
    CHECK(group.threads == 4);
    CHECK(group.durability == Durability::per_record);

    // Only the rows that wait for the disk warm up first, a tenth as long with --quick.
    CHECK(full.warmup_commits == 0);
    CHECK(per_record.warmup_commits == 200);
    CHECK(group.warmup_commits == 200);
    CHECK(make_spec("append-sync-batch", "raw", true, "/d", "/s").warmup_commits == 20);

    const Spec seek = make_spec("seek-offset", "brook", false, "/d", "/s");
    CHECK(seek.records == 100'000);
    CHECK(log_records(seek) == 10'000'000);
    CHECK(make_spec("zstd-json", "brook", false, "/d", "/s").json);
    CHECK(make_spec("produce-unbatched", "brook", false, "/d", "/s").batch == 1);

    CHECK(make_spec("group-4x8", "brook", false, "/d", "/s").records == 1'000'000);
    // About 1 GB of 100 B records to compact; a tenth with --quick.
    CHECK(make_spec("compaction", "brook", false, "/d", "/s").records == 8'600'000);
    CHECK(make_spec("compaction", "brook", true, "/d", "/s").records == 860'000);
    CHECK(make_spec("retention", "brook", false, "/d", "/s").records == 1'000);
    CHECK(make_spec("retention", "brook", true, "/d", "/s").records == 100);
}

TEST_CASE("percentiles are nearest-rank over the samples") {
    Latencies latencies;
    for (int i = 1000; i >= 1; --i) latencies.add_ns(i * 1000);  // 1..1000 us, unsorted
    Row row;
    latencies.fill(row);
    REQUIRE(row.p50_us);
    CHECK(*row.p50_us == doctest::Approx(500));
    CHECK(*row.p99_us == doctest::Approx(990));
    CHECK(*row.p999_us == doctest::Approx(999));

    Row empty;
    Latencies none;
    none.fill(empty);
    CHECK_FALSE(empty.p50_us);
}

TEST_CASE("phase times sum what each phase took, and read no clock until enabled") {
    using Clock = PhaseTimes::Clock;
    using std::chrono::milliseconds;
    PhaseTimes phases{"encode", "append"};
    const Clock::time_point long_ago = Clock::now() - milliseconds(5);
    CHECK(phases.start() == Clock::time_point{});
    CHECK(phases.add(0, long_ago) == long_ago);
    CHECK_FALSE(phases.note());

    phases.enable(true);
    // Each phase began well before now, so each adds at least that much (and the clock only
    // moves forward).
    const Clock::time_point before = Clock::now();
    const Clock::time_point ended = phases.add(0, before - milliseconds(3));
    CHECK(ended >= before);
    phases.add(1, ended - milliseconds(5));
    phases.add(1, Clock::now() - milliseconds(2));
    const std::optional<std::string> note = phases.note();
    REQUIRE(note);
    double encode_ms = 0;
    double append_ms = 0;
    REQUIRE(std::sscanf(note->c_str(), "write() time by phase: encode %lf ms, append %lf ms",
                        &encode_ms, &append_ms) == 2);
    CHECK(encode_ms >= 3.0);
    CHECK(append_ms >= 7.0);
    CHECK(encode_ms < 1000.0);
    CHECK(append_ms < 1000.0);
}

TEST_CASE("JSON rows have the issue's fields in order and read back as written") {
    Row a;
    a.workload = "append-100b";
    a.system = "brook";
    a.records = 1000;
    a.record_bytes = 108;
    a.batch = 1000;
    a.seconds = 0.5;
    a.peak_rss_kb = 4096;
    Row b = a;
    b.workload = "latency";
    b.p50_us = 12.5;
    b.p99_us = 30;
    b.p999_us = 40.25;

    const std::string json = json_rows({a, b});
    CHECK(json.find("{\"workload\": \"append-100b\", \"system\": \"brook\", \"records\": 1000, "
                    "\"record_bytes\": 108, \"batch\": 1000, \"seconds\": 0.500000, "
                    "\"records_per_s\": 2000.0, \"mb_per_s\": 0.216, \"p50_us\": null, "
                    "\"p99_us\": null, \"p999_us\": null, \"peak_rss_kb\": 4096}") !=
          std::string::npos);

    const std::vector<Row> back = parse_json_rows(json);
    REQUIRE(back.size() == 2);
    CHECK(back[0].workload == "append-100b");
    CHECK(back[0].records_per_s() == doctest::Approx(2000));
    CHECK_FALSE(back[0].p50_us);
    CHECK(back[1].workload == "latency");
    REQUIRE(back[1].p999_us);
    CHECK(*back[1].p999_us == doctest::Approx(40.25));
    CHECK(back[1].peak_rss_kb == 4096);
}

TEST_CASE("a case's row is its median run, ranked by time or by the latency's p99") {
    std::vector<Row> runs;
    for (const double seconds : {0.9, 0.3, 0.5, 0.7, 0.1}) {
        Row r;
        r.workload = "append-100b";
        r.system = "brook";
        r.records = 1000;
        r.seconds = seconds;
        r.peak_rss_kb = static_cast<std::int64_t>(seconds * 10);
        r.notes = {"bytes on disk"};
        runs.push_back(r);
    }
    const Row median = median_row(runs);
    CHECK(median.seconds == doctest::Approx(0.5));
    CHECK(median.peak_rss_kb == 5);  // the whole row of that run, not a mix of runs
    REQUIRE(median.notes.size() == 2);
    CHECK(median.notes[0] == "median of 5 runs; records/s 1.1k to 10.0k");
    CHECK(median.notes[1] == "bytes on disk");

    // An even count takes the lower middle run: the second fastest of four.
    runs.pop_back();
    CHECK(median_row(runs).seconds == doctest::Approx(0.5));

    // One run is its own row, without a note.
    const Row single = median_row({runs[0]});
    CHECK(single.seconds == doctest::Approx(0.9));
    CHECK(single.notes.size() == 1);

    // The latency workload runs for a fixed time: its runs rank by p99.
    std::vector<Row> latency;
    for (const auto& [p50, p99] :
         {std::pair{4.0, 90.0}, std::pair{6.0, 20.0}, std::pair{5.0, 30.0}}) {
        Row r;
        r.workload = "latency";
        r.system = "brook";
        r.seconds = 1.5;
        r.p50_us = p50;
        r.p99_us = p99;
        latency.push_back(r);
    }
    const Row by_p99 = median_row(latency);
    REQUIRE(by_p99.p99_us);
    CHECK(*by_p99.p99_us == doctest::Approx(30));
    CHECK(*by_p99.p50_us == doctest::Approx(5));
    REQUIRE_FALSE(by_p99.notes.empty());
    CHECK(by_p99.notes[0] == "median of 3 runs by p99; p99 20.0 to 90.0 us");
}

TEST_CASE("targets are judged as ratios of the same run") {
    Row raw;
    raw.workload = "append-100b";
    raw.system = "raw";
    raw.records = 1000;
    raw.seconds = 1;
    Row brook = raw;
    brook.system = "brook";
    brook.seconds = 2;  // 0.5x raw: below the 0.6x goal
    const std::string text = targets({raw, brook});
    CHECK(text.find("append-100b brook / raw") != std::string::npos);
    const auto line = text.substr(text.find("append-100b brook / raw"));
    CHECK(line.substr(0, line.find('\n')).find("MISSED") != std::string::npos);
    CHECK(text.find("append-100b brook / lmdb: no row") != std::string::npos);
}

}  // namespace
}  // namespace brook::bench
