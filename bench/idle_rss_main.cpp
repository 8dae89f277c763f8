// brook_idle_rss: the process that idle-rss-400 measures. It links only brook's public library
// (with LMDB, zstd, xxHash and fmt under it), as an application embedding brook does, so the
// figure is not inflated by the peers loaded into brook_bench (SQLite, RocksDB, librdkafka).
//
// Usage: brook_idle_rss STORE_DIR TOPICS
//   Opens the store, checks that it holds TOPICS topics, stays idle for 200 ms and prints one
//   line "BEFORE_KB AFTER_KB": VmRSS before Store::open and with the store open and idle.
//   Exits 1 with a message on stderr if the store does not open or lost topics.
#include <brook/store.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

long current_rss_kb() {
    std::FILE* status = std::fopen("/proc/self/status", "r");
    if (status == nullptr) return 0;
    char line[256];
    long kb = 0;
    while (std::fgets(line, sizeof line, status) != nullptr) {
        if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
    }
    std::fclose(status);
    return kb;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: brook_idle_rss STORE_DIR TOPICS\n");
        return 2;
    }
    const long before = current_rss_kb();
    auto store = brook::Store::open(argv[1]);
    if (!store.is_ok()) {
        std::fprintf(stderr, "Store::open: %s\n", store.status().to_string().c_str());
        return 1;
    }
    auto topics = (*store)->list_topics();
    if (!topics.is_ok() || topics->size() != std::strtoul(argv[2], nullptr, 10)) {
        std::fprintf(stderr, "the store lost topics\n");
        return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::printf("%ld %ld\n", before, current_rss_kb());
    std::fflush(stdout);
    // Nothing reads the store after this: skip the slow clean close, as a crash would.
    std::_Exit(0);
}
