// brook check and brook dump on damaged stores: a flipped byte inside a log is corruption
// (exit 3, never repaired by dropping data); a torn tail and a bad index are repaired by
// --repair, after which the store checks clean and holds every whole batch.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_process.hpp"

using brook_cli_test::contains;
using brook_cli_test::Outcome;
using brook_cli_test::TempStore;

namespace {

std::string segment(const TempStore& store, const std::string& suffix) {
    return store.path() + "/topics/t-0/00000000000000000000" + suffix;
}

void flip_byte(const std::string& path, std::uintmax_t position) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(file.good());
    file.seekg(static_cast<std::streamoff>(position));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    file.seekp(static_cast<std::streamoff>(position));
    file.write(&byte, 1);
}

// The "baseOffset: N ... position: P size: S" values of every batch `brook dump` lists.
struct Batch {
    long long base = 0, position = 0, size = 0;
    bool ok = false;
};
std::vector<Batch> batches(const TempStore& store) {
    const Outcome dumped = brook_cli_test::brook({"dump", store.path() + "/topics/t-0"});
    REQUIRE(dumped.exit_code == 0);
    std::vector<Batch> found;
    std::istringstream in(dumped.out);
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("baseOffset: ")) continue;
        Batch batch;
        std::istringstream fields(line);
        std::string word;
        while (fields >> word) {
            std::string value;
            if (word == "baseOffset:")
                fields >> batch.base;
            else if (word == "position:")
                fields >> batch.position;
            else if (word == "size:")
                fields >> batch.size;
            else if (word == "checksum:")
                fields >> value, batch.ok = value == "ok";
        }
        found.push_back(batch);
    }
    return found;
}

// Writes 300 records in 3 runs (at least 3 batches) and returns them as consume prints them.
std::string fill(const TempStore& store) {
    REQUIRE(store.run({"topics", "create", "t"}).exit_code == 0);
    std::string all;
    for (int run = 0; run < 3; ++run) {
        std::string input;
        for (int i = 0; i < 100; ++i) input += "record-" + std::to_string(run * 100 + i) + "\n";
        REQUIRE(store.run({"produce", "t"}, input).exit_code == 0);
        all += input;
    }
    return all;
}

}  // namespace

TEST_CASE("check passes a healthy store and changes nothing") {
    TempStore store;
    const std::string all = fill(store);
    const auto size = std::filesystem::file_size(segment(store, ".log"));
    const Outcome checked = store.run({"check"});
    CHECK(checked.exit_code == 0);
    CHECK(contains(checked.out, "checked 1 topics, 1 partitions, 1 segments, "));
    CHECK(contains(checked.out, "ok: no problems found"));
    CHECK(std::filesystem::file_size(segment(store, ".log")) == size);
    CHECK(store.run({"consume", "t", "--from-beginning"}).out == all);
}

TEST_CASE("a flipped byte inside the log is corruption: exit 3, and --repair drops nothing") {
    TempStore store;
    fill(store);
    const auto found = batches(store);
    REQUIRE(found.size() >= 3);
    const auto size = std::filesystem::file_size(segment(store, ".log"));
    // A byte in the records of the first batch; valid batches follow it.
    flip_byte(segment(store, ".log"),
              static_cast<std::uintmax_t>(found[0].position + found[0].size - 5));

    const Outcome checked = store.run({"check"});
    CHECK(checked.exit_code == 3);
    CHECK(contains(checked.out, "corruption: t/0 " + segment(store, ".log") + " at position 0: "));
    CHECK(contains(checked.out, "checksum mismatch"));
    CHECK(contains(checked.out, "valid batches follow"));

    const Outcome repaired = store.run({"check", "--repair"});
    CHECK(repaired.exit_code == 3);
    CHECK(!contains(repaired.out, "(repaired)"));
    CHECK(contains(repaired.out, "never repaired by dropping data"));
    CHECK(std::filesystem::file_size(segment(store, ".log")) == size);

    // dump shows the damaged batch as BAD and goes on to the rest.
    const auto after = batches(store);
    REQUIRE(after.size() == found.size());
    CHECK_FALSE(after[0].ok);
    for (std::size_t i = 1; i < after.size(); ++i) CHECK(after[i].ok);
}

