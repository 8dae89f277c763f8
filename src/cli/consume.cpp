// brook consume: kafka-console-consumer.sh / kcat -C.
//
// Positions are resolved to real offsets before the first read, so "the end offset seen at
// start" is exact: without --follow each partition stops there. With --group (once the
// library has consumer groups) start_positions() takes the group's committed offsets and the
// loop commits what it printed; everything else stays as it is.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <limits>

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

Result<std::vector<PartitionPlan>> start_positions(Consumer& consumer, const std::string& topic,
                                                   const std::vector<PartitionId>& partitions,
                                                   const StartSpec& spec) {
    std::vector<PartitionPlan> plans;
    for (const PartitionId partition : partitions) {
        TopicPartition tp{topic, partition};
        BROOK_ASSIGN_OR_RETURN(const WatermarkOffsets marks, consumer.get_watermark_offsets(tp));
        Offset start = marks.high;
        switch (spec.at) {
            case StartAt::end:
                break;
            case StartAt::beginning:
                start = marks.low;
                break;
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
    if (args.has("group")) {
        return fail(
            "consume --group needs consumer groups, which this build of brook does not "
            "have yet; consume without --group");
    }
    std::optional<PartitionId> only;
    if (auto bad = parse_partition(args, only)) return *bad;
    StartSpec start;
    if (auto bad = parse_start(args, start)) return *bad;
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

    auto store = open_for_reading(ctx);
    if (!store.is_ok()) return fail(store.status());
    auto description = (*store)->describe_topic(topic);
    if (!description.is_ok()) return fail(description.status(), topic);
    std::vector<PartitionId> partitions;
    for (const auto& p : description->partitions) {
        if (!only || p.partition == *only) partitions.push_back(p.partition);
    }
    if (partitions.empty()) return fail_no_partition(*description, *only);
    // A read-only store learns of the writer's appends by looking; look often when tailing.
    auto consumer = Consumer::create(
        **store, {{"auto.offset.reset", "earliest"}, {"fetch.wait.max.ms", "100"}});
    if (!consumer.is_ok()) return fail(consumer.status());
    auto plans = start_positions(**consumer, topic, partitions, start);
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
    if (Status assigned = (*consumer)->assign(assignment); !assigned.is_ok()) {
        return fail(assigned, topic);
    }

    install_interrupt_handlers();
    ProgressLine progress(::isatty(STDOUT_FILENO) != 1);
    using SteadyClock = std::chrono::steady_clock;
    auto last_record = SteadyClock::now();
    std::int64_t printed = 0;
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
            if (++printed >= max_messages) break;
        }
        if (!write_stdout(out)) break;  // the reader of our output has gone
        progress.update(follow ? fmt::format("consumed {} records", printed)
                               : fmt::format("consumed {} of {} records", printed, total));
    }
    progress.finish();
    (*consumer)->close().ignore();
    return kExitOk;
}

}  // namespace brook::cli
