// brook consume: kafka-console-consumer.sh / kcat -C.
//
// Positions are resolved to real offsets before the first read, so "the end offset seen at
// start" is exact: without --follow each partition stops there. With --group the consumer
// subscribes (joins the group), starts each partition at the group's committed offset (else
// at the end, or the beginning with --from-beginning, as auto.offset.reset), commits the
// offsets it printed after each write and leaves the group on exit. Committing writes, so
// --group needs the writer lock.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <limits>
#include <map>

#include "cli.hpp"
#include "record_format.hpp"

namespace brook::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) {
    g_interrupted.store(true);
}

enum class StartAt { end, beginning, offset, time };

struct StartSpec {
    StartAt at = StartAt::end;
    std::int64_t value = 0;  // the offset or the timestamp
};

// One partition's plan: where reading starts, and the end offset seen at start.
struct PartitionPlan {
    TopicPartition tp;
    Offset start;
    Offset end_at_start;
    bool done = false;
};

// With `group`, a partition the group committed (within the log) starts there.
Result<std::vector<PartitionPlan>> start_positions(Consumer& consumer, const std::string& topic,
                                                   const std::vector<PartitionId>& partitions,
                                                   const StartSpec& spec, bool group) {
    std::vector<PartitionPlan> plans;
    for (const PartitionId partition : partitions) {
        TopicPartition tp{topic, partition};
        BROOK_ASSIGN_OR_RETURN(const WatermarkOffsets marks, consumer.get_watermark_offsets(tp));
        if (group) {
            BROOK_ASSIGN_OR_RETURN(const auto committed, consumer.committed({tp}));
            const Offset at = committed.empty() ? kOffsetInvalid : committed[0].offset;
            if (at >= marks.low && at <= marks.high) {
                plans.push_back(PartitionPlan{std::move(tp), at, marks.high, false});
                continue;
            }
        }
        Offset start = marks.high;
        switch (spec.at) {
            case StartAt::end: break;
            case StartAt::beginning: start = marks.low; break;
            case StartAt::offset:
                if (spec.value < marks.low.value() || spec.value > marks.high.value()) {
                    return Status::error(Code::offset_out_of_range,
                                         fmt::format("--offset {} is outside partition {} of '{}', "
                                                     "which holds offsets {} to {}",
                                                     spec.value, partition.value(), topic,
                                                     marks.low.value(), marks.high.value()));
                }
                start = Offset(spec.value);
                break;
            case StartAt::time: {
                BROOK_ASSIGN_OR_RETURN(
                    const auto found, consumer.offsets_for_times({{topic, partition, spec.value}}));
                if (!found.empty() && found[0].offset != kOffsetEnd) start = found[0].offset;
                break;
            }
        }
        plans.push_back(PartitionPlan{std::move(tp), start, marks.high, false});
    }
    return plans;
}

// Moves every partition the group assigns to where its plan starts.
class SeekToPlan : public RebalanceListener {
  public:
    explicit SeekToPlan(std::vector<PartitionPlan> plans) : plans_(std::move(plans)) {}
    void on_partitions_assigned(Consumer& consumer,
                                const std::vector<TopicPartition>& partitions) override {
        for (const auto& tp : partitions) {
            for (const auto& plan : plans_) {
                if (plan.tp == tp) consumer.seek({tp.topic, tp.partition, plan.start}).ignore();
            }
        }
    }
    void on_partitions_revoked(Consumer&, const std::vector<TopicPartition>&) override {}

  private:
    const std::vector<PartitionPlan> plans_;
};

// Commits, for each partition, the offset after the last record printed from it.
Status commit_printed(Consumer& consumer, const std::string& topic,
                      std::map<PartitionId, Offset>& printed) {
    if (printed.empty()) return Status::ok();
    std::vector<TopicPartitionOffset> offsets;
    for (const auto& [partition, next] : printed) offsets.push_back({topic, partition, next});
    printed.clear();
    return consumer.commit(offsets);
}

// Parses the start flags; at most one may be given.
std::optional<UsageError> parse_start(const Args& args, StartSpec& spec) {
    int given = 0;
    if (args.has("from-beginning")) {
        spec.at = StartAt::beginning;
        ++given;
    }
    if (auto text = args.value("offset")) {
        if (auto bad =
                parse_int("offset", *text, 0, std::numeric_limits<std::int64_t>::max(), spec.value))
            return bad;
        spec.at = StartAt::offset;
        ++given;
    }
    if (auto text = args.value("from-time")) {
        if (auto bad = parse_int("from-time", *text, 0, std::numeric_limits<std::int64_t>::max(),
                                 spec.value))
            return bad;
        spec.at = StartAt::time;
        ++given;
    }
    if (given > 1)
        return UsageError{"give at most one of --from-beginning, --offset and --from-time"};
    return std::nullopt;
}

void install_interrupt_handlers() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

