// The outbox pattern with brook transactions: a state change and its events are committed
// atomically, then relayed by a consumer.
//
// An order service keeps each order's current state in the compacted topic "orders" (keyed by
// order id: the "table") and writes the events of each change to "outbox". Both go in one
// transaction, so there is no dual write: a reader sees the new state and its events together,
// or neither. A command that fails half-way aborts, and nothing of it is ever visible.
//
// A relay consumer (group "relay", isolation.level=read_committed) reads "outbox" and
// publishes each event to "public-events". It commits its input offsets in the same
// transaction as what it publishes, so every event is published exactly once even if the relay
// crashes and restarts.
//
// The program checks what it prints and exits non-zero if anything is off, so it also runs as
// a test. Usage: outbox [DIR]   (default: an in-memory store)
#include <brook/brook.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

int fail(const char* what, const brook::Status& status) {
    std::fprintf(stderr, "outbox: %s failed: %s\n", what, status.to_string().c_str());
    return 1;
}

struct Command {
    std::string order_id;
    std::string new_state;
    std::vector<std::string> events;
    bool fails_validation = false;  // discovered after some events were already produced
};

// Applies one command: the state change and its events, all or nothing.
brook::Status apply(brook::Producer& producer, const Command& command) {
    BROOK_RETURN_IF_ERROR(producer.begin_transaction());
    for (const std::string& event : command.events) {
        BROOK_RETURN_IF_ERROR(
            producer.produce({.topic = "outbox", .key = command.order_id, .value = event}));
    }
    if (command.fails_validation) return producer.abort_transaction();
    BROOK_RETURN_IF_ERROR(
        producer.produce({.topic = "orders", .key = command.order_id, .value = command.new_state}));
    return producer.commit_transaction();
}

// Relays every committed outbox event to "public-events", exactly once.
// @return the events published.
brook::Result<std::vector<std::string>> relay(brook::Store& store) {
    BROOK_ASSIGN_OR_RETURN(auto consumer,
                           brook::Consumer::create(store, {{"group.id", "relay"},
                                                           {"enable.auto.commit", "false"},
                                                           {"auto.offset.reset", "earliest"},
                                                           {"isolation.level", "read_committed"}}));
    BROOK_RETURN_IF_ERROR(
        consumer->assign({{"outbox", brook::PartitionId(0), brook::kOffsetInvalid}}));
    BROOK_ASSIGN_OR_RETURN(auto producer,
                           brook::Producer::create(store, {{"transactional.id", "outbox-relay"}}));
    BROOK_RETURN_IF_ERROR(producer->init_transactions());
    BROOK_ASSIGN_OR_RETURN(const auto group, consumer->group_metadata());
    std::vector<std::string> published;
    for (;;) {
        const auto batch = consumer->consume(50, 50ms);
        if (batch.empty()) return published;
        BROOK_RETURN_IF_ERROR(producer->begin_transaction());
        for (const brook::Message& m : batch) {
            BROOK_RETURN_IF_ERROR(m.error());
            const std::string event(m.value().value_or(""));
            BROOK_RETURN_IF_ERROR(producer->produce({.topic = "public-events",
                                                     .key = std::string(m.key().value_or("")),
                                                     .value = event}));
            published.push_back(event);
        }
        const brook::Message& last = batch.back();
        BROOK_RETURN_IF_ERROR(producer->send_offsets_to_transaction(
            {{last.topic(), last.partition(), last.offset() + 1}}, group));
        BROOK_RETURN_IF_ERROR(producer->commit_transaction());
    }
}

}  // namespace

int main(int argc, char** argv) {
    auto store = argc > 1 ? brook::Store::open(argv[1]) : brook::Store::open_in_memory();
    if (!store.is_ok()) return fail("open", store.status());
    for (const auto& [topic, config] : std::map<std::string, brook::Config>{
             {"orders", {{"cleanup.policy", "compact"}}}, {"outbox", {}}, {"public-events", {}}}) {
        const brook::Status created = (*store)->create_topic(topic, 1, config);
        if (!created.is_ok() && created.code() != brook::Code::already_exists) {
            return fail("create_topic", created);
        }
    }

    auto service = brook::Producer::create(**store, {{"transactional.id", "order-service"}});
    if (!service.is_ok()) return fail("Producer::create", service.status());
    if (auto s = (*service)->init_transactions(); !s.is_ok()) return fail("init_transactions", s);

    const std::vector<Command> commands = {
        {"order-1", "placed", {"OrderPlaced order-1"}},
        {"order-2", "placed", {"OrderPlaced order-2"}},
        {"order-1", "paid", {"PaymentReceived order-1", "OrderPaid order-1"}},
        {"order-2", "shipped", {"OrderShipped order-2"}, true},  // fails: not paid yet
        {"order-1", "shipped", {"OrderShipped order-1"}},
    };
    for (const Command& command : commands) {
        if (auto s = apply(**service, command); !s.is_ok()) return fail("apply", s);
    }

    // The relay runs twice: the second run finds nothing new, as a restarted relay would.
    auto first = relay(**store);
    if (!first.is_ok()) return fail("relay", first.status());
    auto second = relay(**store);
    if (!second.is_ok()) return fail("relay again", second.status());
    for (const std::string& event : *first) std::printf("published: %s\n", event.c_str());

    const std::vector<std::string> expected = {"OrderPlaced order-1", "OrderPlaced order-2",
                                               "PaymentReceived order-1", "OrderPaid order-1",
                                               "OrderShipped order-1"};
    if (*first != expected || !second->empty()) {
        std::fprintf(stderr,
                     "outbox: the relay published %zu events, %zu on its second run; "
                     "expected the %zu committed events once\n",
                     first->size(), second->size(), expected.size());
        return 1;
    }
    std::printf("outbox: %zu events published exactly once; the aborted command left none\n",
                expected.size());
    return 0;
}
