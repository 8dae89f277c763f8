// TopicPattern: see topic_pattern.hpp.
#include "util/topic_pattern.hpp"

#include <fmt/format.h>

#include <regex>

namespace brook::util {

struct TopicPattern::Compiled {
    std::regex expression;
};

Result<TopicPattern> TopicPattern::compile(std::string_view source) {
    if (source.empty()) {
        return Status::invalid_argument(
            "the topic pattern is empty; give a regular expression such as 'orders-.*'");
    }
    TopicPattern pattern;
    pattern.source_ = std::string(source);
    try {
        pattern.compiled_ = std::make_shared<const Compiled>(
            Compiled{std::regex(pattern.source_, std::regex::ECMAScript)});
    } catch (const std::regex_error& e) {
        return Status::invalid_argument(
            fmt::format("the topic pattern '{}' is not a valid ECMAScript regular expression ({})",
                        source, e.what()));
    }
    return pattern;
}

bool TopicPattern::matches(std::string_view topic) const {
    if (!compiled_) return false;
    // libstdc++ throws error_complexity or error_stack when matching would take too long.
    try {
        return std::regex_match(topic.begin(), topic.end(), compiled_->expression);
    } catch (const std::regex_error&) {
        return false;
    }
}

}  // namespace brook::util
