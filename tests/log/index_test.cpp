// Tests for OffsetIndex and TimeIndex (and the IndexFile machinery under them): lookups against
// brute force, sealing and reopening, capacity, truncation, corruption detection (also across
// the chunks a large file is read in), mapping only at the first lookup, and concurrent readers
// during appends and seals. Every case runs on the POSIX and in-memory file systems.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "log/format.hpp"
#include "log/offset_index.hpp"
#include "log/time_index.hpp"
#include "support/fault_fs.hpp"
#include "support/test_env.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

using brook::Code;
using brook::Offset;
using brook::Status;
using brook::log::OffsetIndex;
using brook::log::TimeIndex;
using brook::testing::FaultFileSystem;
using brook::testing::MemoryEnv;
using brook::testing::PosixEnv;

namespace op = brook::testing::op;

namespace {

constexpr std::size_t kHeader = brook::log::format::kIndexHeaderSize;
constexpr std::size_t kOffsetEntry = brook::log::format::kOffsetIndexEntrySize;
constexpr std::size_t kTimeEntry = brook::log::format::kTimeIndexEntrySize;
constexpr std::size_t kLargeIndex = 1 << 20;
const Offset kBase{1000};

// Strictly increasing entries with random gaps, starting at or just above kBase.
std::vector<OffsetIndex::Entry> random_offset_entries(std::mt19937_64& rng, std::size_t n) {
    std::uniform_int_distribution<std::int64_t> gap(1, 20);
    std::vector<OffsetIndex::Entry> out;
    Offset offset = kBase + (gap(rng) - 1);
    std::uint32_t position = static_cast<std::uint32_t>(gap(rng));
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back({offset, position});
        offset = offset + gap(rng);
        position += static_cast<std::uint32_t>(gap(rng) * 100);
    }
    return out;
}

std::vector<TimeIndex::Entry> random_time_entries(std::mt19937_64& rng, std::size_t n) {
    std::uniform_int_distribution<std::int64_t> gap(1, 20);
    std::vector<TimeIndex::Entry> out;
    std::int64_t timestamp = -50 + gap(rng);
    Offset offset = kBase + (gap(rng) - 1);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back({timestamp, offset});
        timestamp += gap(rng);
        offset = offset + gap(rng);
    }
    return out;
}

OffsetIndex::Entry brute_lookup(const std::vector<OffsetIndex::Entry>& entries, Offset target) {
    OffsetIndex::Entry best{kBase, 0};
    for (const auto& e : entries) {
        if (e.offset <= target) best = e;
    }
    return best;
}

std::optional<TimeIndex::Entry> brute_last_before(const std::vector<TimeIndex::Entry>& entries,
                                                  std::int64_t target) {
    std::optional<TimeIndex::Entry> best;
    for (const auto& e : entries) {
        if (e.timestamp < target) best = e;
    }
    return best;
}

void check_offset_index(const OffsetIndex& index, const std::vector<OffsetIndex::Entry>& entries) {
    REQUIRE(index.entry_count() == entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) REQUIRE(index.entry(i) == entries[i]);
    CHECK(index.last_entry() == (entries.empty() ? std::nullopt : std::optional(entries.back())));
    const Offset last = entries.empty() ? kBase : entries.back().offset;
    for (Offset t = kBase - 5; t <= last + 5; ++t) {
        REQUIRE(index.lookup(t) == brute_lookup(entries, t));
    }
}

void check_time_index(const TimeIndex& index, const std::vector<TimeIndex::Entry>& entries) {
    REQUIRE(index.entry_count() == entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) REQUIRE(index.entry(i) == entries[i]);
    const std::int64_t last = entries.empty() ? 0 : entries.back().timestamp;
    for (std::int64_t t = -60; t <= last + 5; ++t) {
        REQUIRE(index.last_before(t) == brute_last_before(entries, t));
    }
}

std::uint64_t file_size(brook::fs::FileSystem& fs, const std::string& path) {
    auto file = fs.open(path, brook::fs::OpenMode::read_only);
    REQUIRE(file.is_ok());
    auto size = (*file)->size();
    REQUIRE(size.is_ok());
    return *size;
}

