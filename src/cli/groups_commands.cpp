// brook groups list|describe|reset-offsets|delete: kafka-consumer-groups.sh, over GroupAdmin.
#include <fmt/format.h>

#include <limits>

#include "cli.hpp"

namespace brook::cli {
namespace {

std::string_view state_name(GroupState state) {
    switch (state) {
        case GroupState::preparing_rebalance: return "PreparingRebalance";
        case GroupState::stable: return "Stable";
        case GroupState::empty: break;
    }
    return "Empty";
}

std::optional<UsageError> one_group(const Args& args) {
    if (args.positional().size() != 1) return UsageError{"give exactly one group id"};
    return std::nullopt;
}

// An unknown group gets a pointer to `groups list`.
int fail_group(const Status& status) {
    if (status.code() == Code::not_found && status.message().find("group '") != std::string::npos) {
        return fail(fmt::format("{}; list groups with 'brook groups list'", status.message()));
    }
    return fail(status, {});
}

std::string optional_number(const std::optional<std::int64_t>& value, std::string_view none) {
    return value ? std::to_string(*value) : std::string(none);
}

std::string describe_json(const GroupDescription& group) {
    std::string out = fmt::format(
        "{{\"group\":{},\"state\":\"{}\",\"generation\":{},\"protocol\":{},\"members\":[",
        json_string(group.group_id), state_name(group.state), group.generation,
        json_string(group.protocol));
    for (std::size_t i = 0; i < group.members.size(); ++i) {
        const auto& m = group.members[i];
        out += fmt::format(
            "{}{{\"member_id\":{},\"group_instance_id\":{},\"client_id\":{},"
            "\"assignment\":[",
            i ? "," : "", json_string(m.member_id),
            m.group_instance_id ? json_string(*m.group_instance_id) : "null",
            json_string(m.client_id));
        for (std::size_t j = 0; j < m.assignment.size(); ++j) {
            out +=
                fmt::format("{}{{\"topic\":{},\"partition\":{}}}", j ? "," : "",
                            json_string(m.assignment[j].topic), m.assignment[j].partition.value());
        }
        out += "]}";
    }
    out += "],\"partitions\":[";
    for (std::size_t i = 0; i < group.partitions.size(); ++i) {
        const auto& p = group.partitions[i];
        out += fmt::format(
            "{}{{\"topic\":{},\"partition\":{},\"committed\":{},\"end_offset\":{},\"lag\":{}}}",
            i ? "," : "", json_string(p.topic), p.partition.value(),
            optional_number(p.committed ? std::optional(p.committed->value()) : std::nullopt,
                            "null"),
            p.log_end_offset.value(), optional_number(p.lag, "null"));
    }
    out += fmt::format("],\"total_lag\":{}}}\n", group.total_lag);
    return out;
}

std::string describe_text(const GroupDescription& group) {
    std::string out = fmt::format("Group: {}\nState: {}\nMembers: {}\n", group.group_id,
                                  state_name(group.state), group.members.size());
    std::size_t width = 5;
    for (const auto& p : group.partitions) width = std::max(width, p.topic.size());
    out += fmt::format("{:<{}} {:>9} {:>12} {:>12} {:>12}\n", "TOPIC", width, "PARTITION",
                       "COMMITTED", "END", "LAG");
    for (const auto& p : group.partitions) {
        out += fmt::format(
            "{:<{}} {:>9} {:>12} {:>12} {:>12}\n", p.topic, width, p.partition.value(),
            optional_number(p.committed ? std::optional(p.committed->value()) : std::nullopt, "-"),
            p.log_end_offset.value(), optional_number(p.lag, "-"));
    }
    return out;
}

// Parses the one --to-* flag of reset-offsets.
std::optional<UsageError> parse_reset(const Args& args, OffsetResetSpec& spec) {
    int given = 0;
    if (args.has("to-earliest")) {
        spec = OffsetResetSpec::earliest();
        ++given;
    }
    if (args.has("to-latest")) {
        spec = OffsetResetSpec::latest();
        ++given;
    }
    std::int64_t value = 0;
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    if (auto text = args.value("to-offset")) {
        if (auto bad = parse_int("to-offset", *text, 0, kMax, value)) return bad;
        spec = OffsetResetSpec::to_offset(value);
        ++given;
    }
    if (auto text = args.value("to-time")) {
        if (auto bad = parse_int("to-time", *text, 0, kMax, value)) return bad;
        spec = OffsetResetSpec::to_timestamp(value);
        ++given;
    }
    if (given != 1) {
        return UsageError{
            "give exactly one of --to-earliest, --to-latest, --to-offset N and --to-time MS"};
    }
    return std::nullopt;
}

}  // namespace

Outcome run_groups_list(const Context& ctx, const Args& args) {
    if (!args.positional().empty()) return UsageError{"groups list takes no arguments"};
    auto store = open_for_reading(ctx);
    if (!store.is_ok()) return fail(store.status());
    auto groups = GroupAdmin(**store).list_groups();
    if (!groups.is_ok()) return fail(groups.status());
    std::string out;
    for (const auto& group : *groups) out += group.group_id + "\n";
    write_stdout(out);
    return kExitOk;
}

Outcome run_groups_describe(const Context& ctx, const Args& args) {
    if (auto bad = one_group(args)) return *bad;
    auto store = open_for_reading(ctx);
    if (!store.is_ok()) return fail(store.status());
    const std::string& id = args.positional()[0];
    auto group = GroupAdmin(**store).describe_group(id);
    if (!group.is_ok()) return fail_group(group.status());
    write_stdout(args.has("json") ? describe_json(*group) : describe_text(*group));
    return kExitOk;
}

Outcome run_groups_reset_offsets(const Context& ctx, const Args& args) {
    if (auto bad = one_group(args)) return *bad;
    const auto topic = args.value("topic");
    if (!topic) return UsageError{"give the topic with --topic T"};
    OffsetResetSpec spec;
    if (auto bad = parse_reset(args, spec)) return *bad;
    auto store = open_for_writing(ctx, false);
    if (!store.is_ok()) return fail(store.status());
    const std::string& id = args.positional()[0];
    auto offsets = GroupAdmin(**store).reset_offsets(id, *topic, spec);
    if (!offsets.is_ok()) return fail(offsets.status(), *topic);
    if (Status closed = (*store)->close(); !closed.is_ok()) return fail(closed);
    std::string out =
        fmt::format("{:<{}} {:>9} {:>12}\n", "TOPIC", std::max<std::size_t>(5, topic->size()),
                    "PARTITION", "NEW-OFFSET");
    for (const auto& o : *offsets) {
        out +=
            fmt::format("{:<{}} {:>9} {:>12}\n", o.topic, std::max<std::size_t>(5, topic->size()),
                        o.partition.value(), o.offset.value());
    }
    write_stdout(out);
    return kExitOk;
}

Outcome run_groups_delete(const Context& ctx, const Args& args) {
    if (auto bad = one_group(args)) return *bad;
    auto store = open_for_writing(ctx, false);
    if (!store.is_ok()) return fail(store.status());
    const std::string& id = args.positional()[0];
    if (Status deleted = GroupAdmin(**store).delete_group(id); !deleted.is_ok()) {
        return fail_group(deleted);
    }
    if (Status closed = (*store)->close(); !closed.is_ok()) return fail(closed);
    fmt::print("Deleted group {}.\n", id);
    return kExitOk;
}

}  // namespace brook::cli
