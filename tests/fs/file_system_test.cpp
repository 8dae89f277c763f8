// Behaviour of the FileSystem implementations. Every templated case runs on both the POSIX and
// the in-memory file system, so the two must agree.
#include "fs/file_system.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <latch>
#include <string>
#include <thread>
#include <vector>

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

std::string read_string(const File& file, std::uint64_t offset, std::size_t length) {
    std::string out(length, '\0');
    auto read = file.read_at(offset, std::as_writable_bytes(std::span(out)));
    REQUIRE(read.is_ok());
    out.resize(*read);
    return out;
}

std::string read_all(const File& file) {
    auto size = file.size();
    REQUIRE(size.is_ok());
    return read_string(file, 0, *size);
}

std::vector<std::string> sorted(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
}

TEST_CASE_TEMPLATE("open follows the open mode", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    const std::string path = env.root() + "/a.log";

    CHECK(fs.open(path, OpenMode::read_only).code() == Code::not_found);
    CHECK(fs.open(path, OpenMode::read_write).code() == Code::not_found);
    CHECK_FALSE(fs.exists(path));

    auto created = open_ok(fs, path, OpenMode::create_exclusive);
    CHECK(fs.exists(path));
    CHECK(*created->size() == 0);
    CHECK(created->path() == path);

    auto again = fs.open(path, OpenMode::create_exclusive);
    CHECK(again.code() == Code::already_exists);
    CHECK(again.status().message().find(path) != std::string::npos);

    REQUIRE(created->append(bytes_of("abc")).is_ok());
    auto reopened = open_ok(fs, path, OpenMode::create_or_open);
    CHECK(read_all(*reopened) == "abc");
    CHECK(read_all(*open_ok(fs, path, OpenMode::read_write)) == "abc");
}

TEST_CASE_TEMPLATE("a file cannot be created in a missing directory", Env, PosixEnv, MemoryEnv) {
    Env env;
    const std::string path = env.root() + "/missing/a.log";
    CHECK(env.fs().open(path, OpenMode::create_or_open).code() == Code::not_found);
    CHECK(env.fs().open(path, OpenMode::create_exclusive).code() == Code::not_found);
    CHECK(env.fs().lock_file(path).code() == Code::not_found);
}

TEST_CASE_TEMPLATE("append and read_at round trip", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto file = open_ok(env.fs(), env.root() + "/a.log", OpenMode::create_or_open);
    REQUIRE(file->append(bytes_of("hello ")).is_ok());
    REQUIRE(file->append(bytes_of("world")).is_ok());
    REQUIRE(file->append({}).is_ok());

    CHECK(*file->size() == 11);
    CHECK(read_string(*file, 0, 11) == "hello world");
    CHECK(read_string(*file, 6, 5) == "world");
    CHECK(read_string(*file, 6, 100) == "world");
    CHECK(read_string(*file, 11, 4).empty());
    CHECK(read_string(*file, 1000, 4).empty());
    REQUIRE(file->sync().is_ok());
}

TEST_CASE_TEMPLATE("write_at overwrites and extends with zeros", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto file = open_ok(env.fs(), env.root() + "/a.log", OpenMode::create_or_open);
    REQUIRE(file->append(bytes_of("abcdef")).is_ok());
    REQUIRE(file->write_at(2, bytes_of("XY")).is_ok());
    CHECK(read_all(*file) == "abXYef");

    REQUIRE(file->write_at(9, bytes_of("Z")).is_ok());
    CHECK(*file->size() == 10);
    CHECK(read_all(*file) == std::string("abXYef\0\0\0Z", 10));

    REQUIRE(file->append(bytes_of("!")).is_ok());
    CHECK(read_all(*file) == std::string("abXYef\0\0\0Z!", 11));
}

TEST_CASE_TEMPLATE("truncate shrinks and zero-extends", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto file = open_ok(env.fs(), env.root() + "/a.log", OpenMode::create_or_open);
    REQUIRE(file->append(bytes_of("abcdef")).is_ok());
    REQUIRE(file->truncate(3).is_ok());
    CHECK(read_all(*file) == "abc");
    REQUIRE(file->truncate(5).is_ok());
    CHECK(read_all(*file) == std::string("abc\0\0", 5));
    REQUIRE(file->append(bytes_of("g")).is_ok());
    CHECK(read_all(*file) == std::string("abc\0\0g", 6));
}

