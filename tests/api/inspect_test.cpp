// dump_log and check_store through the public API, against a model: one produce_sync is one
// batch, so the batches, offsets and records they report are known exactly.
#include <chrono>
#include <filesystem>
#include <fstream>

#include "api_env.hpp"

using brook_test::DiskStore;

namespace {

constexpr int kBatches = 20;
// Recent timestamps: records older than segment.ms would each roll a new segment.
const std::int64_t kBase = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();

// Writes kBatches single-record batches to partition 0 of "t" and closes the store.
void fill(DiskStore& disk) {
    auto store = disk.open();
    REQUIRE(store->create_topic("t", 2).is_ok());
    auto producer = brook::Producer::create(*store);
    REQUIRE(producer.is_ok());
    for (int i = 0; i < kBatches; ++i) {
        brook::ProducerRecord record{"t", "k" + std::to_string(i), "v" + std::to_string(i)};
        record.partition = brook::PartitionId(0);
        record.timestamp = kBase + i;
        REQUIRE((*producer)->produce_sync(std::move(record)).is_ok());
    }
    REQUIRE(store->close().is_ok());
}

std::string log_file(const DiskStore& disk) {
    return disk.path + "/topics/t-0/00000000000000000000.log";
}

}  // namespace

TEST_CASE("dump_log reports every batch and record of a partition") {
    DiskStore disk;
    fill(disk);
    auto dumps = brook::dump_log(disk.path + "/topics/t-0", {.records = true});
    REQUIRE(dumps.is_ok());
    REQUIRE(dumps->size() == 1);
    const auto& segment = (*dumps)[0];
    CHECK(segment.path == log_file(disk));
    CHECK(segment.unreadable_bytes == 0);
    REQUIRE(segment.batches.size() == static_cast<std::size_t>(kBatches));
    std::uint64_t position = 0;
    for (int i = 0; i < kBatches; ++i) {
        const auto& batch = segment.batches[static_cast<std::size_t>(i)];
        CHECK(batch.position == position);
        position += batch.size_bytes;
        CHECK(batch.base_offset == brook::Offset(i));
        CHECK(batch.last_offset == brook::Offset(i));
        CHECK(batch.record_count == 1);
        CHECK(batch.first_timestamp == kBase + i);
        CHECK(batch.codec == "none");
        CHECK(batch.checksum_ok);
        REQUIRE(batch.records.size() == 1);
        CHECK(batch.records[0].offset() == brook::Offset(i));
        CHECK(batch.records[0].key() == "k" + std::to_string(i));
        CHECK(batch.records[0].value() == "v" + std::to_string(i));
    }
    CHECK(position == segment.size_bytes);

    CHECK(brook::dump_log(disk.path + "/nowhere").code() == brook::Code::not_found);
    CHECK(brook::dump_log(disk.path + "/LOCK").code() == brook::Code::invalid_argument);
}

TEST_CASE("check_store counts a healthy store and repairs a torn tail it finds") {
    DiskStore disk;
    fill(disk);
    std::vector<std::pair<std::size_t, std::size_t>> progress;
    brook::CheckOptions options;
    options.progress = [&](std::size_t done, std::size_t total) {
        progress.emplace_back(done, total);
    };
    auto healthy = brook::check_store(disk.path, options);
    REQUIRE(healthy.is_ok());
    CHECK(healthy->topics == 1);
    CHECK(healthy->partitions == 2);
    CHECK(healthy->segments == 2);
    CHECK(healthy->batches == static_cast<std::size_t>(kBatches));
    CHECK(healthy->bytes == std::filesystem::file_size(log_file(disk)));
    CHECK(healthy->issues.empty());
    CHECK(healthy->healthy());
    CHECK(progress == std::vector<std::pair<std::size_t, std::size_t>>{{1, 2}, {2, 2}});

    const auto size = std::filesystem::file_size(log_file(disk));
    std::filesystem::resize_file(log_file(disk), size - 1);
    auto torn = brook::check_store(disk.path);
    REQUIRE(torn.is_ok());
    REQUIRE_FALSE(torn->issues.empty());
    CHECK(torn->issues[0].kind == brook::CheckIssueKind::torn_tail);
    CHECK(torn->issues[0].topic == "t");
    CHECK(torn->issues[0].partition == brook::PartitionId(0));
    CHECK_FALSE(torn->healthy());
    CHECK(torn->batches == static_cast<std::size_t>(kBatches - 1));

    auto repaired = brook::check_store(disk.path, {.repair = true});
    REQUIRE(repaired.is_ok());
    CHECK(repaired->healthy());
    auto after = brook::check_store(disk.path);
    REQUIRE(after.is_ok());
    CHECK(after->issues.empty());

    // The store opens with the 19 whole batches, and repair while a writer holds it is busy.
    auto store = disk.open();
    auto description = store->describe_topic("t");
    REQUIRE(description.is_ok());
    CHECK(description->partitions[0].log_end_offset == brook::Offset(kBatches - 1));
    auto busy = brook::check_store(disk.path, {.repair = true});
    CHECK(busy.code() == brook::Code::busy);
    auto live = brook::check_store(disk.path);
    REQUIRE(live.is_ok());
    CHECK(live->issues.empty());
}

TEST_CASE("check_store reports a missing partition directory as corruption") {
    DiskStore disk;
    fill(disk);
    std::filesystem::remove_all(disk.path + "/topics/t-1");
    auto report = brook::check_store(disk.path, {.repair = true});
    REQUIRE(report.is_ok());
    REQUIRE(report->issues.size() == 1);
    CHECK(report->issues[0].kind == brook::CheckIssueKind::corruption);
    CHECK(report->issues[0].partition == brook::PartitionId(1));
    CHECK_FALSE(report->issues[0].repaired);
    CHECK(report->batches == static_cast<std::size_t>(kBatches));
    CHECK(brook::check_store(disk.path + "/nothing").code() == brook::Code::not_found);
}
