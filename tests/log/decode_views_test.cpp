// Tests for the zero-copy decode path (decode_batch_views, decode_raw_views) against a model:
// random batches (null and empty keys and values, lengths whose varints take one, two and
// three bytes, headers, wide timestamp deltas, offset gaps, zstd, control, transactional and
// LogAppendTime batches) must decode, as views and as owned records, to exactly the records
// that were encoded; a read of several batches with hidden ones and a start offset inside the
// first batch must give what decode_raw gives, minus the hidden batches; a varint cut by the
// end of its record is corruption on the inline path as on the general one; and the fast path
// for records of the common shape (log/short_record.hpp), one record at a time and in the
// batch loop that stops at the first record of another shape, decodes what the model holds,
// and with it the decoder gives the general path's records or error for intact and damaged
// batches alike.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "log/format.hpp"
#include "log/raw_batches.hpp"
#include "log/record_batch.hpp"
#include "log/short_record.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/varint.hpp"

namespace brook::log {
namespace {

using Bytes = std::vector<std::byte>;

std::optional<std::string> random_bytes(std::mt19937_64& rng) {
    // Lengths around the one/two/three-byte varint boundaries (63/64 and 8191/8192 zig-zagged).
    static constexpr std::size_t kLengths[] = {0, 1, 8, 63, 64, 100, 127, 128, 8191, 8192, 20000};
    if (rng() % 8 == 0) return std::nullopt;
    const std::size_t n = kLengths[rng() % std::size(kLengths)];
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

struct RandomBatch {
    std::vector<Record> records;  // with the offsets decoding must report
    BatchOptions options;
    Bytes bytes;
};

// With `short_shaped`, most records take the fast path: no headers, varints of one or two
// bytes (timestamp deltas below 2^13 either way, lengths up to 8192); the others do not.
RandomBatch random_batch(std::mt19937_64& rng, Offset base, bool short_shaped = false) {
    RandomBatch b;
    b.options.base_offset = base;
    b.options.compression = rng() % 3 == 0 ? Compression::zstd : Compression::none;
    b.options.timestamp_type =
        rng() % 4 == 0 ? TimestampType::log_append_time : TimestampType::create_time;
    b.options.preserve_offsets = rng() % 2 == 0;
    b.options.transactional = rng() % 4 == 0;
    b.options.control = rng() % 6 == 0;
    const std::size_t count = 1 + rng() % 40;
    const std::int64_t first_ts = static_cast<std::int64_t>(rng() % 2'000'000'000'000);
    std::int64_t offset = base.value();
    for (std::size_t i = 0; i < count; ++i) {
        Record r;
        r.key = random_bytes(rng);
        r.value = random_bytes(rng);
        for (std::size_t h = short_shaped ? rng() % 8 / 7 : rng() % 3; h > 0; --h) {
            r.headers.push_back(Header{random_bytes(rng).value_or(""), random_bytes(rng)});
        }
        // Deltas from zero to far beyond 2^32, both ways, for every varlong width.
        const int shift = static_cast<int>(short_shaped ? rng() % 4 : rng() % 40);
        r.timestamp = first_ts + (static_cast<std::int64_t>(rng() % 1000) << shift) *
                                     (rng() % 2 == 0 ? 1 : -1);
        if (i == 0) r.timestamp = first_ts;
        r.offset = Offset(offset);
        offset += b.options.preserve_offsets ? 1 + static_cast<std::int64_t>(rng() % 300) : 1;
        b.records.push_back(std::move(r));
    }
    auto encoded = encode_batch(b.records, b.options);
    REQUIRE_MESSAGE(encoded.is_ok(), encoded.status().to_string());
    b.bytes = std::move(encoded).value();
    if (b.options.timestamp_type == TimestampType::log_append_time) {
        std::int64_t max_ts = first_ts;
        for (const Record& r : b.records) max_ts = std::max(max_ts, r.timestamp);
        for (Record& r : b.records) r.timestamp = max_ts;
    }
    return b;
}

void check_same(const RecordView& view, const std::vector<HeaderView>& header_views,
                const Record& expected, TimestampType type) {
    CHECK(view.offset == expected.offset);
    CHECK(view.timestamp == expected.timestamp);
    CHECK(view.timestamp_type == type);
    CHECK(view.key ==
          (expected.key ? std::optional<std::string_view>(*expected.key) : std::nullopt));
    CHECK(view.value ==
          (expected.value ? std::optional<std::string_view>(*expected.value) : std::nullopt));
    REQUIRE(std::size_t{view.first_header} + view.header_count <= header_views.size());
    const auto headers = view.headers_of(header_views);
    REQUIRE(headers.size() == expected.headers.size());
    for (std::size_t h = 0; h < headers.size(); ++h) {
        CHECK(headers[h].key == expected.headers[h].key);
        CHECK(headers[h].value == (expected.headers[h].value
                                       ? std::optional<std::string_view>(*expected.headers[h].value)
                                       : std::nullopt));
    }
}

TEST_CASE("random batches decode as views and as owned records to the encoded records") {
    std::mt19937_64 rng(20261126);
    for (int round = 0; round < 300; ++round) {
        CAPTURE(round);
        const RandomBatch b = random_batch(rng, Offset(static_cast<std::int64_t>(rng() % 1000)));

        std::vector<std::byte> decompressed;
        std::vector<RecordView> views;
        std::vector<HeaderView> header_views;
        auto header = decode_batch_views(b.bytes, decompressed, views, header_views);
        REQUIRE_MESSAGE(header.is_ok(), header.status().to_string());
        CHECK(header->is_control() == b.options.control);
        CHECK(header->is_transactional() == b.options.transactional);
        REQUIRE(views.size() == b.records.size());
        for (std::size_t i = 0; i < views.size(); ++i) {
            check_same(views[i], header_views, b.records[i], b.options.timestamp_type);
        }

        auto owned = decode_batch(b.bytes);
        REQUIRE_MESSAGE(owned.is_ok(), owned.status().to_string());
        CHECK(owned->records == b.records);
    }
}

TEST_CASE("decode_raw_views gives decode_raw's records without the hidden batches") {
    std::mt19937_64 rng(7);
    for (int round = 0; round < 40; ++round) {
        CAPTURE(round);
        RawBatches raw;
        raw.file = "test.log";
        std::vector<std::vector<Record>> model;
        Offset next(0);
        const std::size_t batches = 1 + rng() % 6;
        for (std::size_t i = 0; i < batches; ++i) {
            const RandomBatch b = random_batch(rng, next);
            auto header = parse_batch_header(b.bytes);
            REQUIRE(header.is_ok());
            raw.headers.push_back(*header);
            raw.hidden.push_back(rng() % 4 == 0);
            raw.bytes.insert(raw.bytes.end(), b.bytes.begin(), b.bytes.end());
            model.push_back(b.records);
            next = header->last_offset() + 1 + static_cast<std::int64_t>(rng() % 5);
        }
        // Start inside the first batch, as a read from a position mid-batch does.
        const auto& first = model.front();
        const Offset from = first[rng() % first.size()].offset;

        auto owned = decode_raw(raw, from);
        REQUIRE_MESSAGE(owned.is_ok(), owned.status().to_string());
        std::vector<Record> expected;
        for (std::size_t i = 0; i < owned->size(); ++i) {
            if (raw.hidden[i]) continue;
            for (const Record& r : (*owned)[i].records) expected.push_back(r);
        }
        std::size_t model_count = 0;
        for (std::size_t i = 0; i < model.size(); ++i) {
            if (raw.hidden[i]) continue;
            for (const Record& r : model[i]) model_count += r.offset >= from ? 1 : 0;
        }
        CHECK(expected.size() == model_count);

        std::vector<std::vector<std::byte>> decompressed;
        std::vector<RecordView> views;
        std::vector<HeaderView> header_views;
        REQUIRE(decode_raw_views(raw, from, decompressed, views, header_views).is_ok());
        REQUIRE(views.size() == expected.size());
        std::size_t at = 0;
        for (std::size_t i = 0; i < raw.headers.size(); ++i) {
            if (raw.hidden[i]) continue;
            for (std::size_t r = 0; r < (*owned)[i].records.size(); ++r, ++at) {
                check_same(views[at], header_views, (*owned)[i].records[r],
                           raw.headers[i].timestamp_type());
            }
        }
    }
}

TEST_CASE("a varint cut by the end of its record is corruption on the inline path") {
    // One record whose value is 100 bytes: its value length is a two-byte varint.
    Record r;
    r.key = "k";
    r.value = std::string(100, 'v');
    r.offset = Offset(0);
    auto encoded = encode_batch(std::vector<Record>{r}, {});
    REQUIRE(encoded.is_ok());
    Bytes batch = std::move(encoded).value();
    const std::size_t section = format::kRecordsPos;
    // The record: length (2 bytes), attributes, ts delta, offset delta, key length, "k",
    // value length (2 bytes), value, header count. Cut the record right after the value
    // length's first byte, keeping the batch consistent otherwise.
    const std::size_t value_length_at = section + 2 + 1 + 1 + 1 + 1 + 1;
    REQUIRE(std::to_integer<int>(batch[value_length_at]) >= 0x80);
    Bytes cut(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(value_length_at + 1));
    // Record length: what is left of the record after its length field.
    const std::size_t record_length = value_length_at + 1 - (section + 2);
    cut[section] = static_cast<std::byte>(record_length * 2);
    cut[section + 1] = std::byte{0};
    cut.erase(cut.begin() + static_cast<std::ptrdiff_t>(section + 1));
    util::store_le<std::uint32_t>(cut.data() + format::kBatchLengthPos,
                                  static_cast<std::uint32_t>(cut.size() - 12));
    util::store_le<std::uint64_t>(cut.data() + format::kChecksumPos,
                                  util::xxh3_64(std::span(cut).subspan(format::kAttributesPos)));
    std::vector<std::byte> decompressed;
    std::vector<RecordView> views;
    std::vector<HeaderView> header_views;
    auto decoded = decode_batch_views(cut, decompressed, views, header_views);
    REQUIRE(decoded.code() == Code::corruption);
    CHECK(decoded.status().message().find("value varint overruns the record") != std::string::npos);
}

// The records of `batch` decoded by decode_batch_views (`general` false) or
// decode_batch_views_general, as owned records, or the error.
struct ViewsDecoded {
    Status status;
    std::vector<Record> records;
};

ViewsDecoded decode_with(std::span<const std::byte> batch, bool general) {
    std::vector<std::byte> decompressed;
    std::vector<RecordView> views;
    std::vector<HeaderView> header_views;
    auto header = general ? decode_batch_views_general(batch, decompressed, views, header_views)
                          : decode_batch_views(batch, decompressed, views, header_views);
    ViewsDecoded out{header.status(), {}};
    if (!header.is_ok()) return out;
    for (const RecordView& v : views) {
        Record& r = out.records.emplace_back();
        if (v.key) r.key = std::string(*v.key);
        if (v.value) r.value = std::string(*v.value);
        for (const HeaderView& h : v.headers_of(header_views)) {
            r.headers.push_back(Header{
                std::string(h.key), h.value ? std::optional<std::string>(*h.value) : std::nullopt});
        }
        r.timestamp = v.timestamp;
        r.offset = v.offset;
    }
    return out;
}

TEST_CASE("read_short_record decodes the model's records of the common shape and no other") {
    std::mt19937_64 rng(42);
    std::size_t taken = 0;
    std::size_t declined = 0;
    for (int round = 0; round < 300; ++round) {
        CAPTURE(round);
        RandomBatch b = random_batch(rng, Offset(static_cast<std::int64_t>(rng() % 1000)), true);
        if (b.options.compression != Compression::none) continue;
        auto header = parse_batch_header(b.bytes);
        REQUIRE(header.is_ok());
        const std::byte* p = b.bytes.data() + format::kRecordsPos;
        const std::byte* const end = b.bytes.data() + b.bytes.size();
        std::int64_t previous_delta = -1;
        for (const Record& expected : b.records) {
            std::vector<RecordView> views;
            const std::byte* const at = p;
            // The shape the fast path takes, from the model: no headers, and every varint of
            // one or two bytes (zig-zagged values below 2^14).
            std::size_t pos = 0;
            const auto length =
                util::read_varint(std::span(p, static_cast<std::size_t>(end - p)), pos);
            REQUIRE(length.has_value());
            const auto fits = [](std::int64_t v) { return v >= -8192 && v < 8192; };
            const std::int64_t delta = expected.offset - b.options.base_offset;
            const std::int64_t ts_delta = expected.timestamp - b.records.front().timestamp;
            const bool short_shape =
                expected.headers.empty() && fits(*length) && fits(delta) &&
                (b.options.timestamp_type == TimestampType::log_append_time || fits(ts_delta)) &&
                fits(expected.key ? static_cast<std::int64_t>(expected.key->size()) : -1) &&
                fits(expected.value ? static_cast<std::int64_t>(expected.value->size()) : -1);
            const bool took =
                read_short_record(p, end, *header, b.options.timestamp_type, previous_delta, views);
            if (b.options.timestamp_type == TimestampType::log_append_time) {
                // The stored deltas are the create times'; only their width matters here.
                if (took)
                    ++taken;
                else
                    ++declined;
                if (!took) p = at + pos + static_cast<std::size_t>(*length);
                previous_delta = delta;
                continue;
            }
            CHECK(took == short_shape);
            if (took) {
                ++taken;
                REQUIRE(views.size() == 1);
                check_same(views.front(), {}, expected, b.options.timestamp_type);
                CHECK(previous_delta == delta);
                CHECK(p == at + pos + static_cast<std::size_t>(*length));
            } else {
                ++declined;
                CHECK(views.empty());
                CHECK(p == at);
                p = at + pos + static_cast<std::size_t>(*length);
                previous_delta = delta;
            }
        }
        CHECK(p == end);
    }
    CHECK(taken > 1000);
    CHECK(declined > 100);
}

TEST_CASE("read_short_records decodes the model's records up to the first of another shape") {
    std::mt19937_64 rng(4242);
    std::size_t stopped_early = 0;
    std::size_t whole = 0;
    for (int round = 0; round < 600; ++round) {
        CAPTURE(round);
        RandomBatch b = random_batch(rng, Offset(static_cast<std::int64_t>(rng() % 1000)), true);
        if (b.options.compression != Compression::none ||
            b.options.timestamp_type == TimestampType::log_append_time) {
            continue;
        }
        if (round % 2 == 0) {
            // Every record of the common shape, but now and then one short of 7 bytes.
            for (Record& r : b.records) {
                r.headers.clear();
                if (r.key && r.key->size() > 100) r.key->resize(100);
                if (r.value && r.value->size() > 100) r.value->resize(100);
                if (rng() % 50 == 0) r.key = r.value = std::nullopt;
            }
            b.options.preserve_offsets = true;
            auto encoded = encode_batch(b.records, b.options);
            REQUIRE(encoded.is_ok());
            b.bytes = std::move(encoded).value();
        }
        auto header = parse_batch_header(b.bytes);
        REQUIRE(header.is_ok());
        // From the model: the index of the first record the loop must stop at (no headers,
        // every varint of one or two bytes, and at least 7 bytes after its length), and where
        // it starts.
        const auto fits = [](std::int64_t v) { return v >= -8192 && v < 8192; };
        std::size_t expected_n = b.records.size();
        std::size_t stop_at = b.bytes.size();
        std::size_t at = format::kRecordsPos;
        for (std::size_t i = 0; i < b.records.size(); ++i) {
            const Record& r = b.records[i];
            std::size_t pos = 0;
            const auto length = util::read_varint(std::span(b.bytes).subspan(at), pos);
            REQUIRE(length.has_value());
            const bool shaped = r.headers.empty() && fits(*length) && *length >= 7 &&
                                fits(r.offset - b.options.base_offset) &&
                                fits(r.timestamp - b.records.front().timestamp) &&
                                fits(r.key ? static_cast<std::int64_t>(r.key->size()) : -1) &&
                                fits(r.value ? static_cast<std::int64_t>(r.value->size()) : -1);
            if (!shaped) {
                expected_n = i;
                stop_at = at;
                break;
            }
            at += pos + static_cast<std::size_t>(*length);
        }
        const std::byte* p = b.bytes.data() + format::kRecordsPos;
        const std::byte* const end = b.bytes.data() + b.bytes.size();
        std::int64_t previous_delta = -1;
        std::vector<RecordView> views;
        views.reserve(header->record_count);
        const std::uint32_t n = read_short_records(p, end, *header, b.options.timestamp_type,
                                                   previous_delta, header->record_count, views);
        REQUIRE(n == expected_n);
        REQUIRE(views.size() == n);
        CHECK(p == b.bytes.data() + stop_at);
        for (std::size_t i = 0; i < n; ++i) {
            check_same(views[i], {}, b.records[i], b.options.timestamp_type);
        }
        CHECK(previous_delta == (n == 0 ? -1 : b.records[n - 1].offset - b.options.base_offset));
        if (n < b.records.size())
            ++stopped_early;
        else
            ++whole;
    }
    CHECK(stopped_early > 30);
    CHECK(whole > 30);
}

TEST_CASE("with the fast path the decoder gives the general path's records or error") {
    std::mt19937_64 rng(99);
    int damaged_errors = 0;
    for (int round = 0; round < 1500; ++round) {
        CAPTURE(round);
        RandomBatch b =
            random_batch(rng, Offset(static_cast<std::int64_t>(rng() % 1000)), round % 3 != 0);
        // Damage one to three bytes among the first eight of records (their lengths, deltas
        // and key lengths), keeping the checksum valid so that the record decoder sees them
        // (in a zstd batch they hit the frame instead).
        const bool damaged = round % 2 == 1;
        if (damaged) {
            std::vector<std::size_t> starts;
            for (std::size_t at = format::kRecordsPos; at < b.bytes.size();) {
                starts.push_back(at);
                std::size_t pos = 0;
                const auto length = util::read_varint(std::span(b.bytes).subspan(at), pos);
                if (b.options.compression != Compression::none || !length) break;
                at += pos + static_cast<std::size_t>(*length);
            }
            for (std::size_t n = 1 + rng() % 3; n > 0; --n) {
                const std::size_t at =
                    std::min(b.bytes.size() - 1, starts[rng() % starts.size()] + rng() % 8);
                b.bytes[at] =
                    rng() % 2 == 0 ? static_cast<std::byte>(rng()) : b.bytes[at] ^ std::byte{0x80};
            }
            util::store_le<std::uint64_t>(
                b.bytes.data() + format::kChecksumPos,
                util::xxh3_64(std::span(b.bytes).subspan(format::kAttributesPos)));
        }
        const ViewsDecoded fast = decode_with(b.bytes, false);
        const ViewsDecoded general = decode_with(b.bytes, true);
        CHECK(fast.status.code() == general.status.code());
        CHECK(fast.status.message() == general.status.message());
        CHECK(fast.records == general.records);
        if (!damaged) CHECK(fast.records == b.records);
        if (damaged && !general.status.is_ok()) ++damaged_errors;
    }
    CHECK(damaged_errors > 300);
}

}  // namespace
}  // namespace brook::log