std::vector<std::byte> read_file(brook::fs::FileSystem& fs, const std::string& path) {
    auto file = fs.open(path, brook::fs::OpenMode::read_only);
    REQUIRE(file.is_ok());
    std::vector<std::byte> bytes(file_size(fs, path));
    auto n = (*file)->read_at(0, bytes);
    REQUIRE(n.is_ok());
    REQUIRE(*n == bytes.size());
    return bytes;
}

void write_file_at(brook::fs::FileSystem& fs, const std::string& path, std::uint64_t at,
                   std::span<const std::byte> bytes) {
    auto file = fs.open(path, brook::fs::OpenMode::read_write);
    REQUIRE(file.is_ok());
    REQUIRE((*file)->write_at(at, bytes).is_ok());
}

void truncate_file(brook::fs::FileSystem& fs, const std::string& path, std::uint64_t size) {
    auto file = fs.open(path, brook::fs::OpenMode::read_write);
    REQUIRE(file.is_ok());
    REQUIRE((*file)->truncate(size).is_ok());
}

// As check_offset_index and check_time_index, for indexes too large to look up every target:
// every entry, and brute force at `samples` random targets.
void check_large_indexes(const OffsetIndex& oi, const std::vector<OffsetIndex::Entry>& offsets,
                         const TimeIndex& ti, const std::vector<TimeIndex::Entry>& times,
                         std::mt19937_64& rng, int samples) {
    REQUIRE(oi.entry_count() == offsets.size());
    for (std::size_t i = 0; i < offsets.size(); ++i) REQUIRE(oi.entry(i) == offsets[i]);
    REQUIRE(ti.entry_count() == times.size());
    for (std::size_t i = 0; i < times.size(); ++i) REQUIRE(ti.entry(i) == times[i]);
    std::uniform_int_distribution<std::int64_t> offset(kBase.value() - 5,
                                                       offsets.back().offset.value() + 5);
    std::uniform_int_distribution<std::int64_t> timestamp(-60, times.back().timestamp + 5);
    for (int i = 0; i < samples; ++i) {
        const Offset target(offset(rng));
        REQUIRE(oi.lookup(target) == brute_lookup(offsets, target));
        const std::int64_t t = timestamp(rng);
        REQUIRE(ti.last_before(t) == brute_last_before(times, t));
    }
}

}  // namespace

TEST_CASE_TEMPLATE("offset index lookups match brute force, before and after sealing", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    const std::string path = env.root() + "/00000000000000001000.index";
    std::mt19937_64 rng(42);
    for (std::size_t n : {0u, 1u, 2u, 7u, 300u}) {
        CAPTURE(n);
        const auto entries = random_offset_entries(rng, n);
        auto created = OffsetIndex::create(env.fs(), path, kBase, kLargeIndex);
        REQUIRE(created.is_ok());
        auto& index = **created;
        CHECK(index.base_offset() == kBase);
        for (const auto& e : entries) index.append(e.offset, e.position);
        check_offset_index(index, entries);

        REQUIRE(index.seal().is_ok());
        CHECK(index.sealed());
        CHECK(index.full());
        CHECK(file_size(env.fs(), path) == kHeader + n * kOffsetEntry);
        check_offset_index(index, entries);

        auto reopened = OffsetIndex::open_sealed(env.fs(), path, kBase);
        REQUIRE(reopened.is_ok());
        CHECK((*reopened)->sealed());
        check_offset_index(**reopened, entries);
    }
}

TEST_CASE_TEMPLATE("time index last_before matches brute force, before and after sealing", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    const std::string path = env.root() + "/00000000000000001000.timeindex";
    std::mt19937_64 rng(7);
    for (std::size_t n : {0u, 1u, 2u, 7u, 300u}) {
        CAPTURE(n);
        const auto entries = random_time_entries(rng, n);
        auto created = TimeIndex::create(env.fs(), path, kBase, kLargeIndex);
        REQUIRE(created.is_ok());
        for (const auto& e : entries) (*created)->append(e.timestamp, e.offset);
        check_time_index(**created, entries);

        REQUIRE((*created)->seal().is_ok());
        CHECK(file_size(env.fs(), path) == kHeader + n * kTimeEntry);
        check_time_index(**created, entries);

        auto reopened = TimeIndex::open_sealed(env.fs(), path, kBase);
        REQUIRE(reopened.is_ok());
        check_time_index(**reopened, entries);
    }
}

