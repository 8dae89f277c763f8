// Topic names: Kafka's rule for which names a topic may have.
//
// A topic name is 1 to 249 characters, each an ASCII letter, digit, '.', '_' or '-', and is
// neither "." nor "..". Names are compared byte for byte; there is no case folding. Kafka
// also warns that '.' and '_' collide in its metric names; brook has no such metrics, so both
// are simply allowed.
//
// Thread safety: pure functions; call from any thread.
#pragma once

#include <brook/status.hpp>
#include <cstddef>
#include <string_view>

namespace brook::store {

// The longest topic name Kafka allows.
inline constexpr std::size_t kMaxTopicNameLength = 249;

// @return ok if `name` is a valid topic name; otherwise invalid_argument saying what was wrong
//         (empty, too long, reserved, or the first character that is not allowed) and the rule.
Status validate_topic_name(std::string_view name);

}  // namespace brook::store
