// brook dump (kafka-dump-log.sh) and brook check [--repair].
#include <fmt/format.h>

#include <algorithm>

#include "cli.hpp"

namespace brook::cli {
namespace {

std::string_view kind_name(CheckIssueKind kind) {
    switch (kind) {
        case CheckIssueKind::torn_tail: return "torn tail";
        case CheckIssueKind::bad_index: return "bad index";
        case CheckIssueKind::corruption: break;
    }
    return "corruption";
}

std::string nullable(const std::optional<std::string_view>& text) {
    return text ? escape_text(*text) : std::string("null");
}

void append_records(const BatchInfo& batch, std::string& out) {
    for (const auto& record : batch.records) {
        std::string headers;
        for (const auto& header : record.headers()) {
            headers += fmt::format("{}{}={}", headers.empty() ? "" : ",", escape_text(header.key),
                                   header.value ? escape_text(*header.value) : "null");
        }
        out += fmt::format("| offset: {} timestamp: {} key: {} value: {} headers: {}\n",
                           record.offset().value(), record.timestamp(), nullable(record.key()),
                           nullable(record.value()), headers);
    }
    if (!batch.error.is_ok())
        out += fmt::format("| records unreadable: {}\n", batch.error.message());
}

}  // namespace

Outcome run_dump(const Context&, const Args& args) {
    if (args.positional().size() != 1) {
        return UsageError{"give one .log segment file or partition directory"};
    }
    LogDumpOptions options;
    options.records = args.has("records");
    auto dumps = dump_log(args.positional()[0], options);
    if (!dumps.is_ok()) return fail(dumps.status());
    for (const auto& segment : *dumps) {
        std::string out = fmt::format("Dumping {} ({} bytes)\n", segment.path, segment.size_bytes);
        for (const auto& batch : segment.batches) {
            out += fmt::format(
                "baseOffset: {} lastOffset: {} count: {} position: {} size: {} firstTimestamp: {} "
                "maxTimestamp: {} timestampType: {} codec: {} checksum: {}\n",
                batch.base_offset.value(), batch.last_offset.value(), batch.record_count,
                batch.position, batch.size_bytes, batch.first_timestamp, batch.max_timestamp,
                batch.timestamp_type == TimestampType::log_append_time ? "LogAppendTime"
                                                                       : "CreateTime",
                batch.codec, batch.checksum_ok ? "ok" : "BAD");
            append_records(batch, out);
        }
        if (segment.unreadable_bytes > 0) {
            out += fmt::format(
                "unreadable: {} bytes at position {}: {}\n", segment.unreadable_bytes,
                segment.size_bytes - segment.unreadable_bytes, segment.unreadable_reason);
        }
        if (!write_stdout(out)) break;
    }
    return kExitOk;
}

Outcome run_check(const Context& ctx, const Args& args) {
    if (!args.positional().empty()) return UsageError{"check takes no arguments"};
    ProgressLine progress(true);
    CheckOptions options;
    options.repair = args.has("repair");
    options.progress = [&progress](std::size_t done, std::size_t total) {
        progress.update(fmt::format("checked {} of {} partitions", done, total));
    };
    auto report = check_store(*ctx.dir, options);
    progress.finish();
    if (!report.is_ok()) return fail(report.status());
    std::string out = fmt::format(
        "checked {} topics, {} partitions, {} segments, {} batches, {} bytes\n", report->topics,
        report->partitions, report->segments, report->batches, report->bytes);
    std::size_t left = 0;
    for (const auto& issue : report->issues) {
        out += fmt::format("{}: {}/{} {} at position {}: {}{}\n", kind_name(issue.kind),
                           issue.topic, issue.partition.value(), issue.path, issue.position,
                           issue.message, issue.repaired ? " (repaired)" : "");
        if (!issue.repaired) ++left;
    }
    if (report->issues.empty()) {
        out += "ok: no problems found\n";
    } else if (left == 0) {
        out += fmt::format("ok: repaired {} problems\n", report->issues.size());
    } else {
        const bool corrupt =
            std::any_of(report->issues.begin(), report->issues.end(), [](const CheckIssue& i) {
                return !i.repaired && i.kind == CheckIssueKind::corruption;
            });
        out += fmt::format("damaged: {} problems left; {}\n", left,
                           corrupt ? "corruption inside a log is never repaired by dropping data: "
                                     "restore the partition from a backup, or read around it "
                                     "with 'brook dump'"
                                   : "run 'brook check --repair' (with no writer running) to cut "
                                     "off torn tails and rebuild indexes");
    }
    write_stdout(out);
    return report->healthy() ? kExitOk : kExitCorrupt;
}

}  // namespace brook::cli
