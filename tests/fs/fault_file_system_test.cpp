// Tests of the fault-injecting file system itself: the crash images it builds must be what
// POSIX promises after a power cut (no more, no less), and injected faults must hit exactly
// the operation asked for.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "support/fault_fs.hpp"
#include "support/fs_util.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

std::vector<std::byte> bytes_of(const std::string& text) {
    const auto view = std::as_bytes(std::span(text));
    return {view.begin(), view.end()};
}

std::string text_of(const std::vector<std::byte>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

struct Fixture {
    std::shared_ptr<fs::FileSystem> memory = fs::new_memory_file_system();
    FaultFileSystem faulty{*memory};
    Fixture() {
        REQUIRE(memory->create_dirs("/d").is_ok());
        faulty.mark_durable("/d");
    }

    std::unique_ptr<fs::File> create(const std::string& path, const std::string& text) {
        auto file = faulty.open(path, fs::OpenMode::create_or_open);
        REQUIRE(file.is_ok());
        REQUIRE((*file)->append(bytes_of(text)).is_ok());
        return std::move(*file);
    }
};

}  // namespace

TEST_CASE("a power cut keeps synced data and drops the unsynced tail") {
    Fixture f;
    auto file = f.create("/d/a", "hello");
    REQUIRE(file->sync().is_ok());
    REQUIRE(f.faulty.sync_dir("/d").is_ok());
    REQUIRE(file->append(bytes_of(" world")).is_ok());

    auto image = f.faulty.crash_image();
    CHECK(text_of(read_file(*image, "/d/a")) == "hello");
    // The live file system is untouched.
    CHECK(text_of(read_file(*f.memory, "/d/a")) == "hello world");
}

TEST_CASE("a power cut drops files whose directory entry was never synced") {
    Fixture f;
    auto file = f.create("/d/a", "data");
    REQUIRE(file->sync().is_ok());
    CHECK_FALSE(f.faulty.crash_image()->exists("/d/a"));

    REQUIRE(f.faulty.sync_dir("/d").is_ok());
    CHECK(text_of(read_file(*f.faulty.crash_image(), "/d/a")) == "data");
}

TEST_CASE("a synced entry without a synced file keeps an empty file") {
    Fixture f;
    auto file = f.create("/d/a", "data");
    REQUIRE(f.faulty.sync_dir("/d").is_ok());
    auto image = f.faulty.crash_image();
    REQUIRE(image->exists("/d/a"));
    CHECK(read_file(*image, "/d/a").empty());
}

TEST_CASE("unsynced renames and removals are undone by a power cut") {
    Fixture f;
    auto a = f.create("/d/a", "A");
    auto b = f.create("/d/b", "B");
    REQUIRE(a->sync().is_ok());
    REQUIRE(b->sync().is_ok());
    REQUIRE(f.faulty.sync_dir("/d").is_ok());

    REQUIRE(f.faulty.rename("/d/a", "/d/c").is_ok());
    REQUIRE(f.faulty.remove_file("/d/b").is_ok());
    auto before = f.faulty.crash_image();
    CHECK(sorted_names(*before, "/d") == std::vector<std::string>{"a", "b"});
    CHECK(text_of(read_file(*before, "/d/a")) == "A");

    REQUIRE(f.faulty.sync_dir("/d").is_ok());
    auto after = f.faulty.crash_image();
    CHECK(sorted_names(*after, "/d") == std::vector<std::string>{"c"});
    CHECK(text_of(read_file(*after, "/d/c")) == "A");
}

TEST_CASE("a directory made but not synced in its parent is lost with its files") {
    Fixture f;
    REQUIRE(f.faulty.create_dirs("/d/sub").is_ok());
    auto file = f.create("/d/sub/x", "x");
    REQUIRE(file->sync().is_ok());
    REQUIRE(f.faulty.sync_dir("/d/sub").is_ok());
    CHECK_FALSE(f.faulty.crash_image()->exists("/d/sub"));

    REQUIRE(f.faulty.sync_dir("/d").is_ok());
    CHECK(text_of(read_file(*f.faulty.crash_image(), "/d/sub/x")) == "x");
}

TEST_CASE("torn tails: a prefix, garbage or zeros in place of the unsynced bytes") {
    Fixture f;
    auto file = f.create("/d/a", "sync");
    REQUIRE(file->sync().is_ok());
    REQUIRE(f.faulty.sync_dir("/d").is_ok());
    REQUIRE(file->append(bytes_of("TAIL-BYTES")).is_ok());

    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const std::string prefix =
            text_of(read_file(*f.faulty.crash_image(Tear::prefix, seed), "/d/a"));
        REQUIRE(prefix.size() > 4);
        CHECK(std::string("syncTAIL-BYTES").starts_with(prefix));
    }
    const std::string zeros = text_of(read_file(*f.faulty.crash_image(Tear::zeros), "/d/a"));
    CHECK(zeros == "sync" + std::string(10, '\0'));
    const std::string garbage = text_of(read_file(*f.faulty.crash_image(Tear::garbage, 3), "/d/a"));
    CHECK(garbage.size() == 14);
    CHECK(garbage.starts_with("sync"));
    CHECK(garbage.substr(4) != "TAIL-BYTES");
}

