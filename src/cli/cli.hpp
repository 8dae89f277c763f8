// The brook command-line tool: shared types of its commands.
//
// The tool is a thin layer over the public API (<brook/brook.hpp>): each command parses its
// arguments, calls the library and prints the result. A command is a Command entry in the
// table in main.cpp; adding one means adding an entry and its run function, nothing else.
//
// Exit codes, fixed for scripts: 0 success, 1 an error (one line "brook: error: ..." on
// stderr), 2 a usage error, 3 `check` found damage it did not repair.
//
// Thread safety: the tool is single-threaded; these types are plain values.
#pragma once

#include <brook/brook.hpp>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brook::cli {

enum Exit : int { kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitCorrupt = 3 };

struct FlagSpec {
    std::string_view name;  // without the leading "--"
    bool takes_value = false;
    bool repeatable = false;
};

// A command's arguments after parsing: positionals in order, flags by name.
class Args {
  public:
    const std::vector<std::string>& positional() const noexcept { return positional_; }
    bool has(std::string_view flag) const { return flags_.contains(std::string(flag)); }
    // The flag's value (its last one), or nullopt.
    std::optional<std::string> value(std::string_view flag) const;
    // Every value of a repeatable flag, in order.
    std::vector<std::string> values(std::string_view flag) const;

    std::vector<std::string> positional_;
    std::map<std::string, std::vector<std::string>> flags_;
};

// Everything a command needs besides its arguments.
struct Context {
    std::optional<std::string> dir;  // --dir, else BROOK_DIR
};

// A usage problem found by a command: printed with a pointer to --help, exit 2.
struct UsageError {
    std::string message;
};

// The result of a command: an exit code, or a usage error.
struct Outcome {
    int code = kExitOk;
    std::optional<UsageError> usage{};
    Outcome(int c) : code(c) {}                                       // NOLINT: implicit
    Outcome(UsageError u) : code(kExitUsage), usage(std::move(u)) {}  // NOLINT: implicit
};

using RunFn = Outcome (*)(const Context&, const Args&);

struct Command {
    std::string_view path;      // "topics create"
    std::string_view synopsis;  // the arguments, as in the usage line
    std::string_view summary;   // one line for the command list
    std::string_view help;      // the full help: details and examples
    std::vector<FlagSpec> flags;
    bool needs_store = true;  // whether --dir / BROOK_DIR must be given
    RunFn run = nullptr;
};

// Every command, in the order the overview lists them (command_table.cpp).
const std::vector<Command>& commands();

// ---- helpers (output.cpp) ----------------------------------------------------------------

// Prints "brook: error: <message>" on stderr and returns kExitError.
int fail(std::string_view message);
// As fail(), with the library's message; a busy store and an unknown topic get CLI advice.
int fail(const Status& status, std::string_view topic = {});

// Parses a decimal integer in [min, max]. @return a UsageError naming the flag.
std::optional<UsageError> parse_int(std::string_view flag, std::string_view text, std::int64_t min,
                                    std::int64_t max, std::int64_t& out);
// Parses --partition P, if given, into `out`.
std::optional<UsageError> parse_partition(const Args& args, std::optional<PartitionId>& out);
// Reports that `topic` has no partition `partition`; returns kExitError.
int fail_no_partition(const TopicDescription& topic, PartitionId partition);
// Splits KEY=VALUE repeated flags into a Config. @return a UsageError for a missing '='.
std::optional<UsageError> parse_config(std::string_view flag, const std::vector<std::string>& items,
                                       Config& out);

// Opens the store for a command that only reads: read-only, so it works beside a writer.
Result<std::unique_ptr<Store>> open_for_reading(const Context& ctx);
// Opens the store for writing with `options`, creating the directory only when `create`.
Result<std::unique_ptr<Store>> open_for_writing(const Context& ctx, bool create,
                                                Options options = {});

// A string as a JSON string literal, quotes included.
std::string json_string(std::string_view text);
// Text for a terminal or a line-oriented file: \n, \t, \\ and bytes outside printable ASCII
// escaped (\xNN).
std::string escape_text(std::string_view text);

// Writes all of `data` to stdout. @return false when stdout is closed (a pipe reader left).
bool write_stdout(std::string_view data);

// A progress line on stderr, shown only when stderr is a terminal, redrawn at most 4 times a
// second and erased by finish().
class ProgressLine {
  public:
    explicit ProgressLine(bool wanted);
    ~ProgressLine();
    void update(const std::string& text);
    void finish();

  private:
    bool enabled_;
    bool shown_ = false;
    std::int64_t last_draw_ms_ = 0;
};

// ---- commands ----------------------------------------------------------------------------
Outcome run_topics_create(const Context&, const Args&);
Outcome run_topics_list(const Context&, const Args&);
Outcome run_topics_describe(const Context&, const Args&);
Outcome run_topics_alter(const Context&, const Args&);
Outcome run_topics_add_partitions(const Context&, const Args&);
Outcome run_topics_delete(const Context&, const Args&);
Outcome run_produce(const Context&, const Args&);
Outcome run_consume(const Context&, const Args&);
Outcome run_dump(const Context&, const Args&);
Outcome run_check(const Context&, const Args&);
Outcome run_maintain(const Context&, const Args&);
Outcome run_groups_list(const Context&, const Args&);
Outcome run_groups_describe(const Context&, const Args&);
Outcome run_groups_reset_offsets(const Context&, const Args&);
Outcome run_groups_delete(const Context&, const Args&);
Outcome run_stats(const Context&, const Args&);

}  // namespace brook::cli
