// Consumer groups through the public API, on disk and in memory: assignment and callbacks,
// every record read once per group (checked against the set produced), fenced commits,
// max.poll.interval.ms with an injected clock, cooperative handover, static membership,
// auto-commit, restart and kill -9 durability, regex subscriptions, and GroupAdmin.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "api_env.hpp"

using namespace brook;
using namespace brook_test;
using namespace std::chrono_literals;

namespace {

TopicPartition tp(const std::string& topic, int p) {
    return {topic, PartitionId(p)};
}

std::vector<TopicPartition> all_of(const std::string& topic, int partitions) {
    std::vector<TopicPartition> out;
    for (int p = 0; p < partitions; ++p) out.push_back(tp(topic, p));
    return out;
}

std::vector<TopicPartition> sorted(std::vector<TopicPartition> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// Records every callback as "assigned|revoked|lost" with its partitions, and what the
// consumer owns according to them.
struct Recorder : RebalanceListener {
    struct Event {
        std::string kind;
        std::vector<TopicPartition> partitions;
    };
    std::vector<Event> events;
    std::set<TopicPartition> owned;
    std::function<void(Consumer&, const std::vector<TopicPartition>&)> on_assigned;

    void on_partitions_assigned(Consumer& c, const std::vector<TopicPartition>& p) override {
        events.push_back({"assigned", sorted(p)});
        owned.insert(p.begin(), p.end());
        if (on_assigned) on_assigned(c, p);
    }
    void on_partitions_revoked(Consumer&, const std::vector<TopicPartition>& p) override {
        events.push_back({"revoked", sorted(p)});
        for (const auto& x : p) owned.erase(x);
    }
    void on_partitions_lost(Consumer&, const std::vector<TopicPartition>& p) override {
        events.push_back({"lost", sorted(p)});
        for (const auto& x : p) owned.erase(x);
    }
};

std::unique_ptr<Consumer> make_consumer(Store& store, Config config) {
    config.try_emplace("auto.offset.reset", "earliest");
    auto consumer = Consumer::create(store, config);
    REQUIRE_MESSAGE(consumer.is_ok(), consumer.status().to_string());
    return std::move(consumer).value();
}

void produce_to(Store& store, const std::string& topic, int partition, int count) {
    auto producer = Producer::create(store);
    REQUIRE(producer.is_ok());
    for (int i = 0; i < count; ++i) {
        ProducerRecord record;
        record.topic = topic;
        record.partition = PartitionId(partition);
        record.value = "v" + std::to_string(i);
        auto report = (*producer)->produce_sync(std::move(record));
        REQUIRE(report.is_ok());
        REQUIRE(report->error.is_ok());
    }
}

// Polls each consumer in turn (timeout 0) until `done` holds; every record returned goes to
// `seen` as (consumer index, partition, offset), and is committed when `commit` is set.
using Seen = std::vector<std::tuple<std::size_t, TopicPartition, std::int64_t>>;
void poll_until(const std::vector<Consumer*>& consumers, const std::function<bool()>& done,
                Seen* seen = nullptr, bool commit = false) {
    for (int round = 0; round < 2000 && !done(); ++round) {
        for (std::size_t i = 0; i < consumers.size(); ++i) {
            auto message = consumers[i]->poll(0ms);
            if (!message) continue;
            REQUIRE_MESSAGE(message->error().is_ok(), message->error().to_string());
            if (seen) {
                seen->emplace_back(i, tp(message->topic(), message->partition().value()),
                                   message->offset().value());
            }
            if (commit) REQUIRE(consumers[i]->commit(*message).is_ok());
        }
    }
    REQUIRE(done());
}

// Polls `c` `n` times; any message must be a record.
void poll_n(Consumer& c, int n) {
    for (int i = 0; i < n; ++i) {
        auto message = c.poll(0ms);
        if (message) REQUIRE(message->error().is_ok());
    }
}

// The first message `c` returns within 100 polls; fails the test if there is none.
Message first_message(Consumer& c) {
    std::optional<Message> m;
    for (int i = 0; i < 100 && !m; ++i) m = c.poll(0ms);
    REQUIRE(m.has_value());
    return std::move(*m);
}

std::vector<TopicPartition> assignment_of(Consumer& c) {
    return sorted(c.assignment());
}

GroupDescription describe(Store& store, const std::string& group) {
    auto d = GroupAdmin(store).describe_group(group);
    REQUIRE_MESSAGE(d.is_ok(), d.status().to_string());
    return std::move(d).value();
}

Offset committed_of(Consumer& c, const TopicPartition& p) {
    auto got = c.committed({p});
    REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
    return got->front().offset;
}

}  // namespace

TEST_CASE_TEMPLATE("groups: range splits a topic, each record is read once, commits carry over", F,
                   MemoryStore, DiskStore) {
    F f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 4).is_ok());
    for (int p = 0; p < 4; ++p) produce_to(*store, "t", p, 10);
    const Config config{{"group.id", "g"},
                        {"enable.auto.commit", "false"},
                        {"partition.assignment.strategy", "range"},
                        {"client.id", "app"}};
    auto r1 = std::make_shared<Recorder>();
    auto r2 = std::make_shared<Recorder>();
    auto c1 = make_consumer(*store, config);
    auto c2 = make_consumer(*store, config);
    REQUIRE(c1->subscribe({"t"}, r1).is_ok());
    poll_until({c1.get()}, [&] { return c1->assignment().size() == 4; });
    CHECK(r1->events.size() == 1);
    REQUIRE(c2->subscribe({"t"}, r2).is_ok());
    Seen seen;
    poll_until(
        {c1.get(), c2.get()},
        [&] {
            return assignment_of(*c1) == std::vector{tp("t", 0), tp("t", 1)} &&
                   assignment_of(*c2) == std::vector{tp("t", 2), tp("t", 3)};
        },
        &seen, true);
    // Eager: c1 revoked all four before getting its two back; c2 only ever got its two.
    REQUIRE(r1->events.size() >= 3);
    CHECK(r1->events[1].kind == "revoked");
    CHECK(r1->events.back().kind == "assigned");
    CHECK(r1->events.back().partitions == std::vector{tp("t", 0), tp("t", 1)});
    CHECK(r2->events.back().partitions == std::vector{tp("t", 2), tp("t", 3)});
    CHECK(std::set(r1->owned.begin(), r1->owned.end()) ==
          std::set<TopicPartition>{tp("t", 0), tp("t", 1)});

    poll_until(
        {c1.get(), c2.get()}, [&] { return seen.size() >= 40; }, &seen, true);
    std::set<std::pair<TopicPartition, std::int64_t>> unique;
    for (const auto& [who, partition, offset] : seen) unique.insert({partition, offset});
    CHECK(seen.size() == 40);  // nothing read twice
    for (int p = 0; p < 4; ++p) {
        for (int o = 0; o < 10; ++o) CHECK(unique.contains({tp("t", p), o}));
        CHECK(committed_of(*c1, tp("t", p)) == Offset(10));
    }
    auto d = describe(*store, "g");
    CHECK(d.state == GroupState::stable);
    CHECK(d.protocol == "range");
    CHECK(d.members.size() == 2);
    CHECK(d.total_lag == 0);
    REQUIRE(d.partitions.size() == 4);
    CHECK(d.partitions[0].lag == std::optional<std::int64_t>(0));

    // c1 leaves: c2 takes everything and reads only what is new.
    for (int p = 0; p < 4; ++p) produce_to(*store, "t", p, 2);
    REQUIRE(c1->close().is_ok());
    seen.clear();
    poll_until(
        {c2.get()}, [&] { return c2->assignment().size() == 4 && seen.size() >= 8; }, &seen, true);
    std::set<std::pair<TopicPartition, std::int64_t>> fresh;
    for (const auto& [who, partition, offset] : seen) fresh.insert({partition, offset});
    CHECK(seen.size() == 8);
    for (int p = 0; p < 4; ++p) {
        CHECK(fresh.contains({tp("t", p), 10}));
        CHECK(fresh.contains({tp("t", p), 11}));
    }
    CHECK(c1->commit() == Code::closed);
}

