// Tests for fs::SparseBuffer, the bytes of an in-memory file: random writes, growths and cuts
// must leave the same bytes as a std::vector model (bytes past a cut read as zero when the
// buffer grows again), and a large preallocation must stay unbacked until it is written.
#include "fs/sparse_buffer.hpp"

#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>
#include <vector>

namespace brook::fs {
namespace {

void check_same(const SparseBuffer& buffer, const std::vector<std::byte>& model) {
    REQUIRE(buffer.size() == model.size());
    for (std::size_t i = 0; i < model.size(); ++i) {
        if (buffer.data()[i] != model[i]) {
            FAIL_CHECK("byte ", i, " differs from the model");
            return;
        }
    }
}

// How many of the pages holding the buffer's first `size` bytes are backed by memory.
std::size_t resident_pages(const SparseBuffer& buffer, std::size_t size) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t pages = (size + page - 1) / page;
    std::vector<unsigned char> in_core(pages);
    REQUIRE(::mincore(const_cast<std::byte*>(buffer.data()), size, in_core.data()) == 0);
    std::size_t resident = 0;
    for (unsigned char flag : in_core) resident += flag & 1;
    return resident;
}

}  // namespace

TEST_CASE("writes, growths and cuts match a vector, and cut bytes come back as zero") {
    std::mt19937_64 rng(17);
    SparseBuffer buffer;
    std::vector<std::byte> model;
    for (int step = 0; step < 3000; ++step) {
        CAPTURE(step);
        const auto choice = rng() % 10;
        if (choice < 6) {
            // A write inside, across the end of, or past the end of the buffer.
            const std::size_t offset = rng() % (model.size() + 9000);
            std::vector<std::byte> bytes(rng() % 5000);
            for (auto& b : bytes) b = static_cast<std::byte>(rng() | 1);
            REQUIRE(buffer.write(offset, bytes).is_ok());
            if (offset + bytes.size() > model.size()) model.resize(offset + bytes.size());
            std::copy(bytes.begin(), bytes.end(),
                      model.begin() + static_cast<std::ptrdiff_t>(offset));
        } else {
            // A cut (often to the middle of a page) or a growth by up to several pages.
            const std::size_t size =
                choice < 8 ? rng() % (model.size() + 1) : model.size() + rng() % 40000;
            REQUIRE(buffer.resize(size).is_ok());
            model.resize(size);
        }
        if (step % 50 == 0) check_same(buffer, model);
    }
    check_same(buffer, model);
    REQUIRE(buffer.resize(0).is_ok());
    REQUIRE(buffer.resize(100000).is_ok());
    check_same(buffer, std::vector<std::byte>(100000));
}

TEST_CASE("a preallocated index costs memory only where it is written") {
    constexpr std::size_t kIndexBytes = 10 * 1024 * 1024;
    SparseBuffer buffer;
    REQUIRE(buffer.resize(kIndexBytes).is_ok());
    const std::vector<std::byte> header(64, std::byte{0x5a});
    REQUIRE(buffer.write(0, header).is_ok());
    REQUIRE(buffer.write(kIndexBytes / 2, header).is_ok());
    CHECK(resident_pages(buffer, kIndexBytes) <= 2);
    CHECK(buffer.data()[kIndexBytes / 2 + 64] == std::byte{0});
    CHECK(buffer.data()[kIndexBytes / 2 + 63] == std::byte{0x5a});

    // Cutting the index down to what it holds gives the rest back.
    std::vector<std::byte> filled(kIndexBytes / 4, std::byte{1});
    REQUIRE(buffer.write(0, filled).is_ok());
    CHECK(resident_pages(buffer, kIndexBytes) >= filled.size() / 4096);
    REQUIRE(buffer.resize(4096).is_ok());
    REQUIRE(buffer.resize(kIndexBytes).is_ok());
    CHECK(resident_pages(buffer, kIndexBytes) <= 1);
}

TEST_CASE("sizes beyond what memory can hold are refused and change nothing") {
    SparseBuffer buffer;
    const std::vector<std::byte> bytes(100, std::byte{7});
    REQUIRE(buffer.write(0, bytes).is_ok());
    for (const std::size_t size : {std::size_t{1} << 50, ~std::size_t{0}, ~std::size_t{0} - 100}) {
        CAPTURE(size);
        const Status grown = buffer.resize(size);
        CHECK(grown.code() == Code::no_space);
        CHECK(grown.message().find("in-memory file") != std::string::npos);
        CHECK(buffer.write(size, bytes).code() == Code::no_space);
        check_same(buffer, bytes);
    }
}

}  // namespace brook::fs
