// Reads in place (Segment::ReadMode): PartitionLog::read_raw_into views the batches of a
// segment that takes no more appends, and of the active segment on a file system that can map
// a growing file (POSIX, mapped ahead of its end for the appends to come), in a read-only
// mapping instead of copying them. These tests compare every record read that way, decoded as the
// Consumer decodes it, with a model of what was appended: across segment rolls, from every start
// offset, with reads of every size, while appends go on, and after retention and compaction removed
// or replaced the segment a held read views. A damaged batch under a mapping must still fail its
// checksum.
#include <algorithm>
#include <brook/clock.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cleaner/compactor.hpp"
#include "log/raw_batches.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// Small segments and indexes: many rolls, and the in-memory file system allocates every
// preallocated index in full.
log::LogConfig small_segments() {
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    config.index_interval_bytes = 256;
    config.segment_bytes = 4096;
    return config;
}

// The default segment size, so that everything stays in the active segment, with a small
// preallocated index.
log::LogConfig one_segment() {
    log::LogConfig config;
    config.segment_index_bytes = 4096;
    return config;
}

// What a decoded record view says, owned, to compare with the model.
struct Seen {
    std::int64_t offset;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::int64_t timestamp;
    std::vector<log::Header> headers;

    friend bool operator==(const Seen&, const Seen&) = default;
};

Seen seen_of(const log::Record& r) {
    return {r.offset.value(), r.key, r.value, r.timestamp, r.headers};
}

