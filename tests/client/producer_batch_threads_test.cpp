// produce_batch() from several threads at once, mixed with produce(), while the sender seals
// batches by linger and by size: every call lands whole in one batch, each thread's calls keep
// their order, and every record is in the log once. Run under ThreadSanitizer in CI.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <brook/brook.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/api_env.hpp"
#include "client/producer_batch_support.hpp"

using namespace brook;
using namespace brook_test;

TEST_CASE_TEMPLATE(
    "produce_batch() from threads at once: each call whole, each thread's calls in order", Fixture,
    MemoryStore, DiskStore) {
    Fixture fixture;
    auto store = fixture.open();
    constexpr int kPartitions = 2;
    REQUIRE(store->create_topic("t", kPartitions, {{"max.message.bytes", "30000"}}).is_ok());
    std::unique_ptr<Producer> holder;
    // Batches sealed by size, by the sender's linger and by flush(), while threads add.
    Producer& producer = producer_for(*store, holder, {{"linger.ms", "1"}, {"batch.size", "2000"}});

    constexpr int kThreads = 4;
    constexpr int kCalls = 150;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&producer, t] {
            std::mt19937 rng(static_cast<unsigned>(t) + 7);
            for (int call = 0; call < kCalls; ++call) {
                const auto p = PartitionId(static_cast<std::int32_t>(rng() % kPartitions));
                const int n = static_cast<int>(rng() % 20);
                // The key names the thread, the call and the record's place in it.
                std::vector<std::string> keys;
                for (int i = 0; i < std::max(n, 1); ++i) {
                    keys.push_back(fmt::format("{}/{}/{}/{}", t, call, i, std::max(n, 1)));
                }
                const std::string value(rng() % 300, 'x');
                Status status;
                if (n == 0) {
                    status = producer.produce("t", p, keys[0], value);
                } else {
                    std::vector<BatchRecord> records;
                    for (const std::string& key : keys)
                        records.push_back({.key = key, .value = value});
                    status = producer.produce_batch("t", p, records);
                }
                REQUIRE(status.is_ok());
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    REQUIRE(producer.flush().is_ok());

    std::size_t records = 0;
    for (int p = 0; p < kPartitions; ++p) {
        std::map<int, int> last_call;  // thread -> its last call seen in this partition
        for (const log::DecodedBatch& batch : batches_of(*store, "t", p)) {
            for (std::size_t r = 0; r < batch.records.size();) {
                int t = 0, call = 0, i = 0, n = 0;
                REQUIRE(batch.records[r].key.has_value());
                REQUIRE(std::sscanf(batch.records[r].key->c_str(), "%d/%d/%d/%d", &t, &call, &i,
                                    &n) == 4);
                CHECK(i == 0);
                const auto seen = last_call.find(t);
                CHECK((seen == last_call.end() || seen->second < call));
                last_call[t] = call;
                // The call's records follow, all of them, in this batch.
                REQUIRE(r + static_cast<std::size_t>(n) <= batch.records.size());
                for (int k = 0; k < n; ++k) {
                    CHECK(batch.records[r + static_cast<std::size_t>(k)].key ==
                          fmt::format("{}/{}/{}/{}", t, call, k, n));
                }
                r += static_cast<std::size_t>(n);
                records += static_cast<std::size_t>(n);
            }
        }
    }
    CHECK(producer.outstanding() == 0);
    // Every record of every call is in the log once.
    std::size_t expected = 0;
    for (int t = 0; t < kThreads; ++t) {
        std::mt19937 rng(static_cast<unsigned>(t) + 7);
        for (int call = 0; call < kCalls; ++call) {
            rng();
            expected += static_cast<std::size_t>(std::max(static_cast<int>(rng() % 20), 1));
            rng();
        }
    }
    CHECK(records == expected);
}
