#include "log/raw_batches.hpp"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace brook::log {

void* allocate_read_memory(std::size_t bytes) noexcept {
    void* memory = std::malloc(bytes);
#ifdef MADV_POPULATE_WRITE
    if (memory != nullptr) {
        // The whole pages inside the allocation: the ones at its ends may hold other data.
        constexpr std::uintptr_t kPage = 4096;
        const auto start = reinterpret_cast<std::uintptr_t>(memory);
        const std::uintptr_t first = (start + kPage - 1) & ~(kPage - 1);
        const std::uintptr_t last = (start + bytes) & ~(kPage - 1);
        if (last > first) {
            ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
        }
    }
#endif
    return memory;
}

void free_read_memory(void* memory) noexcept {
    std::free(memory);
}

Status segment_corruption(const std::string& file, std::uint64_t position, const Status& cause) {
    return Status::corruption(fmt::format(
        "{} at byte {}: {}. The segment was left untouched; restore the partition from a copy, "
        "or move this segment and the ones after it aside to discard their data",
        file, position, cause.message()));
}

Result<std::vector<DecodedBatch>> decode_raw(const RawBatches& raw, Offset from) {
    std::vector<DecodedBatch> batches;
    batches.reserve(raw.headers.size());
    std::size_t pos = 0;
    for (const BatchHeader& header : raw.headers) {
        auto decoded = decode_batch(raw.batches().subspan(pos, header.total_size()));
        if (!decoded.is_ok())
            return segment_corruption(raw.file, raw.position + pos, decoded.status());
        auto& records = decoded->records;
        records.erase(records.begin(),
                      std::find_if(records.begin(), records.end(),
                                   [from](const Record& r) { return r.offset >= from; }));
        batches.push_back(std::move(*decoded));
        pos += header.total_size();
    }
    return batches;
}

Status decode_raw_views(const RawBatches& raw, Offset from,
                        std::vector<std::vector<std::byte>>& decompressed,
                        std::vector<RecordView>& records, std::vector<HeaderView>& headers) {
    // Room for every record up front, so that the views are not moved batch after batch.
    std::size_t count = records.size();
    for (std::size_t i = 0; i < raw.headers.size(); ++i) {
        if (i >= raw.hidden.size() || !raw.hidden[i]) count += raw.headers[i].record_count;
    }
    records.reserve(count);
    std::size_t pos = 0;
    for (std::size_t i = 0; i < raw.headers.size(); ++i) {
        const BatchHeader& header = raw.headers[i];
        if (i < raw.hidden.size() && raw.hidden[i]) {
            pos += header.total_size();
            continue;
        }
        const std::size_t first = records.size();
        if (header.compression() != Compression::none) decompressed.emplace_back();
        std::vector<std::byte> unused;
        auto decoded = decode_batch_views(
            raw.batches().subspan(pos, header.total_size()),
            header.compression() == Compression::none ? unused : decompressed.back(), records,
            headers);
        if (!decoded.is_ok())
            return segment_corruption(raw.file, raw.position + pos, decoded.status());
        if (header.base_offset < from) {
            const auto begin = records.begin() + static_cast<std::ptrdiff_t>(first);
            records.erase(begin, std::find_if(begin, records.end(), [from](const RecordView& r) {
                              return r.offset >= from;
                          }));
        }
        pos += header.total_size();
    }
    return Status::ok();
}

}  // namespace brook::log
