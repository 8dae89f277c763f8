// The brook binary end to end: produce lines, consume them with a --format, compare byte for
// byte with what the input and the flags say the output must be.
#include <chrono>
#include <map>
#include <set>
#include <sstream>

#include "cli_process.hpp"

using brook_cli_test::Outcome;
using brook_cli_test::TempStore;

namespace {

constexpr int kLines = 10'000;

std::string key_of(int i) {
    return "user-" + std::to_string(i % 97);
}
std::string value_of(int i) {
    return "event " + std::to_string(i) + " with: a colon\tand a tab";
}

// Lines "key:value", the value itself holding a ':' (only the first separates).
std::string keyed_input() {
    std::string input;
    for (int i = 0; i < kLines; ++i) input += key_of(i) + ":" + value_of(i) + "\n";
    return input;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("10,000 keyed lines round trip byte for byte through produce and consume --format") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "events"}).exit_code == 0);
    const std::int64_t before = now_ms();
    const Outcome produced = store.run({"produce", "events", "--key-separator", ":", "--header",
                                        "source=cli", "--header", "v=2", "--sync"},
                                       keyed_input());
    const std::int64_t after = now_ms();
    CHECK(produced.exit_code == 0);
    CHECK(produced.out.empty());
    CHECK(produced.err == "produced 10000 records\n");

    const Outcome consumed =
        store.run({"consume", "events", "--from-beginning", "--format", "%t|%p|%o|%k|%s|%S|%h\\n"});
    REQUIRE(consumed.exit_code == 0);
    CHECK(consumed.err.empty());
    std::string expected;
    for (int i = 0; i < kLines; ++i) {
        expected += "events|0|" + std::to_string(i) + "|" + key_of(i) + "|" + value_of(i) + "|" +
                    std::to_string(value_of(i).size()) + "|source=cli,v=2\n";
    }
    CHECK(consumed.out == expected);

    // Timestamps are the producer's clock: within the run, and never decreasing here.
    const Outcome times = store.run({"consume", "events", "--from-beginning", "--format", "%T\\n"});
    REQUIRE(times.exit_code == 0);
    const auto stamps = split_lines(times.out);
    REQUIRE(stamps.size() == static_cast<std::size_t>(kLines));
    std::int64_t previous = 0;
    for (const auto& stamp : stamps) {
        const std::int64_t t = std::stoll(stamp);
        CHECK(t >= before);
        CHECK(t <= after);
        CHECK(t >= previous);
        previous = t;
    }

    // The default format is the value and a newline.
    const Outcome plain =
        store.run({"consume", "events", "--from-beginning", "--max-messages", "3"});
    CHECK(plain.out == value_of(0) + "\n" + value_of(1) + "\n" + value_of(2) + "\n");
}

TEST_CASE("keyed lines spread over partitions keep each key's order in one partition") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "events", "--partitions", "4"}).exit_code == 0);
    REQUIRE(store.run({"produce", "events", "--key-separator", ":"}, keyed_input()).exit_code == 0);

    std::map<std::string, int> partition_of_key;
    std::map<std::string, std::vector<std::string>> values_of_key;
    std::size_t total = 0;
    for (int p = 0; p < 4; ++p) {
        const Outcome consumed = store.run({"consume", "events", "--partition", std::to_string(p),
                                            "--from-beginning", "--format", "%p %o %k %s\\n"});
        REQUIRE(consumed.exit_code == 0);
        std::int64_t expected_offset = 0;
        for (const auto& line : split_lines(consumed.out)) {
            std::istringstream fields(line);
            int partition = -1;
            std::int64_t offset = -1;
            std::string key;
            fields >> partition >> offset >> key;
            CHECK(partition == p);
            CHECK(offset == expected_offset++);
            const auto [it, fresh] = partition_of_key.emplace(key, p);
            CHECK(it->second == p);
            values_of_key[key].push_back(line.substr(line.find(key) + key.size() + 1));
            ++total;
        }
    }
    CHECK(total == static_cast<std::size_t>(kLines));
    CHECK(partition_of_key.size() == 97);
    std::map<std::string, std::vector<std::string>> expected;
    for (int i = 0; i < kLines; ++i) expected[key_of(i)].push_back(value_of(i));
    CHECK(values_of_key == expected);
}

TEST_CASE("produce: null keys, --null-empty tombstones, --partition and no trailing newline") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "t", "--partitions", "2"}).exit_code == 0);
    // "k:" has an empty value, ":v" an empty key, "plain" no separator (a null key); the last
    // line has no newline and is still a record.
    const std::string input = "k:\n:v\nplain\n\nlast:line";
    REQUIRE(
        store.run({"produce", "t", "--partition", "1", "--key-separator", ":"}, input).exit_code ==
        0);
    REQUIRE(store
                .run({"produce", "t", "--partition", "1", "--key-separator", ":", "--null-empty"},
                     input)
                .exit_code == 0);
    const Outcome consumed = store.run(
        {"consume", "t", "--partition", "1", "--from-beginning", "--format", "%o [%k] [%s] %S\\n"});
    REQUIRE(consumed.exit_code == 0);
    CHECK(consumed.out ==
          "0 [k] [] 0\n1 [] [v] 1\n2 [] [plain] 5\n3 [] [] 0\n4 [last] [line] 4\n"
          "5 [k] [] -1\n6 [] [v] 1\n7 [] [plain] 5\n8 [] [] -1\n9 [last] [line] 4\n");
    // Nothing went to partition 0.
    const Outcome other = store.run({"consume", "t", "--partition", "0", "--from-beginning"});
    CHECK(other.exit_code == 0);
    CHECK(other.out.empty());
    // %% and escapes.
    const Outcome escaped = store.run({"consume", "t", "--partition", "1", "--offset", "4",
                                       "--max-messages", "1", "--format", "100%% %k\\t%s\\\\\\n"});
    CHECK(escaped.out == "100% last\tline\\\n");
}