TEST_CASE(
    "groups: a member that stops polling is removed, fenced and told it lost its partitions") {
    auto clock = std::make_shared<ManualClock>(1'000'000);
    MemoryStore f;
    Options options;
    options.clock = clock;
    auto store = f.open(options);
    REQUIRE(store->create_topic("t", 4).is_ok());
    for (int p = 0; p < 4; ++p) produce_to(*store, "t", p, 3);
    const Config config{
        {"group.id", "g"}, {"enable.auto.commit", "false"}, {"max.poll.interval.ms", "1000"}};
    auto r1 = std::make_shared<Recorder>();
    auto c1 = make_consumer(*store, config);
    auto c2 = make_consumer(*store, config);
    REQUIRE(c1->subscribe({"t"}, r1).is_ok());
    REQUIRE(c2->subscribe({"t"}).is_ok());
    poll_until({c1.get(), c2.get()},
               [&] { return c1->assignment().size() == 2 && c2->assignment().size() == 2; });
    const auto c1_had = assignment_of(*c1);
    const auto c2_had = assignment_of(*c2);
    const std::int32_t generation = describe(*store, "g").generation;

    // c1 owns its partitions, so it may commit them but not c2's.
    CHECK(c1->commit({{c1_had[0].topic, c1_had[0].partition, Offset(1)}}).is_ok());
    Status not_owner = c1->commit({{c2_had[0].topic, c2_had[0].partition, Offset(1)}});
    CHECK(not_owner == Code::fenced);
    CHECK(not_owner.message().find("not owned") != std::string::npos);

    // A consumer outside the membership cannot commit for an active group.
    auto outsider = make_consumer(*store, config);
    REQUIRE(outsider->assign({{"t", PartitionId(0), kOffsetBeginning}}).is_ok());
    CHECK(outsider->commit({{"t", PartitionId(0), Offset(2)}}) == Code::fenced);

    clock->advance_ms(600);
    poll_n(*c2, 1);          // c2 stays alive
    clock->advance_ms(600);  // c1's last poll is now 1200 ms old
    poll_until({c2.get()}, [&] { return c2->assignment().size() == 4; });
    auto d = describe(*store, "g");
    CHECK(d.members.size() == 1);
    CHECK(d.generation > generation);

    Status stale = c1->commit({{c1_had[0].topic, c1_had[0].partition, Offset(2)}});
    CHECK(stale == Code::fenced);
    CHECK(stale.message().find("max.poll.interval.ms") != std::string::npos);
    CHECK(committed_of(*c2, c1_had[0]) == Offset(1));  // the fenced commit moved nothing

    // c1's next poll reports the loss, then it rejoins and the group splits again.
    r1->events.clear();
    poll_until({c1.get(), c2.get()},
               [&] { return c1->assignment().size() == 2 && c2->assignment().size() == 2; });
    REQUIRE(!r1->events.empty());
    CHECK(r1->events.front().kind == "lost");
    CHECK(r1->events.front().partitions == c1_had);
    REQUIRE(c1->close().is_ok());
    REQUIRE(c2->close().is_ok());
    // With no members left, a standalone commit is accepted.
    CHECK(outsider->commit({{"t", PartitionId(0), Offset(2)}}).is_ok());
    CHECK(committed_of(*outsider, tp("t", 0)) == Offset(2));
}

