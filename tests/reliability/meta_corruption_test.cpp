// A corrupt metadata file: the LMDB environment (meta/data.mdb) of a store on disk is damaged
// as a whole (emptied, truncated, zeroed, filled with garbage) and bit by bit at sampled
// positions, and
// the store is reopened in a child process each time, so that a crash is seen as a crash
// instead of ending the test run. Every case must end with the store opening and describing its
// topics exactly as they were, or with an error (corruption, or io_error naming the file);
// never a crash, a hang, or topics that differ from what was written.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brook/store.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/test_env.hpp"

using namespace brook;
using namespace brook::testing;

namespace {

// Child exit codes, away from 1 and 66, which sanitizers use when they stop a process.
constexpr int kIntact = 10;    // opened, and the topics are exactly as written
constexpr int kRefused = 11;   // open or describe failed with a clear error
constexpr int kWrong = 12;     // opened, but the topics differ: data was made up or lost
constexpr int kOddError = 13;  // an error with an unexpected code

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

[[noreturn]] void child_open(const std::string& path) {
    auto store = Store::open(path);
    auto refused = [](const Status& status) {
        const bool clear = status.code() == Code::corruption || status.code() == Code::io_error ||
                           status.code() == Code::not_supported;
        ::_exit(clear ? kRefused : kOddError);
    };
    if (!store.is_ok()) refused(store.status());
    auto topics = (*store)->list_topics();
    if (!topics.is_ok()) refused(topics.status());
    if (*topics != std::vector<std::string>{"alpha", "beta"}) ::_exit(kWrong);
    auto alpha = (*store)->describe_topic("alpha");
    auto beta = (*store)->describe_topic("beta");
    if (!alpha.is_ok()) refused(alpha.status());
    if (!beta.is_ok()) refused(beta.status());
    if (alpha->partitions.size() != 3 || beta->partitions.size() != 1) ::_exit(kWrong);
    ::_exit(kIntact);
}

struct Counts {
    int cases = 0, intact = 0, refused = 0;
};

// Returns the child's exit code.
int run_case(const std::string& store, const std::vector<char>& bytes, const std::string& what,
             Counts& counts) {
    CAPTURE(what);
    const std::string data = store + "/meta/data.mdb";
    write_bytes(data, bytes);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) child_open(store);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    ++counts.cases;
    REQUIRE_MESSAGE(WIFEXITED(status), "the store crashed on a damaged meta file (signal ",
                    WIFSIGNALED(status) ? WTERMSIG(status) : 0, ")");
    const int code = WEXITSTATUS(status);
    CHECK_MESSAGE((code == kIntact || code == kRefused), "child exit code ", code);
    if (code == kIntact) ++counts.intact;
    if (code == kRefused) ++counts.refused;
    return code;
}

}  // namespace

TEST_CASE("a damaged meta file is refused or read correctly, never a crash") {
    PosixEnv env;
    const std::string store = env.root() + "/store";
    {
        auto opened = Store::open(store);
        REQUIRE(opened.is_ok());
        REQUIRE((*opened)->create_topic("alpha", 3).is_ok());
        REQUIRE((*opened)->create_topic("beta", 1, {{"retention.ms", "1000"}}).is_ok());
        REQUIRE((*opened)->close().is_ok());
    }
    const std::string data = store + "/meta/data.mdb";
    const auto pristine = read_bytes(data);
    REQUIRE(pristine.size() >= 4096);

    Counts counts;
    CHECK(run_case(store, pristine, "pristine", counts) == kIntact);
    // Regressions: an emptied meta file used to open as a new, empty store (every topic gone),
    // and one cut short used to kill the process with SIGBUS inside LMDB.
    CHECK(run_case(store, {}, "empty", counts) == kRefused);
    CHECK(run_case(store, std::vector<char>(pristine.begin(), pristine.begin() + 100), "cut to 100",
                   counts) == kRefused);
    CHECK(run_case(store,
                   std::vector<char>(pristine.begin(), pristine.begin() + pristine.size() / 2),
                   "cut in half", counts) == kRefused);
    CHECK(run_case(store, std::vector<char>(pristine.begin(), pristine.end() - 4096),
                   "last page cut", counts) == kRefused);
    CHECK(run_case(store, std::vector<char>(pristine.size(), 0), "zeroed", counts) == kRefused);
    std::vector<char> garbage(pristine.size());
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
    CHECK(run_case(store, garbage, "garbage", counts) == kRefused);
    // One bit at a prime stride, so every page is sampled at varying places.
    for (std::size_t position = 0; position < pristine.size(); position += 409) {
        auto flipped = pristine;
        flipped[position] = static_cast<char>(flipped[position] ^ (1 << (position % 8)));
        run_case(store, flipped, fmt::format("bit {} of byte {}", position % 8, position), counts);
    }
    MESSAGE("meta file of ", pristine.size(), " bytes: ", counts.cases, " cases, ", counts.intact,
            " read correctly, ", counts.refused, " refused with an error");
}
