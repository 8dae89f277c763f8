// BatchBuilder, the incremental encoder behind encode_batch and the Producer: batches built
// one record at a time (also into a recycled buffer, and zstd-compressed) decode to exactly
// the records added, with the header fields asked for, also with every length and delta at a
// varint size boundary and from views of the caller's bytes, byte for byte as util's varint
// encoder writes them; and a batch appended as freshly
// encoded skips the append-time hash but is still verified when read.
#include "log/batch_builder.hpp"

#include <doctest/doctest.h>

#include <brook/clock.hpp>
#include <random>

#include "log/format.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"
#include "util/varint.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// Records of every shape: null and empty keys and values, headers, and timestamps that go
// backwards and wrap around int64.
std::vector<log::Record> model_records(std::uint32_t seed, std::size_t n) {
    std::mt19937 rng(seed);
    std::vector<log::Record> records(n);
    const std::int64_t stamps[] = {0, -1, 1'700'000'000'000, INT64_MAX, INT64_MIN, 42};
    for (std::size_t i = 0; i < n; ++i) {
        log::Record& r = records[i];
        if (rng() % 5 != 0) r.key = std::string(rng() % 20, static_cast<char>('a' + i % 26));
        if (rng() % 7 != 0) r.value = std::string(rng() % 300, static_cast<char>('A' + i % 26));
        for (std::uint32_t h = rng() % 3; h > 0; --h) {
            r.headers.push_back({"h" + std::to_string(h),
                                 rng() % 2 ? std::optional<std::string>() : std::string(h, 'x')});
        }
        r.timestamp =
            static_cast<std::int64_t>(static_cast<std::uint64_t>(stamps[rng() % 6]) + rng() % 1000);
    }
    return records;
}

std::vector<std::byte> build(log::BatchBuilder& builder, const std::vector<log::Record>& records,
                             const log::BatchOptions& options) {
    for (std::size_t i = 0; i < records.size(); ++i) {
        const log::Record& r = records[i];
        const std::span<const log::Header> headers(r.headers);
        builder.add(r.key, r.value, headers, r.timestamp, static_cast<std::int32_t>(i),
                    log::BatchBuilder::fields_size(r.key, r.value, headers));
    }
    CHECK(builder.record_count() == records.size());
    auto bytes = builder.finish(options);
    REQUIRE_MESSAGE(bytes.is_ok(), bytes.status().to_string());
    CHECK(builder.empty());
    return std::move(bytes).value();
}

}  // namespace

TEST_CASE("batches built record by record decode to the records added") {
    log::BatchBuilder builder;
    std::vector<std::byte> recycled;
    for (std::uint32_t seed = 0; seed < 40; ++seed) {
        const auto records = model_records(seed, 1 + seed * 7 % 60);
        log::BatchOptions options;
        options.compression = seed % 3 == 0 ? log::Compression::zstd : log::Compression::none;
        options.base_offset = Offset(seed * 1000);
        options.producer_id = seed % 2 ? 77 : -1;
        options.producer_epoch = seed % 2 ? 3 : -1;
        options.base_sequence = seed % 2 ? static_cast<std::int32_t>(seed) : -1;
        options.transactional = seed % 4 == 1;
        // Every other batch is encoded into the previous batch's bytes.
        if (seed % 2 == 1) builder = log::BatchBuilder(std::move(recycled));
        std::vector<std::byte> bytes = build(builder, records, options);

        auto decoded = log::decode_batch(bytes);
        REQUIRE_MESSAGE(decoded.is_ok(), decoded.status().to_string());
        CHECK(decoded->records == with_offsets(records, options.base_offset));
        CHECK(decoded->header.compression() == options.compression);
        CHECK(decoded->header.producer_id == options.producer_id);
        CHECK(decoded->header.producer_epoch == options.producer_epoch);
        CHECK(decoded->header.base_sequence == options.base_sequence);
        CHECK(decoded->header.is_transactional() == options.transactional);
        CHECK(decoded->header.record_count == records.size());
        // encode_batch, built on the same encoder, gives the same bytes.
        auto encoded = log::encode_batch(records, options);
        REQUIRE(encoded.is_ok());
        CHECK(*encoded == bytes);
        recycled = std::move(bytes);
    }
}

