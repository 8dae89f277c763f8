// Encodings shared by the metadata store implementations: the topic record value, the
// "state" database key, and the argument checks both implementations apply.
//
// Layouts are described in meta/format.hpp. Pure functions, safe from any thread.
#pragma once

#include <brook/status.hpp>
#include <string>
#include <string_view>

#include "meta/meta_store.hpp"

namespace brook::meta {

// The value stored for `topic` in the "topics" database; the name is the key, not part of it.
// REQUIRES: every override key and value is shorter than 4 GiB.
std::string encode_topic_record(const TopicRecord& topic);

// The topic stored under key `name` with value `bytes`. Every length is checked against the
// bytes left before it is used.
// @return corruption if the size, checksum or structure is wrong;
//         not_supported if the checksum is right but the version is unknown.
Result<TopicRecord> decode_topic_record(std::string_view name, std::string_view bytes);

// @return invalid_argument unless `name` is a valid topic name (1 to 511 bytes).
Status check_topic_name(std::string_view name);

// @return invalid_argument unless `space` and `key` follow the key rules of MetaStore.
Status check_state_key(std::string_view space, std::string_view key);

// The "state" database key of `key` in `space`: space, 0x00, key. With an empty key, the
// prefix shared by every key of the space.
std::string state_key(std::string_view space, std::string_view key);

}  // namespace brook::meta
