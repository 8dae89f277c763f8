// Tests of the metadata store. Every TEST_CASE_TEMPLATE body runs on the LMDB store, in a
// fresh temporary directory, and on the in-memory store; the rest test what only LMDB has:
// durability, sharing an environment, read-only processes and the topic record codec.
#include "meta/meta_store.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>

#include "meta/format.hpp"
#include "meta/lmdb_file_check.hpp"
#include "meta/topic_record.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::meta {
namespace {

using namespace std::string_literals;
using Entries = std::vector<std::pair<std::string, std::string>>;

std::string make_temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/brook-meta-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

std::unique_ptr<MetaStore> open_or_fail(const std::string& dir, const MetaOptions& options) {
    auto store = open_lmdb_meta_store(dir, options);
    REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
    return std::move(store).value();
}

// A fresh directory, removed with everything in it afterwards.
struct TempDir {
    TempDir() : path(make_temp_dir()) {}
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    const std::string path;
};

// An LMDB store in a fresh directory. reopen() closes and opens it again.
struct LmdbFixture {
    explicit LmdbFixture(MetaOptions o = {}) : options(o) { reopen(); }
    void reopen() {
        store.reset();
        store = open_or_fail(dir.path + "/meta", options);
    }
    TempDir dir;
    MetaOptions options;
    std::unique_ptr<MetaStore> store;
};

// An in-memory store. reopen() keeps it: nothing survives a real reopen.
struct MemoryFixture {
    explicit MemoryFixture(MetaOptions = {}) : store(new_memory_meta_store()) {}
    void reopen() {}
    std::unique_ptr<MetaStore> store;
};

TopicRecord topic(std::string name, std::uint64_t id, std::int32_t partitions = 3) {
    return TopicRecord{std::move(name), partitions, {{"retention.ms", std::to_string(id)}}, id};
}

// A value of `size` bytes that depends on `key`, so a misplaced value is noticed.
std::string value_for(std::string_view key, std::size_t size) {
    std::string out(size, '\0');
    std::uint64_t x = std::hash<std::string_view>{}(key) | 1;
    for (char& c : out) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        c = static_cast<char>(x);
    }
    return out;
}

Entries must_scan(MetaStore& store, std::string_view space, std::string_view prefix) {
    auto got = store.scan(space, prefix);
    REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
    return *got;
}

TEST_CASE_TEMPLATE("meta: topics are put, got, listed in order, replaced and deleted", F,
                   LmdbFixture, MemoryFixture) {
    F f;
    MetaStore& s = *f.store;
    CHECK(s.get_topic("orders")->has_value() == false);
    CHECK(s.list_topics()->empty());

    TopicRecord orders = topic("orders", 7, 12);
    orders.overrides["cleanup.policy"] = "compact";
    REQUIRE(s.put_topic(orders).is_ok());
    REQUIRE(s.put_topic(topic("audit", 8)).is_ok());
    REQUIRE(s.put_topic(topic("zeta\xff", 9)).is_ok());
    REQUIRE(s.put_topic(topic("b\0x"s, 10)).is_ok());

    auto got = s.get_topic("orders");
    REQUIRE(got.is_ok());
    CHECK(**got == orders);
    CHECK(**s.get_topic("b\0x"s) == topic("b\0x"s, 10));
    CHECK(s.get_topic("b")->has_value() == false);

    auto all = s.list_topics();
    REQUIRE(all.is_ok());
    std::vector<std::string> names;
    for (const auto& t : *all) names.push_back(t.name);
    CHECK(names == std::vector<std::string>{"audit", "b\0x"s, "orders", "zeta\xff"});

    TopicRecord replaced = topic("orders", 11, 24);
    REQUIRE(s.put_topic(replaced).is_ok());
    CHECK(**s.get_topic("orders") == replaced);
    CHECK(s.list_topics()->size() == 4);

    REQUIRE(s.delete_topic("orders").is_ok());
    CHECK(s.get_topic("orders")->has_value() == false);
    CHECK(s.delete_topic("orders").code() == Code::not_found);
    CHECK(s.list_topics()->size() == 3);

    f.reopen();
    CHECK(f.store->list_topics()->size() == 3u);
    CHECK(**f.store->get_topic("audit") == topic("audit", 8));
}

