// TopicPattern: a subscription pattern, an ECMAScript regular expression that must match a
// whole topic name (Kafka's subscribe(Pattern)), compiled once when the consumer subscribes.
//
// <regex> stays inside topic_pattern.cpp: it is among the costliest standard headers to
// compile, and the group layer's headers reach most of the library.
//
// Thread safety: a TopicPattern is immutable once compiled. Copies share the compiled
// expression, and any number of threads may call matches() on it, or on copies, at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "brook/status.hpp"

namespace brook::util {

class TopicPattern {
  public:
    // The empty pattern; it matches no topic.
    TopicPattern() = default;

    // Compiles `source`.
    // @return invalid_argument, naming the pattern and what is wrong with it, when it is empty
    //         or not a valid ECMAScript regular expression.
    static Result<TopicPattern> compile(std::string_view source);

    // Whether `topic`, whole, matches. The empty pattern matches nothing.
    bool matches(std::string_view topic) const;

    bool empty() const { return source_.empty(); }

    // Patterns are equal when their sources are: a changed subscription is a new source.
    friend bool operator==(const TopicPattern& a, const TopicPattern& b) {
        return a.source_ == b.source_;
    }

  private:
    struct Compiled;

    std::string source_;
    std::shared_ptr<const Compiled> compiled_;
};

}  // namespace brook::util
