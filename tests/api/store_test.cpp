// The Store's admin API through the public headers only: topic names and configs are checked,
// topics are created, described, altered, grown and deleted, a second writer is refused, and
// a restart keeps everything.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "api_env.hpp"

using namespace brook;
using namespace brook_test;

namespace {

std::string config_value(const TopicDescription& d, const std::string& key, ConfigSource* source) {
    auto it = std::find_if(d.config.begin(), d.config.end(),
                           [&](const ConfigEntry& e) { return e.name == key; });
    REQUIRE(it != d.config.end());
    if (source) *source = it->source;
    return it->value;
}

}  // namespace

TEST_CASE_TEMPLATE("topics are created, listed and described", Fixture, DiskStore, MemoryStore) {
    Fixture fixture;
    Options options;
    options.topic_defaults = {{"retention.ms", "1000"}};
    auto store = fixture.open(options);
    REQUIRE(store->create_topic("user-events", 3, {{"cleanup.policy", "compact"}}).is_ok());
    REQUIRE(store->create_topic("audit", 1).is_ok());

    auto names = store->list_topics();
    REQUIRE(names.is_ok());
    CHECK(*names == std::vector<std::string>{"audit", "user-events"});

    auto described = store->describe_topic("user-events");
    REQUIRE(described.is_ok());
    CHECK(described->partitions.size() == 3);
    for (std::size_t p = 0; p < 3; ++p) {
        CHECK(described->partitions[p].partition == PartitionId(static_cast<std::int32_t>(p)));
        CHECK(described->partitions[p].log_start_offset == Offset(0));
        CHECK(described->partitions[p].log_end_offset == Offset(0));
        CHECK(described->partitions[p].segment_count == 1);
    }
    ConfigSource source{};
    CHECK(config_value(*described, "cleanup.policy", &source) == "compact");
    CHECK(source == ConfigSource::topic);
    CHECK(config_value(*described, "retention.ms", &source) == "1000");
    CHECK(source == ConfigSource::store);
    CHECK(config_value(*described, "segment.bytes", &source) == "1073741824");
    CHECK(source == ConfigSource::default_value);
    CHECK(described->config.size() == 16);

    CHECK(store->create_topic("audit", 1).code() == Code::already_exists);
    CHECK(store->describe_topic("missing").code() == Code::not_found);
}

TEST_CASE_TEMPLATE("bad names, partition counts and configs are refused", Fixture, DiskStore,
                   MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    for (const std::string& name :
         std::vector<std::string>{"", ".", "..", "a/b", "../x", "a b", std::string(250, 'x')}) {
        CAPTURE(name);
        CHECK(store->create_topic(name, 1).code() == Code::invalid_argument);
    }
    CHECK(store->create_topic(std::string(249, 'x'), 1).is_ok());
    CHECK(store->create_topic("t", 0).code() == Code::invalid_argument);

    auto unknown = store->create_topic("t", 1, {{"retention.hours", "1"}});
    CHECK(unknown.code() == Code::invalid_argument);
    CHECK(unknown.message().find("retention.hours") != std::string::npos);
    auto bad_type = store->create_topic("t", 1, {{"segment.bytes", "big"}});
    CHECK(bad_type.code() == Code::invalid_argument);
    CHECK(bad_type.message().find("segment.bytes") != std::string::npos);
    auto bad_range = store->create_topic("t", 1, {{"min.cleanable.dirty.ratio", "1.5"}});
    CHECK(bad_range.code() == Code::invalid_argument);
    CHECK(bad_range.message().find("min.cleanable.dirty.ratio") != std::string::npos);

    auto names = store->list_topics();
    REQUIRE(names.is_ok());
    CHECK(names->size() == 1);

    Options bad;
    bad.topic_defaults = {{"flush.ms", "-5"}};
    auto opened = Store::open_in_memory(bad);
    CHECK(opened.code() == Code::invalid_argument);
    CHECK(opened.status().message().find("flush.ms") != std::string::npos);
}

TEST_CASE_TEMPLATE("configs are altered and partitions added", Fixture, DiskStore, MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 2, {{"retention.ms", "5000"}}).is_ok());
    REQUIRE(store->alter_topic_config("t", {{"segment.bytes", "1048576"}}).is_ok());
    auto described = store->describe_topic("t");
    REQUIRE(described.is_ok());
    ConfigSource source{};
    CHECK(config_value(*described, "segment.bytes", &source) == "1048576");
    CHECK(source == ConfigSource::topic);
    CHECK(config_value(*described, "retention.ms", &source) == "5000");

    // An empty value removes the override.
    REQUIRE(store->alter_topic_config("t", {{"retention.ms", ""}}).is_ok());
    described = store->describe_topic("t");
    CHECK(config_value(*described, "retention.ms", &source) == "604800000");
    CHECK(source == ConfigSource::default_value);

    CHECK(store->alter_topic_config("t", {{"nope", "1"}}).code() == Code::invalid_argument);
    CHECK(store->alter_topic_config("missing", {}).code() == Code::not_found);

    REQUIRE(store->add_partitions("t", 5).is_ok());
    CHECK(store->describe_topic("t")->partitions.size() == 5);
    CHECK(store->add_partitions("t", 5).code() == Code::invalid_argument);
    CHECK(store->add_partitions("t", 3).code() == Code::invalid_argument);
}