TEST_CASE_TEMPLATE("meta: bad names and keys are refused before anything is written", F,
                   LmdbFixture, MemoryFixture) {
    F f;
    MetaStore& s = *f.store;
    const std::string longest(format::kMaxKeyBytes, 'n');
    CHECK(s.put_topic(topic("", 1)).code() == Code::invalid_argument);
    CHECK(s.put_topic(topic(longest + "n", 1)).code() == Code::invalid_argument);
    CHECK(s.put_topic(topic(longest, 1)).is_ok());
    CHECK(s.get_topic("").code() == Code::invalid_argument);
    CHECK(s.delete_topic("").code() == Code::invalid_argument);

    CHECK(s.put("", "k", "v").code() == Code::invalid_argument);
    CHECK(s.put("a\0b"s, "k", "v").code() == Code::invalid_argument);
    CHECK(s.get("a\0b"s, "k").code() == Code::invalid_argument);
    CHECK(s.scan("", "").code() == Code::invalid_argument);
    const std::string key_room(format::kMaxKeyBytes - 2, 'k');  // space "s" plus separator
    CHECK(s.put("s", key_room, "v").is_ok());
    CHECK(s.put("s", key_room + "k", "v").code() == Code::invalid_argument);
    CHECK(s.remove("s", key_room + "k").code() == Code::invalid_argument);

    const std::vector<MetaStore::Write> batch = {
        {"s", "first", "1"},
        {"s", key_room + "k", "2"},
    };
    CHECK(s.write(batch).code() == Code::invalid_argument);
    CHECK(s.get("s", "first")->has_value() == false);
}

TEST_CASE_TEMPLATE("meta: allocate_id starts at 1, increases strictly and survives reopening", F,
                   LmdbFixture, MemoryFixture) {
    F f;
    std::uint64_t last = 0;
    for (int i = 0; i < 50; ++i) {
        auto id = f.store->allocate_id();
        REQUIRE(id.is_ok());
        CHECK(*id == last + 1);
        last = *id;
        if (i % 10 == 9) f.reopen();
    }
    CHECK(*f.store->allocate_id() == 51);
}

TEST_CASE_TEMPLATE("meta: key spaces keep keys apart; scan returns a prefix in order", F,
                   LmdbFixture, MemoryFixture) {
    F f;
    MetaStore& s = *f.store;
    const Entries in_s = {
        {""s, "empty"},    {"\0"s, "nul"},   {"\0\xff"s, "nul-ff"}, {"p", "p"},
        {"p\0"s, "p-nul"}, {"p\0q"s, "p-q"}, {"p\xff\xff", "p-ff"}, {"\xff", "ff"},
    };
    for (const auto& [key, value] : in_s) REQUIRE(s.put("s", key, value).is_ok());
    // Spaces whose names extend "s", or sort right after its keys, hold look-alike keys.
    REQUIRE(s.put("s\xff", "p", "other").is_ok());
    REQUIRE(s.put("sa", "p", "other").is_ok());
    REQUIRE(s.put("r", "\xff\xff", "other").is_ok());
    REQUIRE(s.put("s\x01", "", "other").is_ok());

    CHECK(must_scan(s, "s", "") == in_s);
    CHECK(must_scan(s, "s", "p") ==
          Entries{{"p", "p"}, {"p\0"s, "p-nul"}, {"p\0q"s, "p-q"}, {"p\xff\xff", "p-ff"}});
    CHECK(must_scan(s, "s", "p\0"s) == Entries{{"p\0"s, "p-nul"}, {"p\0q"s, "p-q"}});
    CHECK(must_scan(s, "s", "\0"s) == Entries{{"\0"s, "nul"}, {"\0\xff"s, "nul-ff"}});
    CHECK(must_scan(s, "s", "\xff") == Entries{{"\xff", "ff"}});
    CHECK(must_scan(s, "s", "q").empty());
    CHECK(must_scan(s, "s\xff", "") == Entries{{"p", "other"}});
    CHECK(must_scan(s, "t", "").empty());

    CHECK(**s.get("s", "p\0"s) == "p-nul");
    CHECK(**s.get("s", "") == "empty");
    CHECK(s.get("s", "p\0z"s)->has_value() == false);
    CHECK(s.get("sa", "\0p"s)->has_value() == false);

    REQUIRE(s.put("s", "p", "").is_ok());
    CHECK(**s.get("s", "p") == "");
    REQUIRE(s.remove("s", "p").is_ok());
    REQUIRE(s.remove("s", "p").is_ok());  // absent: still ok
    CHECK(s.get("s", "p")->has_value() == false);
    CHECK(must_scan(s, "s", "p").size() == 3);

    f.reopen();
    CHECK(must_scan(*f.store, "s", "\0"s) == Entries{{"\0"s, "nul"}, {"\0\xff"s, "nul-ff"}});
}

