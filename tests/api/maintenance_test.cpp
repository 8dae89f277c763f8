// Retention, compaction and delete_records through the public API, with the store's clock
// injected and the background thread off (run_maintenance() runs each pass), plus one test of
// the background thread itself. Consumers positioned below the log start get auto.offset.reset.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "api_env.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kHour = 60 * 60 * 1000;

Options manual(std::shared_ptr<ManualClock> clock) {
    Options options;
    options.clock = std::move(clock);
    options.background_maintenance = false;
    return options;
}

Offset produce(Producer& producer, const std::string& topic, std::optional<std::string> key,
               std::optional<std::string> value, std::int64_t timestamp) {
    ProducerRecord record;
    record.topic = topic;
    record.key = std::move(key);
    record.value = std::move(value);
    record.timestamp = timestamp;
    record.partition = PartitionId(0);
    auto report = producer.produce_sync(std::move(record));
    REQUIRE_MESSAGE(report.is_ok(), report.status().to_string());
    return report->offset;
}

// Every message from `from` to the end of partition 0, as (offset, key, value).
struct Seen {
    std::int64_t offset;
    std::optional<std::string> key;
    std::optional<std::string> value;
    friend bool operator==(const Seen&, const Seen&) = default;
};

std::vector<Seen> consume_all(Store& store, const std::string& topic, Offset from,
                              const std::string& reset = "earliest") {
    auto consumer = Consumer::create(store, {{"auto.offset.reset", reset}});
    REQUIRE(consumer.is_ok());
    REQUIRE((*consumer)->assign({{topic, PartitionId(0), from}}).is_ok());
    auto marks = (*consumer)->get_watermark_offsets({topic, PartitionId(0)});
    REQUIRE(marks.is_ok());
    std::vector<Seen> out;
    for (;;) {
        auto message = (*consumer)->poll(0ms);
        if (!message) break;
        REQUIRE_MESSAGE(message->error().is_ok(), message->error().to_string());
        auto key = message->key();
        auto value = message->value();
        out.push_back({message->offset().value(),
                       key ? std::optional<std::string>(*key) : std::nullopt,
                       value ? std::optional<std::string>(*value) : std::nullopt});
    }
    return out;
}

PartitionDescription describe(Store& store, const std::string& topic) {
    auto description = store.describe_topic(topic);
    REQUIRE(description.is_ok());
    return description->partitions.at(0);
}

}  // namespace

TEST_CASE_TEMPLATE("retention.ms and retention.bytes delete old segments through the store",
                   Fixture, DiskStore, MemoryStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(100 * kHour);
    auto store = fixture.open(manual(clock));
    REQUIRE(
        store
            ->create_topic("events", 1,
                           {{"segment.bytes", "200"}, {"retention.ms", std::to_string(10 * kHour)}})
            .is_ok());
    auto producer = make_producer(*store);
    // Ten records an hour apart; small segments hold a few records each.
    for (int i = 0; i < 10; ++i) {
        produce(*producer, "events", "k" + std::to_string(i), std::string(40, 'a' + i),
                (90 + i) * kHour);
    }
    const auto before = describe(*store, "events");
    REQUIRE(before.segment_count > 3);

    // At hour 100 records from hour 90 (and less) are exactly 10 h old: kept.
    REQUIRE(store->run_maintenance().is_ok());
    CHECK(describe(*store, "events").log_start_offset == Offset(0));
    // Five hours later everything up to hour 94 has expired; segments go whole.
    clock->set_ms(105 * kHour);
    REQUIRE(store->run_maintenance().is_ok());
    const auto after = describe(*store, "events");
    CHECK(after.log_start_offset > Offset(0));
    CHECK(after.log_start_offset <= Offset(5));
    CHECK(after.segment_count < before.segment_count);
    const auto seen = consume_all(*store, "events", kOffsetBeginning);
    REQUIRE(!seen.empty());
    CHECK(seen.front().offset == after.log_start_offset.value());
    CHECK(seen.back().offset == 9);
    const auto stats = store->maintenance_stats();
    CHECK(stats.passes == 2);
    CHECK(stats.bytes_deleted == before.size_bytes - after.size_bytes);
    CHECK(stats.segments_deleted == before.segment_count - after.segment_count);
    CHECK(stats.last_pass_ms == 105 * kHour);

    // retention.bytes: keep at least 200 bytes.
    REQUIRE(store->alter_topic_config("events", {{"retention.bytes", "200"}}).is_ok());
    REQUIRE(store->run_maintenance().is_ok());
    const auto trimmed = describe(*store, "events");
    CHECK(trimmed.size_bytes >= 200);
    CHECK(trimmed.size_bytes < after.size_bytes);
    CHECK(consume_all(*store, "events", kOffsetBeginning).front().offset ==
          trimmed.log_start_offset.value());
}

