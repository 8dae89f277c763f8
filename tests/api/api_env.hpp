// Store fixtures for public-API tests: the same test body runs against an on-disk store in a
// fresh temporary directory and against an in-memory store. Only <brook/brook.hpp> is used.
#pragma once

#include <brook/brook.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace brook_test {

class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/brook-api-XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

struct DiskStore {
    static constexpr bool on_disk = true;
    TempDir dir;
    std::string path = dir.path() + "/store";

    std::unique_ptr<brook::Store> open(brook::Options options = {}) {
        auto store = brook::Store::open(path, std::move(options));
        REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
        return std::move(store).value();
    }
};

struct MemoryStore {
    static constexpr bool on_disk = false;

    std::unique_ptr<brook::Store> open(brook::Options options = {}) {
        auto store = brook::Store::open_in_memory(std::move(options));
        REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
        return std::move(store).value();
    }
};

}  // namespace brook_test