TEST_CASE_TEMPLATE("meta: write() applies a batch across spaces as one transaction", F, LmdbFixture,
                   MemoryFixture) {
    F f;
    MetaStore& s = *f.store;
    REQUIRE(s.put("offsets", "g1/old", "x").is_ok());
    const std::vector<MetaStore::Write> batch = {
        {"offsets", "g1/t/0", "10"},           {"offsets", "g1/old", std::nullopt},
        {"producers", "p1", "epoch 3"},        {"offsets", "g1/t/0", "11"},  // later entries win
        {"offsets", "g1/never", std::nullopt},
    };
    REQUIRE(s.write(batch).is_ok());
    CHECK(must_scan(s, "offsets", "g1/") == Entries{{"g1/t/0", "11"}});
    CHECK(**s.get("producers", "p1") == "epoch 3");
    CHECK(s.write({}).is_ok());

    // A reader scanning the space sees either all or none of each batch: both keys equal.
    std::atomic<bool> done{false};
    std::atomic<int> torn{0};
    std::thread reader([&] {
        while (!done.load()) {
            auto got = s.scan("pair", "");
            if (!got.is_ok() || (got->size() == 2 && (*got)[0].second != (*got)[1].second) ||
                got->size() == 1) {
                ++torn;
            }
        }
    });
    for (int i = 0; i < 200; ++i) {
        const std::string v = std::to_string(i);
        const std::vector<MetaStore::Write> pair = {{"pair", "a", v}, {"pair", "b", v}};
        REQUIRE(s.write(pair).is_ok());
    }
    done = true;
    reader.join();
    CHECK(torn.load() == 0);
}

TEST_CASE_TEMPLATE("meta: the map grows from 64 KiB to hold 20 MB", F, LmdbFixture, MemoryFixture) {
    F f(MetaOptions{.initial_map_bytes = 64 * 1024});
    constexpr int kBatches = 100;
    constexpr int kPerBatch = 20;
    constexpr std::size_t kValueBytes = 10 * 1024;
    for (int b = 0; b < kBatches; ++b) {
        std::vector<MetaStore::Write> batch;
        for (int i = 0; i < kPerBatch; ++i) {
            const std::string key = std::to_string(b) + "/" + std::to_string(i);
            batch.push_back({"big", key, value_for(key, kValueBytes)});
        }
        const Status wrote = f.store->write(batch);
        REQUIRE_MESSAGE(wrote.is_ok(), wrote.to_string());
        REQUIRE(f.store->put_topic(topic("t" + std::to_string(b), b + 1)).is_ok());
    }
    f.reopen();
    auto all = must_scan(*f.store, "big", "");
    REQUIRE(all.size() == kBatches * kPerBatch);
    for (const auto& [key, value] : all) CHECK(value == value_for(key, kValueBytes));
    CHECK(f.store->list_topics()->size() == kBatches);
}

