// File helpers for tests that damage or snapshot a partition directory through the
// FileSystem interface, so they work on the POSIX and in-memory file systems alike.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fs/file_system.hpp"

namespace brook::testing {

inline std::vector<std::byte> read_file(fs::FileSystem& fs, const std::string& path) {
    auto file = fs.open(path, fs::OpenMode::read_only);
    REQUIRE_MESSAGE(file.is_ok(), file.status().to_string());
    auto size = (*file)->size();
    REQUIRE(size.is_ok());
    std::vector<std::byte> bytes(*size);
    auto got = (*file)->read_at(0, bytes);
    REQUIRE(got.is_ok());
    REQUIRE(*got == bytes.size());
    return bytes;
}

inline void write_file(fs::FileSystem& fs, const std::string& path,
                       const std::vector<std::byte>& bytes) {
    auto file = fs.open(path, fs::OpenMode::create_or_open);
    REQUIRE(file.is_ok());
    REQUIRE((*file)->truncate(0).is_ok());
    REQUIRE((*file)->append(bytes).is_ok());
}

// Copies every file of `from` into `to` as it is now: the image a crash would leave if the
// operating system had written everything out.
inline void copy_dir(fs::FileSystem& fs, const std::string& from, const std::string& to) {
    REQUIRE(fs.create_dirs(to).is_ok());
    auto names = fs.list_dir(from);
    REQUIRE(names.is_ok());
    for (const auto& name : *names) {
        write_file(fs, fs::join_path(to, name), read_file(fs, fs::join_path(from, name)));
    }
}

inline void flip_byte(fs::FileSystem& fs, const std::string& path, std::uint64_t position) {
    auto bytes = read_file(fs, path);
    REQUIRE(position < bytes.size());
    bytes[position] ^= std::byte{0x5a};
    write_file(fs, path, bytes);
}

inline void truncate_file(fs::FileSystem& fs, const std::string& path, std::uint64_t size) {
    auto file = fs.open(path, fs::OpenMode::read_write);
    REQUIRE(file.is_ok());
    REQUIRE((*file)->truncate(size).is_ok());
}

inline std::vector<std::string> sorted_names(fs::FileSystem& fs, const std::string& dir) {
    auto names = fs.list_dir(dir);
    REQUIRE(names.is_ok());
    std::sort(names->begin(), names->end());
    return *names;
}

}  // namespace brook::testing
