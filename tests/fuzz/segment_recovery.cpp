// Fuzz target: recovery of a partition whose only segment file holds arbitrary bytes, on an
// in-memory file system (log/segment_recovery.cpp via PartitionLog::open). Open must either
// fail with an error or give a log whose every record reads back from valid batches, that
// takes a new append, and that reopens to the same log end: recovery is idempotent.
#include <brook/clock.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "fuzz/fuzz_check.hpp"
#include "log/format.hpp"
#include "log/partition_log.hpp"
#include "log/record_batch.hpp"
#include "log/segment.hpp"

using namespace brook;

namespace {

const std::string kDir = "/topic-0";

log::LogConfig small_config() {
    log::LogConfig config;
    config.segment_bytes = 64 * 1024;
    config.segment_index_bytes = 4096;
    config.index_interval_bytes = 128;
    return config;
}

// Reads the whole log and checks that record offsets strictly increase and every read makes
// progress. @return false if a read failed (corruption reported by the read is acceptable).
bool read_back(const log::PartitionLog& log) {
    Offset from = log.log_start_offset();
    std::optional<Offset> previous;
    while (from < log.log_end_offset()) {
        auto batches = log.read(from, 1 << 16);
        if (!batches.is_ok()) return false;
        FUZZ_CHECK(!batches->empty());
        const Offset before = from;
        for (const log::DecodedBatch& batch : *batches) {
            for (const log::Record& record : batch.records) {
                if (record.offset < from) continue;
                if (previous) FUZZ_CHECK(record.offset > *previous);
                previous = record.offset;
            }
            if (batch.header.last_offset() >= from) {
                from = Offset(batch.header.last_offset().value() + 1);
            }
        }
        FUZZ_CHECK(from > before);
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto fs = fs::new_memory_file_system();
    FUZZ_CHECK(fs->create_dirs(kDir).is_ok());
    {
        auto file =
            fs->open(kDir + "/" + log::Segment::file_name(Offset(0), log::format::kLogSuffix),
                     fs::OpenMode::create_exclusive);
        FUZZ_CHECK(file.is_ok());
        if (size > 0) {
            FUZZ_CHECK((*file)->append({reinterpret_cast<const std::byte*>(data), size}).is_ok());
        }
    }
    ManualClock clock(1'000'000);
    auto opened = log::PartitionLog::open(*fs, kDir, small_config(), clock);
    if (!opened.is_ok()) return 0;
    log::PartitionLog& log = **opened;
    FUZZ_CHECK(log.log_start_offset() <= log.log_end_offset());
    if (!read_back(log)) return 0;

    log::Record record;
    record.key = "k";
    record.value = "v";
    record.timestamp = 1'000'000;
    auto batch = log::encode_batch(std::span<const log::Record>(&record, 1), {});
    FUZZ_CHECK(batch.is_ok());
    const Offset end_before = log.log_end_offset();
    auto appended = log.append(*batch, {});
    if (appended.is_ok()) FUZZ_CHECK(appended->base_offset == end_before);
    const Offset end = log.log_end_offset();
    FUZZ_CHECK(log.close().is_ok());
    opened->reset();

    auto reopened = log::PartitionLog::open(*fs, kDir, small_config(), clock);
    FUZZ_CHECK(reopened.is_ok());
    FUZZ_CHECK((*reopened)->log_end_offset() == end);
    FUZZ_CHECK(read_back(**reopened));
    return 0;
}