TEST_CASE_TEMPLATE("meta: concurrent writers and readers while the map grows", F, LmdbFixture,
                   MemoryFixture) {
    F f(MetaOptions{.initial_map_bytes = 64 * 1024});
    MetaStore& s = *f.store;
    constexpr int kWriters = 4;
    constexpr int kReaders = 4;
    constexpr int kKeys = 150;
    constexpr std::size_t kValueBytes = 8 * 1024;
    auto key_of = [](int w, int i) { return "w" + std::to_string(w) + "/" + std::to_string(i); };

    std::atomic<int> writers_left{kWriters};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
        threads.emplace_back([&, w] {
            for (int i = 0; i < kKeys; ++i) {
                const std::string key = key_of(w, i);
                if (!s.put("c", key, value_for(key, kValueBytes)).is_ok()) ++errors;
                if (i % 50 == 0 && !s.allocate_id().is_ok()) ++errors;
            }
            --writers_left;
        });
    }
    for (int r = 0; r < kReaders; ++r) {
        threads.emplace_back([&, r] {
            std::mt19937 rng(r);
            while (writers_left.load() > 0) {
                const std::string key = key_of(rng() % kWriters, rng() % kKeys);
                auto got = s.get("c", key);
                if (!got.is_ok() || (got->has_value() && **got != value_for(key, kValueBytes))) {
                    ++errors;
                }
                auto some = s.scan("c", "w" + std::to_string(rng() % kWriters) + "/1");
                if (!some.is_ok()) ++errors;
                for (const auto& [k, v] : some.is_ok() ? *some : Entries{}) {
                    if (v != value_for(k, kValueBytes)) ++errors;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(errors.load() == 0);
    const Entries all = must_scan(s, "c", "");
    CHECK(all.size() == kWriters * kKeys);
    for (const auto& [k, v] : all) CHECK(v == value_for(k, kValueBytes));
    CHECK(*s.allocate_id() == kWriters * (kKeys / 50) + 1);
}

// ---- LMDB only ---------------------------------------------------------------------------

TEST_CASE("meta: a second open of a directory shares its environment") {
    TempDir dir;
    auto first = open_or_fail(dir.path, {});
    auto second = open_or_fail(dir.path + "/./", {});
    REQUIRE(first->put_topic(topic("shared", 1)).is_ok());
    CHECK(**second->get_topic("shared") == topic("shared", 1));
    REQUIRE(*second->allocate_id() == 1);
    REQUIRE(*first->allocate_id() == 2);

    auto reader = open_or_fail(dir.path, MetaOptions{.read_only = true});
    CHECK(reader->put_topic(topic("x", 2)).code() == Code::not_supported);
    first.reset();
    CHECK(**reader->get_topic("shared") == topic("shared", 1));
    second.reset();
    // The reader still shares the read-write environment, so a writer may join it.
    auto writer = open_or_fail(dir.path, {});
    CHECK(*writer->allocate_id() == 3);
    writer.reset();
    reader.reset();

    // An environment opened read-only cannot take a writer until it closes.
    reader = open_or_fail(dir.path, MetaOptions{.read_only = true});
    CHECK(open_lmdb_meta_store(dir.path, {}).code() == Code::busy);
    reader.reset();
    writer = open_or_fail(dir.path, {});
    CHECK(*writer->allocate_id() == 4);
}

TEST_CASE("meta: read-only stores refuse writes and need an existing environment") {
    TempDir dir;
    CHECK(open_lmdb_meta_store(dir.path + "/absent", MetaOptions{.read_only = true}).code() ==
          Code::not_found);
    CHECK(open_lmdb_meta_store(dir.path, MetaOptions{.read_only = true}).code() == Code::not_found);
    {
        auto writer = open_or_fail(dir.path, {});
        REQUIRE(writer->put("s", "k", "v").is_ok());
        REQUIRE(writer->put_topic(topic("t", 1)).is_ok());
    }
    auto s = open_or_fail(dir.path, MetaOptions{.read_only = true});
    CHECK(**s->get("s", "k") == "v");
    CHECK(s->put_topic(topic("u", 2)).code() == Code::not_supported);
    CHECK(s->delete_topic("t").code() == Code::not_supported);
    CHECK(s->allocate_id().code() == Code::not_supported);
    CHECK(s->put("s", "k", "w").code() == Code::not_supported);
    CHECK(s->remove("s", "k").code() == Code::not_supported);
    const std::vector<MetaStore::Write> batch = {{"s", "k", std::nullopt}};
    CHECK(s->write(batch).code() == Code::not_supported);
    CHECK(**s->get("s", "k") == "v");
    CHECK(s->list_topics()->size() == 1);
}

// The child side of the test below: returns its exit code.
int read_only_child(const std::string& dir, int ready_fd) {
    auto opened = open_lmdb_meta_store(dir, MetaOptions{.read_only = true});
    if (!opened.is_ok()) return 2;
    std::unique_ptr<MetaStore> store = std::move(opened).value();
    int code = 6;  // timed out
    auto before = store->get_topic("before");
    if (!before.is_ok() || !before->has_value()) code = 3;
    if (code == 6 && store->put("s", "k", "v").code() != Code::not_supported) code = 4;
    if (::write(ready_fd, "r", 1) != 1) code = 7;
    for (int i = 0; code == 6 && i < 500; ++i) {
        auto after = store->get_topic("after");
        if (!after.is_ok()) {
            code = 5;
        } else if (after->has_value()) {
            auto bulk = store->scan("bulk", "");
            code = bulk.is_ok() && bulk->size() == 100 && (**after).topic_id == 2 ? 0 : 8;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    store.reset();  // closes the child's own environment; never the inherited one
    return code;
}

TEST_CASE("meta: a read-only process sees commits made after it opened, past a map growth") {
    TempDir dir;
    auto writer = open_or_fail(dir.path, MetaOptions{.initial_map_bytes = 64 * 1024});
    REQUIRE(writer->put_topic(topic("before", 1)).is_ok());
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(ready[0]);
        ::_exit(read_only_child(dir.path, ready[1]));
    }
    ::close(ready[1]);
    char byte = 0;
    CHECK(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    // 2 MB grows the map well beyond the 64 KiB the child mapped.
    for (int i = 0; i < 100; ++i) {
        const std::string key = std::to_string(i);
        REQUIRE(writer->put("bulk", key, value_for(key, 20 * 1024)).is_ok());
    }
    REQUIRE(writer->put_topic(topic("after", 2)).is_ok());
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("meta: the data file's length check never calls a growing file cut short") {
    // Another process's writer commits while this one opens read-only: it appends a commit's
    // pages, then points a meta page at them. Here a thread does the same to a real data.mdb
    // as fast as it can, so that the check's reads interleave with it in every order.
    TempDir dir;
    {
        auto store = open_or_fail(dir.path, MetaOptions{});
        REQUIRE(store->put_topic(topic("t", 1)).is_ok());
    }
    const std::string data = dir.path + "/" + std::string(format::kDataFile);
    REQUIRE(check_lmdb_file_length(data).is_ok());
    const int fd = ::open(data.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    // LMDB 0.9's meta page: page size at byte 40, last page in use at 136, transaction id at
    // 144. Meta page 0 gets ever higher transaction ids, so it stays the newest.
    constexpr off_t kPageSizePos = 40;
    constexpr off_t kLastPagePos = 136;
    constexpr off_t kTxnIdPos = 144;
    std::byte size_field[4];
    REQUIRE(::pread(fd, size_field, 4, kPageSizePos) == 4);
    const std::size_t page_bytes = util::load_le<std::uint32_t>(size_field);
    REQUIRE(page_bytes >= 512);
    std::uint64_t last_page = std::filesystem::file_size(data) / page_bytes - 1;
    std::atomic<bool> done{false};
    std::thread committer([&] {
        const std::vector<char> zeros(page_bytes, 0);
        std::byte field[8];
        for (std::uint64_t txn = 1u << 20; txn < (1u << 20) + 1000; ++txn) {
            ++last_page;
            if (::pwrite(fd, zeros.data(), page_bytes,
                         static_cast<off_t>(last_page * page_bytes)) !=
                static_cast<ssize_t>(page_bytes))
                break;
            util::store_le<std::uint64_t>(field, last_page);
            if (::pwrite(fd, field, 8, kLastPagePos) != 8) break;
            util::store_le<std::uint64_t>(field, txn);
            if (::pwrite(fd, field, 8, kTxnIdPos) != 8) break;
        }
        done = true;
    });
    int checks = 0;
    Status failed = Status::ok();
    while (!done.load() && failed.is_ok()) {
        failed = check_lmdb_file_length(data);
        ++checks;
    }
    committer.join();
    ::close(fd);
    CHECK_MESSAGE(failed.is_ok(), failed.to_string());
    CHECK(checks > 0);
    // The check still sees a cut: the last page the meta page names, removed.
    std::filesystem::resize_file(data, last_page * page_bytes);
    CHECK(check_lmdb_file_length(data).code() == Code::corruption);
    // A last page number so large that its byte position overflows 64 bits is a cut too.
    const int again = ::open(data.c_str(), O_RDWR);
    REQUIRE(again >= 0);
    std::byte field[8];
    util::store_le<std::uint64_t>(field, (std::uint64_t{1} << 63) / page_bytes * 2);
    REQUIRE(::pwrite(again, field, 8, kLastPagePos) == 8);
    ::close(again);
    CHECK(check_lmdb_file_length(data).code() == Code::corruption);
}

// ---- Topic record codec ------------------------------------------------------------------

// `body` followed by its checksum: a record that passes the checksum, whatever it holds.
std::string seal(std::string body) {
    std::byte sum[8];
    util::store_le<std::uint64_t>(
        sum, util::xxh3_64({reinterpret_cast<const std::byte*>(body.data()), body.size()}));
    return body.append(reinterpret_cast<const char*>(sum), sizeof sum);
}

std::string u32(std::uint32_t v) {
    std::string out(4, '\0');
    util::store_le<std::uint32_t>(reinterpret_cast<std::byte*>(out.data()), v);
    return out;
}

// The fixed header of a version-1 record with `count` overrides.
std::string header(std::uint32_t count, std::uint8_t version = format::kTopicRecordV1) {
    std::string out(format::kOverrideCountPos, '\0');
    out[format::kVersionPos] = static_cast<char>(version);
    return out + u32(count);
}

TEST_CASE("meta: topic records round-trip and reject every damaged form") {
    const TopicRecord t{"orders",
                        -5,
                        {{"cleanup.policy", "compact"}, {"k\0x"s, "\xff\0"s}, {"z", ""}},
                        0x0102030405060708};
    const std::string bytes = encode_topic_record(t);
    auto back = decode_topic_record("orders", bytes);
    REQUIRE(back.is_ok());
    CHECK(*back == t);
    const TopicRecord bare{"x", 0, {}, 0};
    CHECK(*decode_topic_record("x", encode_topic_record(bare)) == bare);
    CHECK(encode_topic_record(bare).size() == format::kMinTopicRecordSize);

    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CHECK(decode_topic_record("orders", bytes.substr(0, n)).code() == Code::corruption);
    }
    CHECK(decode_topic_record("orders", bytes + "x").code() == Code::corruption);

    std::mt19937 rng(1234);
    for (int i = 0; i < 20000; ++i) {
        std::string damaged = bytes;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int j = 0; j < flips; ++j) damaged[rng() % damaged.size()] ^= 1 + rng() % 255;
        if (damaged == bytes) continue;
        CHECK(decode_topic_record("orders", damaged).code() == Code::corruption);
    }

    // Correct checksums over wrong structure: each length is checked on its own.
    CHECK(decode_topic_record("x", seal(header(1))).code() == Code::corruption);
    CHECK(decode_topic_record("x", seal(header(0xffffffff) + u32(0) + u32(0))).code() ==
          Code::corruption);
    CHECK(decode_topic_record("x", seal(header(1) + u32(0xfffffff0) + u32(0))).code() ==
          Code::corruption);
    CHECK(decode_topic_record("x", seal(header(1) + u32(1) + "k" + u32(2) + "v")).code() ==
          Code::corruption);
    CHECK(decode_topic_record("x", seal(header(0) + "extra")).code() == Code::corruption);
    CHECK(decode_topic_record("x", seal(header(2) + u32(1) + "b" + u32(0) + u32(1) + "a" + u32(0)))
              .code() == Code::corruption);  // keys out of order
    CHECK(decode_topic_record("x", seal(header(2) + u32(1) + "a" + u32(0) + u32(1) + "a" + u32(0)))
              .code() == Code::corruption);  // duplicate key
    CHECK(decode_topic_record("x", seal(header(1) + u32(1) + "a" + u32(1) + "b")).is_ok());
    CHECK(decode_topic_record("x", seal(header(0, 2))).code() == Code::not_supported);
}

}  // namespace
}  // namespace brook::meta