TEST_CASE("groups: cooperative-sticky moves only what it must, and never to two owners at once") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 6).is_ok());
    const Config config{{"group.id", "g"}, {"partition.assignment.strategy", "cooperative-sticky"}};
    std::vector<std::shared_ptr<Recorder>> recorders;
    std::vector<std::unique_ptr<Consumer>> consumers;
    std::vector<Consumer*> raw;
    auto add = [&] {
        recorders.push_back(std::make_shared<Recorder>());
        consumers.push_back(make_consumer(*store, config));
        raw.push_back(consumers.back().get());
        REQUIRE(consumers.back()->subscribe({"t"}, recorders.back()).is_ok());
    };
    // After every poll, the partitions the callbacks report owned never overlap.
    auto settle = [&](std::size_t each) {
        for (int round = 0; round < 500; ++round) {
            bool balanced = true;
            for (std::size_t i = 0; i < raw.size(); ++i) {
                auto message = raw[i]->poll(0ms);
                CHECK(!message.has_value());
                std::set<TopicPartition> union_;
                std::size_t total = 0;
                for (const auto& r : recorders) {
                    union_.insert(r->owned.begin(), r->owned.end());
                    total += r->owned.size();
                }
                REQUIRE(union_.size() == total);
            }
            for (auto* c : raw) balanced = balanced && c->assignment().size() == each;
            if (balanced) return;
        }
        FAIL("the group did not settle");
    };
    add();
    add();
    settle(3);
    const auto first = assignment_of(*raw[0]);
    const auto second = assignment_of(*raw[1]);
    for (auto& r : recorders) r->events.clear();
    add();
    settle(2);
    // Each old member gave up exactly one partition, kept the other two, and never revoked all.
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& before = i == 0 ? first : second;
        std::vector<TopicPartition> revoked;
        for (const auto& e : recorders[i]->events) {
            if (e.kind == "revoked")
                revoked.insert(revoked.end(), e.partitions.begin(), e.partitions.end());
            CHECK(e.kind != "lost");
        }
        CHECK(revoked.size() == 1);
        for (const auto& p : assignment_of(*raw[i])) {
            CHECK(std::find(before.begin(), before.end(), p) != before.end());
        }
    }
    CHECK(describe(*store, "g").protocol == "cooperative-sticky");
}

