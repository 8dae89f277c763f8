// Event sourcing with brook: each command's events are appended as one unit, and state is
// rebuilt by replaying them.
//
// A bank keeps no table of balances. Each command on an account ("open", "transfer") becomes
// one or more events, appended to the topic "account-events" with produce_batch() under the
// account's id as key. The events of one command go into one batch of one partition: they
// get consecutive offsets and one checksum, so after a crash the log holds all of them or none.
// A transfer's "debited" and "fee charged" can never be half-recorded. Every event of an
// account is in the partition its key maps to, in the order it was appended.
//
// State is a fold over the events: the balances are rebuilt by replaying the topic from the
// start. The program reopens the store to do that (as a restarted service would) and checks
// the balances against what the commands did, so it also runs as a test.
// Usage: event_sourcing [DIR]   (default: an in-memory store, replayed without reopening)
#include <brook/brook.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr const char* kTopic = "account-events";

int fail(const char* what, const brook::Status& status) {
    std::fprintf(stderr, "event_sourcing: %s failed: %s\n", what, status.to_string().c_str());
    return 1;
}

// Appends one command's events for `account`, all or nothing, and waits until they are
// durable (acks=all): the command is done when this returns ok.
brook::Status append(brook::Producer& producer, const std::string& account,
                     const std::vector<std::string>& events) {
    std::vector<brook::BatchRecord> records;
    for (const std::string& event : events) records.push_back({.key = account, .value = event});
    BROOK_RETURN_IF_ERROR(producer.produce_batch(kTopic, std::nullopt, records));
    return producer.flush();
}

// Replays every event from the start: the balance of each account, in cents.
brook::Result<std::map<std::string, long>> replay(brook::Store& store) {
    BROOK_ASSIGN_OR_RETURN(auto consumer,
                           brook::Consumer::create(store, {{"auto.offset.reset", "earliest"}}));
    BROOK_ASSIGN_OR_RETURN(auto topic, store.describe_topic(kTopic));
    std::vector<brook::TopicPartitionOffset> all;
    for (const auto& p : topic.partitions) all.push_back({kTopic, p.partition, brook::Offset(0)});
    BROOK_RETURN_IF_ERROR(consumer->assign(all));
    std::map<std::string, long> balances;
    while (true) {
        const std::vector<brook::Message> messages = consumer->consume(1000, 0ms);
        if (messages.empty()) return balances;
        for (const brook::Message& m : messages) {
            BROOK_RETURN_IF_ERROR(m.error());
            // Each event is "<kind> <cents>".
            char kind[16] = {};
            long cents = 0;
            const std::string value(m.value().value_or(""));
            if (std::sscanf(value.c_str(), "%15s %ld", kind, &cents) != 2) {
                return brook::Status::invalid_argument("a malformed event: " + value);
            }
            long& balance = balances[std::string(*m.key())];
            balance += std::string(kind) == "deposited" ? cents : -cents;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const bool on_disk = argc > 1;
    auto open = [&]() {
        return on_disk ? brook::Store::open(argv[1]) : brook::Store::open_in_memory();
    };
    auto store = open();
    if (!store.is_ok()) return fail("Store::open", store.status());
    brook::Status created = (*store)->create_topic(kTopic, 3);
    if (!created.is_ok() && created.code() != brook::Code::already_exists) {
        return fail("create_topic", created);
    }
    std::map<std::string, long> before;
    if (created.code() == brook::Code::already_exists) {
        auto replayed = replay(**store);
        if (!replayed.is_ok()) return fail("replay", replayed.status());
        before = *replayed;
    }
    {
        auto producer = brook::Producer::create(**store, {{"acks", "all"}, {"linger.ms", "0"}});
        if (!producer.is_ok()) return fail("Producer::create", producer.status());
        // Each command's events: one unit.
        const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
            {"alice", {"deposited 10000"}},
            {"bob", {"deposited 2500"}},
            {"alice", {"withdrawn 3000", "withdrawn 150"}},  // a transfer out and its fee
            {"bob", {"deposited 3000"}},                     // the transfer in
        };
        for (const auto& [account, events] : commands) {
            const brook::Status appended = append(**producer, account, events);
            if (!appended.is_ok()) return fail("append", appended);
        }
    }
    if (on_disk) {
        store->reset();  // closes the store, as a restarted service would
        store = open();
        if (!store.is_ok()) return fail("Store::open again", store.status());
    }
    auto balances = replay(**store);
    if (!balances.is_ok()) return fail("replay", balances.status());
    for (const auto& [account, cents] : *balances) {
        std::printf("%s: %ld.%02ld\n", account.c_str(), cents / 100, cents % 100);
    }
    const long alice = (*balances)["alice"] - before["alice"];
    const long bob = (*balances)["bob"] - before["bob"];
    if (alice != 6850 || bob != 5500) {
        std::fprintf(stderr, "event_sourcing: replayed %ld and %ld cents, expected 6850 and 5500\n",
                     alice, bob);
        return 1;
    }
    return 0;
}
