#include "log/record_batch.hpp"

#include <doctest/doctest.h>
#include <zstd.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "log/compression.hpp"
#include "log/format.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"
#include "util/varint.hpp"

namespace brook::log {
namespace {

namespace fmt_ = format;
using Bytes = std::vector<std::byte>;

Record make_record(std::optional<std::string> key, std::optional<std::string> value,
                   std::int64_t timestamp, std::vector<Header> headers = {}) {
    Record r;
    r.key = std::move(key);
    r.value = std::move(value);
    r.timestamp = timestamp;
    r.headers = std::move(headers);
    return r;
}

// Gives records the offsets decoding will report for a batch without preserve_offsets.
std::vector<Record> with_offsets(std::vector<Record> records, Offset base) {
    for (std::size_t i = 0; i < records.size(); ++i) records[i].offset = base + std::int64_t(i);
    return records;
}

Bytes encode(const std::vector<Record>& records, const BatchOptions& options = {}) {
    auto r = encode_batch(records, options);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    return std::move(r).value();
}

DecodedBatch decode(const Bytes& batch) {
    auto r = decode_batch(batch);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    return std::move(r).value();
}

// Recomputes the checksum and length of a hand-patched batch.
void reseal(Bytes& batch) {
    util::store_le<std::uint32_t>(batch.data() + fmt_::kBatchLengthPos,
                                  static_cast<std::uint32_t>(batch.size() - 12));
    util::store_le<std::uint64_t>(batch.data() + fmt_::kChecksumPos,
                                  util::xxh3_64(std::span(batch).subspan(fmt_::kAttributesPos)));
}

// Replaces the records section of a valid uncompressed batch with `records` and reseals it.
Bytes with_records_section(Bytes batch, const Bytes& records) {
    batch.resize(fmt_::kRecordsPos);
    batch.insert(batch.end(), records.begin(), records.end());
    reseal(batch);
    return batch;
}

std::vector<Record> mixed_records() {
    const std::string binary("a\0b\xff\x00z", 6);
    return {
        make_record(std::nullopt, "value only", 1000),
        make_record("tombstone", std::nullopt, 999),
        make_record("", "", 1005, {{"h", std::nullopt}, {"", ""}}),
        make_record(binary, binary, 1003, {{binary, binary}, {"k", "v"}}),
        make_record(std::nullopt, std::nullopt, 1001),
    };
}

const Compression kCodecs[] = {Compression::none, Compression::zstd};

TEST_CASE("round trip of mixed records keeps every field, with and without zstd") {
    for (Compression c : kCodecs) {
        CAPTURE(static_cast<int>(c));
        BatchOptions options;
        options.compression = c;
        options.base_offset = Offset(42);
        options.producer_id = 7;
        options.producer_epoch = 3;
        options.base_sequence = 11;
        const auto records = with_offsets(mixed_records(), Offset(42));

        const Bytes batch = encode(records, options);
        CHECK(checksum_matches(batch));
        const DecodedBatch d = decode(batch);
        CHECK(d.records == records);
        CHECK(d.header.base_offset == Offset(42));
        CHECK(d.header.last_offset() == Offset(46));
        CHECK(d.header.last_offset_delta == 4);
        CHECK(d.header.record_count == 5);
        CHECK(d.header.first_timestamp == 1000);
        CHECK(d.header.max_timestamp == 1005);
        CHECK(d.header.magic == fmt_::kCurrentMagic);
        CHECK(d.header.producer_id == 7);
        CHECK(d.header.producer_epoch == 3);
        CHECK(d.header.base_sequence == 11);
        CHECK(d.header.compression() == c);
        CHECK(d.header.timestamp_type() == TimestampType::create_time);
        CHECK(d.header.total_size() == batch.size());
        CHECK((d.header.attributes & fmt_::kCompressionMask) ==
              (c == Compression::zstd ? fmt_::kCodecZstd : fmt_::kCodecNone));
    }
}

TEST_CASE("header fields sit at the documented positions") {
    BatchOptions options;
    options.base_offset = Offset(0x0102030405060708);
    options.timestamp_type = TimestampType::log_append_time;
    const Bytes batch = encode({make_record("k", "v", -5), make_record("k", "v", 9)}, options);
    const std::byte* p = batch.data();
    CHECK(util::load_le<std::int64_t>(p + fmt_::kBaseOffsetPos) == 0x0102030405060708);
    CHECK(util::load_le<std::uint32_t>(p + fmt_::kBatchLengthPos) == batch.size() - 12);
    CHECK(util::load_le<std::uint8_t>(p + fmt_::kMagicPos) == fmt_::kCurrentMagic);
    CHECK(util::load_le<std::uint16_t>(p + fmt_::kAttributesPos) == fmt_::kTimestampTypeBit);
    CHECK(util::load_le<std::uint32_t>(p + fmt_::kLastOffsetDeltaPos) == 1);
    CHECK(util::load_le<std::int64_t>(p + fmt_::kFirstTimestampPos) == -5);
    CHECK(util::load_le<std::int64_t>(p + fmt_::kMaxTimestampPos) == 9);
    CHECK(util::load_le<std::int64_t>(p + fmt_::kProducerIdPos) == -1);
    CHECK(util::load_le<std::int16_t>(p + fmt_::kProducerEpochPos) == -1);
    CHECK(util::load_le<std::int32_t>(p + fmt_::kBaseSequencePos) == -1);
    CHECK(util::load_le<std::uint32_t>(p + fmt_::kRecordCountPos) == 2);
    // First record: length 8, attributes 0, ts delta 0, offset delta 0, key "k", value "v", 0
    // headers.
    const Bytes expected = {std::byte{16}, std::byte{0},   std::byte{0},
                            std::byte{0},  std::byte{2},   std::byte{'k'},
                            std::byte{2},  std::byte{'v'}, std::byte{0}};
    CHECK(std::memcmp(p + fmt_::kRecordsPos, expected.data(), expected.size()) == 0);
}

TEST_CASE("single records and large values round-trip") {
    const std::string large(200 * 1024, 'x');
    std::string random_large(200 * 1024, '\0');
    std::mt19937_64 rng(7);
    for (char& ch : random_large) ch = static_cast<char>(rng());
    for (Compression c : kCodecs) {
        CAPTURE(static_cast<int>(c));
        BatchOptions options;
        options.compression = c;
        const auto single = with_offsets({make_record("k", "v", 5)}, Offset(0));
        CHECK(decode(encode(single, options)).records == single);
        const auto big = with_offsets(
            {make_record("big", large, 1), make_record(random_large, large, 2)}, Offset(0));
        const Bytes batch = encode(big, options);
        if (c == Compression::zstd) CHECK(batch.size() < 2 * large.size());
        CHECK(decode(batch).records == big);
    }
}

TEST_CASE("preserve_offsets keeps gaps and rejects offsets that do not increase") {
    BatchOptions options;
    options.preserve_offsets = true;
    options.base_offset = Offset(100);
    std::vector<Record> records = {make_record("a", "1", 1), make_record("b", "2", 2),
                                   make_record("c", "3", 3)};
    records[0].offset = Offset(103);
    records[1].offset = Offset(110);
    records[2].offset = Offset(111);
    for (Compression c : kCodecs) {
        options.compression = c;
        const DecodedBatch d = decode(encode(records, options));
        CHECK(d.records == records);
        CHECK(d.header.last_offset_delta == 11);
        CHECK(d.header.last_offset() == Offset(111));
    }

    auto repeated = records;
    repeated[2].offset = Offset(110);
    CHECK(encode_batch(repeated, options).code() == Code::invalid_argument);
    auto decreasing = records;
    decreasing[1].offset = Offset(102);
    CHECK(encode_batch(decreasing, options).code() == Code::invalid_argument);
    auto below_base = records;
    below_base[0].offset = Offset(99);
    CHECK(encode_batch(below_base, options).code() == Code::invalid_argument);
    auto too_far = records;
    too_far[2].offset = Offset(100) + std::numeric_limits<std::int32_t>::max() + 1;
    CHECK(encode_batch(too_far, options).code() == Code::invalid_argument);
}

TEST_CASE("empty and oversized inputs are invalid arguments") {
    CHECK(encode_batch({}, BatchOptions{}).code() == Code::invalid_argument);
    BatchOptions negative_base;
    negative_base.base_offset = Offset(-1);
    CHECK(encode_batch(std::vector{make_record("k", "v", 0)}, negative_base).code() ==
          Code::invalid_argument);

    const std::string huge(fmt_::kMaxBatchBytes, 'z');
    const std::vector records = {make_record(std::nullopt, huge, 0)};
    CHECK(encode_batch(records, BatchOptions{}).code() == Code::invalid_argument);
    // Compressed, the same value fits and reads back.
    BatchOptions zstd;
    zstd.compression = Compression::zstd;
    const Bytes batch = encode(records, zstd);
    CHECK(batch.size() < fmt_::kMaxBatchBytes);
    CHECK(decode(batch).records == with_offsets(records, Offset(0)));
}

std::optional<std::string> random_bytes(std::mt19937_64& rng, bool nullable) {
    if (nullable && rng() % 5 == 0) return std::nullopt;
    const std::size_t len = rng() % 4 == 0 ? 0 : rng() % (rng() % 8 == 0 ? 2000 : 40);
    std::string s(len, '\0');
    for (char& ch : s) ch = static_cast<char>(rng());
    return s;
}

TEST_CASE("random batches round-trip") {
    std::mt19937_64 rng(20240601);
    const std::int64_t extremes[] = {std::numeric_limits<std::int64_t>::min(),
                                     std::numeric_limits<std::int64_t>::max(), -1, 0};
    for (int iteration = 0; iteration < 600; ++iteration) {
        CAPTURE(iteration);
        BatchOptions options;
        options.compression = rng() % 2 ? Compression::zstd : Compression::none;
        options.zstd_level = static_cast<int>(rng() % 5) + 1;
        options.base_offset = Offset(static_cast<std::int64_t>(rng() % 1'000'000'000'000));
        options.preserve_offsets = rng() % 3 == 0;
        const std::size_t count = rng() % 8 == 0 ? 1 + rng() % 300 : 1 + rng() % 12;
        const std::int64_t base_ts = static_cast<std::int64_t>(rng() % 2'000'000'000'000);

        std::vector<Record> records(count);
        Offset next = options.base_offset + static_cast<std::int64_t>(rng() % 10);
        for (Record& r : records) {
            r.key = random_bytes(rng, true);
            r.value = random_bytes(rng, true);
            for (std::size_t h = rng() % 4; h > 0; --h) {
                r.headers.push_back(Header{*random_bytes(rng, false), random_bytes(rng, true)});
            }
            r.timestamp = rng() % 50 == 0
                              ? extremes[rng() % 4]
                              : base_ts + static_cast<std::int64_t>(rng() % 20000) - 10000;
            r.offset = next;
            next = next + 1 + static_cast<std::int64_t>(rng() % 3 == 0 ? rng() % 1000 : 0);
        }
        if (!options.preserve_offsets) records = with_offsets(records, options.base_offset);

        const Bytes batch = encode(records, options);
        const DecodedBatch d = decode(batch);
        CHECK(d.records == records);
        CHECK(d.header.record_count == count);
        CHECK(d.header.last_offset() == records.back().offset);
        CHECK(d.header.first_timestamp == records.front().timestamp);
        std::int64_t max_ts = records.front().timestamp;
        for (const Record& r : records) max_ts = std::max(max_ts, r.timestamp);
        CHECK(d.header.max_timestamp == max_ts);
    }
}

TEST_CASE("flipping any checksummed byte is detected as corruption") {
    const std::vector records = {make_record("k1", "v1", 10, {{"h", std::nullopt}}),
                                 make_record(std::nullopt, std::nullopt, 12)};
    for (Compression c : kCodecs) {
        CAPTURE(static_cast<int>(c));
        BatchOptions options;
        options.compression = c;
        const Bytes batch = encode(records, options);
        for (std::size_t pos = fmt_::kAttributesPos; pos < batch.size(); ++pos) {
            for (unsigned mask : {0x01u, 0x80u, 0xffu}) {
                CAPTURE(pos);
                Bytes bad = batch;
                bad[pos] ^= std::byte(mask);
                CHECK(decode_batch(bad).code() == Code::corruption);
                CHECK_FALSE(checksum_matches(bad));
            }
        }
        // The checksum field itself.
        for (std::size_t pos = fmt_::kChecksumPos; pos < fmt_::kAttributesPos; ++pos) {
            Bytes bad = batch;
            bad[pos] ^= std::byte{0x10};
            const auto r = decode_batch(bad);
            CHECK(r.code() == Code::corruption);
            CHECK(r.status().message().find("checksum mismatch") != std::string::npos);
        }
    }
}

TEST_CASE("structural corruption of the header and span") {
    const Bytes batch = encode({make_record("k", "v", 1), make_record("k", "v", 2)});

    Bytes bad_magic = batch;
    bad_magic[fmt_::kMagicPos] = std::byte{9};
    CHECK(decode_batch(bad_magic).code() == Code::corruption);
    CHECK(parse_batch_header(bad_magic).code() == Code::corruption);

    for (std::size_t len :
         {std::size_t{0}, std::size_t{10}, fmt_::kBatchHeaderSize, batch.size() - 1}) {
        CAPTURE(len);
        CHECK(decode_batch(std::span(batch).first(len)).code() == Code::corruption);
    }
    Bytes longer = batch;
    longer.push_back(std::byte{0});
    CHECK(decode_batch(longer).code() == Code::corruption);

    Bytes huge = batch;
    util::store_le<std::uint32_t>(huge.data() + fmt_::kBatchLengthPos, fmt_::kMaxBatchBytes);
    const auto h = parse_batch_header(huge);
    CHECK(h.code() == Code::corruption);
    CHECK(h.status().message().find("length") != std::string::npos);

    Bytes short_length = batch;
    util::store_le<std::uint32_t>(short_length.data() + fmt_::kBatchLengthPos, 48);
    CHECK(parse_batch_header(short_length).code() == Code::corruption);

    const auto patched = [&](std::size_t pos, auto value) {
        Bytes b = batch;
        util::store_le(b.data() + pos, value);
        reseal(b);
        return b;
    };
    CHECK(parse_batch_header(patched(fmt_::kAttributesPos, std::uint16_t{0x40})).code() ==
          Code::corruption);
    CHECK(parse_batch_header(patched(fmt_::kRecordCountPos, std::uint32_t{0})).code() ==
          Code::corruption);
    CHECK(parse_batch_header(patched(fmt_::kRecordCountPos, std::uint32_t{1000})).code() ==
          Code::corruption);
    CHECK(parse_batch_header(patched(fmt_::kLastOffsetDeltaPos, std::uint32_t{0})).code() ==
          Code::corruption);
    CHECK(parse_batch_header(patched(fmt_::kMaxTimestampPos, std::int64_t{0})).code() ==
          Code::corruption);
    CHECK(parse_batch_header(patched(fmt_::kBaseOffsetPos, std::int64_t{-1})).code() ==
          Code::corruption);
    // A consistent header whose records disagree with it.
    CHECK(decode_batch(patched(fmt_::kLastOffsetDeltaPos, std::uint32_t{5})).code() ==
          Code::corruption);
    CHECK(decode_batch(patched(fmt_::kRecordCountPos, std::uint32_t{1})).code() ==
          Code::corruption);
    CHECK(decode_batch(patched(fmt_::kAttributesPos, std::uint16_t{2})).code() ==
          Code::not_supported);
    CHECK(decode_batch(patched(fmt_::kAttributesPos, std::uint16_t{fmt_::kCodecZstd})).code() ==
          Code::corruption);
}

TEST_CASE("records that overrun the batch are corruption even with a valid checksum") {
    // One record: "k" -> "hello", no headers. Its encoding is 12 bytes after the length.
    const Bytes batch = encode({make_record("k", "hello", 1)});
    const Bytes good(batch.begin() + fmt_::kRecordsPos, batch.end());
    REQUIRE(good.size() == 13);
    REQUIRE(good[0] == std::byte{24});
    CHECK(decode_batch(with_records_section(batch, good)).is_ok());

    const auto expect_corrupt = [&](Bytes section, std::string_view what) {
        CAPTURE(what);
        const auto r = decode_batch(with_records_section(batch, section));
        CHECK(r.code() == Code::corruption);
    };
    Bytes b = good;
    b[0] = std::byte{0x7e};  // record length 63
    expect_corrupt(b, "record length overruns");
    b = good;
    b[0] = std::byte{0x01};  // record length -1
    expect_corrupt(b, "negative record length");
    b = good;
    b[6] = std::byte{0x7e};  // value length 63
    expect_corrupt(b, "value length overruns");
    b = good;
    b[6] = std::byte{0x09};  // value length -5
    expect_corrupt(b, "negative value length");
    b = good;
    b[4] = std::byte{0x01};  // key length -1 with the key byte still there
    expect_corrupt(b, "record length leaves bytes unread");
    b = good;
    b[12] = std::byte{0x7e};  // 63 headers
    expect_corrupt(b, "header count overruns");
    b = good;
    b[1] = std::byte{1};  // record attributes
    expect_corrupt(b, "record attributes");
    b = good;
    b[0] = std::byte{0xff};  // unterminated varint
    expect_corrupt(b, "unterminated length varint");
    b = good;
    b[3] = std::byte{0x02};  // offset delta 1, above last_offset_delta 0
    expect_corrupt(b, "offset delta above the header");
    b = good;
    b.push_back(std::byte{0});
    expect_corrupt(b, "trailing bytes");
    b.assign(good.begin(), good.begin() + 7);
    expect_corrupt(b, "truncated record");
}

TEST_CASE("zstd frames are checked before any allocation") {
    const std::vector records = {make_record("k", "v", 1)};
    Bytes plain = encode(records);
    const std::span<const std::byte> section = std::span(plain).subspan(fmt_::kRecordsPos);

    const auto as_zstd_batch = [&](const Bytes& frame) {
        Bytes b = with_records_section(plain, frame);
        util::store_le<std::uint16_t>(b.data() + fmt_::kAttributesPos, fmt_::kCodecZstd);
        reseal(b);
        return b;
    };
    auto frame = zstd_compress(section, 3);
    REQUIRE(frame.is_ok());
    CHECK(decode_batch(as_zstd_batch(*frame)).is_ok());

    // A frame without a content size.
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    Bytes no_size(ZSTD_compressBound(section.size()));
    const std::size_t n =
        ZSTD_compress2(cctx, no_size.data(), no_size.size(), section.data(), section.size());
    ZSTD_freeCCtx(cctx);
    REQUIRE_FALSE(ZSTD_isError(n));
    no_size.resize(n);
    CHECK(decode_batch(as_zstd_batch(no_size)).code() == Code::corruption);

    // Two frames back to back, and garbage.
    Bytes doubled = *frame;
    doubled.insert(doubled.end(), frame->begin(), frame->end());
    CHECK(decode_batch(as_zstd_batch(doubled)).code() == Code::corruption);
    CHECK(decode_batch(as_zstd_batch(Bytes(20, std::byte{0x5a}))).code() == Code::corruption);

    const std::string big(1000, 'a');
    auto big_frame = zstd_compress(std::as_bytes(std::span(big)), 3);
    REQUIRE(big_frame.is_ok());
    CHECK(zstd_decompress(*big_frame, 999).code() == Code::corruption);
    auto round = zstd_decompress(*big_frame, 1000);
    REQUIRE(round.is_ok());
    CHECK(round->size() == 1000);
}

TEST_CASE("set_base_offset and set_log_append_time keep the batch valid") {
    const auto records = mixed_records();
    for (Compression c : kCodecs) {
        BatchOptions options;
        options.compression = c;
        Bytes batch = encode(records, options);

        set_base_offset(batch, Offset(5000));
        CHECK(checksum_matches(batch));
        DecodedBatch d = decode(batch);
        CHECK(d.header.base_offset == Offset(5000));
        CHECK(d.records == with_offsets(records, Offset(5000)));

        set_log_append_time(batch, 777);
        CHECK(checksum_matches(batch));
        d = decode(batch);
        CHECK(d.header.timestamp_type() == TimestampType::log_append_time);
        CHECK(d.header.first_timestamp == 777);
        CHECK(d.header.max_timestamp == 777);
        CHECK(d.header.compression() == c);
        REQUIRE(d.records.size() == records.size());
        for (std::size_t i = 0; i < records.size(); ++i) {
            CHECK(d.records[i].timestamp == 777);
            CHECK(d.records[i].offset == Offset(5000) + std::int64_t(i));
            CHECK(d.records[i].value == records[i].value);
        }
    }
    BatchOptions log_time;
    log_time.timestamp_type = TimestampType::log_append_time;
    const DecodedBatch d =
        decode(encode({make_record("k", "v", 3), make_record("k", "v", 8)}, log_time));
    CHECK(d.records[0].timestamp == 8);
    CHECK(d.records[1].timestamp == 8);
}

TEST_CASE("varints round-trip and reject overruns") {
    const std::int64_t values[] = {0,         -1,        1,         63,        -64,
                                   64,        -65,       8191,      -8192,     1 << 20,
                                   INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, -1234567890123};
    for (std::int64_t v : values) {
        CAPTURE(v);
        Bytes out;
        util::append_varlong(out, v);
        std::size_t pos = 0;
        CHECK(util::read_varlong(out, pos) == v);
        CHECK(pos == out.size());
        CHECK(out.size() <= 10);
        pos = 0;
        CHECK_FALSE(util::read_varlong(std::span(out).first(out.size() - 1), pos));
        CHECK(pos == 0);
        if (v >= INT32_MIN && v <= INT32_MAX) {
            out.clear();
            util::append_varint(out, static_cast<std::int32_t>(v));
            pos = 0;
            CHECK(util::read_varint(out, pos) == v);
            CHECK(out.size() <= 5);
        }
    }
    Bytes zigzag;
    util::append_varint(zigzag, -1);
    CHECK(zigzag == Bytes{std::byte{1}});
    // A varint whose value needs more than 32 bits.
    const Bytes too_wide = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                            std::byte{0x1f}};
    std::size_t pos = 0;
    CHECK_FALSE(util::read_varint(too_wide, pos));
    const Bytes eleven(11, std::byte{0x80});
    CHECK_FALSE(util::read_varlong(eleven, pos));
}

}  // namespace
}  // namespace brook::log