TEST_CASE_TEMPLATE("handles on one file share its bytes", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    const std::string path = env.root() + "/a.log";
    auto writer = open_ok(fs, path, OpenMode::create_or_open);
    auto reader = open_ok(fs, path, OpenMode::read_only);

    REQUIRE(writer->append(bytes_of("shared")).is_ok());
    CHECK(read_all(*reader) == "shared");
    CHECK_FALSE(reader->append(bytes_of("x")).is_ok());
    CHECK_FALSE(reader->write_at(0, bytes_of("x")).is_ok());
    CHECK_FALSE(reader->truncate(0).is_ok());

    REQUIRE(fs.remove_file(path).is_ok());
    CHECK_FALSE(fs.exists(path));
    REQUIRE(writer->append(bytes_of("!")).is_ok());
    CHECK(read_all(*reader) == "shared!");
}

TEST_CASE_TEMPLATE("list_dir and create_dirs", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    const std::string dir = env.root() + "/topic/0";
    REQUIRE(fs.create_dirs(dir).is_ok());
    REQUIRE(fs.create_dirs(dir).is_ok());
    REQUIRE(fs.create_dirs(dir + "/sub/deeper").is_ok());
    CHECK(fs.exists(dir + "/sub/deeper"));
    open_ok(fs, dir + "/b.log", OpenMode::create_or_open);
    open_ok(fs, dir + "/a.index", OpenMode::create_or_open);

    auto names = fs.list_dir(dir);
    REQUIRE(names.is_ok());
    CHECK(sorted(*names) == std::vector<std::string>{"a.index", "b.log", "sub"});
    CHECK(*fs.list_dir(env.root()) == std::vector<std::string>{"topic"});
    CHECK(fs.list_dir(dir + "/sub/deeper")->empty());
    CHECK(fs.list_dir(env.root() + "/nope").code() == Code::not_found);

    CHECK_FALSE(fs.create_dirs(dir + "/b.log/x").is_ok());
    CHECK_FALSE(fs.create_dirs(dir + "/b.log").is_ok());
}

TEST_CASE_TEMPLATE("rename replaces the target", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    const std::string from = env.root() + "/checkpoint.tmp";
    const std::string to = env.root() + "/checkpoint";
    REQUIRE(open_ok(fs, from, OpenMode::create_exclusive)->append(bytes_of("new")).is_ok());
    REQUIRE(open_ok(fs, to, OpenMode::create_exclusive)->append(bytes_of("old")).is_ok());

    REQUIRE(fs.rename(from, to).is_ok());
    CHECK_FALSE(fs.exists(from));
    CHECK(read_all(*open_ok(fs, to, OpenMode::read_only)) == "new");
    CHECK(*fs.list_dir(env.root()) == std::vector<std::string>{"checkpoint"});
    CHECK(fs.rename(from, to).code() == Code::not_found);
    REQUIRE(fs.sync_dir(env.root()).is_ok());
}

TEST_CASE_TEMPLATE("rename moves a directory with its contents", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    REQUIRE(fs.create_dirs(env.root() + "/old/sub").is_ok());
    open_ok(fs, env.root() + "/old/sub/a.log", OpenMode::create_or_open);

    REQUIRE(fs.rename(env.root() + "/old", env.root() + "/new").is_ok());
    CHECK_FALSE(fs.exists(env.root() + "/old"));
    CHECK(fs.exists(env.root() + "/new/sub/a.log"));
    CHECK(*fs.list_dir(env.root() + "/new/sub") == std::vector<std::string>{"a.log"});
}

TEST_CASE_TEMPLATE("remove_file and remove_dir", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    const std::string dir = env.root() + "/d";
    const std::string file = dir + "/f";
    REQUIRE(fs.create_dirs(dir).is_ok());
    open_ok(fs, file, OpenMode::create_or_open);

    const auto not_empty = fs.remove_dir(dir);
    CHECK(not_empty.code() == Code::io_error);
    CHECK(not_empty.message().find(dir) != std::string::npos);

    REQUIRE(fs.remove_file(file).is_ok());
    CHECK(fs.remove_file(file).code() == Code::not_found);
    REQUIRE(fs.remove_dir(dir).is_ok());
    CHECK_FALSE(fs.exists(dir));
    CHECK(fs.remove_dir(dir).code() == Code::not_found);
    CHECK(fs.sync_dir(dir).code() == Code::not_found);
}