TEST_CASE_TEMPLATE("unsealing, appending more and sealing again keeps every entry", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    const std::string offset_path = env.root() + "/a.index";
    const std::string time_path = env.root() + "/a.timeindex";
    std::mt19937_64 rng(3);
    const auto offsets = random_offset_entries(rng, 60);
    const auto times = random_time_entries(rng, 60);
    {
        auto oi = OffsetIndex::create(env.fs(), offset_path, kBase, kLargeIndex);
        auto ti = TimeIndex::create(env.fs(), time_path, kBase, kLargeIndex);
        REQUIRE(oi.is_ok());
        REQUIRE(ti.is_ok());
        for (std::size_t i = 0; i < 20; ++i) (*oi)->append(offsets[i].offset, offsets[i].position);
        for (std::size_t i = 0; i < 20; ++i) (*ti)->append(times[i].timestamp, times[i].offset);
        REQUIRE((*oi)->seal().is_ok());
        REQUIRE((*ti)->seal().is_ok());
    }
    auto oi = OffsetIndex::open_sealed(env.fs(), offset_path, kBase);
    auto ti = TimeIndex::open_sealed(env.fs(), time_path, kBase);
    REQUIRE(oi.is_ok());
    REQUIRE(ti.is_ok());
    CHECK((*oi)->unseal(kHeader + 19 * kOffsetEntry) == Code::invalid_argument);
    REQUIRE((*oi)->unseal(kHeader + 45 * kOffsetEntry + 3).is_ok());
    REQUIRE((*ti)->unseal(kLargeIndex).is_ok());
    CHECK(!(*oi)->sealed());
    CHECK(file_size(env.fs(), offset_path) == kHeader + 45 * kOffsetEntry);
    CHECK(OffsetIndex::open_sealed(env.fs(), offset_path, kBase).code() == Code::corruption);

    for (std::size_t i = 20; i < 45; ++i) {
        CHECK(!(*oi)->full());
        (*oi)->append(offsets[i].offset, offsets[i].position);
    }
    CHECK((*oi)->full());
    for (std::size_t i = 20; i < 60; ++i) (*ti)->append(times[i].timestamp, times[i].offset);
    const std::vector<OffsetIndex::Entry> kept_offsets(offsets.begin(), offsets.begin() + 45);
    check_offset_index(**oi, kept_offsets);
    check_time_index(**ti, times);

    REQUIRE((*oi)->seal().is_ok());
    REQUIRE((*ti)->seal().is_ok());
    CHECK(file_size(env.fs(), offset_path) == kHeader + 45 * kOffsetEntry);
    CHECK(file_size(env.fs(), time_path) == kHeader + 60 * kTimeEntry);
    auto oi2 = OffsetIndex::open_sealed(env.fs(), offset_path, kBase);
    auto ti2 = TimeIndex::open_sealed(env.fs(), time_path, kBase);
    REQUIRE(oi2.is_ok());
    REQUIRE(ti2.is_ok());
    check_offset_index(**oi2, kept_offsets);
    check_time_index(**ti2, times);
}

TEST_CASE_TEMPLATE("an index holds exactly the entries its max_bytes allows", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    const std::string path = env.root() + "/a.index";
    for (std::size_t slack : {0u, 7u}) {
        auto index = OffsetIndex::create(env.fs(), path, kBase, kHeader + 5 * kOffsetEntry + slack);
        REQUIRE(index.is_ok());
        CHECK(file_size(env.fs(), path) == kHeader + 5 * kOffsetEntry);
        for (std::uint32_t i = 0; i < 5; ++i) {
            CHECK(!(*index)->full());
            (*index)->append(kBase + i, 10 * i + 1);
        }
        CHECK((*index)->full());
        CHECK((*index)->entry_count() == 5);
    }
    CHECK(OffsetIndex::create(env.fs(), path, kBase, kHeader + kOffsetEntry - 1).code() ==
          Code::invalid_argument);
    CHECK(TimeIndex::create(env.fs(), path, kBase, kHeader + kTimeEntry - 1).code() ==
          Code::invalid_argument);
    auto time = TimeIndex::create(env.fs(), path, kBase, kHeader + 2 * kTimeEntry + 11);
    REQUIRE(time.is_ok());
    (*time)->append(5, kBase);
    (*time)->append(6, kBase + 1);
    CHECK((*time)->full());
}