TEST_CASE_TEMPLATE("delete_records moves the log start; readers below it reset", Fixture, DiskStore,
                   MemoryStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(kHour);
    {
        auto store = fixture.open(manual(clock));
        REQUIRE(store->create_topic("events", 1, {{"segment.bytes", "200"}}).is_ok());
        auto producer = make_producer(*store);
        for (int i = 0; i < 10; ++i) produce(*producer, "events", "k", "v" + std::to_string(i), i);

        auto moved = store->delete_records("events", PartitionId(0), Offset(6));
        REQUIRE(moved.is_ok());
        CHECK(*moved == Offset(6));
        CHECK(describe(*store, "events").log_start_offset == Offset(6));
        CHECK(store->maintenance_stats().bytes_deleted > 0);

        // A consumer at 2 resets to the start with earliest, to the end with latest, and
        // reports offset_out_of_range with none.
        auto earliest = consume_all(*store, "events", Offset(2), "earliest");
        REQUIRE(earliest.size() == 4);
        CHECK(earliest.front().offset == 6);
        CHECK(earliest.front().value == "v6");
        CHECK(consume_all(*store, "events", Offset(2), "latest").empty());
        auto strict = Consumer::create(*store, {{"auto.offset.reset", "none"}});
        REQUIRE(strict.is_ok());
        REQUIRE((*strict)->assign({{"events", PartitionId(0), Offset(2)}}).is_ok());
        auto error = (*strict)->poll(0ms);
        REQUIRE(error);
        CHECK(error->error().code() == Code::offset_out_of_range);

        // Out of range, unknown and earlier offsets.
        CHECK(store->delete_records("events", PartitionId(0), Offset(11)).code() ==
              Code::offset_out_of_range);
        CHECK(store->delete_records("events", PartitionId(0), Offset(-1)).code() ==
              Code::offset_out_of_range);
        CHECK(store->delete_records("nope", PartitionId(0), Offset(1)).code() == Code::not_found);
        CHECK(*store->delete_records("events", PartitionId(0), Offset(3)) == Offset(6));
        // Up to the end empties the partition; appends continue at the end.
        CHECK(*store->delete_records("events", PartitionId(0), Offset(10)) == Offset(10));
        CHECK(produce(*producer, "events", "k", "v10", 10) == Offset(10));
    }
    if (Fixture::on_disk) {
        auto store = fixture.open(manual(clock));
        CHECK(describe(*store, "events").log_start_offset == Offset(10));
        const auto seen = consume_all(*store, "events", kOffsetBeginning);
        REQUIRE(seen.size() == 1);
        CHECK(seen.front().value == "v10");
    }
}

TEST_CASE_TEMPLATE("a compacted topic keeps the latest value per key", Fixture, DiskStore,
                   MemoryStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(kHour);
    auto store = fixture.open(manual(clock));
    REQUIRE(store
                ->create_topic("state", 1,
                               {{"cleanup.policy", "compact"},
                                {"segment.bytes", "300"},
                                {"delete.retention.ms", "1000"}})
                .is_ok());
    auto producer = make_producer(*store);
    std::map<std::string, std::pair<std::int64_t, std::optional<std::string>>> model;
    for (int i = 0; i < 60; ++i) {
        const std::string key = "user-" + std::to_string(i % 7);
        std::optional<std::string> value;
        if (i % 11 != 5) value = "v" + std::to_string(i);
        model[key] = {produce(*producer, "state", key, value, kHour).value(), value};
    }
    // A null key is refused, as in Kafka.
    ProducerRecord keyless;
    keyless.topic = "state";
    keyless.value = "x";
    CHECK(producer->produce_sync(keyless).code() == Code::invalid_argument);

    const auto dirty = describe(*store, "state");
    CHECK(dirty.dirty_ratio > 0.5);
    CHECK(dirty.last_cleaned_offset == Offset(0));
    REQUIRE(store->run_maintenance().is_ok());
    const auto clean = describe(*store, "state");
    CHECK(clean.dirty_ratio == 0.0);
    CHECK(clean.last_cleaned_offset.value() > 0);
    CHECK(clean.size_bytes < dirty.size_bytes);
    CHECK(store->maintenance_stats().bytes_compacted > 0);
    CHECK(store->maintenance_stats().bytes_compacted_away > 0);

    // Below the cleaned offset: one record per key, the latest, at its own offset. The active
    // segment holds the rest untouched.
    const auto seen = consume_all(*store, "state", kOffsetBeginning);
    std::map<std::string, std::int64_t> last_seen;
    for (const auto& s : seen) {
        if (s.offset < clean.last_cleaned_offset.value()) CHECK(!last_seen.contains(*s.key));
        last_seen[*s.key] = s.offset;
        if (s.offset == model[*s.key].first) CHECK(s.value == model[*s.key].second);
    }
    for (const auto& [key, latest] : model) CHECK(last_seen[key] == latest.first);
    CHECK(seen.back().offset == 59);
}

