// The files of exactly-once state: producer-state snapshots (<offset>.snapshot) and aborted-
// transaction indexes (<base>.txnindex). They are written at roll and close, trusted only
// when their checksums hold, rebuilt from the log when damaged, and removed with their
// segments; stray ones are removed on open. Each test compares the reopened log's state and
// reads with the state before and with the model.
#include <brook/clock.hpp>
#include <map>
#include <random>
#include <set>

#include "log/format.hpp"
#include "log/producer_snapshot.hpp"
#include "log/segment.hpp"
#include "log/txn_index.hpp"
#include "support/fs_util.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"
#include "support/txn_model.hpp"
#include "support/txn_util.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

struct Fixture {
    MemoryEnv env;
    ManualClock clock{1000};
    log::LogConfig config;
    std::string dir = env.root() + "/p";
    std::mt19937_64 rng{99};
    Workload work;
    std::unique_ptr<log::PartitionLog> log;

    Fixture() {
        config.segment_bytes = 1500;
        config.index_interval_bytes = 200;
        log = open_log(env.fs(), dir, config, clock);
        work.run(*log, rng, 300);
        REQUIRE(log->segments().size() > 4);
    }

    void reopen() {
        REQUIRE(log->close().is_ok());
        log.reset();
        log = open_log(env.fs(), dir, config, clock);
    }

    std::map<std::int64_t, std::optional<log::ProducerEntry>> states() const {
        std::map<std::int64_t, std::optional<log::ProducerEntry>> out;
        for (const auto& p : work.producers) out[p.id] = log->producer_state(p.id);
        return out;
    }

    std::vector<Offset> offsets_with(std::string_view suffix) {
        std::vector<Offset> out;
        const auto names = env.fs().list_dir(dir);
        REQUIRE(names.is_ok());
        for (const auto& name : *names) {
            if (auto at = log::Segment::parse_file_name(name, suffix)) out.push_back(*at);
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    std::string path(Offset at, std::string_view suffix) const {
        return fs::join_path(dir, log::Segment::file_name(at, suffix));
    }

    void flip_byte(const std::string& file, std::uint64_t position) {
        auto opened = env.fs().open(file, fs::OpenMode::read_write);
        REQUIRE(opened.is_ok());
        std::array<std::byte, 1> b{};
        REQUIRE((*opened)->read_at(position, b).is_ok());
        b[0] ^= std::byte{0x5a};
        REQUIRE((*opened)->write_at(position, b).is_ok());
    }
};

}  // namespace

TEST_CASE("snapshots are written at each roll and at close; a clean open replays nothing") {
    Fixture f;
    std::vector<Offset> bases;
    for (const auto& s : f.log->segments()) bases.push_back(s.base_offset);
    const auto before = f.states();
    f.reopen();
    const auto snapshots = f.offsets_with(log::format::kSnapshotSuffix);
    for (std::size_t i = 1; i < bases.size(); ++i) {
        CHECK(std::binary_search(snapshots.begin(), snapshots.end(), bases[i]));
    }
    CHECK(snapshots.back() == f.log->log_end_offset());
    CHECK(f.log->recovery_report().clean_shutdown);
    CHECK(f.log->recovery_report().producer_batches_replayed == 0);
    CHECK(f.states() == before);
    check_against_model(*f.log, f.work.model, f.rng);
}

TEST_CASE("a corrupt snapshot is ignored, reported, removed and the state rebuilt from the log") {
    Fixture f;
    const auto before = f.states();
    REQUIRE(f.log->close().is_ok());
    const auto snapshots = f.offsets_with(log::format::kSnapshotSuffix);
    REQUIRE(snapshots.size() >= 3);
    SUBCASE("the newest one") {
        f.flip_byte(f.path(snapshots.back(), log::format::kSnapshotSuffix), 30);
        f.log.reset();
        f.log = open_log(f.env.fs(), f.dir, f.config, f.clock);
        CHECK(f.log->recovery_report().snapshots_rejected == 1);
        CHECK(f.log->recovery_report().producer_batches_replayed > 0);
    }
    SUBCASE("every one, so the whole log is replayed") {
        for (const Offset at : snapshots) {
            f.flip_byte(f.path(at, log::format::kSnapshotSuffix), 9);
        }
        f.log.reset();
        f.log = open_log(f.env.fs(), f.dir, f.config, f.clock);
        CHECK(f.log->recovery_report().snapshots_rejected == static_cast<int>(snapshots.size()));
    }
    CHECK(f.states() == before);
    check_against_model(*f.log, f.work.model, f.rng);
    f.work.check_dedupe(*f.log);
    f.reopen();
    CHECK(f.log->recovery_report().snapshots_rejected == 0);
    CHECK(f.states() == before);
}

TEST_CASE("replaying the log for the producer state reports a damaged batch as corruption") {
    Fixture f;
    const Offset first = f.log->segments().front().base_offset;
    REQUIRE(f.log->close().is_ok());
    for (const Offset at : f.offsets_with(log::format::kSnapshotSuffix)) {
        REQUIRE(f.env.fs().remove_file(f.path(at, log::format::kSnapshotSuffix)).is_ok());
    }
    const std::string segment = f.path(first, log::format::kLogSuffix);
    f.log.reset();
    // A byte inside the first batch's records: the checksum covers it, the header checks do not.
    f.flip_byte(segment, log::format::kBatchHeaderSize + 2);
    auto reopened = log::PartitionLog::open(f.env.fs(), f.dir, f.config, f.clock);
    REQUIRE_FALSE(reopened.is_ok());
    CHECK(reopened.status().code() == Code::corruption);
    CHECK(reopened.status().message().find(segment) != std::string::npos);
    CHECK(reopened.status().message().find("checksum") != std::string::npos);
}

TEST_CASE("a snapshot's lengths are checked before anything is allocated from them") {
    log::ProducerMap producers;
    producers[3] = log::ProducerEntry{3, 1, 50, Offset(7), {{0, 4, Offset(7), Offset(11)}}};
    auto bytes = log::encode_snapshot(Offset(20), producers);
    REQUIRE(log::decode_snapshot(bytes, Offset(20), "s").value() == producers);
    CHECK(log::decode_snapshot(bytes, Offset(21), "s").code() == Code::corruption);
    // A producer count far beyond the file, with a checksum that matches.
    const auto reseal = [](std::vector<std::byte> b) {
        const std::size_t body = b.size() - 8;
        util::store_le<std::uint64_t>(b.data() + body,
                                      util::xxh3_64(std::span<const std::byte>(b.data(), body)));
        return b;
    };
    auto huge = bytes;
    util::store_le<std::uint32_t>(huge.data() + 16, 0xffffffffu);
    CHECK(log::decode_snapshot(reseal(huge), Offset(20), "s").code() == Code::corruption);
    auto many_batches = bytes;
    many_batches[log::format::kSnapshotHeaderSize + 26] = std::byte{200};
    CHECK(log::decode_snapshot(reseal(many_batches), Offset(20), "s").code() == Code::corruption);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        auto truncated = std::vector<std::byte>(bytes.begin(), bytes.begin() + cut);
        if (truncated.size() >= 8) truncated = reseal(truncated);
        CHECK(log::decode_snapshot(truncated, Offset(20), "s").code() == Code::corruption);
    }
}

