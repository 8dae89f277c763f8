// Per-test file system environments, so the same test body runs on the POSIX and in-memory
// file systems. Each environment gets its own fresh root directory, removed afterwards.
//
// Use with doctest's TEST_CASE_TEMPLATE("...", Env, PosixEnv, MemoryEnv) and then
//   Env env;  env.fs() ... env.root() ...
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "fs/file_system.hpp"

namespace brook::testing {

// A fresh directory under $TMPDIR (or /tmp) on the real disk, on the POSIX file system with
// read mappings, so that the log's tests read segments in place where they ask to.
class PosixEnv {
  public:
    PosixEnv() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/brook-test-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        root_ = pattern;
    }
    ~PosixEnv() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    PosixEnv(const PosixEnv&) = delete;
    PosixEnv& operator=(const PosixEnv&) = delete;

    fs::FileSystem& fs() { return fs::posix_file_system(true); }
    const std::string& root() const { return root_; }
    static constexpr const char* name = "posix";

  private:
    std::string root_;
};

// A fresh in-memory file system with a root directory "/mem".
class MemoryEnv {
  public:
    MemoryEnv() : fs_(fs::new_memory_file_system()) {
        if (!fs_->create_dirs(root_).is_ok()) throw std::runtime_error("create_dirs failed");
    }

    fs::FileSystem& fs() { return *fs_; }
    const std::string& root() const { return root_; }
    static constexpr const char* name = "memory";

  private:
    std::shared_ptr<fs::FileSystem> fs_;
    std::string root_ = "/mem";
};

}  // namespace brook::testing