TEST_CASE("groups: a static member rejoins within session.timeout.ms without a rebalance") {
    auto clock = std::make_shared<ManualClock>(5'000);
    MemoryStore f;
    Options options;
    options.clock = clock;
    auto store = f.open(options);
    REQUIRE(store->create_topic("t", 4).is_ok());
    produce_to(*store, "t", 0, 5);
    Config a{{"group.id", "g"}, {"group.instance.id", "a"}, {"session.timeout.ms", "10000"}};
    Config b{{"group.id", "g"}, {"group.instance.id", "b"}, {"session.timeout.ms", "10000"}};
    auto ca = make_consumer(*store, a);
    auto cb = make_consumer(*store, b);
    REQUIRE(ca->subscribe({"t"}).is_ok());
    REQUIRE(cb->subscribe({"t"}).is_ok());
    poll_until({ca.get(), cb.get()},
               [&] { return ca->assignment().size() == 2 && cb->assignment().size() == 2; });
    const auto a_had = assignment_of(*ca);
    const auto b_had = assignment_of(*cb);
    const auto generation = describe(*store, "g").generation;

    REQUIRE(ca->close().is_ok());
    poll_n(*cb, 20);
    CHECK(assignment_of(*cb) == b_had);  // nothing moved to b
    CHECK(describe(*store, "g").members.size() == 2);
    CHECK(describe(*store, "g").generation == generation);

    clock->advance_ms(9'000);
    auto again = make_consumer(*store, a);
    REQUIRE(again->subscribe({"t"}).is_ok());
    poll_until({again.get(), cb.get()}, [&] { return again->assignment().size() == 2; });
    CHECK(assignment_of(*again) == a_had);
    CHECK(describe(*store, "g").generation == generation);

    // Gone for longer than session.timeout.ms: b takes everything in a new generation.
    REQUIRE(again->close().is_ok());
    clock->advance_ms(10'001);
    poll_until({cb.get()}, [&] { return cb->assignment().size() == 4; });
    auto d = describe(*store, "g");
    CHECK(d.members.size() == 1);
    CHECK(d.generation > generation);
}

TEST_CASE(
    "groups: auto-commit every auto.commit.interval.ms, on rebalance and on close; commit_async") {
    auto clock = std::make_shared<ManualClock>(0);
    MemoryStore f;
    Options options;
    options.clock = clock;
    auto store = f.open(options);
    REQUIRE(store->create_topic("t", 1).is_ok());
    produce_to(*store, "t", 0, 10);
    auto c = make_consumer(*store, {{"group.id", "g"}, {"auto.commit.interval.ms", "1000"}});
    REQUIRE(c->subscribe({"t"}).is_ok());
    Seen seen;
    poll_until(
        {c.get()}, [&] { return seen.size() == 3; }, &seen);
    CHECK(committed_of(*c, tp("t", 0)) == kOffsetInvalid);
    clock->advance_ms(1000);
    CHECK(c->poll(0ms).has_value());  // the 4th record; the commit covers the first 3
    CHECK(committed_of(*c, tp("t", 0)) == Offset(3));

    std::vector<std::pair<Status, std::vector<TopicPartitionOffset>>> done;
    c->commit_async([&](const Status& s, const std::vector<TopicPartitionOffset>& o) {
        done.emplace_back(s, o);
    });
    CHECK(done.empty());
    CHECK(c->poll(0ms).has_value());
    REQUIRE(done.size() == 1);
    CHECK(done[0].first.is_ok());
    CHECK(done[0].second == std::vector<TopicPartitionOffset>{{"t", PartitionId(0), Offset(4)}});
    CHECK(committed_of(*c, tp("t", 0)) == Offset(4));

    CHECK(c->poll(0ms).has_value());  // offset 5
    REQUIRE(c->close().is_ok());
    auto d = GroupAdmin(*store).describe_group("g");
    REQUIRE(d.is_ok());
    REQUIRE(d->partitions.size() == 1);
    CHECK(d->partitions[0].committed == Offset(6));
    CHECK(d->partitions[0].lag == std::optional<std::int64_t>(4));
}

TEST_CASE("groups: with auto-commit, a rebalance commits before revoking") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 2).is_ok());
    produce_to(*store, "t", 0, 5);
    produce_to(*store, "t", 1, 5);
    const Config config{{"group.id", "g"},
                        {"auto.commit.interval.ms", "100000000"},
                        {"partition.assignment.strategy", "roundrobin"}};
    auto c1 = make_consumer(*store, config);
    REQUIRE(c1->subscribe({"t"}).is_ok());
    Seen seen;
    poll_until(
        {c1.get()}, [&] { return seen.size() == 4; }, &seen);
    std::map<TopicPartition, Offset> position;
    for (const auto& [who, partition, offset] : seen) position[partition] = Offset(offset + 1);
    CHECK(committed_of(*c1, tp("t", 0)) == kOffsetInvalid);
    // A second member joins; c1's next poll commits what it returned, then revokes.
    auto c2 = make_consumer(*store, config);
    REQUIRE(c2->subscribe({"t"}).is_ok());
    poll_until({c1.get(), c2.get()},
               [&] { return c1->assignment().size() == 1 && c2->assignment().size() == 1; });
    for (const auto& [partition, next] : position) CHECK(committed_of(*c1, partition) == next);
}

