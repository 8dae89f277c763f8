// brook produce: kafka-console-producer.sh / kcat -P. One record per stdin line.
#include <fmt/format.h>

#include <iostream>

#include "cli.hpp"

namespace brook::cli {
namespace {

struct LineFormat {
    std::optional<std::string> key_separator;
    bool null_empty = false;
};

// Splits a line into key and value as --key-separator and --null-empty say.
void fill_record(std::string&& line, const LineFormat& format, ProducerRecord& record) {
    record.key.reset();
    if (format.key_separator) {
        const auto at = line.find(*format.key_separator);
        if (at != std::string::npos) {
            record.key = line.substr(0, at);
            line.erase(0, at + format.key_separator->size());
        }
    }
    record.value = std::move(line);
    if (format.null_empty) {
        if (record.key && record.key->empty()) record.key.reset();
        if (record.value->empty()) record.value.reset();
    }
}

}  // namespace

Outcome run_produce(const Context& ctx, const Args& args) {
    if (args.positional().size() != 1) return UsageError{"give exactly one topic name"};
    const std::string& topic = args.positional()[0];
    std::optional<PartitionId> partition;
    if (auto bad = parse_partition(args, partition)) return *bad;
    LineFormat format;
    format.key_separator = args.value("key-separator");
    if (format.key_separator && format.key_separator->empty()) {
        return UsageError{"--key-separator needs a non-empty separator"};
    }
    format.null_empty = args.has("null-empty");
    Headers headers;
    for (const auto& item : args.values("header")) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0) {
            return UsageError{fmt::format("--header needs K=V, not '{}'", item)};
        }
        headers.push_back(Header{item.substr(0, eq), item.substr(eq + 1)});
    }

    auto store = open_for_writing(ctx, false);
    if (!store.is_ok()) return fail(store.status());
    // Fail before reading any input if the topic or partition is not there.
    auto description = (*store)->describe_topic(topic);
    if (!description.is_ok()) return fail(description.status(), topic);
    if (partition &&
        static_cast<std::size_t>(partition->value()) >= description->partitions.size()) {
        return fail_no_partition(*description, *partition);
    }
    Config config;
    if (args.has("sync")) config["acks"] = "all";
    auto producer = Producer::create(**store, config);
    if (!producer.is_ok()) return fail(producer.status());

    std::size_t delivered = 0;
    Status first_error;
    const DeliveryCallback on_delivery = [&](const DeliveryReport& report) {
        if (report.error.is_ok()) {
            ++delivered;
        } else if (first_error.is_ok()) {
            first_error = report.error;
        }
    };
    std::ios::sync_with_stdio(false);
    std::string line;
    while (first_error.is_ok() && std::getline(std::cin, line)) {
        ProducerRecord record;
        record.topic = topic;
        record.partition = partition;
        record.headers = headers;
        fill_record(std::move(line), format, record);
        if (Status queued = (*producer)->produce(std::move(record), on_delivery); !queued.is_ok()) {
            first_error = queued;
            break;
        }
        (*producer)->poll();
    }
    if (std::cin.bad() && first_error.is_ok()) {
        first_error =
            Status::io_error("cannot read standard input; the records read so far were sent");
    }
    if (Status flushed = (*producer)->flush(); !flushed.is_ok() && first_error.is_ok()) {
        first_error = flushed;
    }
    producer->reset();
    Status closed = (*store)->close();
    fmt::print(stderr, "produced {} records\n", delivered);
    if (!first_error.is_ok()) return fail(first_error, topic);
    if (!closed.is_ok()) return fail(closed);
    return kExitOk;
}

}  // namespace brook::cli
