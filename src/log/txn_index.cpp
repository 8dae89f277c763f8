#include "log/txn_index.hpp"

#include <algorithm>

#include "log/checkpoint.hpp"
#include "log/format.hpp"
#include "log/segment.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::log {
namespace {

// Entries read at once.
constexpr std::size_t kChunkEntries = 1024;

std::string path_of(const std::string& dir, Offset base) {
    return fs::join_path(dir, Segment::file_name(base, format::kTxnIndexSuffix));
}

}  // namespace

std::array<std::byte, 40> encode_txn_entry(const AbortedTransaction& entry) {
    static_assert(format::kTxnIndexEntrySize == 40);
    std::array<std::byte, 40> out{};
    util::store_le<std::int64_t>(out.data(), entry.producer_id);
    util::store_le<std::int64_t>(out.data() + 8, entry.first_offset.value());
    util::store_le<std::int64_t>(out.data() + 16, entry.last_offset.value());
    util::store_le<std::int64_t>(out.data() + 24, entry.last_stable_offset.value());
    util::store_le<std::uint64_t>(out.data() + 32,
                                  util::xxh3_64(std::span<const std::byte>(out.data(), 32)));
    return out;
}

Result<TxnIndexContents> read_txn_index(fs::FileSystem& fs, const std::string& dir, Offset base) {
    TxnIndexContents contents;
    auto opened = fs.open(path_of(dir, base), fs::OpenMode::read_only);
    if (opened.code() == Code::not_found) return contents;
    if (!opened.is_ok()) return opened.status();
    BROOK_ASSIGN_OR_RETURN(const std::uint64_t size, (*opened)->size());
    if (size > format::kMaxTxnIndexBytes) {
        contents.damaged = true;
        return contents;
    }
    std::vector<std::byte> chunk;
    for (std::uint64_t pos = 0; pos < size;) {
        const auto want = static_cast<std::size_t>(
            std::min<std::uint64_t>(size - pos, kChunkEntries * format::kTxnIndexEntrySize));
        chunk.resize(want);
        BROOK_ASSIGN_OR_RETURN(const std::size_t got, (*opened)->read_at(pos, chunk));
        if (got < format::kTxnIndexEntrySize) break;
        for (std::size_t at = 0; at + format::kTxnIndexEntrySize <= got;
             at += format::kTxnIndexEntrySize) {
            const std::byte* p = chunk.data() + at;
            const AbortedTransaction entry{util::load_le<std::int64_t>(p),
                                           Offset(util::load_le<std::int64_t>(p + 8)),
                                           Offset(util::load_le<std::int64_t>(p + 16)),
                                           Offset(util::load_le<std::int64_t>(p + 24))};
            if (util::load_le<std::uint64_t>(p + 32) !=
                    util::xxh3_64(std::span<const std::byte>(p, 32)) ||
                entry.producer_id < 0 || entry.first_offset > entry.last_offset ||
                entry.last_offset < base) {
                contents.damaged = true;
                return contents;
            }
            contents.entries.push_back(entry);
        }
        pos += got - got % format::kTxnIndexEntrySize;
        if (got % format::kTxnIndexEntrySize != 0) break;
    }
    contents.damaged = size % format::kTxnIndexEntrySize != 0 ||
                       contents.entries.size() * format::kTxnIndexEntrySize != size;
    return contents;
}

Status write_txn_index(fs::FileSystem& fs, const std::string& dir, Offset base,
                       const std::vector<AbortedTransaction>& entries) {
    std::vector<std::byte> bytes;
    bytes.reserve(entries.size() * format::kTxnIndexEntrySize);
    for (const auto& entry : entries) {
        const auto encoded = encode_txn_entry(entry);
        bytes.insert(bytes.end(), encoded.begin(), encoded.end());
    }
    return replace_file(fs, dir, Segment::file_name(base, format::kTxnIndexSuffix), bytes);
}

Status remove_txn_index(fs::FileSystem& fs, const std::string& dir, Offset base) {
    const Status removed = fs.remove_file(path_of(dir, base));
    return removed.code() == Code::not_found ? Status::ok() : removed;
}

}  // namespace brook::log