TEST_CASE("groups: committed offsets survive closing and reopening the store") {
    DiskStore f;
    {
        auto store = f.open();
        REQUIRE(store->create_topic("t", 2).is_ok());
        produce_to(*store, "t", 0, 20);
        auto c = make_consumer(*store, {{"group.id", "g"}, {"enable.auto.commit", "false"}});
        REQUIRE(c->subscribe({"t"}).is_ok());
        Seen seen;
        poll_until(
            {c.get()}, [&] { return seen.size() == 7; }, &seen, true);
        CHECK(c->position({tp("t", 0)})->front().offset == Offset(7));
        REQUIRE(c->close().is_ok());
        REQUIRE(store->close().is_ok());
    }
    auto store = f.open();
    // A manually assigned partition with kOffsetInvalid starts at the group's commit.
    auto manual = make_consumer(*store, {{"group.id", "g"}});
    REQUIRE(manual->assign({{"t", PartitionId(0), kOffsetInvalid}}).is_ok());
    CHECK(manual->position({tp("t", 0)})->front().offset == Offset(7));
    REQUIRE(manual->close().is_ok());
    auto c = make_consumer(*store, {{"group.id", "g"}, {"enable.auto.commit", "false"}});
    CHECK(committed_of(*c, tp("t", 0)) == Offset(7));
    CHECK(committed_of(*c, tp("t", 1)) == kOffsetInvalid);
    REQUIRE(c->subscribe({"t"}).is_ok());
    Seen seen;
    poll_until(
        {c.get()}, [&] { return seen.size() == 13; }, &seen);
    for (std::size_t i = 0; i < seen.size(); ++i)
        CHECK(std::get<2>(seen[i]) == static_cast<std::int64_t>(7 + i));
}

TEST_CASE("groups: after kill -9, a consumer resumes from the last successful commit") {
    DiskStore f;
    {
        auto store = f.open();
        REQUIRE(store->create_topic("t", 1).is_ok());
        produce_to(*store, "t", 0, 200);
        REQUIRE(store->close().is_ok());
    }
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        auto store = Store::open(f.path);
        if (!store) ::_exit(2);
        auto c = Consumer::create(**store, {{"group.id", "g"},
                                            {"enable.auto.commit", "false"},
                                            {"auto.offset.reset", "earliest"}});
        if (!c || !(*c)->subscribe({"t"}).is_ok()) ::_exit(3);
        for (std::int64_t committed = 0; committed < 60;) {
            auto m = (*c)->poll(100ms);
            if (!m) continue;
            if (!m->error().is_ok() || !(*c)->commit(*m).is_ok()) ::_exit(4);
            committed = m->offset().value() + 1;
            if (::write(fds[1], &committed, sizeof committed) != sizeof committed) ::_exit(5);
        }
        for (;;) ::pause();
    }
    ::close(fds[1]);
    std::int64_t last = -1;
    for (int i = 0; i < 60; ++i) REQUIRE(::read(fds[0], &last, sizeof last) == sizeof last);
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    ::close(fds[0]);
    CHECK(last == 60);

    auto store = f.open();
    auto c = make_consumer(*store, {{"group.id", "g"}, {"enable.auto.commit", "false"}});
    CHECK(committed_of(*c, tp("t", 0)) == Offset(last));
    REQUIRE(c->subscribe({"t"}).is_ok());
    auto first = c->poll(5s);
    REQUIRE(first.has_value());
    CHECK(first->offset() == Offset(last));
}

