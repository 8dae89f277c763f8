// The Consumer decodes each read batch by batch as its records are handed out, a batch that
// fits whole in what consume() asks for straight into the returned vector, any other through a
// staging vector (client/fetched_records.hpp). Whatever the call sizes, every consumer must see
// the same messages as one polling a message at a time: the same offsets, keys, values,
// headers, timestamps and timestamp types, past control batches and aborted transactions under
// read_committed, from the log start or from the middle of a batch, and end at the same
// position; and a damaged batch in the middle of a read
// must come back as corruption naming its file and position, after exactly the records of the
// batches before it, with the position left at the damaged batch and nothing handed out after.
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api_env.hpp"

using namespace brook;
using namespace std::chrono_literals;

namespace {

// What a message says, compared field by field between consumers.
struct Seen {
    std::int64_t offset = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    Headers headers;
    std::int64_t timestamp = 0;
    TimestampType timestamp_type = TimestampType::create_time;

    friend bool operator==(const Seen&, const Seen&) = default;
};

Seen seen_of(const Message& m) {
    REQUIRE_MESSAGE(m.error().is_ok(), m.error().to_string());
    Seen s;
    s.offset = m.offset().value();
    if (m.key()) s.key = std::string(*m.key());
    if (m.value()) s.value = std::string(*m.value());
    s.headers = m.headers();
    s.timestamp = m.timestamp();
    s.timestamp_type = m.timestamp_type();
    return s;
}

std::unique_ptr<Consumer> consumer_at_start(const Store& store, const std::string& topic,
                                            const Config& extra = {}) {
    Config config = {{"auto.offset.reset", "earliest"}};
    config.insert(extra.begin(), extra.end());
    auto consumer = Consumer::create(store, config);
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    REQUIRE((*consumer)->assign({{topic, PartitionId(0), kOffsetBeginning}}).is_ok());
    return std::move(consumer).value();
}

// Every message `consumer` hands out until it has nothing more, with `size(call)` messages
// asked for in each call (0 for poll()).
template <typename Size>
std::vector<Seen> read_all(Consumer& consumer, Size size) {
    std::vector<Seen> out;
    for (int call = 0;; ++call) {
        const std::size_t n = size(call);
        if (n == 0) {
            std::optional<Message> m = consumer.poll(0ms);
            if (!m) return out;
            out.push_back(seen_of(*m));
            continue;
        }
        std::vector<Message> batch = consumer.consume(n, 0ms);
        if (batch.empty()) return out;
        CHECK(batch.size() <= n);
        for (const Message& m : batch) out.push_back(seen_of(m));
    }
}

Offset position_of(Consumer& consumer, const std::string& topic) {
    auto position = consumer.position({{topic, PartitionId(0)}});
    REQUIRE(position.is_ok());
    return position->front().offset;
}

// Record n of a batch produced in round `round`: headers in some rounds only, so that most
// plain batches have the common shape (client decodes those with log::decode_short_batch).
ProducerRecord record_for(const std::string& topic, int n, int round) {
    ProducerRecord record;
    record.topic = topic;
    record.partition = PartitionId(0);
    // A null key or value, but not both: a record shorter than 7 bytes sends its batch to the
    // general decoder.
    if (n % 7 != 0) record.key = "k" + std::to_string(n);
    if (n % 11 != 0 || n % 7 == 0) {
        record.value = std::string(static_cast<std::size_t>(1 + n % 150), char('a' + n % 26));
    }
    if (round % 5 == 3 && n % 9 == 4)
        record.headers = {{"h", "v" + std::to_string(n)}, {"null", std::nullopt}};
    return record;
}

}  // namespace