TEST_CASE_TEMPLATE("truncate_from drops the entries at and above an offset", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    std::mt19937_64 rng(11);
    const auto offsets = random_offset_entries(rng, 40);
    const auto times = random_time_entries(rng, 40);
    for (Offset cut : {kBase - 1, kBase, offsets[0].offset, offsets[0].offset + 1,
                       offsets[17].offset, offsets[17].offset + 1, offsets.back().offset,
                       offsets.back().offset + 1, kBase + (std::int64_t{1} << 33)}) {
        CAPTURE(cut.value());
        auto oi = OffsetIndex::create(env.fs(), env.root() + "/a.index", kBase, kLargeIndex);
        auto ti = TimeIndex::create(env.fs(), env.root() + "/a.timeindex", kBase, kLargeIndex);
        REQUIRE(oi.is_ok());
        REQUIRE(ti.is_ok());
        for (const auto& e : offsets) (*oi)->append(e.offset, e.position);
        for (const auto& e : times) (*ti)->append(e.timestamp, e.offset);
        (*oi)->truncate_from(cut);
        (*ti)->truncate_from(cut);

        std::vector<OffsetIndex::Entry> kept_offsets;
        for (const auto& e : offsets) {
            if (e.offset < cut) kept_offsets.push_back(e);
        }
        std::vector<TimeIndex::Entry> kept_times;
        for (const auto& e : times) {
            if (e.offset < cut) kept_times.push_back(e);
        }
        check_offset_index(**oi, kept_offsets);
        check_time_index(**ti, kept_times);

        // Appending after a truncation overwrites the dropped entries.
        const Offset next = kept_offsets.empty() ? kBase : kept_offsets.back().offset + 1;
        const std::uint32_t pos = kept_offsets.empty() ? 1 : kept_offsets.back().position + 1;
        (*oi)->append(next, pos);
        kept_offsets.push_back({next, pos});
        REQUIRE((*oi)->seal().is_ok());
        auto reopened = OffsetIndex::open_sealed(env.fs(), env.root() + "/a.index", kBase);
        REQUIRE(reopened.is_ok());
        check_offset_index(**reopened, kept_offsets);
    }
}

TEST_CASE_TEMPLATE("open_sealed reports corruption for anything but an intact sealed index", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    const std::string path = env.root() + "/a.index";
    const std::string time_path = env.root() + "/a.timeindex";
    CHECK(OffsetIndex::open_sealed(env.fs(), path, kBase).code() == Code::not_found);
    {
        auto oi = OffsetIndex::create(env.fs(), path, kBase, kLargeIndex);
        auto ti = TimeIndex::create(env.fs(), time_path, kBase, kLargeIndex);
        REQUIRE(oi.is_ok());
        REQUIRE(ti.is_ok());
        (*oi)->append(kBase + 3, 100);
        (*ti)->append(77, kBase + 3);
    }
    CHECK(OffsetIndex::open_sealed(env.fs(), path, kBase).code() == Code::corruption);
    CHECK(TimeIndex::open_sealed(env.fs(), time_path, kBase).code() == Code::corruption);

    const std::vector<OffsetIndex::Entry> entries{{kBase, 0}, {kBase + 3, 100}, {kBase + 9, 250}};
    {
        auto oi = OffsetIndex::create(env.fs(), path, kBase, kLargeIndex);
        auto ti = TimeIndex::create(env.fs(), time_path, kBase, kLargeIndex);
        REQUIRE(oi.is_ok());
        REQUIRE(ti.is_ok());
        for (const auto& e : entries) (*oi)->append(e.offset, e.position);
        (*ti)->append(77, kBase + 3);
        (*ti)->append(78, kBase + 9);
        REQUIRE((*oi)->seal().is_ok());
        REQUIRE((*ti)->seal().is_ok());
    }
    REQUIRE(OffsetIndex::open_sealed(env.fs(), path, kBase).is_ok());
    CHECK(OffsetIndex::open_sealed(env.fs(), path, kBase + 1).code() == Code::corruption);
    CHECK(OffsetIndex::open_sealed(env.fs(), time_path, kBase).code() == Code::corruption);
    CHECK(TimeIndex::open_sealed(env.fs(), path, kBase).code() == Code::corruption);

    const std::vector<std::byte> original = read_file(env.fs(), path);
    REQUIRE(original.size() == kHeader + 3 * kOffsetEntry);
    for (std::size_t pos = 0; pos < original.size(); ++pos) {
        for (std::byte mask : {std::byte{0x01}, std::byte{0x80}, std::byte{0xff}}) {
            CAPTURE(pos);
            const std::byte flipped[1] = {original[pos] ^ mask};
            write_file_at(env.fs(), path, pos, flipped);
            CHECK(OffsetIndex::open_sealed(env.fs(), path, kBase).code() == Code::corruption);
            write_file_at(env.fs(), path, pos, std::span(original).subspan(pos, 1));
        }
    }
    for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{kHeader - 1}, std::uint64_t{kHeader},
                               std::uint64_t{original.size() - 1}}) {
        CAPTURE(size);
        truncate_file(env.fs(), path, size);
        CHECK(OffsetIndex::open_sealed(env.fs(), path, kBase).code() == Code::corruption);
        write_file_at(env.fs(), path, 0, original);
    }
    write_file_at(env.fs(), path, original.size(), std::vector<std::byte>(kOffsetEntry));
    CHECK(OffsetIndex::open_sealed(env.fs(), path, kBase).code() == Code::corruption);
    truncate_file(env.fs(), path, original.size());
    auto intact = OffsetIndex::open_sealed(env.fs(), path, kBase);
    REQUIRE(intact.is_ok());
    check_offset_index(**intact, entries);

    // Entries out of order under a matching checksum are still rejected.
    std::vector<std::byte> swapped = original;
    std::swap_ranges(swapped.begin() + kHeader, swapped.begin() + kHeader + kOffsetEntry,
                     swapped.begin() + kHeader + kOffsetEntry);
    brook::util::store_le<std::uint64_t>(swapped.data() + 24,
                                         brook::util::xxh3_64(std::span(swapped).subspan(kHeader)));
    write_file_at(env.fs(), path, 0, swapped);
    CHECK(OffsetIndex::open_sealed(env.fs(), path, kBase).code() == Code::corruption);
}