TEST_CASE("a mapped region's stores become durable at its sync") {
    Fixture f;
    auto file = f.create("/d/m", "0000");
    REQUIRE(f.faulty.sync_dir("/d").is_ok());
    auto region = f.faulty.map(*file, 4);
    REQUIRE(region.is_ok());
    (*region)->data()[0] = std::byte{'1'};
    CHECK(text_of(read_file(*f.faulty.crash_image(), "/d/m")).empty());
    REQUIRE((*region)->sync().is_ok());
    CHECK(text_of(read_file(*f.faulty.crash_image(), "/d/m")) == "1000");
}

TEST_CASE("crash_after captures the image right after the k-th mutating operation") {
    Fixture f;
    f.faulty.crash_after(3, Tear::drop, 0);
    auto file = f.create("/d/a", "one");       // ops 1 (open) and 2 (write)
    REQUIRE(file->sync().is_ok());             // op 3: the crash point
    REQUIRE(f.faulty.sync_dir("/d").is_ok());  // after the crash: not in the image
    auto image = f.faulty.captured_image();
    REQUIRE(image != nullptr);
    CHECK_FALSE(image->exists("/d/a"));
    CHECK(f.faulty.crash_image()->exists("/d/a"));
}

TEST_CASE("the k-th operation of a kind fails once, with the chosen code") {
    Fixture f;
    auto file = f.create("/d/a", "x");
    f.faulty.inject({.kinds = op::write, .nth = 2, .persistent = false, .code = Code::no_space});
    CHECK(file->append(bytes_of("1")).is_ok());
    CHECK(file->sync().is_ok());  // not a write: not counted
    const Status failed = file->append(bytes_of("22"));
    CHECK(failed.code() == Code::no_space);
    CHECK(failed.message().find("injected") != std::string::npos);
    CHECK(file->append(bytes_of("3")).is_ok());
    CHECK(f.faulty.failures_injected() == 1);
    // A failed append leaves half its bytes, as a short write does.
    CHECK(text_of(read_file(*f.memory, "/d/a")) == "x123");

    // So does a failed positioned write, at its position.
    f.faulty.inject({.kinds = op::write, .nth = 1, .persistent = false, .code = Code::io_error});
    CHECK(file->write_at(2, bytes_of("abcd")).code() == Code::io_error);
    CHECK(text_of(read_file(*f.memory, "/d/a")) == "x1ab");
}

TEST_CASE("a persistent fault fails every later matching operation") {
    Fixture f;
    auto file = f.create("/d/a", "x");
    f.faulty.inject(
        {.kinds = op::sync | op::rename, .nth = 2, .persistent = true, .code = Code::io_error});
    CHECK(file->sync().is_ok());
    for (int i = 0; i < 3; ++i) CHECK(file->sync().code() == Code::io_error);
    CHECK(f.faulty.rename("/d/a", "/d/b").code() == Code::io_error);
    CHECK(f.faulty.exists("/d/a"));
    CHECK(f.faulty.open("/d/a", fs::OpenMode::read_only).is_ok());
    f.faulty.clear_faults();
    CHECK(file->sync().is_ok());
    CHECK(f.faulty.failures_injected() == 4);
}

TEST_CASE("every kind of operation is counted and can be failed") {
    Fixture f;
    struct Case {
        unsigned kind;
        std::function<Status()> run;
    };
    auto file = f.create("/d/a", "abc");
    const std::vector<Case> cases = {
        {op::open, [&] { return f.faulty.open("/d/a", fs::OpenMode::read_only).status(); }},
        {op::read,
         [&] {
             std::vector<std::byte> out(2);
             return file->read_at(0, out).status();
         }},
        {op::write, [&] { return file->write_at(0, bytes_of("z")); }},
        {op::sync, [&] { return f.faulty.sync_dir("/d"); }},
        {op::rename, [&] { return f.faulty.rename("/d/a", "/d/a2"); }},
        {op::unlink, [&] { return f.faulty.remove_file("/d/none"); }},
        {op::mmap, [&] { return f.faulty.map(*file, 1).status(); }},
        {op::mkdir, [&] { return f.faulty.create_dirs("/d/e"); }},
    };
    for (const auto& c : cases) {
        CAPTURE(op_names(c.kind));
        const auto before = f.faulty.operations(c.kind);
        f.faulty.inject({.kinds = c.kind, .nth = 1, .persistent = false, .code = Code::io_error});
        const Status failed = c.run();
        CHECK(failed.code() == Code::io_error);
        CHECK(failed.message().find("injected") != std::string::npos);
        CHECK(f.faulty.operations(c.kind) == before + 1);
    }
}