TEST_CASE_TEMPLATE("consume() of any size gives the messages and position that poll() gives",
                   Fixture, brook_test::DiskStore, brook_test::MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    brook_test::create_topic(*store, "mixed", 1, {{"segment.bytes", "60000"}});
    // Batches of 100 records (plain, zstd, with headers or not), committed and aborted
    // transactions with their control batches, and single-record batches.
    auto plain =
        brook_test::make_producer(*store, {{"linger.ms", "1000"}, {"batch.size", "1000000"}});
    auto zstd = brook_test::make_producer(
        *store, {{"linger.ms", "1000"}, {"batch.size", "1000000"}, {"compression.type", "zstd"}});
    auto txn = brook_test::make_producer(*store, {{"transactional.id", "t"}, {"linger.ms", "0"}});
    REQUIRE(txn->init_transactions().is_ok());
    int n = 0;
    int aborted = 0;  // records of aborted transactions
    for (int round = 0; round < 30; ++round) {
        if (round % 6 == 5) {
            const bool abort = round % 12 == 5;
            REQUIRE(txn->begin_transaction().is_ok());
            for (int i = 0; i < 40; ++i)
                REQUIRE(txn->produce(record_for("mixed", n++, round)).is_ok());
            REQUIRE(txn->flush().is_ok());
            REQUIRE((abort ? txn->abort_transaction() : txn->commit_transaction()).is_ok());
            if (abort) aborted += 40;
            continue;
        }
        Producer& producer = round % 4 == 3 ? *zstd : *plain;
        const int count = round % 7 == 2 ? 1 : 100;
        for (int i = 0; i < count; ++i)
            REQUIRE(producer.produce(record_for("mixed", n++, round)).is_ok());
        REQUIRE(producer.flush().is_ok());
    }
    const auto end = store->describe_topic("mixed");
    REQUIRE(end.is_ok());
    const Offset log_end = end->partitions.at(0).log_end_offset;

    for (const char* isolation : {"read_uncommitted", "read_committed"}) {
        for (const char* fetch_bytes : {"1", "3000", "20000", "1048576"}) {
            CAPTURE(isolation);
            CAPTURE(fetch_bytes);
            const Config config = {{"isolation.level", isolation},
                                   {"max.partition.fetch.bytes", fetch_bytes}};
            auto reference = consumer_at_start(*store, "mixed", config);
            const std::vector<Seen> expected = read_all(*reference, [](int) { return 0; });
            CHECK(position_of(*reference, "mixed") == log_end);
            // Every produced record but the aborted ones under read_committed (and never the
            // control records), in offset order.
            CHECK(expected.size() ==
                  static_cast<std::size_t>(
                      n - (std::string(isolation) == "read_committed" ? aborted : 0)));
            for (std::size_t i = 1; i < expected.size(); ++i) {
                CHECK(expected[i].offset > expected[i - 1].offset);
            }
            // Call sizes that are multiples of the batches (decoded into the result), others
            // (through the staging vector), and a mix.
            for (std::size_t size : {std::size_t{1}, std::size_t{7}, std::size_t{100},
                                     std::size_t{250}, std::size_t{1000}, std::size_t{100000}}) {
                CAPTURE(size);
                auto consumer = consumer_at_start(*store, "mixed", config);
                CHECK(read_all(*consumer, [&](int) { return size; }) == expected);
                CHECK(position_of(*consumer, "mixed") == log_end);
                // From the middle of batches: the records before the position are skipped.
                // (Rounds 0 and 1 are plain batches of the common shape.)
                for (std::size_t middle :
                     {std::size_t{133}, std::size_t{33}, expected.size() / 2 + 33}) {
                    CAPTURE(middle);
                    REQUIRE(
                        consumer->seek({"mixed", PartitionId(0), Offset(expected[middle].offset)})
                            .is_ok());
                    CHECK(read_all(*consumer, [&](int) { return size; }) ==
                          std::vector<Seen>(expected.begin() + static_cast<std::ptrdiff_t>(middle),
                                            expected.end()));
                }
            }
            auto mixed = consumer_at_start(*store, "mixed", config);
            CHECK(read_all(*mixed, [](int call) { return (call * 37) % 301; }) == expected);
            CHECK(position_of(*mixed, "mixed") == log_end);
        }
    }
}

TEST_CASE("a damaged batch in the middle of a read comes after the records before it") {
    brook_test::DiskStore fixture;
    constexpr int kBatches = 10;
    constexpr int kPerBatch = 50;
    {
        auto store = fixture.open();
        brook_test::create_topic(*store, "plain", 1, {});
        auto producer = brook_test::make_producer(*store, {{"linger.ms", "1000"}});
        for (int b = 0; b < kBatches; ++b) {
            for (int i = 0; i < kPerBatch; ++i) {
                ProducerRecord record;
                record.topic = "plain";
                record.partition = PartitionId(0);
                record.key = "k";
                record.value = "payload-" + std::to_string(1000 + b * kPerBatch + i);
                REQUIRE(producer->produce(std::move(record)).is_ok());
            }
            REQUIRE(producer->flush().is_ok());
        }
    }
    // One byte of a value in the sixth batch changes: only its checksum can tell.
    constexpr int kDamagedBatch = 5;
    std::string damaged_file;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(fixture.path)) {
        if (entry.path().extension() != ".log") continue;
        std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        const auto at =
            bytes.find("payload-" + std::to_string(1000 + kDamagedBatch * kPerBatch + 7));
        if (at == std::string::npos) continue;
        file.seekp(static_cast<std::streamoff>(at));
        file.put('q');
        damaged_file = entry.path().filename().string();
    }
    REQUIRE(!damaged_file.empty());

    auto store = fixture.open();
    // Every call size reads the whole log in one read and hands out the batches before the
    // damaged one, then the error, then nothing; poll() (size 0) does the same.
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{30}, std::size_t{50},
                             std::size_t{120}, std::size_t{250}, std::size_t{10000}}) {
        CAPTURE(size);
        auto consumer = consumer_at_start(*store, "plain");
        std::vector<std::int64_t> offsets;
        std::optional<Status> error;
        for (int call = 0; call < 1000 && !error; ++call) {
            std::vector<Message> batch;
            if (size == 0) {
                if (auto m = consumer->poll(0ms)) batch.push_back(std::move(*m));
            } else {
                batch = consumer->consume(size, 0ms);
            }
            REQUIRE(!batch.empty());
            for (const Message& m : batch) {
                REQUIRE(!error);  // nothing after the error
                if (!m.error().is_ok()) {
                    error = m.error();
                    CHECK(m.topic() == "plain");
                    continue;
                }
                CHECK(m.value()->find("qayload") == std::string_view::npos);
                offsets.push_back(m.offset().value());
            }
        }
        REQUIRE(error);
        CHECK(error->code() == Code::corruption);
        CHECK(error->message().find(damaged_file) != std::string::npos);
        REQUIRE(offsets.size() == std::size_t{kDamagedBatch * kPerBatch});
        for (std::size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == std::int64_t(i));
        CHECK(position_of(*consumer, "plain") == Offset(kDamagedBatch * kPerBatch));
        CHECK(consumer->consume(10, 0ms).empty());
        // A seek past the damaged batch reads on.
        REQUIRE(consumer->seek({"plain", PartitionId(0), Offset((kDamagedBatch + 1) * kPerBatch)})
                    .is_ok());
        std::vector<Message> after = consumer->consume(10000, 0ms);
        REQUIRE(after.size() == std::size_t{(kBatches - kDamagedBatch - 1) * kPerBatch});
        CHECK(after.front().offset() == Offset((kDamagedBatch + 1) * kPerBatch));
        CHECK(after.back().offset() == Offset(kBatches * kPerBatch - 1));
    }
}
