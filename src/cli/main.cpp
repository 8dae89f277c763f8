// brook: the command-line tool. Finds the command, parses its flags, resolves the store
// directory (--dir, else BROOK_DIR) and runs it. The command table is in command_table.cpp;
// each command's code is in its own file.
#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "cli.hpp"

namespace brook::cli {
namespace {

constexpr std::string_view kOverview =
    "Usage: brook [--dir DIR] COMMAND [ARGS...]\n"
    "\n"
    "Inspect, script and repair a brook store: Kafka's command-line tools in one binary.\n"
    "The store is the directory given with --dir, or in the BROOK_DIR environment variable.\n"
    "Exit codes: 0 success, 1 error, 2 usage error, 3 check found damage.\n"
    "Run 'brook COMMAND --help' for a command's flags and examples.\n";

constexpr std::string_view kExamples =
    "\nExamples:\n"
    "  brook --dir /var/lib/app/events topics create orders --partitions 3\n"
    "  printf 'alice:hello\\nbob:hi\\n' | brook --dir /var/lib/app/events produce orders "
    "--key-separator :\n"
    "  BROOK_DIR=/var/lib/app/events brook consume orders --from-beginning --format '%p %o "
    "%k=%s\\n'\n";

std::string usage_line(const Command& command) {
    return fmt::format("Usage: brook [--dir DIR] {}{}{}\n", command.path,
                       command.synopsis.empty() ? "" : " ", command.synopsis);
}

void print_overview() {
    std::string text(kOverview);
    text += "\nCommands:\n";
    for (const auto& command : commands()) {
        text += fmt::format("  {:<24}{}\n", command.path, command.summary);
    }
    text += kExamples;
    fmt::print("{}", text);
}

// Help for a word that prefixes several commands, such as "topics".
void print_group(std::string_view group) {
    std::string text =
        fmt::format("Usage: brook [--dir DIR] {} SUBCOMMAND ...\n\nSubcommands:\n", group);
    for (const auto& command : commands()) {
        if (command.path.starts_with(group) && command.path.size() > group.size()) {
            text += fmt::format("  {:<24}{}\n", command.path, command.summary);
        }
    }
    text += fmt::format("\nRun 'brook {} SUBCOMMAND --help' for details.\n", group);
    fmt::print("{}", text);
}

int usage_error(std::string_view message, std::string_view help_for) {
    fmt::print(stderr, "brook: error: {}; see 'brook {}{}--help'\n", message, help_for,
               help_for.empty() ? "" : " ");
    return kExitUsage;
}

// Parses a command's arguments. "--help" anywhere is reported through `help`.
std::optional<UsageError> parse_args(const Command& command, const std::vector<std::string>& words,
                                     Args& args, std::optional<std::string>& dir, bool& help) {
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (word == "--help" || word == "-h") {
            help = true;
            continue;
        }
        if (!word.starts_with("--") || word == "--") {
            args.positional_.push_back(word);
            continue;
        }
        std::string name = word.substr(2);
        std::optional<std::string> value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        const FlagSpec dir_flag{"dir", true};
        const FlagSpec* spec = name == "dir" ? &dir_flag : nullptr;
        for (const auto& flag : command.flags) {
            if (flag.name == name) spec = &flag;
        }
        if (!spec) return UsageError{fmt::format("unknown flag --{} for '{}'", name, command.path)};
        if (spec->takes_value && !value) {
            if (i + 1 >= words.size()) return UsageError{fmt::format("--{} needs a value", name)};
            value = words[++i];
        }
        if (!spec->takes_value && value) {
            return UsageError{fmt::format("--{} takes no value", name)};
        }
        if (name == "dir") {
            dir = *value;
            continue;
        }
        auto& slot = args.flags_[name];
        if (!slot.empty() && !spec->repeatable) {
            return UsageError{fmt::format("--{} is given more than once", name)};
        }
        slot.push_back(value.value_or(""));
    }
    return std::nullopt;
}

int run(const std::vector<std::string>& argv) {
    std::optional<std::string> dir;
    std::size_t i = 0;
    // Global flags before the command.
    for (; i < argv.size() && argv[i].starts_with("-"); ++i) {
        if (argv[i] == "--help" || argv[i] == "-h") {
            print_overview();
            return kExitOk;
        }
        if (argv[i] == "--dir") {
            if (i + 1 >= argv.size()) return usage_error("--dir needs a directory", "");
            dir = argv[++i];
        } else if (argv[i].starts_with("--dir=")) {
            dir = argv[i].substr(6);
        } else {
            return usage_error(fmt::format("unknown flag {}", argv[i]), "");
        }
    }
    if (i >= argv.size()) return usage_error("no command given", "");
    // The longest command path that the words spell: "topics create", else "produce".
    const Command* command = nullptr;
    std::size_t used = 0;
    for (const auto& candidate : commands()) {
        std::size_t words = 0;
        std::string spelled;
        for (std::size_t j = i; j < argv.size() && spelled.size() < candidate.path.size(); ++j) {
            spelled += (words++ ? " " : "") + argv[j];
        }
        if (spelled == candidate.path && words > used) {
            command = &candidate;
            used = words;
        }
    }
    if (!command) {
        const std::string& word = argv[i];
        const bool is_group =
            std::any_of(commands().begin(), commands().end(),
                        [&](const Command& c) { return c.path.starts_with(word + " "); });
        if (is_group) {
            const bool help =
                i + 1 < argv.size() && (argv[i + 1] == "--help" || argv[i + 1] == "-h");
            if (help || i + 1 == argv.size()) {
                print_group(word);
                return help ? kExitOk : kExitUsage;
            }
            return usage_error(fmt::format("unknown command '{} {}'", word, argv[i + 1]), word);
        }
        return usage_error(fmt::format("unknown command '{}'", word), "");
    }
    Args args;
    bool help = false;
    const std::vector<std::string> rest(argv.begin() + static_cast<std::ptrdiff_t>(i + used),
                                        argv.end());
    const auto parse_error = parse_args(*command, rest, args, dir, help);
    if (help) {
        fmt::print("{}\n{}", usage_line(*command), command->help);
        return kExitOk;
    }
    if (parse_error) return usage_error(parse_error->message, command->path);
    Context ctx{dir};
    if (!ctx.dir) {
        if (const char* env = std::getenv("BROOK_DIR"); env && *env) ctx.dir = env;
    }
    if (command->needs_store && (!ctx.dir || ctx.dir->empty())) {
        return usage_error("no store given: pass --dir DIR or set BROOK_DIR", command->path);
    }
    const Outcome outcome = command->run(ctx, args);
    if (outcome.usage) return usage_error(outcome.usage->message, command->path);
    return outcome.code;
}

}  // namespace
}  // namespace brook::cli

int main(int argc, char** argv) {
    // A reader of our stdout that goes away (brook consume ... | head) is not an error.
    std::signal(SIGPIPE, SIG_IGN);
    return brook::cli::run(std::vector<std::string>(argv + 1, argv + argc));
}
