// FileSystem::map_read_only on the POSIX and in-memory file systems: the mapping shows the
// file's bytes, stays valid after the file is closed, removed or replaced, and refuses more
// than the file holds. POSIX maps a growing file, also past its end (appends within the
// mapping show through); the in-memory file system refuses that and refuses to resize a file
// while it is mapped.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "fs/file_system.hpp"
#include "fs_test_util.hpp"
#include "support/test_env.hpp"

namespace {

using brook::Code;
using brook::fs::File;
using brook::fs::OpenMode;
using brook::testing::bytes_of;
using brook::testing::MemoryEnv;
using brook::testing::open_ok;
using brook::testing::PosixEnv;

std::string text_of(const brook::fs::ReadMapping& mapping) {
    return std::string(reinterpret_cast<const char*>(mapping.data()), mapping.size());
}

}  // namespace

TEST_CASE_TEMPLATE("a read mapping shows the file and outlives it", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    const std::string path = env.root() + "/a.log";
    auto file = open_ok(fs, path, OpenMode::create_or_open);
    REQUIRE(file->append(bytes_of("hello mapped world")).is_ok());

    CHECK(fs.map_read_only(*file, 0, false).code() == Code::invalid_argument);
    CHECK(fs.map_read_only(*file, 19, false).code() == Code::invalid_argument);
    auto whole = fs.map_read_only(*file, 18, false);
    REQUIRE_MESSAGE(whole.is_ok(), whole.status().to_string());
    auto part = fs.map_read_only(*file, 5, false);
    REQUIRE(part.is_ok());
    CHECK(text_of(**whole) == "hello mapped world");
    CHECK(text_of(**part) == "hello");

    // A write in place shows through; closing, removing and replacing the file does not
    // change what the mapping holds.
    REQUIRE(file->write_at(0, bytes_of("HELLO")).is_ok());
    CHECK(text_of(**whole) == "HELLO mapped world");
    file.reset();
    auto other = open_ok(fs, env.root() + "/b.log", OpenMode::create_or_open);
    REQUIRE(other->append(bytes_of("replacement")).is_ok());
    REQUIRE(fs.rename(env.root() + "/b.log", path).is_ok());
    CHECK(text_of(**whole) == "HELLO mapped world");
    REQUIRE(fs.remove_file(path).is_ok());
    CHECK(text_of(**whole) == "HELLO mapped world");
    CHECK(text_of(**part) == "HELLO");
}

TEST_CASE("a POSIX read mapping of a growing file shows later appends within it") {
    PosixEnv env;
    auto& fs = env.fs();
    auto file = open_ok(fs, env.root() + "/a.log", OpenMode::create_or_open);
    REQUIRE(file->append(bytes_of("first")).is_ok());
    auto mapping = fs.map_read_only(*file, 5, true);
    REQUIRE(mapping.is_ok());
    REQUIRE(file->append(bytes_of(" second")).is_ok());
    CHECK(text_of(**mapping) == "first");
    auto longer = fs.map_read_only(*file, 12, true);
    REQUIRE(longer.is_ok());
    CHECK(text_of(**longer) == "first second");
    CHECK(text_of(**mapping) == "first");

    // Mapped past the file's end, for appends to come: they show through as they are written
    // (only what the file holds may be read).
    auto ahead = fs.map_read_only(*file, 4096 * 3, true);
    REQUIRE_MESSAGE(ahead.is_ok(), ahead.status().to_string());
    CHECK((*ahead)->size() == 4096 * 3);
    const std::string more(5000, 'x');
    REQUIRE(file->append(bytes_of(more)).is_ok());
    CHECK(std::string(reinterpret_cast<const char*>((*ahead)->data()), 12 + more.size()) ==
          "first second" + more);
    CHECK(fs.map_read_only(*file, 4096 * 3, false).code() == Code::invalid_argument);
}

TEST_CASE("the memory file system maps no growing file and keeps a mapped file's size") {
    MemoryEnv env;
    auto& fs = env.fs();
    auto file = open_ok(fs, "/mem/a.log", OpenMode::create_or_open);
    REQUIRE(file->append(bytes_of("sealed bytes")).is_ok());
    CHECK(fs.map_read_only(*file, 6, true).code() == Code::not_supported);

    auto mapping = fs.map_read_only(*file, 6, false);
    REQUIRE(mapping.is_ok());
    // Its buffer is handed out, so it must not move or shrink.
    CHECK(file->append(bytes_of("x")).code() == Code::io_error);
    CHECK(file->truncate(3).code() == Code::io_error);
    CHECK(text_of(**mapping) == "sealed");
    mapping->reset();
    CHECK(file->append(bytes_of("x")).is_ok());
    CHECK(*file->size() == 13);
}

TEST_CASE("a POSIX file system without read mappings refuses them, so reads use pread") {
    PosixEnv env;
    auto& fs = brook::fs::posix_file_system(false);
    auto file = open_ok(fs, env.root() + "/a.log", OpenMode::create_or_open);
    REQUIRE(file->append(bytes_of("segment bytes")).is_ok());
    const auto mapping = fs.map_read_only(*file, 7, false);
    CHECK(mapping.code() == Code::not_supported);
    CHECK(mapping.status().message().find("turned off") != std::string::npos);
    CHECK(brook::fs::posix_file_system(true).map_read_only(*file, 7, false).is_ok());
}
