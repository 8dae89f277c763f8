#include "meta/lmdb_file_check.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "meta/format.hpp"
#include "util/endian.hpp"

namespace brook::meta {
namespace {

// LMDB 0.9's layout (lmdb/mdb.c, MDB_page and MDB_meta), not brook's: a 16-byte page header,
// then the meta: u32 magic, u32 version, 8-byte address, u64 map size, two 48-byte MDB_db
// records (the first one's leading u32 is the page size), u64 last page, u64 transaction id.
constexpr std::size_t kPageHeader = 16;
constexpr std::size_t kMagicPos = kPageHeader + 0;
constexpr std::size_t kPageSizePos = kPageHeader + 24;
constexpr std::size_t kLastPagePos = kPageHeader + 120;
constexpr std::size_t kTxnIdPos = kPageHeader + 128;
constexpr std::size_t kMetaEnd = kTxnIdPos + 8;
constexpr std::uint32_t kMagic = 0xBEEFC0DE;
constexpr std::uint32_t kMinPageSize = 512;
constexpr std::uint32_t kMaxPageSize = 1u << 16;

struct Meta {
    std::uint64_t last_page;
    std::uint64_t txn_id;
    std::uint32_t page_size;
};

std::optional<Meta> parse_meta(const std::vector<char>& page) {
    if (page.size() < kMetaEnd) return std::nullopt;
    const auto* bytes = reinterpret_cast<const std::byte*>(page.data());
    if (util::load_le<std::uint32_t>(bytes + kMagicPos) != kMagic) return std::nullopt;
    const Meta meta{util::load_le<std::uint64_t>(bytes + kLastPagePos),
                    util::load_le<std::uint64_t>(bytes + kTxnIdPos),
                    util::load_le<std::uint32_t>(bytes + kPageSizePos)};
    if (meta.page_size < kMinPageSize || meta.page_size > kMaxPageSize) return std::nullopt;
    if ((meta.page_size & (meta.page_size - 1)) != 0) return std::nullopt;
    return meta;
}

}  // namespace

Status check_lmdb_file_length(const std::string& data_path) {
    std::ifstream in(data_path, std::ios::binary);
    if (!in) {
        return Status::io_error(fmt::format("open {}: {}", data_path, std::strerror(errno)));
    }
    auto read_page = [&](std::uint64_t at) {
        std::vector<char> page(kMetaEnd);
        in.clear();
        in.seekg(static_cast<std::streamoff>(at));
        in.read(page.data(), static_cast<std::streamsize>(page.size()));
        return in ? page : std::vector<char>();
    };
    const auto first = parse_meta(read_page(0));
    // The second meta page starts one page in; its size comes from the first, or is guessed.
    const std::uint64_t second_at = first ? first->page_size : 4096;
    const auto second = parse_meta(read_page(second_at));
    std::optional<Meta> newest = first;
    if (second && (!newest || second->txn_id > newest->txn_id)) newest = second;
    if (!newest) return Status::ok();
    // The length is taken after the meta pages. A writer in another process appends a
    // commit's pages before it points a meta page at them, and never shortens the file, so a
    // length read afterwards covers every meta page read before, however the two interleave.
    in.clear();
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    if (end < 0) {
        return Status::io_error(
            fmt::format("find the length of {}: {}", data_path, std::strerror(errno)));
    }
    // Counted in pages: a damaged last page number, however large, cannot overflow.
    const std::uint64_t pages = static_cast<std::uint64_t>(end) / newest->page_size;
    if (newest->last_page >= pages) {
        return Status::corruption(fmt::format(
            "metadata file {} holds {} pages of {} bytes, but its newest meta page uses page {}: "
            "it was cut short. Restore it from a backup",
            data_path, pages, newest->page_size, newest->last_page));
    }
    return Status::ok();
}

Status check_lmdb_not_symbolic_links(const std::string& dir) {
    namespace stdfs = std::filesystem;
    for (const stdfs::path& path : {stdfs::path(dir), stdfs::path(dir) / format::kDataFile,
                                    stdfs::path(dir) / format::kLockFile}) {
        std::error_code ec;
        const stdfs::file_status status = stdfs::symlink_status(path, ec);
        if (ec && ec != std::errc::no_such_file_or_directory) {
            return Status::io_error(fmt::format("lstat {}: {}", path.string(), ec.message()));
        }
        if (status.type() == stdfs::file_type::symlink) {
            return Status::corruption(fmt::format(
                "metadata {} is a symbolic link: brook refuses links inside a store, which could "
                "point outside it; replace the link with the file or directory it points to",
                path.string()));
        }
    }
    return Status::ok();
}

}  // namespace brook::meta
