// Helpers shared by the FileSystem tests: text as bytes, and opening a file that must open.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <span>
#include <string>

#include "fs/file_system.hpp"

namespace brook::testing {

inline std::span<const std::byte> bytes_of(const std::string& text) {
    return std::as_bytes(std::span(text));
}

inline std::unique_ptr<fs::File> open_ok(fs::FileSystem& fs, const std::string& path,
                                         fs::OpenMode mode) {
    auto file = fs.open(path, mode);
    REQUIRE_MESSAGE(file.is_ok(), file.status().to_string());
    return std::move(file).value();
}

}  // namespace brook::testing