TEST_CASE("lengths and deltas at every varint size boundary round-trip, from views too") {
    // Zig-zagged, a length L is 2L: its varint grows a byte at L = 64, 8192, 1048576. Offset
    // deltas cross 64 within the batch; timestamp deltas cross each boundary both ways.
    std::vector<log::Record> records;
    const std::size_t sizes[] = {0, 1, 63, 64, 65, 8191, 8192, 8193, 1048575, 1048576};
    const std::int64_t base_time = 1'700'000'000'000;
    for (std::size_t i = 0; i < 90; ++i) {
        log::Record r;
        const std::size_t n = sizes[i % std::size(sizes)];
        r.value = std::string(n, static_cast<char>('a' + i % 26));
        if (i % 3 == 0) r.key = std::string(sizes[(i / 3) % 6], 'k');
        if (i % 4 == 0) r.headers.push_back({std::string(sizes[i % 5], 'h'), std::nullopt});
        const int bits = static_cast<int>(i % 63);
        const std::int64_t delta = std::int64_t{1} << bits;
        r.timestamp = base_time + (i % 2 == 0 ? delta : -delta) + (i % 3 == 0 ? -1 : 0);
        records.push_back(std::move(r));
    }
    records.front().timestamp = base_time;

    // From the records' strings, and from views of other buffers holding the same bytes.
    log::BatchBuilder from_strings;
    const std::vector<std::byte> bytes = build(from_strings, records, {});
    log::BatchBuilder from_views;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const log::Record& r = records[i];
        const std::string key_copy = r.key.value_or("");
        const std::string value_copy = r.value.value_or("");
        const log::BatchBuilder::Bytes key =
            r.key ? log::BatchBuilder::Bytes(key_copy) : std::nullopt;
        const log::BatchBuilder::Bytes value = std::string_view(value_copy);
        const std::span<const log::Header> headers(r.headers);
        from_views.add(key, value, headers, r.timestamp, static_cast<std::int32_t>(i),
                       log::BatchBuilder::fields_size(key, value, headers));
    }
    auto viewed = from_views.finish({});
    REQUIRE(viewed.is_ok());
    CHECK(*viewed == bytes);

    auto decoded = log::decode_batch(bytes);
    REQUIRE_MESSAGE(decoded.is_ok(), decoded.status().to_string());
    CHECK(decoded->records == with_offsets(records, Offset(0)));
}

TEST_CASE("records are the bytes a reference varint encoder writes, at each varint length") {
    // BatchBuilder writes one- and two-byte varints without its loop: lengths and deltas whose
    // zig-zag value sits on either side of 0x80 and 0x4000 (and of three and four bytes) are
    // compared byte for byte with util's varint encoder, and decoded.
    const std::int64_t values[] = {0, 1, 63, 64, 65, 8191, 8192, 8193, 1048575, 1048576, 1048577};
    const std::int64_t base_time = 1'700'000'000'000;
    for (const std::int64_t delta : values) {
        for (const std::int64_t sign : {1, -1}) {
            for (const std::int64_t length : values) {
                const auto n = static_cast<std::size_t>(length);
                const std::string key(n % 300, 'k');
                const std::string value(n, 'v');
                const std::int64_t timestamp = base_time + sign * delta;
                log::BatchBuilder builder;
                const std::span<const log::Header> none;
                builder.add(std::string_view("a"), std::string_view(""), none, base_time, 0,
                            log::BatchBuilder::fields_size(std::string_view("a"),
                                                           std::string_view(""), none));
                const std::int32_t offset_delta = static_cast<std::int32_t>(delta % 100'000) + 1;
                builder.add(std::string_view(key), std::string_view(value), none, timestamp,
                            offset_delta,
                            log::BatchBuilder::fields_size(std::string_view(key),
                                                           std::string_view(value), none));
                auto bytes = builder.finish({});
                REQUIRE(bytes.is_ok());

                std::vector<std::byte> expected;
                auto record = [&](const std::string& k, const std::string& v, std::int64_t ts_delta,
                                  std::int32_t off_delta) {
                    std::vector<std::byte> body{std::byte{0}};  // attributes
                    util::append_varlong(body, ts_delta);
                    util::append_varint(body, off_delta);
                    for (const std::string* field : {&k, &v}) {
                        util::append_varint(body, static_cast<std::int32_t>(field->size()));
                        for (char c : *field) body.push_back(static_cast<std::byte>(c));
                    }
                    util::append_varint(body, 0);  // no headers
                    util::append_varint(expected, static_cast<std::int32_t>(body.size()));
                    expected.insert(expected.end(), body.begin(), body.end());
                };
                record("a", "", 0, 0);
                record(key, value, sign * delta, offset_delta);
                const std::vector<std::byte> records(
                    bytes->begin() + static_cast<std::ptrdiff_t>(log::format::kRecordsPos),
                    bytes->end());
                CHECK_MESSAGE(records == expected, "delta ", sign * delta, " length ", length);
                auto decoded = log::decode_batch(*bytes);
                REQUIRE_MESSAGE(decoded.is_ok(), decoded.status().to_string());
                REQUIRE(decoded->records.size() == 2);
                CHECK(decoded->records[1].timestamp == timestamp);
                CHECK(decoded->records[1].value == value);
            }
        }
    }
}

TEST_CASE_TEMPLATE("a freshly encoded batch skips the append hash but reads are verified", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1000);
    auto log = open_log(env.fs(), env.root() + "/p0", {}, clock);
    const auto records = model_records(7, 20);
    std::vector<std::byte> good = encode(records);
    const log::AppendOptions fresh{.freshly_encoded = true};
    auto appended = log->append(good, fresh);
    REQUIRE_MESSAGE(appended.is_ok(), appended.status().to_string());
    CHECK(read_all(*log) == with_offsets(records, Offset(0)));

    // Bytes damaged after encoding: refused unless the caller vouches for them, and then the
    // damage is found by the first read, never returned as records.
    std::vector<std::byte> bad = encode(records);
    bad[log::format::kRecordsPos + 3] ^= std::byte{0x20};
    CHECK(log->append(bad).code() == Code::invalid_argument);
    REQUIRE(log->append(bad, fresh).is_ok());
    auto read = log->read(Offset(20), 1 << 20);
    CHECK(read.code() == Code::corruption);
}
