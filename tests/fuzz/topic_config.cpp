// Fuzz target: the topic-config parser (store/topic_config.hpp) and the stored topic record
// that carries a topic's overrides (meta/topic_record.hpp).
//
// Input starting with 0x00: the rest is a stored topic record value. A record that decodes must
// encode and decode back to itself.
// Otherwise: lines "key=value"; lines before a line "--" are store defaults, lines after it
// topic overrides. Validation and resolution must agree, every resolved value must already be
// canonical, and resolving the resolved values again must give the same config.
#include "store/topic_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "meta/topic_record.hpp"

using namespace brook;

namespace {

void fuzz_topic_record(std::string_view bytes) {
    auto decoded = meta::decode_topic_record("topic", bytes);
    if (!decoded.is_ok()) return;
    auto again = meta::decode_topic_record("topic", meta::encode_topic_record(*decoded));
    FUZZ_CHECK(again.is_ok());
    FUZZ_CHECK(*again == *decoded);
}

void fuzz_config_text(std::string_view text) {
    Config layers[2];
    int layer = 0;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (line == "--") {
            layer = 1;
            continue;
        }
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        layers[layer][std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    const Config& defaults = layers[0];
    const Config& overrides = layers[1];

    const bool defaults_valid = store::validate_topic_config(defaults).is_ok();
    const bool overrides_valid = store::validate_topic_config(overrides).is_ok();
    for (const auto& [name, value] : overrides) {
        if (overrides_valid) FUZZ_CHECK(store::canonical_value(name, value).is_ok());
    }

    std::vector<ConfigEntry> entries;
    auto resolved = store::resolve_topic_config(defaults, overrides, &entries);
    FUZZ_CHECK(resolved.is_ok() == (defaults_valid && overrides_valid));
    if (!resolved.is_ok()) return;

    Config canonical;
    for (const ConfigEntry& entry : entries) {
        auto value = store::canonical_value(entry.name, entry.value);
        FUZZ_CHECK(value.is_ok());
        FUZZ_CHECK(*value == entry.value);
        canonical[entry.name] = entry.value;
    }
    auto again = store::resolve_topic_config({}, canonical);
    FUZZ_CHECK(again.is_ok());
    FUZZ_CHECK(*again == *resolved);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (!input.empty() && input[0] == '\0') {
        fuzz_topic_record(input.substr(1));
    } else {
        fuzz_config_text(input);
    }
    return 0;
}
