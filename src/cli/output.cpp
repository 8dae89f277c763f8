// Helpers shared by the commands: errors, number and config parsing, store opening, escaping,
// stdout writes and the progress line.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <limits>

#include "cli.hpp"

namespace brook::cli {

std::optional<std::string> Args::value(std::string_view flag) const {
    const auto it = flags_.find(std::string(flag));
    if (it == flags_.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
}

std::vector<std::string> Args::values(std::string_view flag) const {
    const auto it = flags_.find(std::string(flag));
    return it == flags_.end() ? std::vector<std::string>{} : it->second;
}

int fail(std::string_view message) {
    fmt::print(stderr, "brook: error: {}\n", message);
    return kExitError;
}

int fail(const Status& status, std::string_view topic) {
    if (status.code() == Code::busy) {
        return fail(fmt::format(
            "{}; commands that only read (topics list, topics describe, "
            "consume without --group, dump, check, stats, groups list, groups describe) "
            "work meanwhile",
            status.message()));
    }
    if (status.code() == Code::not_found && !topic.empty() &&
        status.message().find("unknown topic") != std::string::npos) {
        return fail(
            fmt::format("unknown topic '{}'; list topics with 'brook topics list' or "
                        "create it with 'brook topics create {}'",
                        topic, topic));
    }
    return fail(status.message());
}

std::optional<UsageError> parse_int(std::string_view flag, std::string_view text, std::int64_t min,
                                    std::int64_t max, std::int64_t& out) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
        value > max) {
        return UsageError{
            fmt::format("--{} needs a whole number from {} to {}, not '{}'", flag, min, max, text)};
    }
    out = value;
    return std::nullopt;
}

std::optional<UsageError> parse_partition(const Args& args, std::optional<PartitionId>& out) {
    const auto text = args.value("partition");
    if (!text) return std::nullopt;
    std::int64_t value = 0;
    if (auto bad =
            parse_int("partition", *text, 0, std::numeric_limits<std::int32_t>::max(), value))
        return bad;
    out = PartitionId(static_cast<std::int32_t>(value));
    return std::nullopt;
}

int fail_no_partition(const TopicDescription& topic, PartitionId partition) {
    return fail(fmt::format("topic '{}' has no partition {}; it has partitions 0 to {}", topic.name,
                            partition.value(), topic.partitions.size() - 1));
}

std::optional<UsageError> parse_config(std::string_view flag, const std::vector<std::string>& items,
                                       Config& out) {
    for (const auto& item : items) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0) {
            return UsageError{fmt::format("--{} needs KEY=VALUE, not '{}'", flag, item)};
        }
        out[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return std::nullopt;
}

Result<std::unique_ptr<Store>> open_for_reading(const Context& ctx) {
    Options options;
    options.read_only = true;
    auto store = Store::open(*ctx.dir, options);
    if (store.code() == Code::not_found) {
        return Status::not_found(fmt::format("no store at {}; check --dir or BROOK_DIR", *ctx.dir));
    }
    return store;
}

Result<std::unique_ptr<Store>> open_for_writing(const Context& ctx, bool create, Options options) {
    options.create_if_missing = create;
    auto store = Store::open(*ctx.dir, options);
    if (store.code() == Code::not_found) {
        return Status::not_found(
            fmt::format("no store at {}; create one with 'brook --dir {} topics create NAME'",
                        *ctx.dir, *ctx.dir));
    }
    return store;
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

std::string escape_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (byte < 0x20 || byte >= 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out += c;
        }
    }
    return out;
}

bool write_stdout(std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

namespace {
std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

ProgressLine::ProgressLine(bool wanted) : enabled_(wanted && ::isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() {
    finish();
}

void ProgressLine::update(const std::string& text) {
    if (!enabled_) return;
    const std::int64_t now = steady_ms();
    if (shown_ && now - last_draw_ms_ < 250) return;
    last_draw_ms_ = now;
    shown_ = true;
    fmt::print(stderr, "\r{}\033[K", text);
    std::fflush(stderr);
}

void ProgressLine::finish() {
    if (!shown_) return;
    shown_ = false;
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
}

}  // namespace brook::cli