TEST_CASE("groups: auto.offset.reset=none without a committed offset is an error message") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 1).is_ok());
    produce_to(*store, "t", 0, 2);
    auto c = make_consumer(*store, {{"group.id", "g"}, {"auto.offset.reset", "none"}});
    REQUIRE(c->subscribe({"t"}).is_ok());
    const Message m = first_message(*c);
    CHECK(m.error() == Code::offset_out_of_range);
    CHECK(m.error().message().find("auto.offset.reset is none") != std::string::npos);
    // A committed offset makes the same group start there.
    REQUIRE(c->close().is_ok());
    REQUIRE(GroupAdmin(*store).reset_offsets("g", "t", OffsetResetSpec::to_offset(1)).is_ok());
    auto again = make_consumer(*store, {{"group.id", "g"}, {"auto.offset.reset", "none"}});
    REQUIRE(again->subscribe({"t"}).is_ok());
    const Message next = first_message(*again);
    REQUIRE(next.error().is_ok());
    CHECK(next.offset() == Offset(1));
}

TEST_CASE("groups: a regex subscription picks up new topics; new partitions rebalance") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("orders.eu", 1).is_ok());
    REQUIRE(store->create_topic("payments", 1).is_ok());
    auto c = make_consumer(*store, {{"group.id", "g"}});
    CHECK(c->subscribe_pattern("orders\\.(").code() == Code::invalid_argument);
    REQUIRE(c->subscribe_pattern("orders\\..*").is_ok());
    poll_until({c.get()}, [&] { return c->assignment().size() == 1; });
    REQUIRE(store->create_topic("orders.us", 2).is_ok());
    poll_until({c.get()}, [&] { return c->assignment().size() == 3; });
    CHECK(assignment_of(*c) ==
          std::vector{tp("orders.eu", 0), tp("orders.us", 0), tp("orders.us", 1)});
    REQUIRE(store->add_partitions("orders.eu", 3).is_ok());
    poll_until({c.get()}, [&] { return c->assignment().size() == 5; });
    produce_to(*store, "orders.eu", 2, 1);
    const Message m = first_message(*c);
    CHECK(m.topic() == "orders.eu");
    CHECK(m.partition() == PartitionId(2));
}

TEST_CASE("groups: GroupAdmin lists, describes lag, and refuses reset and delete while active") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 2).is_ok());
    produce_to(*store, "t", 0, 10);
    produce_to(*store, "t", 1, 4);
    GroupAdmin admin(*store);
    CHECK(admin.describe_group("g").code() == Code::not_found);
    CHECK(admin.delete_group("g") == Code::not_found);
    REQUIRE(admin.reset_offsets("old", "t", OffsetResetSpec::latest()).is_ok());

    auto c = make_consumer(*store, {{"group.id", "g"}, {"enable.auto.commit", "false"}});
    REQUIRE(c->subscribe({"t"}).is_ok());
    poll_until({c.get()}, [&] { return c->assignment().size() == 2; });
    REQUIRE(c->commit({{"t", PartitionId(0), Offset(4)}}).is_ok());

    auto listed = admin.list_groups();
    REQUIRE(listed.is_ok());
    REQUIRE(listed->size() == 2);
    CHECK((*listed)[0].group_id == "g");
    CHECK((*listed)[0].state == GroupState::stable);
    CHECK((*listed)[0].members == 1);
    CHECK((*listed)[1].group_id == "old");
    CHECK((*listed)[1].state == GroupState::empty);

    auto d = describe(*store, "g");
    REQUIRE(d.members.size() == 1);
    CHECK(d.members[0].member_id == c->member_id());
    CHECK(sorted(d.members[0].assignment) == all_of("t", 2));
    REQUIRE(d.partitions.size() == 2);
    CHECK(d.partitions[0].committed == Offset(4));
    CHECK(d.partitions[0].log_end_offset == Offset(10));
    CHECK(d.partitions[0].lag == std::optional<std::int64_t>(6));
    CHECK(!d.partitions[1].committed.has_value());
    CHECK(d.total_lag == 6);
    auto old = describe(*store, "old");
    CHECK(old.total_lag == 0);
    CHECK(old.partitions[0].committed == Offset(10));

    auto busy = admin.reset_offsets("g", "t", OffsetResetSpec::earliest());
    CHECK(busy.code() == Code::busy);
    CHECK(busy.status().message().find(c->member_id()) != std::string::npos);
    CHECK(admin.delete_group("g") == Code::busy);
    CHECK(committed_of(*c, tp("t", 0)) == Offset(4));

    REQUIRE(c->close().is_ok());
    auto reset = admin.reset_offsets("g", "t", OffsetResetSpec::to_offset(7));
    REQUIRE(reset.is_ok());
    CHECK(*reset == std::vector<TopicPartitionOffset>{{"t", PartitionId(0), Offset(7)},
                                                      {"t", PartitionId(1), Offset(4)}});
    CHECK(describe(*store, "g").total_lag == 3);
    REQUIRE(admin.reset_offsets("g", "t", OffsetResetSpec::to_timestamp(0)).is_ok());
    CHECK(describe(*store, "g").total_lag == 14);
    CHECK(admin.reset_offsets("g", "nope", OffsetResetSpec::latest()).code() == Code::not_found);
    REQUIRE(admin.delete_group("g").is_ok());
    CHECK(admin.describe_group("g").code() == Code::not_found);
    CHECK(admin.list_groups()->size() == 1);
}