TEST_CASE("compaction progress and tombstone times survive a restart") {
    DiskStore fixture;
    auto clock = std::make_shared<ManualClock>(kHour);
    const Config config{
        {"cleanup.policy", "compact"}, {"segment.bytes", "300"}, {"delete.retention.ms", "10000"}};
    PartitionDescription cleaned;
    std::vector<Seen> after_pass;
    {
        auto store = fixture.open(manual(clock));
        REQUIRE(store->create_topic("state", 1, config).is_ok());
        auto producer = make_producer(*store);
        for (int i = 0; i < 60; ++i) {
            const std::string key = "user-" + std::to_string(i % 7);
            std::optional<std::string> value;
            if (i % 11 != 5) value = "v" + std::to_string(i);
            produce(*producer, "state", key, value, kHour);
        }
        // Two keys end deleted; new keys after them push their tombstones out of the active
        // segment, where compaction reaches them.
        produce(*producer, "state", "user-1", std::nullopt, kHour);
        produce(*producer, "state", "user-4", std::nullopt, kHour);
        for (int i = 0; i < 20; ++i) {
            produce(*producer, "state", "later-" + std::to_string(i), "v", kHour);
        }
        REQUIRE(store->run_maintenance().is_ok());
        cleaned = describe(*store, "state");
        after_pass = consume_all(*store, "state", kOffsetBeginning);
        REQUIRE(cleaned.last_cleaned_offset.value() > 0);
    }
    const auto tombstones = [](const std::vector<Seen>& seen) {
        return std::count_if(seen.begin(), seen.end(), [](const Seen& s) { return !s.value; });
    };
    REQUIRE(tombstones(after_pass) > 0);

    // The reopened store knows what was cleaned: nothing is dirty, and a pass rewrites nothing.
    auto store = fixture.open(manual(clock));
    const auto reopened = describe(*store, "state");
    CHECK(reopened.last_cleaned_offset == cleaned.last_cleaned_offset);
    CHECK(reopened.dirty_ratio == cleaned.dirty_ratio);
    REQUIRE(store->run_maintenance().is_ok());
    CHECK(store->maintenance_stats().bytes_compacted == 0);
    CHECK(consume_all(*store, "state", kOffsetBeginning) == after_pass);

    // The tombstones' delete.retention.ms runs from the first pass, not from the reopen: at the
    // first pass plus 10 s they go, although the reopened store has run no pass that long ago.
    clock->advance_ms(10'001);
    REQUIRE(store->run_maintenance().is_ok());
    const auto expired = consume_all(*store, "state", kOffsetBeginning);
    std::size_t cleaned_tombstones = 0;
    for (const auto& s : after_pass) {
        if (!s.value && s.offset < cleaned.last_cleaned_offset.value()) ++cleaned_tombstones;
    }
    REQUIRE(cleaned_tombstones > 0);
    CHECK(tombstones(expired) ==
          tombstones(after_pass) - static_cast<std::ptrdiff_t>(cleaned_tombstones));

    // A topic created again under the same name starts with no progress.
    REQUIRE(store->delete_topic("state").is_ok());
    REQUIRE(store->create_topic("state", 1, config).is_ok());
    CHECK(describe(*store, "state").last_cleaned_offset == Offset(0));
}

TEST_CASE("the background thread applies retention without run_maintenance") {
    auto clock = std::make_shared<ManualClock>(100 * kHour);
    Options options;
    options.clock = clock;
    options.log_retention_check_interval_ms = 1;
    options.log_cleaner_backoff_ms = 1;
    MemoryStore fixture;
    auto store = fixture.open(options);
    REQUIRE(store
                ->create_topic("events", 1,
                               {{"segment.bytes", "100"}, {"retention.ms", std::to_string(kHour)}})
                .is_ok());
    auto producer = make_producer(*store);
    for (int i = 0; i < 5; ++i) produce(*producer, "events", "k", std::string(60, 'x'), 99 * kHour);
    clock->set_ms(200 * kHour);
    // Wait for the thread's pass to show, with a generous deadline. The pass deletes segments
    // before it counts itself in the stats, so wait for both.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while ((describe(*store, "events").log_start_offset < Offset(4) ||
            store->maintenance_stats().passes == 0) &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    CHECK(describe(*store, "events").log_start_offset >= Offset(4));
    CHECK(store->maintenance_stats().passes > 0);
    REQUIRE(store->close().is_ok());
}

