// Writes the seed corpus of the fuzz targets from real encodings: batches from encode_batch,
// segment and index files of a real partition log (built on an in-memory file system and
// closed cleanly, so its indexes are sealed), stored topic records, topic configs and --format
// templates. Usage: make_corpus <tests/fuzz/corpus>. The output is committed; rerun this only
// when a format changes.
#include <brook/clock.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "log/format.hpp"
#include "log/partition_log.hpp"
#include "log/record_batch.hpp"
#include "log/segment.hpp"
#include "meta/topic_record.hpp"

using namespace brook;

namespace {

std::filesystem::path root;

void write_seed(const std::string& target, const std::string& name, const void* data,
                std::size_t size) {
    const auto dir = root / target;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary)
        .write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void write_seed(const std::string& target, const std::string& name, std::string_view text) {
    write_seed(target, name, text.data(), text.size());
}

std::vector<std::byte> read_file(fs::FileSystem& fs, const std::string& path) {
    auto file = fs.open(path, fs::OpenMode::read_only);
    if (!file.is_ok()) std::abort();
    std::vector<std::byte> bytes(*(*file)->size());
    if (!(*file)->read_at(0, bytes).is_ok()) std::abort();
    return bytes;
}

std::vector<log::Record> records(int count, int first) {
    std::vector<log::Record> out;
    for (int i = 0; i < count; ++i) {
        log::Record r;
        r.key = "key-" + std::to_string(first + i);
        r.value = std::string(static_cast<std::size_t>(5 + i * 7), static_cast<char>('a' + i % 26));
        r.timestamp = 1'700'000'000'000 + first + i;
        if (i % 2 == 1) r.headers.push_back({"trace", std::string("t") + std::to_string(i)});
        if (i == 2) r.value.reset();  // a tombstone
        if (i == 3) r.key.reset();
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<std::byte> encode(const std::vector<log::Record>& recs, log::Compression c) {
    log::BatchOptions options;
    options.compression = c;
    auto encoded = log::encode_batch(recs, options);
    if (!encoded.is_ok()) std::abort();
    return *encoded;
}

void batches() {
    auto seed = [](const std::string& name, const std::vector<std::byte>& b) {
        write_seed("batch_decoder", name, b.data(), b.size());
    };
    seed("one_record", encode(records(1, 0), log::Compression::none));
    seed("five_records_headers_tombstone", encode(records(5, 10), log::Compression::none));
    seed("zstd_eight_records", encode(records(8, 20), log::Compression::zstd));
    auto append_time = encode(records(3, 30), log::Compression::none);
    log::set_log_append_time(append_time, 1'800'000'000'000);
    seed("log_append_time", append_time);
}

void partition_files() {
    auto fs = fs::new_memory_file_system();
    log::LogConfig config;
    config.segment_bytes = 2048;
    config.index_interval_bytes = 100;
    ManualClock clock(1'700'000'000'000);
    {
        auto log = log::PartitionLog::open(*fs, "/p", config, clock);
        if (!log.is_ok()) std::abort();
        for (int b = 0; b < 40; ++b) {
            auto bytes = encode(records(1 + b % 4, b * 4),
                                b % 5 == 0 ? log::Compression::zstd : log::Compression::none);
            if (!(*log)->append(bytes).is_ok()) std::abort();
            clock.advance_ms(3);
        }
        if (!(*log)->close().is_ok()) std::abort();
    }
    const auto name = [](std::string_view suffix) {
        return "/p/" + log::Segment::file_name(Offset(0), suffix);
    };
    const auto segment = read_file(*fs, name(log::format::kLogSuffix));
    write_seed("segment_recovery", "sealed_segment", segment.data(), segment.size());
    write_seed("segment_recovery", "torn_tail", segment.data(), segment.size() - 17);
    write_seed("segment_recovery", "empty", "");

    // The first byte is the target's selector: bit 0 the index kind, bit 1 "fix the header".
    for (const auto& [kind, suffix] : {std::pair{0, log::format::kOffsetIndexSuffix},
                                       std::pair{1, log::format::kTimeIndexSuffix}}) {
        const std::string what = kind == 0 ? "offset_index" : "time_index";
        auto bytes = read_file(*fs, name(suffix));
        bytes.insert(bytes.begin(), static_cast<std::byte>(kind));
        write_seed("index_loader", "sealed_" + what, bytes.data(), bytes.size());
        bytes[0] = static_cast<std::byte>(kind | 2);
        write_seed("index_loader", "fixed_header_" + what, bytes.data(), bytes.size());
    }
}

void topic_configs() {
    write_seed("topic_config", "overrides",
               "--\nretention.ms=3600000\ncleanup.policy=compact, delete\nsegment.bytes=1048576\n");
    write_seed("topic_config", "defaults_and_overrides",
               "retention.bytes=1000000\nmin.cleanable.dirty.ratio=0.25\n--\n"
               "message.timestamp.type=LogAppendTime\nmax.compaction.lag.ms=9223372036854775807\n");
    write_seed("topic_config", "invalid", "--\nretention.ms=-5\nno.such.key=1\n");
    meta::TopicRecord record;
    record.name = "topic";
    record.partitions = 3;
    record.topic_id = 7;
    record.overrides = {{"cleanup.policy", "compact"}, {"retention.ms", "60000"}};
    const std::string stored = std::string(1, '\0') + meta::encode_topic_record(record);
    write_seed("topic_config", "stored_topic_record", stored);
}

void format_strings() {
    write_seed("format_string", "kcat_default", "%s\\n");
    write_seed("format_string", "all_tokens",
               "%t [%p] @%o %k=%s (%S bytes) ts=%T h=%h 100%%\\t\\\\\\n");
    write_seed("format_string", "unknown_token", "%q");
    write_seed("format_string", "trailing_percent", "value %");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus <corpus directory>\n");
        return 2;
    }
    root = argv[1];
    batches();
    partition_files();
    topic_configs();
    format_strings();
    return 0;
}
