// Unit-testing event-driven code with brook: an in-memory store, a clock the test controls,
// and Kafka's producer and consumer API, with no cluster and no files.
//
// The code under test is a small service: it reads "payment" events and writes an "alert"
// event whenever one customer pays more than 1000 within a 60-second window. The test drives
// time with a ManualClock, so the window logic is checked exactly, with no sleeps.
//
// Build and run: ninja -C build examples/testing && ./build/examples/testing
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <brook/brook.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>

using namespace std::chrono_literals;

namespace {

// The service under test. It consumes payments from partition 0 of "payments" and produces
// alerts to "alerts", keyed by customer.
class FraudAlerter {
  public:
    FraudAlerter(brook::Store& store, const brook::Clock& clock) : clock_(clock) {
        consumer_ =
            std::move(brook::Consumer::create(store, {{"auto.offset.reset", "earliest"}})).value();
        producer_ = std::move(brook::Producer::create(store, {{"linger.ms", "0"}})).value();
        REQUIRE(consumer_->assign({{"payments", brook::PartitionId(0), brook::kOffsetBeginning}})
                    .is_ok());
    }

    // Handles every payment available now. Returns how many alerts it raised.
    int run_once() {
        int alerts = 0;
        for (auto& message : consumer_->consume(1000, 0ms)) {
            REQUIRE(message.error().is_ok());
            const std::string customer(*message.key());
            const int amount = std::stoi(std::string(*message.value()));
            auto& window = windows_[customer];
            window.push_back({message.timestamp(), amount});
            while (window.front().first <= clock_.now_ms() - 60'000) window.pop_front();
            int total = 0;
            for (const auto& [ts, a] : window) total += a;
            if (total > 1000) {
                auto report = producer_->produce_sync(
                    {.topic = "alerts", .key = customer, .value = std::to_string(total)});
                REQUIRE(report.is_ok());
                ++alerts;
            }
        }
        return alerts;
    }

  private:
    const brook::Clock& clock_;
    std::unique_ptr<brook::Consumer> consumer_;
    std::unique_ptr<brook::Producer> producer_;
    std::map<std::string, std::deque<std::pair<std::int64_t, int>>> windows_;
};

struct Harness {
    std::shared_ptr<brook::ManualClock> clock = std::make_shared<brook::ManualClock>(1'000'000);
    std::unique_ptr<brook::Store> store;
    std::unique_ptr<brook::Producer> producer;

    Harness() {
        brook::Options options;
        options.clock = clock;
        store = std::move(brook::Store::open_in_memory(options)).value();
        REQUIRE(store->create_topic("payments", 1).is_ok());
        REQUIRE(store->create_topic("alerts", 1).is_ok());
        producer = std::move(brook::Producer::create(*store, {{"linger.ms", "0"}})).value();
    }

    void pay(const std::string& customer, int amount) {
        // No timestamp given: the record takes the store clock's time, which the test controls.
        REQUIRE(producer
                    ->produce_sync(
                        {.topic = "payments", .key = customer, .value = std::to_string(amount)})
                    .is_ok());
    }

    std::vector<std::string> alerts() {
        auto consumer = std::move(brook::Consumer::create(*store)).value();
        REQUIRE(
            consumer->assign({{"alerts", brook::PartitionId(0), brook::kOffsetBeginning}}).is_ok());
        std::vector<std::string> out;
        for (auto& message : consumer->consume(100, 0ms)) {
            out.push_back(std::string(*message.key()) + "=" + std::string(*message.value()));
        }
        return out;
    }
};

}  // namespace

TEST_CASE("payments within a minute add up to an alert") {
    Harness h;
    FraudAlerter alerter(*h.store, *h.clock);
    h.pay("alice", 600);
    h.clock->advance_ms(30'000);
    h.pay("alice", 500);
    CHECK(alerter.run_once() == 1);
    CHECK(h.alerts() == std::vector<std::string>{"alice=1100"});
}

TEST_CASE("payments further apart than a minute do not") {
    Harness h;
    FraudAlerter alerter(*h.store, *h.clock);
    h.pay("bob", 600);
    CHECK(alerter.run_once() == 0);
    h.clock->advance_ms(61'000);
    h.pay("bob", 500);
    CHECK(alerter.run_once() == 0);
    CHECK(h.alerts().empty());
}

TEST_CASE("customers are tracked separately") {
    Harness h;
    FraudAlerter alerter(*h.store, *h.clock);
    h.pay("alice", 900);
    h.pay("bob", 900);
    CHECK(alerter.run_once() == 0);
    h.pay("bob", 200);
    CHECK(alerter.run_once() == 1);
    CHECK(h.alerts() == std::vector<std::string>{"bob=1100"});
}