TEST_CASE_TEMPLATE("consumers read ordered, produced data while the background thread cleans",
                   Fixture, DiskStore, MemoryStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(kHour);
    Options options;
    options.clock = clock;
    options.log_retention_check_interval_ms = 1;
    options.log_cleaner_backoff_ms = 1;
    auto store = fixture.open(options);
    REQUIRE(store
                ->create_topic("state", 1,
                               {{"cleanup.policy", "compact,delete"},
                                {"segment.bytes", "400"},
                                {"min.cleanable.dirty.ratio", "0.01"},
                                {"retention.bytes", "4000"}})
                .is_ok());
    constexpr int kRecords = 1500;
    std::mutex produced_mu;
    std::map<std::int64_t, std::pair<std::string, std::string>> produced;  // offset -> key, value
    std::atomic<bool> done{false};
    std::atomic<int> failures{0};

    std::thread writer([&] {
        auto producer = make_producer(*store);
        for (int i = 0; i < kRecords; ++i) {
            const std::string key = "k" + std::to_string(i % 23);
            const std::string value = "v" + std::to_string(i);
            std::lock_guard lock(produced_mu);
            produced[produce(*producer, "state", key, value, kHour).value()] = {key, value};
        }
        done = true;
    });

    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t) {
        readers.emplace_back([&] {
            auto consumer = Consumer::create(*store, {{"auto.offset.reset", "earliest"}});
            if (!consumer.is_ok() ||
                !(*consumer)->assign({{"state", PartitionId(0), kOffsetBeginning}}).is_ok()) {
                ++failures;
                return;
            }
            std::int64_t last = -1;
            for (;;) {
                const bool finished = done.load();
                auto message = (*consumer)->poll(0ms);
                if (!message) {
                    if (finished) break;
                    continue;
                }
                if (!message->error().is_ok()) {
                    ++failures;
                    continue;
                }
                const std::int64_t offset = message->offset().value();
                if (offset <= last) ++failures;  // a reset to the log start only moves forward
                last = offset;
                std::lock_guard lock(produced_mu);
                const auto it = produced.find(offset);
                if (it == produced.end() || message->key() != it->second.first ||
                    message->value() != it->second.second) {
                    ++failures;
                }
            }
        });
    }
    writer.join();
    for (auto& reader : readers) reader.join();
    CHECK(failures == 0);
    REQUIRE(store->close().is_ok());
}

