// Security of the store directory (issue 7, section 6): the modes of created files and
// directories under several umasks, refusal of store files that are symbolic links, and
// refusal of topic names read from the metadata store that could escape the store directory.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brook/store.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "fs/file_system.hpp"
#include "meta/meta_store.hpp"
#include "support/test_env.hpp"

using namespace brook;
using brook::testing::PosixEnv;

namespace {

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Sets the process umask for the scope of one test.
class ScopedUmask {
  public:
    explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
    ~ScopedUmask() { ::umask(previous_); }
    ScopedUmask(const ScopedUmask&) = delete;
    ScopedUmask& operator=(const ScopedUmask&) = delete;

  private:
    mode_t previous_;
};

}  // namespace

TEST_CASE("files are created 0640 and directories 0750, narrowed by the umask") {
    struct Case {
        mode_t umask;
        mode_t file;
        mode_t dir;
    };
    for (const Case c : {Case{0, 0640, 0750}, Case{022, 0640, 0750}, Case{027, 0640, 0750},
                         Case{077, 0600, 0700}}) {
        CAPTURE(c.umask);
        PosixEnv env;
        const ScopedUmask mask(c.umask);
        fs::FileSystem& fs = env.fs();
        const std::string dir = env.root() + "/a/b";
        REQUIRE(fs.create_dirs(dir).is_ok());
        CHECK(mode_of(env.root() + "/a") == c.dir);
        CHECK(mode_of(dir) == c.dir);
        REQUIRE(fs.open(dir + "/f", fs::OpenMode::create_exclusive).is_ok());
        CHECK(mode_of(dir + "/f") == c.file);
        REQUIRE(fs.lock_file(dir + "/LOCK").is_ok());
        CHECK(mode_of(dir + "/LOCK") == c.file);
    }
}

TEST_CASE("a whole store is created with the same modes, meta files included") {
    PosixEnv env;
    const ScopedUmask mask(022);
    const std::string path = env.root() + "/store";
    {
        auto store = Store::open(path);
        REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
        REQUIRE((*store)->create_topic("orders", 1).is_ok());
    }
    int files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        CAPTURE(entry.path().string());
        if (entry.is_directory()) {
            CHECK(mode_of(entry.path()) == 0750);
        } else {
            CHECK((mode_of(entry.path()) & ~mode_t{0640}) == 0);
            ++files;
        }
    }
    CHECK(files >= 4);  // LOCK, the LMDB files, the partition's segment and indexes
}

TEST_CASE("a store file that is a symbolic link is refused, whatever it points to") {
    PosixEnv env;
    fs::FileSystem& fs = env.fs();
    const std::string outside = env.root() + "/outside";
    std::ofstream(outside) << "secret";
    const std::string link = env.root() + "/00000000000000000000.log";
    REQUIRE(::symlink(outside.c_str(), link.c_str()) == 0);
    for (const auto mode :
         {fs::OpenMode::read_only, fs::OpenMode::read_write, fs::OpenMode::create_or_open}) {
        const auto opened = fs.open(link, mode);
        REQUIRE_FALSE(opened.is_ok());
        CHECK(opened.status().code() == Code::io_error);
        CHECK(opened.status().message().find("symbolic link") != std::string::npos);
    }
    CHECK_FALSE(fs.lock_file(link).is_ok());
    std::string contents;
    std::ifstream(outside) >> contents;
    CHECK(contents == "secret");
}

TEST_CASE("a store whose segment is a symbolic link out of the store does not open") {
    PosixEnv env;
    const std::string path = env.root() + "/store";
    {
        auto store = Store::open(path);
        REQUIRE(store.is_ok());
        REQUIRE((*store)->create_topic("orders", 1).is_ok());
    }
    std::string segment;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        if (entry.path().extension() == ".log") segment = entry.path().string();
    }
    REQUIRE_FALSE(segment.empty());
    const std::string outside = env.root() + "/outside.log";
    std::filesystem::rename(segment, outside);
    REQUIRE(::symlink(outside.c_str(), segment.c_str()) == 0);
    const auto reopened = Store::open(path);
    REQUIRE_FALSE(reopened.is_ok());
    CHECK(reopened.status().message().find("symbolic link") != std::string::npos);
}

TEST_CASE("a topic name read from the metadata store is validated before it names a path") {
    PosixEnv env;
    const std::string path = env.root() + "/store";
    {
        auto store = Store::open(path);
        REQUIRE(store.is_ok());
    }
    for (const std::string name : {"../escape", "a/b", "..", "."}) {
        CAPTURE(name);
        {
            auto meta = meta::open_lmdb_meta_store(path + "/meta", {});
            REQUIRE_MESSAGE(meta.is_ok(), meta.status().to_string());
            meta::TopicRecord record;
            record.name = name;
            record.partitions = 1;
            record.topic_id = 1;
            REQUIRE((*meta)->put_topic(record).is_ok());
        }
        const auto reopened = Store::open(path);
        REQUIRE_FALSE(reopened.is_ok());
        CHECK(reopened.status().code() == Code::corruption);
        CHECK(reopened.status().message().find("not a valid topic name") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(env.root() + "/escape-0"));
        auto meta = meta::open_lmdb_meta_store(path + "/meta", {});
        REQUIRE(meta.is_ok());
        REQUIRE((*meta)->delete_topic(name).is_ok());
    }
}
