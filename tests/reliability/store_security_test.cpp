// Security of the store directory (issue 7, section 6): the modes of created files and
// directories under several umasks; refusal of store files, partition directories and LMDB
// files that are symbolic links; refusal of topic names read from the metadata store that
// could escape the store directory, and of partition counts above the configured limit.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brook/producer.hpp>
#include <brook/store.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "fs/file_system.hpp"
#include "meta/meta_store.hpp"
#include "support/test_env.hpp"

using namespace brook;
using brook::testing::PosixEnv;

namespace {

namespace stdfs = std::filesystem;

// A store at `path` with one topic "orders" of one partition holding one record, closed.
void make_store(const std::string& path) {
    auto store = Store::open(path);
    REQUIRE_MESSAGE(store.is_ok(), store.status().to_string());
    REQUIRE((*store)->create_topic("orders", 1).is_ok());
    auto producer = Producer::create(**store, {{"acks", "all"}});
    REQUIRE(producer.is_ok());
    REQUIRE((*producer)->produce_sync({.topic = "orders", .value = "v"}).is_ok());
    REQUIRE((*store)->close().is_ok());
}

// The only path below `root` with the given extension.
std::string find_in(const std::string& root, const std::string& extension) {
    std::string found;
    for (const auto& entry : stdfs::recursive_directory_iterator(root)) {
        if (entry.path().extension() == extension) {
            REQUIRE(found.empty());
            found = entry.path().string();
        }
    }
    REQUIRE_FALSE(found.empty());
    return found;
}

// Every regular file below `dir` with its contents, to show nothing outside the store changed.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& entry : stdfs::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        out[entry.path().string()] = bytes.str();
    }
    return out;
}

// Replaces `path` (a file or directory) by a symbolic link to a copy of it at `target`.
void replace_by_link(const std::string& path, const std::string& target) {
    stdfs::create_directories(stdfs::path(target).parent_path());
    stdfs::rename(path, target);
    REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
}

// Opening refuses the store with corruption naming `link` and the symbolic link.
void check_refused(const std::string& store, const std::string& link) {
    const auto reopened = Store::open(store);
    REQUIRE_FALSE(reopened.is_ok());
    CAPTURE(reopened.status().to_string());
    CHECK(reopened.status().code() == Code::corruption);
    CHECK(reopened.status().message().find("symbolic link") != std::string::npos);
    CHECK(reopened.status().message().find(link) != std::string::npos);
}

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
        CHECK(opened.status().code() == Code::corruption);
        CHECK(opened.status().message().find("symbolic link") != std::string::npos);
        CHECK(opened.status().message().find(link) != std::string::npos);
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

TEST_CASE("a partition directory that is a symbolic link is refused, inside or outside the store") {
    for (const bool outside : {true, false}) {
        CAPTURE(outside);
        PosixEnv env;
        const std::string path = env.root() + "/store";
        make_store(path);
        const std::string partition = stdfs::path(find_in(path, ".log")).parent_path().string();
        const std::string target =
            outside ? env.root() + "/elsewhere/partition" : path + "/topics/moved-partition";
        replace_by_link(partition, target);
        const auto before = snapshot(stdfs::path(target).parent_path().string());
        check_refused(path, partition);
        CHECK(snapshot(stdfs::path(target).parent_path().string()) == before);
    }
}

TEST_CASE("a segment's index or time index that is a symbolic link is refused") {
    for (const std::string extension : {".index", ".timeindex"}) {
        CAPTURE(extension);
        PosixEnv env;
        const std::string path = env.root() + "/store";
        make_store(path);
        const std::string index = find_in(path, extension);
        replace_by_link(index, env.root() + "/elsewhere/x" + extension);
        const auto before = snapshot(env.root() + "/elsewhere");
        check_refused(path, index);
        CHECK(snapshot(env.root() + "/elsewhere") == before);
    }
}

TEST_CASE("the LMDB directory, data.mdb and lock.mdb are refused when they are symbolic links") {
    for (const std::string name : {"", "/data.mdb", "/lock.mdb"}) {
        CAPTURE(name);
        PosixEnv env;
        const std::string path = env.root() + "/store";
        make_store(path);
        const std::string link = path + "/meta" + name;
        replace_by_link(link, env.root() + "/elsewhere/meta" + name);
        const auto before = snapshot(env.root() + "/elsewhere");
        check_refused(path, link);
        CHECK(snapshot(env.root() + "/elsewhere") == before);
        // Read-only opens refuse it too.
        Options read_only;
        read_only.read_only = true;
        const auto follower = Store::open(path, read_only);
        REQUIRE_FALSE(follower.is_ok());
        CHECK(follower.status().message().find("symbolic link") != std::string::npos);
    }
}

TEST_CASE("a partition count read from the metadata store is bounded by the configured limit") {
    PosixEnv env;
    const std::string path = env.root() + "/store";
    make_store(path);
    for (const std::int32_t partitions : {0, -5, 1'000'000'000, 20}) {
        CAPTURE(partitions);
        {
            auto meta = meta::open_lmdb_meta_store(path + "/meta", {});
            REQUIRE_MESSAGE(meta.is_ok(), meta.status().to_string());
            auto topic = (*meta)->get_topic("orders");
            REQUIRE(topic.is_ok());
            REQUIRE(topic->has_value());
            meta::TopicRecord record = **topic;
            record.partitions = partitions;
            REQUIRE((*meta)->put_topic(record).is_ok());
        }
        Options options;
        options.max_partitions_per_topic = 10;
        const auto reopened = Store::open(path, options);
        REQUIRE_FALSE(reopened.is_ok());
        CHECK(reopened.status().code() == Code::corruption);
        CHECK(reopened.status().message().find("max_partitions_per_topic") != std::string::npos);
    }
    // Within the limit it opens: the 20 partitions are a legal topic under the default limit.
    auto reopened = Store::open(path);
    REQUIRE_MESSAGE(reopened.is_ok(), reopened.status().to_string());
    auto description = (*reopened)->describe_topic("orders");
    REQUIRE(description.is_ok());
    CHECK(description->partitions.size() == 20);
}