TEST_CASE("a damaged .txnindex of a sealed segment is rebuilt identically from the log") {
    Fixture f;
    const auto aborted = f.log->aborted_transactions(Offset(0), f.log->log_end_offset());
    REQUIRE(aborted.size() >= 2);
    REQUIRE(f.log->close().is_ok());
    const auto indexes = f.offsets_with(log::format::kTxnIndexSuffix);
    REQUIRE(!indexes.empty());
    const std::string victim = f.path(indexes.front(), log::format::kTxnIndexSuffix);
    const auto original = read_file(f.env.fs(), victim);
    SUBCASE("a flipped byte") {
        f.flip_byte(victim, 3);
    }
    SUBCASE("a torn entry") {
        auto file = f.env.fs().open(victim, fs::OpenMode::read_write);
        REQUIRE(file.is_ok());
        REQUIRE((*file)->truncate(original.size() - 5).is_ok());
    }
    f.log.reset();
    f.log = open_log(f.env.fs(), f.dir, f.config, f.clock);
    CHECK(f.log->recovery_report().producer_batches_replayed > 0);
    CHECK(read_file(f.env.fs(), victim) == original);
    CHECK(f.log->aborted_transactions(Offset(0), f.log->log_end_offset()) == aborted);
    check_against_model(*f.log, f.work.model, f.rng);
}

TEST_CASE(
    "retention removes snapshots and .txnindex files with their segments; open removes strays") {
    Fixture f;
    const auto segments = f.log->segments();
    const Offset cut = segments[segments.size() / 2].base_offset;
    REQUIRE(f.log->advance_log_start(cut).is_ok());
    for (const auto suffix : {log::format::kSnapshotSuffix, log::format::kTxnIndexSuffix}) {
        for (const Offset at : f.offsets_with(suffix)) CHECK(at >= cut);
    }
    CHECK(f.log->aborted_transactions(Offset(0), cut).empty());
    check_against_model(*f.log, f.work.model, f.rng);

    REQUIRE(f.log->close().is_ok());
    // A snapshot past the log end and an index without a segment, as a crash might leave.
    const Offset end = f.log->log_end_offset();
    REQUIRE(log::write_snapshot(f.env.fs(), f.dir, end + 1000, {}).is_ok());
    REQUIRE(
        log::write_txn_index(f.env.fs(), f.dir, Offset(1), {{10, Offset(1), Offset(2), Offset(1)}})
            .is_ok());
    f.log.reset();
    f.log = open_log(f.env.fs(), f.dir, f.config, f.clock);
    CHECK_FALSE(f.env.fs().exists(f.path(end + 1000, log::format::kSnapshotSuffix)));
    CHECK_FALSE(f.env.fs().exists(f.path(Offset(1), log::format::kTxnIndexSuffix)));
    check_against_model(*f.log, f.work.model, f.rng);
}