TEST_CASE("groups: misuse is refused with clear errors") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 1).is_ok());
    auto plain = make_consumer(*store, {});
    CHECK(plain->subscribe({"t"}) == Code::invalid_argument);
    CHECK(plain->commit() == Code::invalid_argument);
    CHECK(plain->committed({tp("t", 0)}).code() == Code::invalid_argument);
    auto c = make_consumer(*store, {{"group.id", "g"}});
    CHECK(c->subscribe({}) == Code::invalid_argument);
    REQUIRE(c->subscribe({"t"}).is_ok());
    CHECK(c->assign({{"t", PartitionId(0), Offset(0)}}) == Code::invalid_argument);
    auto other =
        make_consumer(*store, {{"group.id", "g"}, {"partition.assignment.strategy", "roundrobin"}});
    Status clash = other->subscribe({"t"});
    CHECK(clash == Code::invalid_argument);
    CHECK(clash.message().find("strategy") != std::string::npos);
    CHECK(Consumer::create(*store, {{"group.instance.id", "x"}}).code() == Code::invalid_argument);
}

TEST_CASE("groups: deleting a subscribed topic rebalances the group onto what is left") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 2).is_ok());
    REQUIRE(store->create_topic("u", 2).is_ok());
    auto c = make_consumer(*store, {{"group.id", "g"}});
    REQUIRE(c->subscribe({"t", "u"}).is_ok());
    poll_until({c.get()}, [&] { return c->assignment().size() == 4; });
    produce_to(*store, "u", 0, 2);
    poll_until({c.get()}, [&] { return c->position({tp("u", 0)})->front().offset == Offset(2); });
    REQUIRE(c->commit().is_ok());
    CHECK(committed_of(*c, tp("u", 0)) == Offset(2));
    REQUIRE(store->delete_topic("u").is_ok());
    produce_to(*store, "t", 0, 3);
    // Messages for the deleted partitions may report not_found; records come only from t.
    std::set<std::int64_t> offsets;
    for (int i = 0; i < 500 && (offsets.size() < 3 || c->assignment().size() != 2); ++i) {
        auto m = c->poll(0ms);
        if (!m) continue;
        if (!m->error().is_ok()) {
            CHECK(m->error() == Code::not_found);
            continue;
        }
        CHECK(m->topic() == "t");
        offsets.insert(m->offset().value());
    }
    CHECK(assignment_of(*c) == all_of("t", 2));
    CHECK(offsets == std::set<std::int64_t>{0, 1, 2});
    // The deleted topic's offsets went with it, and cannot be committed again.
    CHECK(committed_of(*c, tp("u", 0)) == kOffsetInvalid);
    CHECK(c->commit({{"u", PartitionId(0), Offset(1)}}) == Code::fenced);  // no longer owned
    auto outsider = make_consumer(*store, {{"group.id", "h"}});
    CHECK(outsider->commit({{"u", PartitionId(0), Offset(1)}}) == Code::not_found);
    // Recreating the topic brings it back into the subscription.
    REQUIRE(store->create_topic("u", 1).is_ok());
    poll_until({c.get()}, [&] { return c->assignment().size() == 3; });
}