TEST_CASE("consume start positions: end, beginning, --offset, --from-time, --max-messages") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "t"}).exit_code == 0);
    std::string input;
    for (int i = 0; i < 50; ++i) input += "v" + std::to_string(i) + "\n";
    REQUIRE(store.run({"produce", "t"}, input).exit_code == 0);

    // By default a consumer starts at the end, as Kafka's console consumer: nothing to print.
    const Outcome latest = store.run({"consume", "t"});
    CHECK(latest.exit_code == 0);
    CHECK(latest.out.empty());

    const Outcome from_offset =
        store.run({"consume", "t", "--offset", "45", "--format", "%o:%s\\n"});
    CHECK(from_offset.out == "45:v45\n46:v46\n47:v47\n48:v48\n49:v49\n");
    const Outcome at_end = store.run({"consume", "t", "--offset", "50"});
    CHECK(at_end.exit_code == 0);
    CHECK(at_end.out.empty());
    const Outcome limited = store.run({"consume", "t", "--from-beginning", "--max-messages", "2"});
    CHECK(limited.out == "v0\nv1\n");

    // --from-time: the first record whose timestamp is >= MS, against the stored timestamps.
    const Outcome all = store.run({"consume", "t", "--from-beginning", "--format", "%o %T\\n"});
    const auto lines = split_lines(all.out);
    REQUIRE(lines.size() == 50);
    std::vector<std::int64_t> stamps;
    for (const auto& line : lines) stamps.push_back(std::stoll(line.substr(line.find(' ') + 1)));
    for (const std::int64_t target : {stamps[0], stamps[20], stamps[49], stamps[49] + 1}) {
        std::size_t first = 0;
        while (first < stamps.size() && stamps[first] < target) ++first;
        const Outcome timed =
            store.run({"consume", "t", "--from-time", std::to_string(target), "--format", "%o\\n"});
        CHECK(timed.exit_code == 0);
        std::string expected;
        for (std::size_t i = first; i < stamps.size(); ++i) expected += std::to_string(i) + "\n";
        CHECK(timed.out == expected);
    }
}

TEST_CASE("topics create, list, describe, alter, add-partitions and delete") {
    TempStore store;
    auto created = store.run(
        {"topics", "create", "orders", "--partitions", "3", "--config", "retention.ms=3600000"});
    CHECK(created.exit_code == 0);
    CHECK(created.out == "Created topic orders.\n");
    REQUIRE(store.run({"topics", "create", "audit"}).exit_code == 0);
    CHECK(store.run({"topics", "list"}).out == "audit\norders\n");

    REQUIRE(store.run({"produce", "orders", "--partition", "2"}, "a\nb\n").exit_code == 0);
    const Outcome json = store.run({"topics", "describe", "orders", "--json"});
    CHECK(json.exit_code == 0);
    CHECK(json.out.starts_with(
        "{\"topic\":\"orders\",\"partitions\":[{\"partition\":0,\"start_offset\":0,"
        "\"end_offset\":0,\"segments\":1,\"bytes\":0},{\"partition\":1,\"start_offset\":0,"
        "\"end_offset\":0,\"segments\":1,\"bytes\":0},{\"partition\":2,\"start_offset\":0,"
        "\"end_offset\":2,\"segments\":1,\"bytes\":"));
    CHECK(json.out.find("{\"name\":\"retention.ms\",\"value\":\"3600000\",\"source\":\"topic\"}") !=
          std::string::npos);
    CHECK(json.out.find(
              "{\"name\":\"segment.bytes\",\"value\":\"1073741824\",\"source\":\"default\"}") !=
          std::string::npos);
    CHECK(json.out.ends_with("]}\n"));

    const Outcome text = store.run({"topics", "describe", "orders"});
    CHECK(text.out.starts_with("Topic: orders\nPartitions: 3\nConfig:\n"));
    CHECK(text.out.find("  retention.ms=3600000 (topic)\n") != std::string::npos);

    CHECK(store.run({"topics", "alter", "orders", "--config", "retention.ms="}).out ==
          "Altered config of topic orders.\n");
    CHECK(store.run({"topics", "describe", "orders"})
              .out.find("  retention.ms=604800000 (default)\n") != std::string::npos);
    CHECK(store.run({"topics", "add-partitions", "orders", "--partitions", "5"}).out ==
          "Topic orders now has 5 partitions.\n");
    CHECK(store.run({"topics", "describe", "orders"}).out.find("Partitions: 5\n") !=
          std::string::npos);
    // The records of partition 2 are untouched.
    CHECK(store.run({"consume", "orders", "--partition", "2", "--from-beginning"}).out == "a\nb\n");
    CHECK(store.run({"topics", "delete", "orders"}).out == "Deleted topic orders.\n");
    CHECK(store.run({"topics", "list"}).out == "audit\n");
}

TEST_CASE("BROOK_DIR chooses the store when --dir is absent, and --dir wins over it") {
    TempStore store;
    TempStore other;
    REQUIRE(store.run({"topics", "create", "here"}).exit_code == 0);
    const Outcome by_env =
        brook_cli_test::brook({"topics", "list"}, "", {"BROOK_DIR=" + store.path()});
    CHECK(by_env.exit_code == 0);
    CHECK(by_env.out == "here\n");
    REQUIRE(other.run({"topics", "create", "there"}).exit_code == 0);
    const Outcome both = brook_cli_test::brook({"--dir", other.path(), "topics", "list"}, "",
                                               {"BROOK_DIR=" + store.path()});
    CHECK(both.out == "there\n");
}