// open_sealed reads a file in chunks of 64 KiB: these indexes span several, so the checksum and
// the order check carry across chunk boundaries.
TEST_CASE_TEMPLATE(
    "a sealed index of several read chunks is checked whole and mapped at its first "
    "lookup",
    Env, PosixEnv, MemoryEnv) {
    Env env;
    FaultFileSystem faulty(env.fs());
    const std::string path = env.root() + "/00000000000000001000.index";
    const std::string time_path = env.root() + "/00000000000000001000.timeindex";
    std::mt19937_64 rng(11);
    constexpr std::size_t kEntries = 20'000;  // 160 KB of offset entries, 240 KB of time entries
    const auto entries = random_offset_entries(rng, kEntries);
    const auto times = random_time_entries(rng, kEntries);
    {
        auto oi = OffsetIndex::create(env.fs(), path, kBase, kHeader + kEntries * kOffsetEntry);
        auto ti = TimeIndex::create(env.fs(), time_path, kBase, kHeader + kEntries * kTimeEntry);
        REQUIRE(oi.is_ok());
        REQUIRE(ti.is_ok());
        for (const auto& e : entries) (*oi)->append(e.offset, e.position);
        for (const auto& e : times) (*ti)->append(e.timestamp, e.offset);
        REQUIRE((*oi)->seal(12345).is_ok());
        REQUIRE((*ti)->seal().is_ok());
    }

    faulty.reset_counts();
    auto oi = OffsetIndex::open_sealed(faulty, path, kBase);
    auto ti = TimeIndex::open_sealed(faulty, time_path, kBase);
    REQUIRE(oi.is_ok());
    REQUIRE(ti.is_ok());
    CHECK((*oi)->sealed_log_bytes() == 12345);
    CHECK((*oi)->last_entry() == entries.back());
    CHECK((*ti)->last_entry() == times.back());
    CHECK((*oi)->sync().is_ok());
    CHECK(faulty.operations(op::mmap) == 0);

    // The first lookup maps the file; a failed mapping reads as an empty index until a later
    // lookup maps it.
    faulty.inject({.kinds = op::mmap, .nth = 1});
    CHECK((*oi)->lookup(entries[500].offset) == OffsetIndex::Entry{kBase, 0});
    CHECK((*oi)->entry_count() == kEntries);
    CHECK((*oi)->last_entry() == entries.back());
    faulty.clear_faults();
    check_large_indexes(**oi, entries, **ti, times, rng, 500);
    CHECK(faulty.operations(op::mmap) == 1 + 2);  // the failed one, then one per index

    // unseal() needs the mapping and reports when it cannot have it.
    auto again = TimeIndex::open_sealed(faulty, time_path, kBase);
    REQUIRE(again.is_ok());
    faulty.inject({.kinds = op::mmap, .nth = 1, .persistent = true});
    CHECK((*again)->unseal(kLargeIndex) == Code::io_error);
    CHECK((*again)->sealed());
    faulty.clear_faults();

    // A flipped byte or two swapped entries in the last chunk, under a matching checksum for
    // the swap, are found.
    const std::vector<std::byte> original = read_file(env.fs(), path);
    std::vector<std::byte> damaged = original;
    damaged[damaged.size() - 3] ^= std::byte{0x10};
    write_file_at(env.fs(), path, 0, damaged);
    auto flipped = OffsetIndex::open_sealed(env.fs(), path, kBase);
    CHECK(flipped.code() == Code::corruption);
    CHECK(flipped.status().message().find("checksum") != std::string::npos);

    constexpr std::size_t kSwapped = kEntries - 10;
    std::vector<std::byte> swapped = original;
    std::swap_ranges(swapped.begin() + kHeader + (kSwapped - 1) * kOffsetEntry,
                     swapped.begin() + kHeader + kSwapped * kOffsetEntry,
                     swapped.begin() + kHeader + kSwapped * kOffsetEntry);
    const std::uint64_t checksum =
        brook::util::xxh3_64(std::span(swapped).subspan(kHeader)) ^
        brook::util::xxh3_64(std::span(swapped).subspan(16, 8));  // seal recorded the log size
    brook::util::store_le<std::uint64_t>(swapped.data() + 24, checksum);
    write_file_at(env.fs(), path, 0, swapped);
    auto unordered = OffsetIndex::open_sealed(env.fs(), path, kBase);
    CHECK(unordered.code() == Code::corruption);
    CHECK(unordered.status().message().find(
              fmt::format("entry {} does not increase on entry {}", kSwapped, kSwapped - 1)) !=
          std::string::npos);

    write_file_at(env.fs(), path, 0, original);
    auto intact = OffsetIndex::open_sealed(env.fs(), path, kBase);
    REQUIRE(intact.is_ok());
    check_large_indexes(**intact, entries, **ti, times, rng, 100);
}