TEST_CASE("groups: a member blocked in a long poll stays in the group") {
    MemoryStore f;
    auto store = f.open();  // the system clock: max.poll.interval.ms runs in real time
    REQUIRE(store->create_topic("t", 2).is_ok());
    const Config config{{"group.id", "g"}, {"max.poll.interval.ms", "2000"}};
    auto r1 = std::make_shared<Recorder>();
    auto c1 = make_consumer(*store, config);
    auto c2 = make_consumer(*store, config);
    REQUIRE(c1->subscribe({"t"}, r1).is_ok());
    REQUIRE(c2->subscribe({"t"}).is_ok());
    poll_until({c1.get(), c2.get()},
               [&] { return c1->assignment().size() == 1 && c2->assignment().size() == 1; });
    const std::string id = c1->member_id();
    std::atomic<bool> returned{false};
    std::thread blocked([&] {
        auto m = c1->poll(5000ms);  // longer than max.poll.interval.ms, with nothing to read
        CHECK(!m.has_value());
        returned = true;
    });
    while (!returned.load()) poll_n(*c2, 1), std::this_thread::sleep_for(50ms);
    blocked.join();
    CHECK(c1->member_id() == id);
    for (const auto& e : r1->events) CHECK(e.kind != "lost");
    CHECK(describe(*store, "g").members.size() == 2);
}

TEST_CASE("groups: a second live consumer with the same group.instance.id fences the first") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 2).is_ok());
    const Config config{
        {"group.id", "g"}, {"group.instance.id", "worker-1"}, {"enable.auto.commit", "false"}};
    auto r1 = std::make_shared<Recorder>();
    auto first = make_consumer(*store, config);
    REQUIRE(first->subscribe({"t"}, r1).is_ok());
    poll_until({first.get()}, [&] { return first->assignment().size() == 2; });
    const auto generation = describe(*store, "g").generation;

    auto second = make_consumer(*store, config);
    REQUIRE(second->subscribe({"t"}).is_ok());
    poll_until({second.get()}, [&] { return second->assignment().size() == 2; });
    CHECK(describe(*store, "g").generation == generation);  // no rebalance
    Status fenced = first->commit({{"t", PartitionId(0), Offset(0)}});
    CHECK(fenced == Code::fenced);
    CHECK(fenced.message().find("worker-1") != std::string::npos);
    // The fenced consumer learns it lost its partitions and does not rejoin by itself, so the
    // two never take the identity from each other back and forth.
    r1->events.clear();
    auto told = first->poll(0ms);
    REQUIRE(told.has_value());
    CHECK(told->error() == Code::fenced);
    CHECK(told->error().message().find("replaced") != std::string::npos);
    REQUIRE(r1->events.size() == 1);
    CHECK(r1->events.front().kind == "lost");
    CHECK(r1->events.front().partitions == all_of("t", 2));
    CHECK(first->member_id().empty());
    poll_n(*first, 5);
    poll_n(*second, 5);
    CHECK(assignment_of(*second) == all_of("t", 2));
    CHECK(first->assignment().empty());
    CHECK(describe(*store, "g").members.size() == 1);
}

TEST_CASE(
    "groups: a committed offset below the log start after deletion follows auto.offset.reset") {
    MemoryStore f;
    auto store = f.open();
    REQUIRE(store->create_topic("t", 1).is_ok());
    produce_to(*store, "t", 0, 10);
    REQUIRE(GroupAdmin(*store).reset_offsets("early", "t", OffsetResetSpec::to_offset(2)).is_ok());
    REQUIRE(GroupAdmin(*store).reset_offsets("strict", "t", OffsetResetSpec::to_offset(2)).is_ok());
    auto start = store->delete_records("t", PartitionId(0), Offset(6));
    REQUIRE(start.is_ok());
    REQUIRE(*start == Offset(6));

    auto early = make_consumer(*store, {{"group.id", "early"}, {"auto.offset.reset", "earliest"}});
    REQUIRE(early->subscribe({"t"}).is_ok());
    const Message m = first_message(*early);
    REQUIRE(m.error().is_ok());
    CHECK(m.offset() == Offset(6));

    auto strict = make_consumer(*store, {{"group.id", "strict"}, {"auto.offset.reset", "none"}});
    REQUIRE(strict->subscribe({"t"}).is_ok());
    const Message e = first_message(*strict);
    CHECK(e.error() == Code::offset_out_of_range);
}
