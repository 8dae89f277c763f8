// brook topics create|list|describe|alter|add-partitions|delete: kafka-topics.sh.
#include <fmt/format.h>

#include "cli.hpp"

namespace brook::cli {
namespace {

constexpr std::int64_t kMaxPartitions = 1'000'000;

std::optional<UsageError> one_name(const Args& args, std::string_view what) {
    if (args.positional().size() != 1) {
        return UsageError{fmt::format("give exactly one {} name", what)};
    }
    return std::nullopt;
}

std::string_view source_name(ConfigSource source) {
    switch (source) {
        case ConfigSource::store: return "store";
        case ConfigSource::topic: return "topic";
        case ConfigSource::default_value: break;
    }
    return "default";
}

std::string describe_json(const TopicDescription& topic) {
    std::string out = fmt::format("{{\"topic\":{},\"partitions\":[", json_string(topic.name));
    for (std::size_t i = 0; i < topic.partitions.size(); ++i) {
        const auto& p = topic.partitions[i];
        out += fmt::format(
            "{}{{\"partition\":{},\"start_offset\":{},\"end_offset\":{},\"segments\":{},\"bytes\":{"
            "}}}",
            i ? "," : "", p.partition.value(), p.log_start_offset.value(), p.log_end_offset.value(),
            p.segment_count, p.size_bytes);
    }
    out += "],\"config\":[";
    for (std::size_t i = 0; i < topic.config.size(); ++i) {
        const auto& entry = topic.config[i];
        out += fmt::format("{}{{\"name\":{},\"value\":{},\"source\":\"{}\"}}", i ? "," : "",
                           json_string(entry.name), json_string(entry.value),
                           source_name(entry.source));
    }
    out += "]}\n";
    return out;
}

std::string describe_text(const TopicDescription& topic) {
    std::string out =
        fmt::format("Topic: {}\nPartitions: {}\nConfig:\n", topic.name, topic.partitions.size());
    for (const auto& entry : topic.config) {
        out += fmt::format("  {}={} ({})\n", entry.name, entry.value, source_name(entry.source));
    }
    out += fmt::format("{:<10} {:>12} {:>12} {:>9} {:>14}\n", "PARTITION", "START", "END",
                       "SEGMENTS", "BYTES");
    for (const auto& p : topic.partitions) {
        out += fmt::format("{:<10} {:>12} {:>12} {:>9} {:>14}\n", p.partition.value(),
                           p.log_start_offset.value(), p.log_end_offset.value(), p.segment_count,
                           p.size_bytes);
    }
    return out;
}

}  // namespace

Outcome run_topics_create(const Context& ctx, const Args& args) {
    if (auto bad = one_name(args, "topic")) return *bad;
    std::int64_t partitions = 1;
    if (auto text = args.value("partitions")) {
        if (auto bad = parse_int("partitions", *text, 1, kMaxPartitions, partitions)) return *bad;
    }
    Config config;
    if (auto bad = parse_config("config", args.values("config"), config)) return *bad;
    auto store = open_for_writing(ctx, true);
    if (!store.is_ok()) return fail(store.status());
    const std::string& name = args.positional()[0];
    if (Status created =
            (*store)->create_topic(name, static_cast<std::int32_t>(partitions), config);
        !created.is_ok()) {
        return fail(created);
    }
    if (Status closed = (*store)->close(); !closed.is_ok()) return fail(closed);
    fmt::print("Created topic {}.\n", name);
    return kExitOk;
}

Outcome run_topics_list(const Context& ctx, const Args& args) {
    if (!args.positional().empty()) return UsageError{"topics list takes no arguments"};
    auto store = open_for_reading(ctx);
    if (!store.is_ok()) return fail(store.status());
    auto names = (*store)->list_topics();
    if (!names.is_ok()) return fail(names.status());
    std::string out;
    for (const auto& name : *names) out += name + "\n";
    write_stdout(out);
    return kExitOk;
}

Outcome run_topics_describe(const Context& ctx, const Args& args) {
    if (auto bad = one_name(args, "topic")) return *bad;
    auto store = open_for_reading(ctx);
    if (!store.is_ok()) return fail(store.status());
    const std::string& name = args.positional()[0];
    auto topic = (*store)->describe_topic(name);
    if (!topic.is_ok()) return fail(topic.status(), name);
    write_stdout(args.has("json") ? describe_json(*topic) : describe_text(*topic));
    return kExitOk;
}

Outcome run_topics_alter(const Context& ctx, const Args& args) {
    if (auto bad = one_name(args, "topic")) return *bad;
    Config config;
    if (auto bad = parse_config("config", args.values("config"), config)) return *bad;
    if (config.empty()) return UsageError{"give at least one --config KEY=VALUE"};
    auto store = open_for_writing(ctx, false);
    if (!store.is_ok()) return fail(store.status());
    const std::string& name = args.positional()[0];
    if (Status altered = (*store)->alter_topic_config(name, config); !altered.is_ok()) {
        return fail(altered, name);
    }
    if (Status closed = (*store)->close(); !closed.is_ok()) return fail(closed);
    fmt::print("Altered config of topic {}.\n", name);
    return kExitOk;
}

Outcome run_topics_add_partitions(const Context& ctx, const Args& args) {
    if (auto bad = one_name(args, "topic")) return *bad;
    const auto text = args.value("partitions");
    if (!text) return UsageError{"give the new partition count with --partitions N"};
    std::int64_t partitions = 0;
    if (auto bad = parse_int("partitions", *text, 1, kMaxPartitions, partitions)) return *bad;
    auto store = open_for_writing(ctx, false);
    if (!store.is_ok()) return fail(store.status());
    const std::string& name = args.positional()[0];
    if (Status added = (*store)->add_partitions(name, static_cast<std::int32_t>(partitions));
        !added.is_ok()) {
        return fail(added, name);
    }
    if (Status closed = (*store)->close(); !closed.is_ok()) return fail(closed);
    fmt::print("Topic {} now has {} partitions.\n", name, partitions);
    return kExitOk;
}

Outcome run_topics_delete(const Context& ctx, const Args& args) {
    if (auto bad = one_name(args, "topic")) return *bad;
    auto store = open_for_writing(ctx, false);
    if (!store.is_ok()) return fail(store.status());
    const std::string& name = args.positional()[0];
    if (Status deleted = (*store)->delete_topic(name); !deleted.is_ok()) return fail(deleted, name);
    if (Status closed = (*store)->close(); !closed.is_ok()) return fail(closed);
    fmt::print("Deleted topic {}.\n", name);
    return kExitOk;
}

}  // namespace brook::cli