// Records `raw` holds from `from` on, decoded as views (checksums verified), as the Consumer
// decodes a read.
std::vector<Seen> decode(const log::RawBatches& raw, Offset from) {
    std::vector<std::vector<std::byte>> decompressed;
    std::vector<log::RecordView> records;
    std::vector<log::HeaderView> headers;
    const Status decoded = log::decode_raw_views(raw, from, decompressed, records, headers);
    REQUIRE_MESSAGE(decoded.is_ok(), decoded.to_string());
    std::vector<Seen> out;
    for (const log::RecordView& r : records) {
        Seen s{r.offset.value(), std::nullopt, std::nullopt, r.timestamp, {}};
        if (r.key) s.key = std::string(*r.key);
        if (r.value) s.value = std::string(*r.value);
        for (const auto& h : r.headers_of(headers)) {
            s.headers.push_back(
                {std::string(h.key),
                 h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
        }
        out.push_back(std::move(s));
    }
    return out;
}

// Appends `batches` batches of 1 to 12 records of assorted shapes (null keys and values,
// headers, values of up to `max_value` bytes) and adds them to `model` (offset -> record).
void append_random(log::PartitionLog& log, std::mt19937& rng, int batches, std::size_t max_value,
                   std::map<std::int64_t, Seen>& model) {
    for (int b = 0; b < batches; ++b) {
        std::vector<log::Record> records(1 + rng() % 12);
        for (auto& r : records) {
            const auto n = static_cast<std::int64_t>(rng() % 100000);
            if (rng() % 10 != 0) r.key = "k" + std::to_string(n % 50);
            if (rng() % 10 != 0) r.value = std::string(rng() % (max_value + 1), char('a' + n % 26));
            if (rng() % 7 == 0) r.headers.push_back({"h", "x" + std::to_string(n)});
            r.timestamp = 1000 + n;
        }
        const log::AppendResult appended = append(log, records);
        for (std::size_t i = 0; i < records.size(); ++i) {
            records[i].offset = appended.base_offset + static_cast<std::int64_t>(i);
            model[records[i].offset.value()] = seen_of(records[i]);
        }
    }
}

// Every record from `from` to the log end, read with `max_bytes` per read, and how many reads
// were served from a mapping.
std::vector<Seen> scan(const log::PartitionLog& log, Offset from, std::size_t max_bytes,
                       int* mapped_reads = nullptr) {
    std::vector<Seen> out;
    log::RawBatches raw;
    while (from < log.log_end_offset()) {
        const Status read =
            log.read_raw_into(from, max_bytes, log::Isolation::read_uncommitted, raw);
        REQUIRE_MESSAGE(read.is_ok(), read.to_string());
        REQUIRE(!raw.headers.empty());
        if (mapped_reads != nullptr && raw.source == log::ReadSource::mapping) ++*mapped_reads;
        for (Seen& s : decode(raw, from)) out.push_back(std::move(s));
        from = raw.headers.back().last_offset() + 1;
    }
    return out;
}

// A read of up to 1 MiB from `from` that must be served in place.
log::RawBatches read_in_place(const log::PartitionLog& log, Offset from) {
    log::RawBatches raw;
    const Status read = log.read_raw_into(from, 1 << 20, log::Isolation::read_uncommitted, raw);
    REQUIRE_MESSAGE(read.is_ok(), read.to_string());
    REQUIRE(raw.owner);
    return raw;
}

std::vector<Seen> model_from(const std::map<std::int64_t, Seen>& model, std::int64_t from) {
    std::vector<Seen> out;
    for (auto it = model.lower_bound(from); it != model.end(); ++it) out.push_back(it->second);
    return out;
}

}  // namespace

TEST_CASE_TEMPLATE("reads in place give the records appended, from any offset, across rolls", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1'000);
    auto log = open_log(env.fs(), env.root() + "/p", small_segments(), clock);
    std::mt19937 rng(7);
    std::map<std::int64_t, Seen> model;
    append_random(*log, rng, 300, 300, model);
    REQUIRE(log->segments().size() > 20);

    const std::int64_t end = log->log_end_offset().value();
    for (const std::size_t max_bytes :
         {std::size_t{1}, std::size_t{700}, std::size_t{4096}, std::size_t{1} << 20}) {
        for (std::int64_t from = 0; from < end; from += 1 + static_cast<std::int64_t>(rng() % 97)) {
            int mapped_reads = 0;
            const auto read = scan(*log, Offset(from), max_bytes, &mapped_reads);
            REQUIRE_MESSAGE(read == model_from(model, from),
                            "from " << from << " with " << max_bytes << " bytes per read");
            // Every segment but the active one is read in place.
            if (Offset(from) < log->segments().back().base_offset) CHECK(mapped_reads > 0);
        }
    }
}

TEST_CASE_TEMPLATE("a held read stays valid after retention and compaction remove its segment", Env,
                   PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1'000);
    auto log = open_log(env.fs(), env.root() + "/p", small_segments(), clock);
    std::mt19937 rng(11);
    std::map<std::int64_t, Seen> model;
    append_random(*log, rng, 200, 200, model);

    // Reads of the two oldest segments, each in place, held across the cleaning below.
    const log::RawBatches first = read_in_place(*log, Offset(0));
    const Offset second_from = first.headers.back().last_offset() + 1;
    const log::RawBatches second = read_in_place(*log, second_from);
    const auto first_records = model_from(model, 0);
    const auto second_records = model_from(model, second_from.value());

    // Compaction rewrites every sealed segment (keys repeat), then the log start moves past
    // the first read's segment, which retention deletes.
    cleaner::CleanerState state;
    const auto compacted = cleaner::compact(*log, state, {}, clock.now_ms(), true);
    REQUIRE_MESSAGE(compacted.is_ok(), compacted.status().to_string());
    const auto advanced = log->advance_log_start(second_from);
    REQUIRE_MESSAGE(advanced.is_ok(), advanced.status().to_string());
    CHECK(*advanced > 0);
    // Appends go on meanwhile.
    append_random(*log, rng, 50, 200, model);

    const auto held_first = decode(first, Offset(0));
    REQUIRE(!held_first.empty());
    CHECK(std::equal(held_first.begin(), held_first.end(), first_records.begin()));
    const auto held_second = decode(second, second_from);
    REQUIRE(!held_second.empty());
    CHECK(std::equal(held_second.begin(), held_second.end(), second_records.begin()));

    // New reads see the compacted log: the latest record of every key from the log start on,
    // and everything after the cleaned part.
    const auto now = scan(*log, log->log_start_offset(), 1 << 20);
    std::map<std::string, std::int64_t> latest;
    for (const auto& [offset, s] : model) {
        if (s.key) latest[*s.key] = offset;
    }
    std::size_t at = 0;
    for (const Seen& s : now) {
        REQUIRE(model.contains(s.offset));
        CHECK(s == model.at(s.offset));
        at = static_cast<std::size_t>(s.offset);
    }
    for (const auto& [key, offset] : latest) {
        if (offset < log->log_start_offset().value()) continue;
        CHECK(
            std::any_of(now.begin(), now.end(), [&](const Seen& s) { return s.offset == offset; }));
    }
    CHECK(at + 1 == static_cast<std::size_t>(log->log_end_offset().value()));
}

TEST_CASE_TEMPLATE("the active segment is read in place, and appends go on", Env, PosixEnv,
                   MemoryEnv) {
    Env env;
    ManualClock clock(1'000);
    auto log = open_log(env.fs(), env.root() + "/p", one_segment(), clock);
    std::mt19937 rng(3);
    std::map<std::int64_t, Seen> model;
    append_random(*log, rng, 100, 2000, model);
    REQUIRE(log->segments().size() == 1);

    // Mapped where the file system maps a growing file (POSIX), copied in memory, whose files
    // cannot grow while mapped.
    int mapped_reads = 0;
    CHECK(scan(*log, Offset(0), 1 << 20, &mapped_reads) == model_from(model, 0));
    CHECK(mapped_reads == (std::string(Env::name) == "posix" ? 1 : 0));

    // Appends after the mapping was made, read back from a position inside the mapping, past
    // it, and at the tail; then far behind again.
    for (int round = 0; round < 5; ++round) {
        const std::int64_t before = log->log_end_offset().value();
        append_random(*log, rng, 20 + round * 20, 2000, model);
        for (const std::int64_t from :
             {std::int64_t{0}, before / 2, before, log->log_end_offset().value() - 1}) {
            CHECK_MESSAGE(scan(*log, Offset(from), 1 << 16) == model_from(model, from),
                          "round " << round << " from " << from);
        }
    }
}

TEST_CASE("a reader at the tail finds each append in place, in the tail buffer or the mapping") {
    PosixEnv env;
    ManualClock clock(1'000);
    auto log = open_log(env.fs(), env.root() + "/p", one_segment(), clock);
    std::mt19937 rng(11);
    std::map<std::int64_t, Seen> model;
    append_random(*log, rng, 1, 100, model);

    // Each batch is read right after its append, as a consumer that keeps up reads it: in
    // place, from the tail buffer when it fits in a block of it, else through the mapping made
    // at the first read while the appends stay within the stretch mapped ahead of the end,
    // then through one made again past it.
    std::int64_t from = 0;
    std::shared_ptr<const void> last_mapping;
    int new_mappings = 0;
    int tail_reads = 0;
    std::uint64_t crossed_at = 0;
    while (log->size_bytes() < log::Segment::kActiveMapAhead + (1 << 20)) {
        const log::RawBatches raw = read_in_place(*log, Offset(from));
        CHECK(decode(raw, Offset(from)) == model_from(model, from));
        if (raw.source == log::ReadSource::tail_buffer) {
            ++tail_reads;
            CHECK(raw.batches().size() <= log::TailBuffer::kBlockBytes);
        } else if (raw.owner != last_mapping) {
            last_mapping = raw.owner;
            if (++new_mappings == 2) crossed_at = log->size_bytes();
        }
        from = log->log_end_offset().value();
        append_random(*log, rng, 1, 60000, model);
    }
    REQUIRE(log->segments().size() == 1);
    CHECK(tail_reads > 10);
    // One mapping until the log outgrew what the first one mapped ahead, then another.
    CHECK(new_mappings == 2);
    CHECK(crossed_at > log::Segment::kActiveMapAhead);
    CHECK(scan(*log, Offset(0), 1 << 20) == model_from(model, 0));
}

TEST_CASE_TEMPLATE("a batch damaged under a mapping fails its checksum", Env, PosixEnv, MemoryEnv) {
    Env env;
    ManualClock clock(1'000);
    auto log = open_log(env.fs(), env.root() + "/p", small_segments(), clock);
    std::mt19937 rng(5);
    std::map<std::int64_t, Seen> model;
    append_random(*log, rng, 100, 200, model);

    // The first segment is mapped by a first read, then a byte of its first batch's records
    // changes in the file.
    const log::RawBatches raw = read_in_place(*log, Offset(0));
    const auto intact = decode(raw, Offset(0));
    const auto expected = model_from(model, 0);
    REQUIRE(!intact.empty());
    REQUIRE(std::equal(intact.begin(), intact.end(), expected.begin()));
    const std::uint64_t victim = raw.headers.front().total_size() - 2;
    auto file = env.fs().open(raw.file, fs::OpenMode::read_write);
    REQUIRE(file.is_ok());
    std::byte b{};
    REQUIRE((*file)->read_at(victim, std::span(&b, 1)).is_ok());
    b = b ^ std::byte{0x5a};
    REQUIRE((*file)->write_at(victim, std::span(&b, 1)).is_ok());

    const log::RawBatches again = read_in_place(*log, Offset(0));
    std::vector<std::vector<std::byte>> decompressed;
    std::vector<log::RecordView> records;
    std::vector<log::HeaderView> headers;
    const Status decoded = log::decode_raw_views(again, Offset(0), decompressed, records, headers);
    CHECK(decoded.code() == Code::corruption);
    CHECK(decoded.message().find(raw.file) != std::string::npos);
}