TEST_CASE_TEMPLATE("stores through a mapping reach the file", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    auto file = open_ok(fs, env.root() + "/a.index", OpenMode::create_or_open);
    REQUIRE(file->truncate(4096).is_ok());

    CHECK(fs.map(*file, 8192).code() == Code::invalid_argument);
    auto region = fs.map(*file, 4096);
    REQUIRE(region.is_ok());
    REQUIRE((*region)->size() == 4096);
    std::memcpy((*region)->data() + 100, "mapped", 6);
    CHECK(read_string(*file, 100, 6) == "mapped");

    REQUIRE(file->write_at(200, bytes_of("written")).is_ok());
    CHECK(std::memcmp((*region)->data() + 200, "written", 7) == 0);
    REQUIRE((*region)->sync().is_ok());

    file.reset();
    std::memcpy((*region)->data() + 300, "after close", 11);
    region->reset();
    auto reopened = open_ok(fs, env.root() + "/a.index", OpenMode::read_only);
    CHECK(read_string(*reopened, 300, 11) == "after close");
}

TEST_CASE("a store through a posix mapping of a hole reads in only its page") {
    // A new index is a hole mapped for a whole segment's entries. Read-ahead on the first
    // store would fill the page cache with up to read_ahead_kb of zeros; the mapping is
    // advised random, so each store reads in its own page only.
    PosixEnv env;
    constexpr std::size_t kSize = 16 << 20;
    const std::string path = env.root() + "/a.index";
    auto file = open_ok(env.fs(), path, OpenMode::create_or_open);
    REQUIRE(file->truncate(kSize).is_ok());
    auto region = env.fs().map(*file, kSize);
    REQUIRE(region.is_ok());
    std::memcpy((*region)->data(), "header", 6);
    std::memcpy((*region)->data() + kSize / 2, "entry", 5);

    // The page cache's view of the file, through a mapping of our own.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    void* view = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    REQUIRE(view != MAP_FAILED);
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> resident((kSize + page - 1) / page);
    REQUIRE(::mincore(view, kSize, resident.data()) == 0);
    ::munmap(view, kSize);
    const auto pages =
        std::count_if(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; });
    CHECK(pages >= 2);
    CHECK(pages <= 4);
}

TEST_CASE("the memory file system refuses to resize a mapped file") {
    MemoryEnv env;
    auto file = open_ok(env.fs(), "/mem/a.index", OpenMode::create_or_open);
    REQUIRE(file->truncate(64).is_ok());
    auto region = env.fs().map(*file, 64);
    REQUIRE(region.is_ok());

    CHECK(file->append(bytes_of("x")).code() == Code::io_error);
    CHECK(file->truncate(32).code() == Code::io_error);
    CHECK(file->write_at(60, bytes_of("too long")).code() == Code::io_error);
    CHECK(file->write_at(0, bytes_of("fits")).is_ok());
    CHECK(std::memcmp((*region)->data(), "fits", 4) == 0);

    region->reset();
    CHECK(file->append(bytes_of("x")).is_ok());
    CHECK(*file->size() == 65);
}

TEST_CASE("the memory file system normalises paths") {
    auto fs = brook::fs::new_memory_file_system();
    REQUIRE(fs->create_dirs("a//b/").is_ok());
    CHECK(fs->exists("/a/b"));
    open_ok(*fs, "/a/./b//c.log", OpenMode::create_exclusive);
    CHECK(fs->exists("a/b/c.log"));
    CHECK(fs->exists("/a/x/../b/c.log"));
    CHECK(*fs->list_dir("/") == std::vector<std::string>{"a"});
    CHECK(brook::fs::new_memory_file_system()->list_dir("/a").code() == Code::not_found);
}