// One thread appends to both indexes, sealing and unsealing halfway and sealing at the end,
// while readers check that every answer is a whole appended entry consistent with the counts
// published before and after the lookup.
TEST_CASE_TEMPLATE("readers see only whole published entries while the appender runs", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    constexpr std::size_t kEntries = 100'000;
    auto oi = OffsetIndex::create(env.fs(), env.root() + "/a.index", kBase,
                                  kHeader + kEntries * kOffsetEntry);
    auto ti = TimeIndex::create(env.fs(), env.root() + "/a.timeindex", kBase,
                                kHeader + kEntries * kTimeEntry);
    REQUIRE(oi.is_ok());
    REQUIRE(ti.is_ok());
    OffsetIndex& offsets = **oi;
    TimeIndex& times = **ti;
    auto offset_of = [](std::int64_t i) { return kBase + 3 * i; };
    auto position_of = [](std::int64_t i) { return static_cast<std::uint32_t>(7 * i + 1); };
    auto timestamp_of = [](std::int64_t i) { return 5 * i + 2; };

    std::atomic<bool> done{false};
    std::atomic<std::size_t> failures{0};
    std::atomic<std::size_t> lookups_after_seal{0};
    auto reader = [&](std::uint64_t seed) {
        std::mt19937_64 rng(seed);
        std::size_t after_done = 0;
        while (after_done < 2000) {
            if (done.load()) ++after_done;
            const auto before = static_cast<std::int64_t>(offsets.entry_count());
            const std::int64_t t =
                std::uniform_int_distribution<std::int64_t>(-2, 3 * before + 10)(rng);
            const OffsetIndex::Entry e = offsets.lookup(kBase + t);
            const auto after = static_cast<std::int64_t>(offsets.entry_count());
            const std::int64_t ideal = t < 0 ? -1 : t / 3;
            bool ok;
            if (e == OffsetIndex::Entry{kBase, 0}) {
                ok = ideal < 0 || before == 0;
            } else {
                const std::int64_t i = (e.offset - kBase) / 3;
                ok = (e.offset - kBase) % 3 == 0 && e.position == position_of(i) && i <= ideal &&
                     i >= std::min(before - 1, ideal) && i < after;
            }

            const auto tbefore = static_cast<std::int64_t>(times.entry_count());
            const std::int64_t ts =
                std::uniform_int_distribution<std::int64_t>(0, 5 * tbefore + 10)(rng);
            const auto te = times.last_before(ts);
            const auto tafter = static_cast<std::int64_t>(times.entry_count());
            const std::int64_t tideal = ts <= 2 ? -1 : (ts - 3) / 5;
            if (!te) {
                ok = ok && (tideal < 0 || tbefore == 0);
            } else {
                const std::int64_t i = (te->offset - kBase) / 3;
                ok = ok && te->offset == offset_of(i) && te->timestamp == timestamp_of(i) &&
                     i <= tideal && i >= std::min(tbefore - 1, tideal) && i < tafter;
            }
            if (before > 0) {
                const auto i =
                    static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(before));
                ok = ok && offsets.entry(i) == OffsetIndex::Entry{offset_of(i), position_of(i)};
            }
            if (!ok) failures.fetch_add(1);
        }
        lookups_after_seal.fetch_add(after_done);
    };
    std::vector<std::thread> readers;
    for (std::uint64_t seed = 1; seed <= 3; ++seed) readers.emplace_back(reader, seed);

    Status status;
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(kEntries); ++i) {
        offsets.append(offset_of(i), position_of(i));
        times.append(timestamp_of(i), offset_of(i));
        if (i == static_cast<std::int64_t>(kEntries) / 2) {
            status = offsets.seal();
            if (status) status = times.seal();
            if (status) status = offsets.unseal(kHeader + kEntries * kOffsetEntry);
            if (status) status = times.unseal(kHeader + kEntries * kTimeEntry);
            if (!status) break;
        }
    }
    if (status) status = offsets.seal();
    if (status) status = times.seal();
    done.store(true);
    for (auto& r : readers) r.join();

    CHECK_MESSAGE(status.is_ok(), status.to_string());
    CHECK(failures.load() == 0);
    CHECK(lookups_after_seal.load() == 3 * 2000);
    CHECK(offsets.full());
    REQUIRE(offsets.entry_count() == kEntries);
    REQUIRE(times.entry_count() == kEntries);
    CHECK(offsets.last_entry() ==
          OffsetIndex::Entry{offset_of(kEntries - 1), position_of(kEntries - 1)});
    auto reopened = OffsetIndex::open_sealed(env.fs(), env.root() + "/a.index", kBase);
    REQUIRE(reopened.is_ok());
    CHECK((*reopened)->entry_count() == kEntries);
}