Outcome run_consume(const Context& ctx, const Args& args) {
    if (args.positional().size() != 1) return UsageError{"give exactly one topic name"};
    const std::string& topic = args.positional()[0];
    const auto group = args.value("group");
    std::optional<PartitionId> only;
    if (auto bad = parse_partition(args, only)) return *bad;
    StartSpec start;
    if (auto bad = parse_start(args, start)) return *bad;
    if (group && (only || start.at == StartAt::offset || start.at == StartAt::time)) {
        return UsageError{
            "--group reads every partition from the group's committed offsets; it takes no "
            "--partition, --offset or --from-time (move the group with 'brook groups "
            "reset-offsets')"};
    }
    std::int64_t max_messages = std::numeric_limits<std::int64_t>::max();
    if (auto text = args.value("max-messages")) {
        if (auto bad = parse_int("max-messages", *text, 1, std::numeric_limits<std::int64_t>::max(),
                                 max_messages))
            return *bad;
    }
    std::optional<std::int64_t> idle_ms;
    if (auto text = args.value("idle-timeout-ms")) {
        std::int64_t value = 0;
        if (auto bad = parse_int("idle-timeout-ms", *text, 0,
                                 std::numeric_limits<std::int32_t>::max(), value))
            return *bad;
        idle_ms = value;
    }
    const bool follow = args.has("follow");
    std::string format_error;
    const auto format = RecordFormat::compile(args.value("format").value_or("%s\\n"), format_error);
    if (!format) return UsageError{format_error};

    // A group's commits are writes: only --group needs the writer lock.
    auto store = group ? open_for_writing(ctx, false) : open_for_reading(ctx);
    if (!store.is_ok()) return fail(store.status());
    auto description = (*store)->describe_topic(topic);
    if (!description.is_ok()) return fail(description.status(), topic);
    std::vector<PartitionId> partitions;
    for (const auto& p : description->partitions) {
        if (!only || p.partition == *only) partitions.push_back(p.partition);
    }
    if (partitions.empty()) return fail_no_partition(*description, *only);
    // A read-only store learns of the writer's appends by looking; look often when tailing.
    Config config{{"auto.offset.reset", "earliest"}, {"fetch.wait.max.ms", "100"}};
    if (group) {
        config["group.id"] = *group;
        config["enable.auto.commit"] = "false";  // only what was printed is committed
        if (start.at != StartAt::beginning) config["auto.offset.reset"] = "latest";
    }
    auto consumer = Consumer::create(**store, config);
    if (!consumer.is_ok()) return fail(consumer.status());
    auto plans = start_positions(**consumer, topic, partitions, start, group.has_value());
    if (!plans.is_ok()) return fail(plans.status(), topic);
    std::vector<TopicPartitionOffset> assignment;
    std::int64_t total = 0;
    std::size_t open_partitions = 0;
    for (auto& plan : *plans) {
        assignment.push_back({plan.tp.topic, plan.tp.partition, plan.start});
        plan.done = !follow && plan.start >= plan.end_at_start;
        total += plan.end_at_start - plan.start;
        if (!plan.done) ++open_partitions;
    }
    const Status assigned =
        group ? (*consumer)->subscribe({topic}, std::make_shared<SeekToPlan>(*plans))
              : (*consumer)->assign(assignment);
    if (!assigned.is_ok()) return fail(assigned, topic);

    install_interrupt_handlers();
    ProgressLine progress(::isatty(STDOUT_FILENO) != 1);
    using SteadyClock = std::chrono::steady_clock;
    auto last_record = SteadyClock::now();
    std::int64_t printed = 0;
    std::map<PartitionId, Offset> to_commit;
    std::string out;
    while (!g_interrupted.load() && printed < max_messages && (follow || open_partitions > 0)) {
        auto wait = std::chrono::milliseconds(200);
        if (idle_ms) {
            const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
                SteadyClock::now() - last_record);
            const auto left = std::chrono::milliseconds(*idle_ms) - idle;
            if (left.count() <= 0) break;
            wait = std::min(wait, left);
        }
        const auto batch_size =
            static_cast<std::size_t>(std::min<std::int64_t>(500, max_messages - printed));
        const auto messages = (*consumer)->consume(batch_size, wait);
        if (!messages.empty()) last_record = SteadyClock::now();
        out.clear();
        for (const auto& message : messages) {
            if (!message.error().is_ok()) {
                write_stdout(out);
                return fail(message.error(), topic);
            }
            const auto it = std::find_if(plans->begin(), plans->end(), [&](const PartitionPlan& p) {
                return p.tp.partition == message.partition();
            });
            if (it == plans->end() || it->done) continue;
            PartitionPlan& plan = *it;
            if (!follow && message.offset() + 1 >= plan.end_at_start) {
                plan.done = true;
                --open_partitions;
                (*consumer)->pause({plan.tp}).ignore();
                if (message.offset() >= plan.end_at_start) continue;
            }
            format->append(message, out);
            to_commit[message.partition()] = message.offset() + 1;
            if (++printed >= max_messages) break;
        }
        if (!write_stdout(out)) break;  // the reader of our output has gone
        if (group) {
            if (Status committed = commit_printed(**consumer, topic, to_commit);
                !committed.is_ok()) {
                return fail(committed, topic);
            }
        }
        progress.update(follow ? fmt::format("consumed {} records", printed)
                               : fmt::format("consumed {} of {} records", printed, total));
    }
    progress.finish();
    if (Status closed = (*consumer)->close(); !closed.is_ok() && group) return fail(closed);
    consumer->reset();
    if (Status closed = (*store)->close(); !closed.is_ok() && group) return fail(closed);
    return kExitOk;
}

}  // namespace brook::cli
