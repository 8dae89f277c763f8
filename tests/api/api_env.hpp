// Store fixtures for public-API tests: the same test body runs against an on-disk store in a
// fresh temporary directory and against an in-memory store. Only <brook/brook.hpp> is used.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <brook/brook.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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

// A store on disk that reads its segments through read-only mappings
// (Options::mmap_segment_reads on).
struct DiskStoreMappedReads {
    static constexpr bool on_disk = true;
    DiskStore disk;

    std::unique_ptr<brook::Store> open(brook::Options options = {}) {
        options.mmap_segment_reads = true;
        return disk.open(std::move(options));
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

// True once every group in `group_ids` has committed all `partitions` partitions of the
// topics it reads up to their log ends. `before_each` runs before every look.
inline bool groups_drained(const brook::GroupAdmin& admin,
                           const std::vector<std::string>& group_ids, int partitions,
                           const std::function<void()>& before_each = {}) {
    if (before_each) before_each();
    for (const auto& id : group_ids) {
        auto d = admin.describe_group(id);
        if (!d) return false;
        int committed = 0;
        for (const auto& p : d->partitions) committed += p.committed.has_value();
        if (committed != partitions || d->total_lag != 0) return false;
    }
    return true;
}

// Waits for groups_drained(), re-checking every 20 ms, for at most 240 s.
inline bool wait_for_groups_drained(const brook::GroupAdmin& admin,
                                    const std::vector<std::string>& group_ids, int partitions,
                                    const std::function<void()>& before_each = {}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    while (!groups_drained(admin, group_ids, partitions, before_each)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        // Waiting for progress, not timing anything.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

// A Producer on `store`; the test stops if it cannot be created.
inline std::unique_ptr<brook::Producer> make_producer(const brook::Store& store,
                                                      const brook::Config& config = {}) {
    auto producer = brook::Producer::create(store, config);
    REQUIRE_MESSAGE(producer.is_ok(), producer.status().to_string());
    return std::move(producer).value();
}

// Creates a topic; the test stops if that fails.
inline void create_topic(brook::Store& store, const std::string& name, std::int32_t partitions,
                         const brook::Config& config = {}) {
    const brook::Status created = store.create_topic(name, partitions, config);
    REQUIRE_MESSAGE(created.is_ok(), created.to_string());
}

// A read-only store at `path` and a consumer of partition 0 of `topic` from its beginning, for
// a forked reader process, which has no doctest to report to: it _exits with code 2 if the
// store does not open and 3 if the consumer cannot be made.
struct ForkedReader {
    std::unique_ptr<brook::Store> store;
    std::unique_ptr<brook::Consumer> consumer;
};
inline ForkedReader open_forked_reader(const std::string& path, const std::string& topic,
                                       const std::string& fetch_wait_max_ms) {
    brook::Options options;
    options.read_only = true;
    auto store = brook::Store::open(path, options);
    if (!store.is_ok()) ::_exit(2);
    auto consumer = brook::Consumer::create(**store, {{"fetch.wait.max.ms", fetch_wait_max_ms}});
    if (!consumer.is_ok() ||
        !(*consumer)->assign({{topic, brook::PartitionId(0), brook::kOffsetBeginning}}).is_ok()) {
        ::_exit(3);
    }
    return {std::move(store).value(), std::move(consumer).value()};
}

}  // namespace brook_test
