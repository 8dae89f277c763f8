// brook maintain (retention and compaction once, now) and brook stats (per partition sizes and
// the compaction dirty ratio). Both print what Store::describe_topic and Store::
// maintenance_stats report, nothing computed here.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "cli.hpp"

namespace brook::cli {
namespace {

// Every topic's description, in name order.
Result<std::vector<TopicDescription>> describe_all(const Store& store) {
    BROOK_ASSIGN_OR_RETURN(const auto names, store.list_topics());
    std::vector<TopicDescription> topics;
    for (const auto& name : names) {
        auto topic = store.describe_topic(name);
        // A topic deleted between the listing and here is simply not shown.
        if (topic.code() == Code::not_found) continue;
        if (!topic.is_ok()) return topic.status();
        topics.push_back(std::move(*topic));
    }
    return topics;
}

std::string config_value(const TopicDescription& topic, std::string_view key) {
    for (const auto& entry : topic.config) {
        if (entry.name == key) return entry.value;
    }
    return {};
}

bool is_compacted(const TopicDescription& topic) {
    return config_value(topic, "cleanup.policy").find("compact") != std::string::npos;
}

// The records a partition holds, where the library's offsets tell: end - start for a topic
// that is not compacted. Compaction leaves gaps in the offsets, and the library does not count
// a compacted log's records, so there it is unknown (shown as "-", null in JSON).
std::string records_held(const TopicDescription& topic, const PartitionDescription& p,
                         std::string_view unknown) {
    if (is_compacted(topic)) return std::string(unknown);
    return std::to_string(p.log_end_offset - p.log_start_offset);
}

std::string stats_json(const std::vector<TopicDescription>& topics) {
    std::string out = "{\"topics\":[";
    for (std::size_t t = 0; t < topics.size(); ++t) {
        const auto& topic = topics[t];
        out += fmt::format("{}{{\"topic\":{},\"cleanup_policy\":{},\"partitions\":[", t ? "," : "",
                           json_string(topic.name),
                           json_string(config_value(topic, "cleanup.policy")));
        for (std::size_t i = 0; i < topic.partitions.size(); ++i) {
            const auto& p = topic.partitions[i];
            out += fmt::format(
                "{}{{\"partition\":{},\"start_offset\":{},\"end_offset\":{},\"records\":{},"
                "\"segments\":{},\"bytes\":{},\"dirty_ratio\":{:.4f},\"last_cleaned_offset\":{}}}",
                i ? "," : "", p.partition.value(), p.log_start_offset.value(),
                p.log_end_offset.value(), records_held(topic, p, "null"), p.segment_count,
                p.size_bytes, p.dirty_ratio, p.last_cleaned_offset.value());
        }
        out += "]}";
    }
    out += "]}\n";
    return out;
}

std::string stats_text(const std::vector<TopicDescription>& topics) {
    std::size_t width = 5;
    for (const auto& topic : topics) width = std::max(width, topic.name.size());
    std::string out =
        fmt::format("{:<{}} {:>9} {:>12} {:>12} {:>12} {:>9} {:>14} {:>6}\n", "TOPIC", width,
                    "PARTITION", "START", "END", "RECORDS", "SEGMENTS", "BYTES", "DIRTY");
    for (const auto& topic : topics) {
        const bool compacted = is_compacted(topic);
        for (const auto& p : topic.partitions) {
            out +=
                fmt::format("{:<{}} {:>9} {:>12} {:>12} {:>12} {:>9} {:>14} {:>6}\n", topic.name,
                            width, p.partition.value(), p.log_start_offset.value(),
                            p.log_end_offset.value(), records_held(topic, p, "-"), p.segment_count,
                            p.size_bytes, compacted ? fmt::format("{:.2f}", p.dirty_ratio) : "-");
        }
    }
    return out;
}

// One line per partition that the pass changed, from descriptions taken before and after;
// for a compacted topic also where compaction got to and the dirty ratio.
std::string changed_partitions(const std::vector<TopicDescription>& before,
                               const std::vector<TopicDescription>& after) {
    std::string out;
    for (const auto& topic : after) {
        const auto old = std::find_if(before.begin(), before.end(),
                                      [&](const auto& t) { return t.name == topic.name; });
        if (old == before.end()) continue;
        for (const auto& p : topic.partitions) {
            const auto index = static_cast<std::size_t>(p.partition.value());
            if (index >= old->partitions.size()) continue;
            const auto& q = old->partitions[index];
            if (q.log_start_offset == p.log_start_offset && q.segment_count == p.segment_count &&
                q.size_bytes == p.size_bytes && q.last_cleaned_offset == p.last_cleaned_offset) {
                continue;
            }
            out += fmt::format("  {}/{}: start offset {} -> {}, segments {} -> {}, bytes {} -> {}",
                               topic.name, p.partition.value(), q.log_start_offset.value(),
                               p.log_start_offset.value(), q.segment_count, p.segment_count,
                               q.size_bytes, p.size_bytes);
            if (is_compacted(topic)) {
                out += fmt::format(", compacted below offset {}, dirty ratio {:.2f} -> {:.2f}",
                                   p.last_cleaned_offset.value(), q.dirty_ratio, p.dirty_ratio);
            }
            out += "\n";
        }
    }
    return out;
}

}  // namespace

Outcome run_maintain(const Context& ctx, const Args& args) {
    if (!args.positional().empty()) return UsageError{"maintain takes no arguments"};
    // No background thread: the counters then show this pass alone.
    Options options;
    options.background_maintenance = false;
    auto store = open_for_writing(ctx, false, options);
    if (!store.is_ok()) return fail(store.status());
    auto before = describe_all(**store);
    if (!before.is_ok()) return fail(before.status());
    ProgressLine progress(true);
    progress.update("running retention and compaction");
    const auto started = std::chrono::steady_clock::now();
    const Status maintained = (*store)->run_maintenance();
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    progress.finish();
    const MaintenanceStats stats = (*store)->maintenance_stats();
    auto after = describe_all(**store);
    if (!after.is_ok()) return fail(after.status());
    std::string out = fmt::format(
        "maintenance pass done in {} ms\n"
        "retention: deleted {} segments, {} bytes\n"
        "compaction: rewrote {} bytes, {} bytes smaller\n",
        elapsed.count(), stats.segments_deleted, stats.bytes_deleted, stats.bytes_compacted,
        stats.bytes_compacted_away);
    const std::string changes = changed_partitions(*before, *after);
    out += changes.empty() ? "no partition changed\n" : "changed partitions:\n" + changes;
    write_stdout(out);
    if (!maintained.is_ok()) return fail(maintained);
    if (Status closed = (*store)->close(); !closed.is_ok()) return fail(closed);
    return kExitOk;
}

Outcome run_stats(const Context& ctx, const Args& args) {
    if (!args.positional().empty()) return UsageError{"stats takes no arguments"};
    auto store = open_for_reading(ctx);
    if (!store.is_ok()) return fail(store.status());
    auto topics = describe_all(**store);
    if (!topics.is_ok()) return fail(topics.status());
    write_stdout(args.has("json") ? stats_json(*topics) : stats_text(*topics));
    return kExitOk;
}

}  // namespace brook::cli
