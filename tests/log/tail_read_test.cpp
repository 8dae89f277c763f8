// Reads at the tail of a log: a consumer that keeps up asks for the batch just appended. Its
// first such read finds the batch from the log's newest batch rather than by scanning headers
// from the last sparse index entry, and asks the segment to keep copies of what is appended
// next (TailBuffer); every later read at the tail views those copies and reads no file. The
// reads return what a model of the log holds.
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
    "reads at the tail view the copies of new batches, and without them find the batch just "
    "appended from the newest batch",
    Env, PosixEnv, MemoryEnv) {
    Env env;
    FaultFileSystem counting(env.fs());
    ManualClock clock(0);
    log::LogConfig config;
    config.index_interval_bytes = 1 << 20;  // one index entry, at the start, for all of them
    const std::string dir = env.root() + "/p";

    std::vector<log::Record> model;
    auto log = open_log(counting, dir, config, clock);
    Offset previous(0);
    for (int b = 0; b < 400; ++b) {
        std::vector<log::Record> batch = {make_record(b, 10 * b)};
        if (b % 3 == 0) batch.push_back(make_record(b, 10 * b + 1));
        const Offset base = append(*log, batch).base_offset;
        for (auto& r : with_offsets(batch, base)) model.push_back(std::move(r));
        CAPTURE(b);

        // The first batch is read from the file (one header read and one data read), as it
        // was appended before any read reached the end; every later batch from the copies.
        const std::uint64_t most = b == 0 ? 2 : 0;
        std::uint64_t reads = 0;
        CHECK(read_from(*log, base, counting, reads) == tail_of(model, base));
        CHECK(reads <= most);
        // The middle of the batch, as a consumer whose position is inside it asks.
        const Offset inside = log->log_end_offset() - 1;
        CHECK(read_from(*log, inside, counting, reads) == tail_of(model, inside));
        CHECK(reads <= most);
        // One batch behind: in the copies, but for the first batch, which came before them.
        CHECK(read_from(*log, previous, counting, reads) == tail_of(model, previous));
        CHECK(reads <= (b <= 1 ? 2 : 0));
        previous = base;
    }
    // The copies hold every batch appended since the first read at the tail.
    std::uint64_t reads = 0;
    const Offset second_batch(2);  // the first batch holds offsets 0 and 1
    CHECK(read_from(*log, second_batch, counting, reads) == tail_of(model, second_batch));
    CHECK(reads == 0);

    // Reopened, the log knows no newest batch until the next append, and keeps no copies until
    // a reader reaches its end. The batch just appended is then found from the newest batch, in
    // one header read and one data read; a read of the batch before it walks the headers of
    // every batch from the index entry at the start.
    REQUIRE(log->close().is_ok());
    log = open_log(counting, dir, config, clock);
    CHECK(read_from(*log, previous, counting, reads) == tail_of(model, previous));
    CHECK(reads > 400);
    REQUIRE(log->close().is_ok());
    log = open_log(counting, dir, config, clock);
    Offset base;
    for (int b = 400; b < 410; ++b) {
        std::vector<log::Record> batch = {make_record(b, 10 * b)};
        previous = base;
        base = append(*log, batch).base_offset;
        for (auto& r : with_offsets(batch, base)) model.push_back(std::move(r));
    }
    CHECK(read_from(*log, base, counting, reads) == tail_of(model, base));
    CHECK(reads <= 2);
    CHECK(read_from(*log, previous, counting, reads) == tail_of(model, previous));
    CHECK(reads > 400);
    CHECK(read_all(*log) == model);
}
