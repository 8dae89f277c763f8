// Tests for util::TopicPattern: a pattern matches whole topic names only, as Kafka's
// subscribe(Pattern) does; bad patterns are refused with a message naming them; copies share
// the compiled expression and match from many threads at once.
#include "util/topic_pattern.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace brook::util {
namespace {

const std::vector<std::string> kTopics = {
    "orders",      "orders.eu", "orders.us", "orders.", "xorders.eu", "payments",
    "orders.eu.2", "ORDERS.eu", "orders-eu", "a",       "",           "orders.eu "};

TopicPattern compiled(const std::string& source) {
    auto pattern = TopicPattern::compile(source);
    REQUIRE_MESSAGE(pattern.is_ok(), pattern.status().to_string());
    return std::move(pattern).value();
}

// The topics of kTopics that `expected` accepts, and those the pattern matches, must agree.
template <typename Predicate>
void check_against(const std::string& source, Predicate expected) {
    CAPTURE(source);
    const TopicPattern pattern = compiled(source);
    for (const std::string& topic : kTopics) {
        CAPTURE(topic);
        CHECK(pattern.matches(topic) == expected(topic));
    }
}

}  // namespace

TEST_CASE("a pattern must match the whole topic name") {
    check_against("orders\\..*", [](const std::string& t) { return t.starts_with("orders."); });
    check_against("orders", [](const std::string& t) { return t == "orders"; });
    check_against("orders\\.(eu|us)",
                  [](const std::string& t) { return t == "orders.eu" || t == "orders.us"; });
    check_against(".*", [](const std::string&) { return true; });
    check_against("[a-z]+", [](const std::string& t) {
        if (t.empty()) return false;
        for (char c : t) {
            if (c < 'a' || c > 'z') return false;
        }
        return true;
    });
}

TEST_CASE("bad patterns are refused with a message that names them") {
    for (const std::string bad : {"orders\\.(", "[a-", "*orders", "a{2,1}"}) {
        CAPTURE(bad);
        auto pattern = TopicPattern::compile(bad);
        REQUIRE_FALSE(pattern.is_ok());
        CHECK(pattern.status().code() == Code::invalid_argument);
        CHECK(pattern.status().message().find("'" + bad + "'") != std::string::npos);
    }
    auto empty = TopicPattern::compile("");
    REQUIRE_FALSE(empty.is_ok());
    CHECK(empty.status().code() == Code::invalid_argument);
}

TEST_CASE("the empty pattern matches nothing; patterns compare by their source") {
    const TopicPattern none;
    CHECK(none.empty());
    for (const std::string& topic : kTopics) CHECK_FALSE(none.matches(topic));
    CHECK(compiled("orders.*") == compiled("orders.*"));
    CHECK_FALSE(compiled("orders.*") == compiled("orders.+"));
}

TEST_CASE("copies of a pattern match from many threads at once") {
    const TopicPattern pattern = compiled("orders\\.[a-z]{2}");
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([copy = pattern, &wrong] {
            for (int i = 0; i < 2000; ++i) {
                if (!copy.matches("orders.eu") || copy.matches("orders.eu.2")) ++wrong;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong == 0);
}

}  // namespace brook::util
