#include "store/topic_name.hpp"

#include <fmt/format.h>

#include <string>

namespace brook::store {
namespace {

constexpr std::string_view kRule = "use letters, digits, '.', '_' and '-' (1 to 249 characters)";
// Names longer than this are shortened in messages.
constexpr std::size_t kMaxShownLength = 64;

bool is_allowed(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool is_printable_ascii(char c) noexcept {
    return c >= 0x20 && c < 0x7f;
}

// The name as shown in a message: bytes outside printable ASCII as \xNN, long names cut short.
std::string shown(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size() && i < kMaxShownLength; ++i) {
        const char c = name[i];
        if (is_printable_ascii(c)) {
            out += c;
        } else {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        }
    }
    if (name.size() > kMaxShownLength) out += "...";
    return out;
}

// One character as shown in a message: '/' for printable ASCII, "the byte 0xc3" otherwise.
std::string shown_char(char c) {
    if (is_printable_ascii(c)) return fmt::format("'{}'", c);
    return fmt::format("the byte 0x{:02x}", static_cast<unsigned char>(c));
}

}  // namespace

Status validate_topic_name(std::string_view name) {
    if (name.empty())
        return Status::invalid_argument(fmt::format("topic name is empty; {}", kRule));
    if (name.size() > kMaxTopicNameLength) {
        return Status::invalid_argument(fmt::format("topic name '{}' is {} characters long; {}",
                                                    shown(name), name.size(), kRule));
    }
    if (name == "." || name == "..") {
        return Status::invalid_argument(fmt::format(
            "topic name '{}' is not allowed: '.' and '..' are reserved; {}", name, kRule));
    }
    for (const char c : name) {
        if (!is_allowed(c)) {
            return Status::invalid_argument(
                fmt::format("topic name '{}' contains {}, which is not allowed; {}", shown(name),
                            shown_char(c), kRule));
        }
    }
    return Status::ok();
}

}  // namespace brook::store
