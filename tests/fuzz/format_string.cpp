// Fuzz target: the --format template parser of `brook consume` (cli/record_format.hpp). A
// template either compiles or fails with a message; a compiled one formats a message with
// every kind of field without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cli/record_format.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace brook;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string error;
    const auto format = cli::RecordFormat::compile(text, error);
    if (!format) {
        FUZZ_CHECK(!error.empty());
        return 0;
    }
    const Message message("orders", PartitionId(3), Offset(42), std::string("key"), std::nullopt,
                          Headers{{"h", "1"}, {"n", std::nullopt}}, 1'700'000'000'000,
                          TimestampType::create_time);
    std::string out;
    format->append(message, out);
    const std::size_t once = out.size();
    format->append(message, out);
    FUZZ_CHECK(out.size() == 2 * once);
    return 0;
}