TEST_CASE(
    "a flipped byte in the last batch of a cleanly closed log is corruption, not a torn tail") {
    TempStore store;
    fill(store);
    const auto found = batches(store);
    const auto size = std::filesystem::file_size(segment(store, ".log"));
    flip_byte(segment(store, ".log"),
              static_cast<std::uintmax_t>(found.back().position + found.back().size - 3));
    const Outcome checked = store.run({"check", "--repair"});
    CHECK(checked.exit_code == 3);
    CHECK(contains(checked.out, "corruption: t/0 " + segment(store, ".log") + " at position " +
                                    std::to_string(found.back().position)));
    CHECK(contains(checked.out, "closed cleanly"));
    CHECK(std::filesystem::file_size(segment(store, ".log")) == size);
}

TEST_CASE("a torn tail is found (exit 3) and cut off by --repair, keeping every whole batch") {
    TempStore store;
    const std::string all = fill(store);
    const auto found = batches(store);
    REQUIRE(found.size() >= 3);
    const Batch last = found.back();
    // Tear the last batch: the file ends 7 bytes before its end.
    const auto size = std::filesystem::file_size(segment(store, ".log"));
    std::filesystem::resize_file(segment(store, ".log"), size - 7);

    const Outcome checked = store.run({"check"});
    CHECK(checked.exit_code == 3);
    CHECK(contains(checked.out, "torn tail: t/0 " + segment(store, ".log") + " at position " +
                                    std::to_string(last.position)));
    CHECK(contains(checked.out, "brook check --repair"));
    CHECK(std::filesystem::file_size(segment(store, ".log")) == size - 7);

    const Outcome repaired = store.run({"check", "--repair"});
    CHECK(repaired.exit_code == 0);
    CHECK(contains(repaired.out, "(repaired)"));
    CHECK(std::filesystem::file_size(segment(store, ".log")) ==
          static_cast<std::uintmax_t>(last.position));

    const Outcome again = store.run({"check"});
    CHECK(again.exit_code == 0);
    CHECK(contains(again.out, "ok: no problems found"));
    // Every record of the whole batches is still there, and nothing else.
    std::string expected;
    std::istringstream in(all);
    std::string line;
    for (long long i = 0; i < last.base && std::getline(in, line); ++i) expected += line + "\n";
    CHECK(store.run({"consume", "t", "--from-beginning"}).out == expected);
    // The store takes new records after the cut.
    REQUIRE(store.run({"produce", "t"}, "after\n").exit_code == 0);
    CHECK(store.run({"consume", "t", "--offset", std::to_string(last.base)}).out == "after\n");
}

TEST_CASE("a damaged index is found and rebuilt by --repair") {
    TempStore store;
    const std::string all = fill(store);
    // A byte of the sealed time index's header checksum.
    flip_byte(segment(store, ".timeindex"), 24);
    const Outcome checked = store.run({"check"});
    CHECK(checked.exit_code == 3);
    CHECK(contains(checked.out, "bad index: t/0 " + segment(store, ".timeindex")));
    const Outcome repaired = store.run({"check", "--repair"});
    CHECK(repaired.exit_code == 0);
    CHECK(contains(repaired.out, "(repaired)"));
    CHECK(store.run({"check"}).exit_code == 0);
    CHECK(store.run({"consume", "t", "--from-beginning"}).out == all);
}

TEST_CASE("dump lists every batch and, with --records, every record") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "t"}).exit_code == 0);
    REQUIRE(store.run({"produce", "t", "--key-separator", "=", "--header", "h=1"}, "a=1\nb=2\n")
                .exit_code == 0);
    REQUIRE(store.run({"produce", "t", "--null-empty"}, "\n").exit_code == 0);
    const Outcome dumped = brook_cli_test::brook({"dump", segment(store, ".log"), "--records"});
    CHECK(dumped.exit_code == 0);
    std::istringstream in(dumped.out);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    REQUIRE(lines.size() == 6);
    CHECK(lines[0].starts_with("Dumping " + segment(store, ".log") + " ("));
    CHECK(lines[1].starts_with("baseOffset: 0 lastOffset: 1 count: 2 position: 0 size: "));
    CHECK(lines[1].ends_with("timestampType: CreateTime codec: none checksum: ok"));
    CHECK(lines[2].starts_with("| offset: 0 timestamp: "));
    CHECK(lines[2].ends_with(" key: a value: 1 headers: h=1"));
    CHECK(lines[3].ends_with(" key: b value: 2 headers: h=1"));
    CHECK(lines[4].starts_with("baseOffset: 2 lastOffset: 2 count: 1 "));
    CHECK(lines[5].ends_with(" key: null value: null headers: "));
}