TEST_CASE_TEMPLATE("compact,delete both compacts and applies retention", Fixture, DiskStore,
                   MemoryStore) {
    Fixture fixture;
    auto clock = std::make_shared<ManualClock>(100 * kHour);
    auto store = fixture.open(manual(clock));
    REQUIRE(store
                ->create_topic("state", 1,
                               {{"cleanup.policy", "compact,delete"},
                                {"segment.bytes", "200"},
                                {"retention.ms", std::to_string(10 * kHour)}})
                .is_ok());
    auto producer = make_producer(*store);
    // Old records (hour 80) of keys a..d, then newer ones (hour 99) of keys a and b.
    for (int i = 0; i < 12; ++i) {
        produce(*producer, "state", std::string(1, static_cast<char>('a' + i % 4)),
                "old" + std::to_string(i), 80 * kHour);
    }
    for (int i = 0; i < 6; ++i) {
        produce(*producer, "state", std::string(1, static_cast<char>('a' + i % 2)),
                "new" + std::to_string(i), 99 * kHour);
    }
    REQUIRE(store->run_maintenance().is_ok());
    // Retention removed the hour-80 segments (keys c and d are gone with them), compaction kept
    // the latest of a and b in what remained.
    const auto seen = consume_all(*store, "state", kOffsetBeginning);
    std::map<std::string, std::string> latest;
    for (const auto& s : seen) {
        CHECK(s.value->starts_with("new"));
        latest[*s.key] = *s.value;
    }
    CHECK(latest == std::map<std::string, std::string>{{"a", "new4"}, {"b", "new5"}});
    CHECK(describe(*store, "state").log_start_offset >= Offset(12));
    CHECK(store->maintenance_stats().bytes_deleted > 0);
}

TEST_CASE("a read-only store that lags behind a compaction pass still reads each key's latest") {
    DiskStore fixture;
    auto clock = std::make_shared<ManualClock>(kHour);
    auto store = fixture.open(manual(clock));
    REQUIRE(
        store->create_topic("state", 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "300"}})
            .is_ok());
    auto producer = make_producer(*store);
    std::map<std::string, std::string> latest;
    int produced = 0;
    const auto write = [&](const std::string& prefix, int keys, int count) {
        for (int i = 0; i < count; ++i, ++produced) {
            const std::string key = prefix + std::to_string(produced % keys);
            latest[key] = "v" + std::to_string(produced);
            produce(*producer, "state", key, latest[key], kHour);
        }
    };
    write("user-", 7, 30);
    constexpr int kReadFirst = 30;

    // The reader, in another process (LMDB allows one environment per file per process), reads
    // the first records, waits while the writer writes and compacts, then reads to the end and
    // sends back each key's last value as "key=value" lines.
    int ready[2];
    int go[2];
    int result[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(go) == 0);
    REQUIRE(::pipe(result) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ForkedReader reader = open_forked_reader(fixture.path, "state", "10");
        Consumer* const consumer = reader.consumer.get();
        for (int i = 0; i < kReadFirst; ++i) {
            auto message = consumer->poll(5s);
            if (!message || !message->error().is_ok()) ::_exit(4);
        }
        char byte = 1;
        if (::write(ready[1], &byte, 1) != 1 || ::read(go[0], &byte, 1) != 1) ::_exit(5);
        std::map<std::string, std::string> last;
        std::int64_t end = 0;
        if (::read(go[0], &end, sizeof end) != sizeof end) ::_exit(6);
        for (std::int64_t next = kReadFirst; next < end;) {
            auto message = consumer->poll(5s);
            if (!message || !message->error().is_ok() || !message->key() || !message->value()) {
                ::_exit(7);
            }
            last[std::string(*message->key())] = std::string(*message->value());
            next = message->offset().value() + 1;
        }
        std::string lines;
        for (const auto& [key, value] : last) lines += key + "=" + value + "\n";
        if (::write(result[1], lines.data(), lines.size()) != static_cast<ssize_t>(lines.size())) {
            ::_exit(8);
        }
        ::_exit(0);
    }
    // Closed here, so that a reader that dies early ends the wait below instead of hanging it.
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    // More segments the reader has not opened, then keys that push the users' latest values out
    // of the active segment, where compaction reaches them.
    write("user-", 7, 60);
    write("later-", 20, 20);
    REQUIRE(store->run_maintenance().is_ok());
    REQUIRE(store->maintenance_stats().bytes_compacted_away > 0);
    const std::int64_t end = describe(*store, "state").log_end_offset.value();
    REQUIRE(::write(go[1], &byte, 1) == 1);
    REQUIRE(::write(go[1], &end, sizeof end) == sizeof end);
    ::close(result[1]);
    std::string lines;
    char buf[4096];
    for (ssize_t n; (n = ::read(result[0], buf, sizeof buf)) > 0;) lines.append(buf, n);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    // Every key written after the reader's first records shows its latest value.
    std::string expected;
    for (const auto& [key, value] : latest) expected += key + "=" + value + "\n";
    CHECK(lines == expected);
    for (int fd : {ready[0], go[0], go[1], result[0]}) ::close(fd);
}