TEST_CASE_TEMPLATE("lock_file excludes a second holder", Env, PosixEnv, MemoryEnv) {
    Env env;
    auto& fs = env.fs();
    const std::string path = env.root() + "/LOCK";
    const std::string pid = std::to_string(::getpid());

    auto first = fs.lock_file(path);
    REQUIRE_MESSAGE(first.is_ok(), first.status().to_string());
    CHECK(read_all(*open_ok(fs, path, OpenMode::read_only)) == pid + "\n");

    auto second = fs.lock_file(path);
    REQUIRE(second.code() == Code::busy);
    CHECK(second.status().message().find(path) != std::string::npos);
    CHECK(second.status().message().find("pid " + pid) != std::string::npos);

    first->reset();
    auto retaken = fs.lock_file(path);
    CHECK_MESSAGE(retaken.is_ok(), retaken.status().to_string());
}

TEST_CASE("posix errors name the operation, the path and the system's message") {
    PosixEnv env;
    const std::string path = env.root() + "/missing.log";
    const auto missing = env.fs().open(path, OpenMode::read_only);
    CHECK(missing.status().message() == "open " + path + ": No such file or directory");
    const auto exists = env.fs().open(env.root(), OpenMode::create_exclusive);
    CHECK(exists.code() == Code::already_exists);
}

TEST_CASE_TEMPLATE("readers never see torn data below the published size", Env, PosixEnv,
                   MemoryEnv) {
    constexpr std::uint64_t record_count = 3000;
    constexpr std::size_t record_size = 16;
    constexpr std::size_t records_per_read = 8;
    constexpr int reader_count = 4;

    Env env;
    auto writer = open_ok(env.fs(), env.root() + "/a.log", OpenMode::create_or_open);
    auto reader = open_ok(env.fs(), env.root() + "/a.log", OpenMode::read_only);
    std::atomic<std::uint64_t> published{0};
    std::atomic<int> failures{0};
    std::latch started(reader_count + 1);

    const auto record = [](std::uint64_t index) {
        std::array<std::uint64_t, 2> words{index, ~index};
        std::array<std::byte, record_size> bytes{};
        std::memcpy(bytes.data(), words.data(), record_size);
        return bytes;
    };

    const auto read_loop = [&](int reader_index) {
        std::uint64_t step = static_cast<std::uint64_t>(reader_index);
        started.arrive_and_wait();
        while (true) {
            const std::uint64_t visible = published.load(std::memory_order_acquire);
            if (visible > 0) {
                const std::uint64_t first = (step * 7919) % visible;
                std::array<std::byte, record_size * records_per_read> buffer{};
                auto read = reader->read_at(first * record_size, buffer);
                const std::uint64_t expected =
                    std::min<std::uint64_t>(records_per_read, visible - first);
                if (!read.is_ok() || *read < expected * record_size) ++failures;
                for (std::uint64_t i = 0; read.is_ok() && i < expected; ++i) {
                    const auto want = record(first + i);
                    if (std::memcmp(buffer.data() + i * record_size, want.data(), record_size)) {
                        ++failures;
                    }
                }
            }
            if (visible == record_count) return;
            ++step;
        }
    };

    std::vector<std::thread> readers;
    for (int i = 0; i < reader_count; ++i) readers.emplace_back(read_loop, i);
    started.arrive_and_wait();
    for (std::uint64_t i = 0; i < record_count; ++i) {
        const auto bytes = record(i);
        if (!writer->append(bytes).is_ok()) ++failures;
        published.store(i + 1, std::memory_order_release);
    }
    for (auto& thread : readers) thread.join();

    CHECK(failures.load() == 0);
    CHECK(*reader->size() == record_count * record_size);
}

TEST_CASE("join_path and parent_path") {
    using brook::fs::join_path;
    using brook::fs::parent_path;
    CHECK(join_path("a", "b") == "a/b");
    CHECK(join_path("a/", "/b") == "a/b");
    CHECK(join_path("/", "b") == "/b");
    CHECK(join_path("", "b") == "b");
    CHECK(join_path("a", "") == "a");
    CHECK(parent_path("a/b/c") == "a/b");
    CHECK(parent_path("/a/b/") == "/a");
    CHECK(parent_path("/a") == "/");
    CHECK(parent_path("c") == ".");
}

}  // namespace
