// Tests for util::xxh3_64, the checksum of every on-disk format, against libxxhash: every
// variant this CPU can run (SSE2, AVX2, AVX-512 loops) must give XXH3_64bits's value for every
// length up to 4 KiB and for random lengths and alignments up to 1 MiB; fixed inputs must keep
// the values libxxhash 0.8.1 gave when the formats were written; Xxh3Stream, fed any split of
// an input, must give the whole input's value; and a batch encoded from fixed
// records must carry the same checksum as before and still decode.
#include "util/checksum.hpp"

#include <doctest/doctest.h>
#include <xxhash.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "log/format.hpp"
#include "log/record_batch.hpp"
#include "util/endian.hpp"

namespace brook::util {
namespace {

using Bytes = std::vector<std::byte>;

Bytes random_bytes(std::size_t n, std::mt19937_64& rng) {
    Bytes b(n);
    for (std::byte& c : b) c = static_cast<std::byte>(rng());
    return b;
}

std::uint64_t reference(std::span<const std::byte> bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
}

TEST_CASE("every XXH3 variant gives libxxhash's value for every length and alignment") {
    std::mt19937_64 rng(20261126);
    const Bytes data = random_bytes((std::size_t{1} << 20) + 64, rng);
    const auto& variants = xxh3_64_variants();
    REQUIRE(!variants.empty());
    MESSAGE("variants on this CPU: " << variants.size() << ", xxh3_64 uses "
                                     << std::string(variants.back().name));
    for (const Xxh3Variant& v : variants) {
        const std::string name = v.name;
        CAPTURE(name);
        for (std::size_t n = 0; n <= 4096; ++n) {
            const auto bytes = std::span(data).subspan(n % 61, n);
            REQUIRE(v.hash(bytes) == reference(bytes));
        }
        for (int i = 0; i < 300; ++i) {
            const std::size_t n = rng() % (std::size_t{1} << 20);
            const auto bytes = std::span(data).subspan(rng() % 64, n);
            REQUIRE(v.hash(bytes) == reference(bytes));
        }
    }
    for (int i = 0; i < 300; ++i) {
        const std::size_t n = rng() % 300'000;
        const auto bytes = std::span(data).subspan(rng() % 64, n);
        REQUIRE(xxh3_64(bytes) == reference(bytes));
    }
}

TEST_CASE("a streamed hash fed in random pieces equals the hash of the whole input") {
    std::mt19937_64 rng(20261127);
    const Bytes data = random_bytes(std::size_t{1} << 20, rng);
    for (int i = 0; i < 200; ++i) {
        // Short inputs often, then lengths up to the whole buffer.
        const std::size_t n = i < 100 ? rng() % 2048 : rng() % data.size();
        const auto whole = std::span(data).first(n);
        Xxh3Stream stream;
        std::size_t at = 0;
        while (at < n) {
            const std::size_t piece = std::min<std::size_t>(n - at, rng() % (i % 2 ? 100 : 70'000));
            stream.update(whole.subspan(at, piece));
            at += piece;
        }
        CAPTURE(n);
        REQUIRE(stream.digest() == xxh3_64(whole));
    }
    Xxh3Stream empty;
    CHECK(empty.digest() == reference({}));
}

TEST_CASE("fixed inputs keep the checksums the on-disk formats were written with") {
    // XXH3_64bits (seed 0) of a fixed pattern, from libxxhash 0.8.1 when the formats were set.
    struct Golden {
        std::size_t length;
        std::uint64_t hash;
    };
    static constexpr Golden kGolden[] = {
        {0, 0x2d06800538d394c2ULL},    {1, 0x4c5cca45d0f4811fULL},
        {3, 0x6e3e2670e61106acULL},    {4, 0x5c4c63133443d03fULL},
        {8, 0xf9fd4dd0b04d78f5ULL},    {9, 0x7c20df9712c26edfULL},
        {16, 0x86abf6baccea0858ULL},   {17, 0xb58bf5dc5022d071ULL},
        {128, 0x10d17f72c0ccba41ULL},  {129, 0x1648bdc3db49d1a2ULL},
        {240, 0xb6cfaf343fab81e6ULL},  {241, 0x956cae592c67279eULL},
        {1024, 0x9fb9947417c15b80ULL}, {1025, 0xfe1b47100b1d79d8ULL},
        {4096, 0x0daed5401db51994ULL}, {100000, 0xb138620783cec1e7ULL},
    };
    Bytes pattern(100000);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        pattern[i] = static_cast<std::byte>((i * 131 + 7) ^ (i >> 8));
    }
    for (const Golden& g : kGolden) {
        CAPTURE(g.length);
        const auto bytes = std::span<const std::byte>(pattern).first(g.length);
        CHECK(xxh3_64(bytes) == g.hash);
        for (const Xxh3Variant& v : xxh3_64_variants()) {
            const std::string name = v.name;
            CAPTURE(name);
            CHECK(v.hash(bytes) == g.hash);
        }
    }
}

TEST_CASE("a batch of fixed records has the checksum it always had and still decodes") {
    std::vector<log::Record> records;
    for (int i = 0; i < 8; ++i) {
        log::Record r;
        r.key = "key-" + std::to_string(i);
        r.value = std::string(100, static_cast<char>('a' + i));
        if (i % 3 == 0) r.headers.push_back(log::Header{"h", "v" + std::to_string(i)});
        r.timestamp = 1'700'000'000'000 + i;
        records.push_back(std::move(r));
    }
    log::BatchOptions options;
    options.base_offset = Offset(42);
    auto encoded = log::encode_batch(records, options);
    REQUIRE(encoded.is_ok());
    const Bytes& batch = *encoded;
    REQUIRE(batch.size() > 240);  // the long-input loop hashes it
    // Written by the encoder before the SIMD variants existed.
    constexpr std::uint64_t kStoredChecksum = 0x377c7cf1a77050bcULL;
    const auto stored = load_le<std::uint64_t>(batch.data() + log::format::kChecksumPos);
    CHECK(stored == kStoredChecksum);
    CHECK(stored == reference(std::span(batch).subspan(log::format::kAttributesPos)));
    CHECK(log::checksum_matches(batch));
    auto decoded = log::decode_batch(batch);
    REQUIRE(decoded.is_ok());
    REQUIRE(decoded->records.size() == records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        records[i].offset = Offset(42 + static_cast<std::int64_t>(i));
        CHECK(decoded->records[i] == records[i]);
    }
}

}  // namespace
}  // namespace brook::util
