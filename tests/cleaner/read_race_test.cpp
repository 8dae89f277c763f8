// A read that the cleaner overtakes, made deterministic: the log's read hook
// (log/log_testing.hpp) runs appends, a roll and a compaction pass or a log start move right
// after the read took the log's bounds and before it looked its segments up. The read must
// then answer as if it had come a moment later (nothing below the bounds it took, or
// below_log_start), never "the log is damaged"; and the next read sees the log as it is.
// concurrency_test.cpp races the same steps on threads.
#include <brook/clock.hpp>
#include <functional>

#include "cleaner/compactor.hpp"
#include "log/log_testing.hpp"
#include "support/log_util.hpp"
#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

log::Record keyed(std::string key, std::string value, std::int64_t timestamp) {
    log::Record r;
    r.key = std::move(key);
    r.value = std::move(value);
    r.timestamp = timestamp;
    return r;
}

// Runs `step` once, inside the next read, between its bounds and its segment lookup.
class OvertakingStep {
  public:
    explicit OvertakingStep(std::function<void()> step) {
        step_ = std::move(step);
        ran_ = false;
        log::testing::after_read_bounds.store(&run, std::memory_order_release);
    }
    ~OvertakingStep() { log::testing::after_read_bounds.store(nullptr); }

    static bool ran() { return ran_; }

  private:
    static void run() {
        // Once: the step's own appends and compaction may read the log too.
        log::testing::after_read_bounds.store(nullptr);
        step_();
        ran_ = true;
    }
    static inline std::function<void()> step_;
    static inline bool ran_ = false;
};

}  // namespace

TEST_CASE_TEMPLATE("a read overtaken by appends, a roll and compaction finds nothing, not damage",
                   Env, MemoryEnv, PosixEnv) {
    Env env;
    ManualClock clock(1'000);
    auto log = open_log(env.fs(), env.root() + "/p", log::LogConfig{}, clock);
    append(*log, {keyed("a", "old", 1)});  // offset 0
    REQUIRE(log->roll_if_due(true).is_ok());

    {
        OvertakingStep overtake([&] {
            append(*log, {keyed("a", "new", 2)});  // offset 1 supersedes offset 0
            REQUIRE(log->roll_if_due(true).is_ok());
            cleaner::CleanerState state;
            auto pass = cleaner::compact(*log, state, {}, clock.now_ms(), true);
            REQUIRE_MESSAGE(pass.is_ok(), pass.status().to_string());
            REQUIRE(pass->records_removed == 1);
        });
        // Its bounds say offsets 0 to 0; by the time it looks, offset 0 is compacted away.
        auto read = log->read(Offset(0), 1 << 20);
        REQUIRE(OvertakingStep::ran());
        REQUIRE_MESSAGE(read.is_ok(), read.status().to_string());
        CHECK(read->empty());
    }

    const auto records = read_all(*log, Offset(0));
    REQUIRE(records.size() == 1);
    CHECK(records[0].offset == Offset(1));
    CHECK(records[0].value == "new");
}

TEST_CASE_TEMPLATE("a read overtaken by a log start move fails with below_log_start", Env,
                   MemoryEnv, PosixEnv) {
    Env env;
    ManualClock clock(1'000);
    auto log = open_log(env.fs(), env.root() + "/p", log::LogConfig{}, clock);
    append(*log, {keyed("a", "first", 1)});  // offset 0
    REQUIRE(log->roll_if_due(true).is_ok());

    {
        OvertakingStep overtake([&] {
            append(*log, {keyed("b", "second", 2)});  // offset 1
            REQUIRE(log->roll_if_due(true).is_ok());
            auto moved = log->advance_log_start(Offset(1));
            REQUIRE_MESSAGE(moved.is_ok(), moved.status().to_string());
        });
        auto read = log->read(Offset(0), 1 << 20);
        REQUIRE(OvertakingStep::ran());
        REQUIRE_FALSE(read.is_ok());
        CHECK(read.code() == Code::offset_out_of_range);
        CHECK(read.status().sub_code() == SubCode::below_log_start);
    }

    const auto records = read_all(*log);
    REQUIRE(records.size() == 1);
    CHECK(records[0].offset == Offset(1));
    CHECK(records[0].value == "second");
}
