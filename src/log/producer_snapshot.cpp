#include "log/producer_snapshot.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::log {
namespace {

using util::load_le;
using util::store_le;

template <typename T>
void put(std::vector<std::byte>& out, T value) {
    const std::size_t at = out.size();
    out.resize(at + sizeof(T));
    store_le<T>(out.data() + at, value);
}

}  // namespace

std::vector<std::byte> encode_snapshot(Offset at, const ProducerMap& producers) {
    std::vector<std::byte> out;
    put<std::uint32_t>(out, format::kSnapshotMagic);
    put<std::uint16_t>(out, format::kSnapshotVersion);
    put<std::uint16_t>(out, 0);
    put<std::int64_t>(out, at.value());
    put<std::uint32_t>(out, static_cast<std::uint32_t>(producers.size()));
    for (const auto& [pid, entry] : producers) {
        put<std::int64_t>(out, pid);
        put<std::int16_t>(out, entry.epoch);
        put<std::int64_t>(out, entry.last_timestamp);
        put<std::int64_t>(out, entry.transaction_first_offset.value_or(Offset(-1)).value());
        put<std::uint8_t>(out, static_cast<std::uint8_t>(entry.batches.size()));
        for (const BatchMetadata& batch : entry.batches) {
            put<std::int32_t>(out, batch.first_sequence);
            put<std::int32_t>(out, batch.last_sequence);
            put<std::int64_t>(out, batch.first_offset.value());
            put<std::int64_t>(out, batch.last_offset.value());
        }
    }
    put<std::uint64_t>(out, util::xxh3_64(out));
    return out;
}

Result<ProducerMap> decode_snapshot(std::span<const std::byte> bytes, Offset at,
                                    const std::string& name) {
    const auto bad = [&](std::string_view why) {
        return Status::corruption(fmt::format("the producer-state snapshot {} {}", name, why));
    };
    if (bytes.size() < format::kSnapshotHeaderSize + 8) return bad("is too short");
    const std::size_t body = bytes.size() - 8;
    if (load_le<std::uint64_t>(bytes.data() + body) != util::xxh3_64(bytes.first(body))) {
        return bad("fails its checksum");
    }
    if (load_le<std::uint32_t>(bytes.data()) != format::kSnapshotMagic ||
        load_le<std::uint16_t>(bytes.data() + 4) != format::kSnapshotVersion) {
        return bad("has an unknown magic or version");
    }
    if (load_le<std::int64_t>(bytes.data() + 8) != at.value()) {
        return bad("holds another offset than its name");
    }
    const std::uint32_t count = load_le<std::uint32_t>(bytes.data() + 16);
    if (count > (body - format::kSnapshotHeaderSize) / format::kSnapshotProducerSize) {
        return bad(fmt::format("claims {} producers, more than its size allows", count));
    }
    ProducerMap producers;
    std::size_t pos = format::kSnapshotHeaderSize;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (body - pos < format::kSnapshotProducerSize) return bad("ends inside a producer");
        const std::byte* p = bytes.data() + pos;
        ProducerEntry entry;
        entry.producer_id = load_le<std::int64_t>(p);
        entry.epoch = load_le<std::int16_t>(p + 8);
        entry.last_timestamp = load_le<std::int64_t>(p + 10);
        const std::int64_t txn_first = load_le<std::int64_t>(p + 18);
        const std::uint8_t batches = load_le<std::uint8_t>(p + 26);
        pos += format::kSnapshotProducerSize;
        if (entry.producer_id < 0 || entry.epoch < 0 || txn_first < -1 || txn_first >= at.value()) {
            return bad(fmt::format("holds an impossible producer {}", entry.producer_id));
        }
        if (batches > format::kProducerBatchesKept ||
            body - pos < std::size_t{batches} * format::kSnapshotBatchSize) {
            return bad(fmt::format("holds a bad batch count for producer {}", entry.producer_id));
        }
        if (txn_first >= 0) entry.transaction_first_offset = Offset(txn_first);
        for (std::uint8_t b = 0; b < batches; ++b, pos += format::kSnapshotBatchSize) {
            const std::byte* q = bytes.data() + pos;
            entry.batches.push_back({load_le<std::int32_t>(q), load_le<std::int32_t>(q + 4),
                                     Offset(load_le<std::int64_t>(q + 8)),
                                     Offset(load_le<std::int64_t>(q + 16))});
        }
        if (!producers.emplace(entry.producer_id, entry).second) {
            return bad(fmt::format("lists producer {} twice", entry.producer_id));
        }
    }
    if (pos != body) return bad("has bytes after its last producer");
    return producers;
}

Status write_snapshot(fs::FileSystem& fs, const std::string& dir, Offset at,
                      const ProducerMap& producers) {
    return replace_file(fs, dir, Segment::file_name(at, format::kSnapshotSuffix),
                        encode_snapshot(at, producers));
}

Result<ProducerMap> read_snapshot(fs::FileSystem& fs, const std::string& dir, Offset at) {
    const std::string name = Segment::file_name(at, format::kSnapshotSuffix);
    BROOK_ASSIGN_OR_RETURN(auto file, fs.open(fs::join_path(dir, name), fs::OpenMode::read_only));
    BROOK_ASSIGN_OR_RETURN(const std::uint64_t size, file->size());
    if (size > format::kMaxSnapshotBytes) {
        return Status::corruption(
            fmt::format("the producer-state snapshot {} is {} bytes, above the limit of {}", name,
                        size, format::kMaxSnapshotBytes));
    }
    std::vector<std::byte> bytes(static_cast<std::size_t>(size));
    BROOK_ASSIGN_OR_RETURN(const std::size_t got, file->read_at(0, bytes));
    if (got != bytes.size()) {
        return Status::corruption(fmt::format("the producer-state snapshot {} ends early", name));
    }
    return decode_snapshot(bytes, at, name);
}

std::vector<Offset> snapshot_offsets(const std::vector<std::string>& names) {
    std::vector<Offset> out;
    for (const auto& name : names) {
        if (auto at = Segment::parse_file_name(name, format::kSnapshotSuffix)) out.push_back(*at);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace brook::log
