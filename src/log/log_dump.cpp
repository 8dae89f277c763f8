// dump_log: reads segment files batch by batch for inspection (kafka-dump-log.sh).
//
// Unlike recovery it does not stop at a bad checksum: a batch whose header is sound is
// reported, with checksum BAD, and the dump goes on after it. It stops only where no batch
// header can be read, and reports the bytes left as unreadable.
#include <fmt/format.h>

#include <algorithm>
#include <brook/inspect.hpp>

#include "fs/file_system.hpp"
#include "log/format.hpp"
#include "log/record_batch.hpp"
#include "log/segment.hpp"

namespace brook {
namespace {

std::string codec_name(std::uint16_t attributes) {
    switch (attributes & log::format::kCompressionMask) {
        case log::format::kCodecNone: return "none";
        case log::format::kCodecZstd: return "zstd";
        default: return fmt::format("unknown({})", attributes & log::format::kCompressionMask);
    }
}

std::vector<Message> to_messages(log::DecodedBatch&& batch) {
    const auto type = batch.header.timestamp_type() == log::TimestampType::log_append_time
                          ? TimestampType::log_append_time
                          : TimestampType::create_time;
    std::vector<Message> messages;
    messages.reserve(batch.records.size());
    for (auto& record : batch.records) {
        Headers headers;
        for (auto& header : record.headers) {
            headers.push_back(Header{std::move(header.key), std::move(header.value)});
        }
        messages.emplace_back(std::string(), PartitionId(0), record.offset, std::move(record.key),
                              std::move(record.value), std::move(headers), record.timestamp, type);
    }
    return messages;
}

Result<SegmentDump> dump_segment(fs::FileSystem& files, const std::string& path, Offset base,
                                 const LogDumpOptions& options) {
    BROOK_ASSIGN_OR_RETURN(const auto file, files.open(path, fs::OpenMode::read_only));
    SegmentDump dump;
    dump.path = path;
    dump.base_offset = base;
    BROOK_ASSIGN_OR_RETURN(dump.size_bytes, file->size());
    std::vector<std::byte> buffer;
    std::uint64_t position = 0;
    while (position < dump.size_bytes) {
        const std::uint64_t left = dump.size_bytes - position;
        if (left < log::format::kBatchHeaderSize) {
            dump.unreadable_reason = "too few bytes for a batch header";
            break;
        }
        buffer.resize(log::format::kBatchHeaderSize);
        BROOK_ASSIGN_OR_RETURN(std::size_t got, file->read_at(position, buffer));
        if (got != buffer.size()) break;
        auto header = log::parse_batch_header(buffer);
        if (!header.is_ok()) {
            dump.unreadable_reason = header.status().message();
            break;
        }
        if (header->total_size() > left) {
            dump.unreadable_reason = fmt::format(
                "a batch of {} bytes runs past the end of the file", header->total_size());
            break;
        }
        buffer.resize(header->total_size());
        BROOK_ASSIGN_OR_RETURN(got, file->read_at(position, buffer));
        if (got != buffer.size()) break;
        BatchInfo info;
        info.position = position;
        info.base_offset = header->base_offset;
        info.last_offset = header->last_offset();
        info.record_count = header->record_count;
        info.size_bytes = header->total_size();
        info.first_timestamp = header->first_timestamp;
        info.max_timestamp = header->max_timestamp;
        info.timestamp_type = header->timestamp_type() == log::TimestampType::log_append_time
                                  ? TimestampType::log_append_time
                                  : TimestampType::create_time;
        info.codec = codec_name(header->attributes);
        info.checksum_ok = log::checksum_matches(buffer);
        if (options.records && info.checksum_ok) {
            auto decoded = log::decode_batch(buffer);
            if (decoded.is_ok()) {
                info.records = to_messages(std::move(decoded).value());
            } else {
                info.error = decoded.status();
            }
        }
        dump.batches.push_back(std::move(info));
        position += header->total_size();
    }
    dump.unreadable_bytes = dump.size_bytes - position;
    return dump;
}

}  // namespace

Result<std::vector<SegmentDump>> dump_log(const std::string& path, const LogDumpOptions& options) {
    fs::FileSystem& files = fs::posix_file_system();
    if (!files.exists(path)) return Status::not_found(fmt::format("no file or directory {}", path));
    std::vector<std::pair<Offset, std::string>> segments;
    auto names = files.list_dir(path);
    if (names.is_ok()) {
        for (const auto& name : *names) {
            if (auto base = log::Segment::parse_file_name(name, log::format::kLogSuffix)) {
                segments.emplace_back(*base, fs::join_path(path, name));
            }
        }
        if (segments.empty()) {
            return Status::not_found(fmt::format(
                "{} holds no segment (.log) files; give a partition directory or a .log file",
                path));
        }
        std::sort(segments.begin(), segments.end());
    } else {
        const auto slash = path.find_last_of('/');
        const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        const auto base = log::Segment::parse_file_name(name, log::format::kLogSuffix);
        if (!base) {
            return Status::invalid_argument(fmt::format(
                "{} is not a segment file: segment files are named <20-digit base offset>.log",
                path));
        }
        segments.emplace_back(*base, path);
    }
    std::vector<SegmentDump> dumps;
    for (const auto& [base, file] : segments) {
        BROOK_ASSIGN_OR_RETURN(auto dump, dump_segment(files, file, base, options));
        dumps.push_back(std::move(dump));
    }
    return dumps;
}

}  // namespace brook
