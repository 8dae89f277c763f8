// Fuzz target: loading a sealed offset index and a sealed time index (log/offset_index.hpp,
// log/time_index.hpp) from arbitrary file contents on an in-memory file system. A load must
// fail with an error or return an index whose entries are strictly increasing and whose
// lookups stay inside it. When bit 1 of the first byte is set, the entry count and checksum in
// the header are made to match the file, so that mutations reach the checks behind them.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "fs/file_system.hpp"
#include "fuzz/fuzz_check.hpp"
#include "log/format.hpp"
#include "log/offset_index.hpp"
#include "log/time_index.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

using namespace brook;

namespace {

void write_file(fs::FileSystem& fs, const std::string& path, std::span<const std::byte> bytes) {
    auto file = fs.open(path, fs::OpenMode::create_exclusive);
    FUZZ_CHECK(file.is_ok());
    if (!bytes.empty()) FUZZ_CHECK((*file)->append(bytes).is_ok());
}

void load_offset_index(fs::FileSystem& fs, std::span<const std::byte> bytes) {
    const std::string path = "/p/00000000000000000000.index";
    write_file(fs, path, bytes);
    auto index = log::OffsetIndex::open_sealed(fs, path, Offset(0));
    if (!index.is_ok()) return;
    const log::OffsetIndex& loaded = **index;
    for (std::size_t i = 1; i < loaded.entry_count(); ++i) {
        FUZZ_CHECK(loaded.entry(i - 1).offset < loaded.entry(i).offset);
        FUZZ_CHECK(loaded.entry(i - 1).position < loaded.entry(i).position);
    }
    if (auto last = loaded.last_entry()) {
        FUZZ_CHECK(loaded.lookup(last->offset) == *last);
        FUZZ_CHECK(loaded.lookup(Offset(0)).offset >= Offset(0));
    }
}

void load_time_index(fs::FileSystem& fs, std::span<const std::byte> bytes) {
    const std::string path = "/p/00000000000000000000.timeindex";
    write_file(fs, path, bytes);
    auto index = log::TimeIndex::open_sealed(fs, path, Offset(0));
    if (!index.is_ok()) return;
    const log::TimeIndex& loaded = **index;
    for (std::size_t i = 1; i < loaded.entry_count(); ++i) {
        FUZZ_CHECK(loaded.entry(i - 1).timestamp < loaded.entry(i).timestamp);
        FUZZ_CHECK(loaded.entry(i - 1).offset < loaded.entry(i).offset);
    }
    const auto last = loaded.last_entry();
    if (last && last->timestamp < std::numeric_limits<std::int64_t>::max()) {
        FUZZ_CHECK(loaded.last_before(last->timestamp + 1) == last);
    }
}

// Sets the header's entry count to the entries the file holds (cutting a partial entry) and
// recomputes the checksum as IndexFile::seal does (log/format.hpp, "Index header").
std::vector<std::byte> fix_header(std::span<const std::byte> bytes, std::size_t entry_size) {
    std::vector<std::byte> fixed(bytes.begin(), bytes.end());
    const std::size_t header = log::format::kIndexHeaderSize;
    if (fixed.size() < header) return fixed;
    const std::size_t count = (fixed.size() - header) / entry_size;
    fixed.resize(header + count * entry_size);
    util::store_le<std::uint32_t>(fixed.data() + 16, static_cast<std::uint32_t>(count));
    std::uint64_t checksum =
        util::xxh3_64(std::span<const std::byte>(fixed).subspan(header, count * entry_size));
    if (util::load_le<std::uint32_t>(fixed.data() + 20) != 0) {
        checksum ^= util::xxh3_64(std::span<const std::byte>(fixed).subspan(16, 8));
    }
    util::store_le<std::uint64_t>(fixed.data() + 24, checksum);
    return fixed;
}

}  // namespace

// Bit 0 of the first byte chooses the index kind, bit 1 fixes the header; the rest is the file.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
    auto fs = fs::new_memory_file_system();
    FUZZ_CHECK(fs->create_dirs("/p").is_ok());
    const bool offset_index = (data[0] & 1) == 0;
    const std::size_t entry_size =
        offset_index ? log::format::kOffsetIndexEntrySize : log::format::kTimeIndexEntrySize;
    const std::vector<std::byte> file = (data[0] & 2) != 0
                                            ? fix_header(bytes, entry_size)
                                            : std::vector<std::byte>(bytes.begin(), bytes.end());
    if (offset_index) {
        load_offset_index(*fs, file);
    } else {
        load_time_index(*fs, file);
    }
    return 0;
}