TEST_CASE_TEMPLATE("a deleted topic is gone and its name reusable", Fixture, DiskStore,
                   MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 2).is_ok());
    REQUIRE(store->delete_topic("t").is_ok());
    CHECK(store->describe_topic("t").code() == Code::not_found);
    CHECK(store->delete_topic("t").code() == Code::not_found);
    CHECK(store->list_topics()->empty());
    REQUIRE(store->create_topic("t", 1).is_ok());
    CHECK(store->describe_topic("t")->partitions.size() == 1);
}

TEST_CASE_TEMPLATE("calls after close return closed", Fixture, DiskStore, MemoryStore) {
    Fixture fixture;
    auto store = fixture.open();
    REQUIRE(store->create_topic("t", 1).is_ok());
    REQUIRE(store->close().is_ok());
    CHECK(store->close().is_ok());
    CHECK(store->create_topic("u", 1).code() == Code::closed);
    CHECK(store->list_topics().code() == Code::closed);
}

TEST_CASE("a restart keeps topics and configs") {
    DiskStore fixture;
    {
        auto store = fixture.open();
        REQUIRE(store->create_topic("orders", 4, {{"cleanup.policy", "compact,delete"}}).is_ok());
        REQUIRE(store->create_topic("audit", 1).is_ok());
        REQUIRE(store->alter_topic_config("audit", {{"retention.bytes", "1000000"}}).is_ok());
        REQUIRE(store->add_partitions("audit", 2).is_ok());
    }
    auto store = fixture.open();
    CHECK(*store->list_topics() == std::vector<std::string>{"audit", "orders"});
    auto orders = store->describe_topic("orders");
    REQUIRE(orders.is_ok());
    CHECK(orders->partitions.size() == 4);
    CHECK(config_value(*orders, "cleanup.policy", nullptr) == "compact,delete");
    auto audit = store->describe_topic("audit");
    CHECK(audit->partitions.size() == 2);
    CHECK(config_value(*audit, "retention.bytes", nullptr) == "1000000");
}

TEST_CASE("a second writer gets busy, in this process and in another") {
    DiskStore fixture;
    auto store = fixture.open();

    auto second = Store::open(fixture.path);
    REQUIRE(second.code() == Code::busy);
    CHECK(second.status().message().find(std::to_string(::getpid())) != std::string::npos);

    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        auto other = Store::open(fixture.path);
        const bool named =
            other.code() == Code::busy &&
            other.status().message().find(std::to_string(::getppid())) != std::string::npos;
        ::_exit(named ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // Once the writer closes, the store opens again.
    REQUIRE(store->close().is_ok());
    CHECK(Store::open(fixture.path).is_ok());
}

TEST_CASE("a missing store is not created when create_if_missing is false") {
    TempDir dir;
    Options options;
    options.create_if_missing = false;
    auto opened = Store::open(dir.path() + "/none", options);
    CHECK(opened.code() == Code::not_found);
}

TEST_CASE("a read-only store follows the writer's topics") {
    DiskStore fixture;
    auto writer = fixture.open();
    REQUIRE(writer->create_topic("first", 2).is_ok());

    Options read_only;
    read_only.read_only = true;
    auto reader = Store::open(fixture.path, read_only);
    REQUIRE_MESSAGE(reader.is_ok(), reader.status().to_string());
    CHECK(*(*reader)->list_topics() == std::vector<std::string>{"first"});
    CHECK((*reader)->create_topic("nope", 1).code() == Code::invalid_argument);

    REQUIRE(writer->create_topic("second", 3).is_ok());
    CHECK(*(*reader)->list_topics() == std::vector<std::string>{"first", "second"});
    CHECK((*reader)->describe_topic("second")->partitions.size() == 3);
    REQUIRE(writer->delete_topic("first").is_ok());
    CHECK(*(*reader)->list_topics() == std::vector<std::string>{"second"});

    TempDir empty;
    CHECK(Store::open(empty.path() + "/none", read_only).code() == Code::not_found);
}
