// Reads at the tail of a log: a consumer that keeps up asks for the batch just appended, which
// the log finds from its newest batch rather than by scanning headers from the last sparse
// index entry. The reads return what a model of the log holds, and the batch just appended
// takes one header read and one data read, however far the last index entry lies behind.
#include <brook/clock.hpp>

#include "support/fault_fs.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// The records of `model` from offset `from` to its end.
std::vector<log::Record> tail_of(const std::vector<log::Record>& model, Offset from) {
    return {model.begin() + static_cast<std::ptrdiff_t>(from.value()), model.end()};
}

// Reads from `from` to the log end in one read of up to 1 MiB; counts the file reads.
std::vector<log::Record> read_from(const log::PartitionLog& log, Offset from,
                                   const FaultFileSystem& counting, std::uint64_t& reads) {
    const std::uint64_t before = counting.reads.load();
    auto batches = log.read(from, 1 << 20);
    reads = counting.reads.load() - before;
    REQUIRE_MESSAGE(batches.is_ok(), batches.status().to_string());
    std::vector<log::Record> out;
    for (auto& batch : *batches) {
        for (auto& record : batch.records) {
            if (record.offset >= from) out.push_back(std::move(record));
        }
    }
    return out;
}

}  // namespace

TEST_CASE_TEMPLATE(
    "the batch just appended is read from the newest batch, not the last index "
    "entry",
    Env, PosixEnv, MemoryEnv) {
    Env env;
    FaultFileSystem counting(env.fs());
    ManualClock clock(0);
    log::LogConfig config;
    config.index_interval_bytes = 4096;  // dozens of these small batches between entries
    const std::string dir = env.root() + "/p";

    std::vector<log::Record> model;
    std::uint64_t most_behind = 0;
    auto log = open_log(counting, dir, config, clock);
    Offset previous(0);
    for (int b = 0; b < 400; ++b) {
        std::vector<log::Record> batch = {make_record(b, 10 * b)};
        if (b % 3 == 0) batch.push_back(make_record(b, 10 * b + 1));
        const Offset base = append(*log, batch).base_offset;
        for (auto& r : with_offsets(batch, base)) model.push_back(std::move(r));
        CAPTURE(b);

        std::uint64_t reads = 0;
        CHECK(read_from(*log, base, counting, reads) == tail_of(model, base));
        CHECK(reads <= 2);
        // The middle of the batch, as a consumer whose position is inside it asks.
        const Offset inside = log->log_end_offset() - 1;
        CHECK(read_from(*log, inside, counting, reads) == tail_of(model, inside));
        CHECK(reads <= 2);
        // One batch behind: found from the index, and still the same records.
        CHECK(read_from(*log, previous, counting, reads) == tail_of(model, previous));
        most_behind = std::max(most_behind, reads);
        previous = base;
    }
    // Without the newest batch to start from, reads at the tail would cost this much.
    CHECK(most_behind > 4);

    // Reopened, the log knows no newest batch until the next append, and reads stay right.
    REQUIRE(log->close().is_ok());
    log = open_log(counting, dir, config, clock);
    std::uint64_t reads = 0;
    CHECK(read_from(*log, previous, counting, reads) == tail_of(model, previous));
    std::vector<log::Record> batch = {make_record(400, 4000)};
    const Offset base = append(*log, batch).base_offset;
    for (auto& r : with_offsets(batch, base)) model.push_back(std::move(r));
    CHECK(read_from(*log, base, counting, reads) == tail_of(model, base));
    CHECK(reads <= 2);
    CHECK(read_all(*log) == model);
}