// Readers of a freshly opened sealed index race to make its mapping: one of them maps it, and
// every reader, including those that waited for it, sees every entry.
TEST_CASE_TEMPLATE("readers racing to the first mapping of a sealed index all see every entry", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    const std::string path = env.root() + "/00000000000000001000.index";
    std::mt19937_64 rng(5);
    const auto entries = random_offset_entries(rng, 5000);
    {
        auto created = OffsetIndex::create(env.fs(), path, kBase, kLargeIndex);
        REQUIRE(created.is_ok());
        for (const auto& e : entries) (*created)->append(e.offset, e.position);
        REQUIRE((*created)->seal().is_ok());
    }
    for (int round = 0; round < 20; ++round) {
        FaultFileSystem faulty(env.fs());
        auto opened = OffsetIndex::open_sealed(faulty, path, kBase);
        REQUIRE(opened.is_ok());
        const OffsetIndex& index = **opened;
        std::atomic<int> ready{0};
        std::atomic<std::size_t> wrong{0};
        std::vector<std::thread> readers;
        for (int r = 0; r < 4; ++r) {
            readers.emplace_back([&, r] {
                ready.fetch_add(1);
                while (ready.load() < 4) std::this_thread::yield();
                for (std::size_t i = static_cast<std::size_t>(r); i < entries.size(); i += 97) {
                    if (index.lookup(entries[i].offset) != entries[i]) wrong.fetch_add(1);
                }
            });
        }
        for (auto& t : readers) t.join();
        CHECK(wrong.load() == 0);
        CHECK(faulty.operations(op::mmap) == 1);
    }
}
