// Fuzz target: loading a sealed offset index and a sealed time index (log/offset_index.hpp,
// log/time_index.hpp) from arbitrary file contents on an in-memory file system. A load must
// fail with an error or return an index whose entries are strictly increasing and whose
// lookups stay inside it.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "fs/file_system.hpp"
#include "fuzz/fuzz_check.hpp"
#include "log/offset_index.hpp"
#include "log/time_index.hpp"

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

}  // namespace

// The first byte chooses the index kind; the rest is the file.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
    auto fs = fs::new_memory_file_system();
    FUZZ_CHECK(fs->create_dirs("/p").is_ok());
    if (data[0] % 2 == 0) {
        load_offset_index(*fs, bytes);
    } else {
        load_time_index(*fs, bytes);
    }
    return 0;
}
