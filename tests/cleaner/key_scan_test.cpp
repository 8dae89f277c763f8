// scan_keys, the key map's reader of offsets and keys, against the full decoder: the same
// offsets and keys for random batches (keyless records, headers, long keys and values, zstd),
// and for every damaged byte behind a valid checksum either the same answer as the decoder or
// corruption, never a crash or a read past the batch.
#include "cleaner/key_scan.hpp"

#include <random>

#include "log/format.hpp"
#include "support/log_util.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

std::vector<log::Record> random_records(std::mt19937_64& rng) {
    std::vector<log::Record> records(1 + rng() % 40);
    for (auto& r : records) {
        if (rng() % 6 != 0)
            r.key = std::string(rng() % 3 == 0 ? 200 + rng() % 300 : rng() % 20, 'k');
        if (rng() % 5 != 0)
            r.value = std::string(rng() % 2 == 0 ? 100 + rng() % 20'000 : rng() % 10, 'v');
        if (rng() % 4 == 0) r.headers.push_back({"h", std::string(rng() % 200, 'x')});
        r.timestamp = static_cast<std::int64_t>(rng() % 1'000'000);
    }
    return records;
}

struct Scanned {
    Status status;
    std::vector<std::pair<std::int64_t, std::optional<std::string>>> keys;
};

Scanned scan(std::span<const std::byte> batch) {
    Scanned out;
    auto header = log::parse_batch_header(batch);
    if (!header.is_ok()) {
        out.status = header.status();
        return out;
    }
    std::vector<log::RecordView> scratch;
    std::vector<std::byte> decompressed;
    std::vector<cleaner::KeyedOffset> keys;
    out.status = cleaner::scan_keys(batch, *header, scratch, decompressed, keys);
    for (const auto& k : keys) {
        out.keys.emplace_back(k.offset.value(),
                              k.key ? std::optional<std::string>(*k.key) : std::nullopt);
    }
    return out;
}

Scanned decode(std::span<const std::byte> batch) {
    Scanned out;
    auto decoded = log::decode_batch(batch);
    out.status = decoded.status();
    if (decoded.is_ok()) {
        for (const auto& r : decoded->records) out.keys.emplace_back(r.offset.value(), r.key);
    }
    return out;
}

}  // namespace

TEST_CASE("scan_keys reads the offsets and keys the decoder reads") {
    std::mt19937_64 rng(21);
    for (int round = 0; round < 300; ++round) {
        CAPTURE(round);
        const auto records = random_records(rng);
        log::BatchOptions options;
        options.compression = round % 4 == 0 ? log::Compression::zstd : log::Compression::none;
        options.base_offset = Offset(static_cast<std::int64_t>(rng() % 100'000));
        auto bytes = log::encode_batch(records, options);
        REQUIRE(bytes.is_ok());
        const Scanned scanned = scan(*bytes);
        const Scanned decoded = decode(*bytes);
        REQUIRE(decoded.status.is_ok());
        REQUIRE_MESSAGE(scanned.status.is_ok(), scanned.status.to_string());
        CHECK(scanned.keys == decoded.keys);
    }
}

TEST_CASE(
    "a damaged record behind a valid checksum is corruption or read as the decoder reads it") {
    std::mt19937_64 rng(8);
    for (int round = 0; round < 6; ++round) {
        std::vector<log::Record> records(1 + rng() % 4);
        for (auto& r : records) {
            if (rng() % 3 != 0) r.key = std::string(rng() % 140, 'k');
            if (rng() % 3 != 0) r.value = std::string(rng() % 140, 'v');
        }
        auto bytes = log::encode_batch(records, {});
        REQUIRE(bytes.is_ok());
        const std::vector<std::byte> good = *bytes;
        for (std::size_t pos = log::format::kRecordsPos; pos < good.size(); ++pos) {
            for (const std::uint8_t value : {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe}) {
                std::vector<std::byte> bad = good;
                bad[pos] = static_cast<std::byte>(value);
                util::store_le<std::uint64_t>(bad.data() + log::format::kChecksumPos,
                                              util::xxh3_64(std::span<const std::byte>(bad).subspan(
                                                  log::format::kAttributesPos)));
                const Scanned scanned = scan(bad);
                const Scanned decoded = decode(bad);
                if (decoded.status.is_ok()) {
                    REQUIRE_MESSAGE(scanned.status.is_ok(), scanned.status.to_string());
                    CHECK(scanned.keys == decoded.keys);
                } else if (!scanned.status.is_ok()) {
                    CHECK(scanned.status.code() == Code::corruption);
                }
            }
        }
        // A flipped byte without a fresh checksum is always caught.
        std::vector<std::byte> flipped = good;
        flipped.back() ^= std::byte{1};
        CHECK(scan(flipped).status.code() == Code::corruption);
    }
}
