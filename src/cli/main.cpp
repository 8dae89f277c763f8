// brook: the command-line tool. Finds the command, parses its flags, resolves the store
// directory (--dir, else BROOK_DIR) and runs it. The command table is here; each command's
// code is in its own file.
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

// Every command.
const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"topics create",
         "NAME [--partitions N] [--config KEY=VALUE]...",
         "create a topic",
         "Creates topic NAME with N partitions (default 1). Each --config sets a topic config\n"
         "with Kafka's name and meaning (retention.ms, segment.bytes, cleanup.policy, ...).\n"
         "The store directory is created if it does not exist.\n"
         "\nExample:\n"
         "  brook --dir ./events topics create orders --partitions 3 --config "
         "retention.ms=86400000\n"
         "  Created topic orders.\n",
         {{"partitions", true}, {"config", true, true}},
         true,
         run_topics_create},
        {"topics list",
         "",
         "list topics, one name per line, sorted",
         "Prints every topic name, one per line, sorted. Works while another process writes.\n"
         "\nExample:\n"
         "  brook --dir ./events topics list\n"
         "  orders\n"
         "  payments\n",
         {},
         true,
         run_topics_list},
        {"topics describe",
         "NAME [--json]",
         "show a topic's config and partitions",
         "Prints the topic's effective config (and where each value comes from) and, per\n"
         "partition, its start and end offsets, segment count and bytes. --json prints one JSON\n"
         "object instead (its fields are in docs/cli.md). Works while another process writes.\n"
         "\nExample:\n"
         "  brook --dir ./events topics describe orders --json\n",
         {{"json"}},
         true,
         run_topics_describe},
        {"topics alter",
         "NAME --config KEY=VALUE...",
         "change a topic's config",
         "Sets topic configs; KEY= (an empty value) removes the topic's own setting, so the\n"
         "default applies again. Other settings are kept.\n"
         "\nExample:\n"
         "  brook --dir ./events topics alter orders --config retention.ms=3600000\n"
         "  Altered config of topic orders.\n",
         {{"config", true, true}},
         true,
         run_topics_alter},
        {"topics add-partitions",
         "NAME --partitions N",
         "raise a topic's partition count to N",
         "Raises the number of partitions to N (the new total, as in kafka-topics.sh --alter).\n"
         "Existing partitions and their data are untouched.\n"
         "\nExample:\n"
         "  brook --dir ./events topics add-partitions orders --partitions 6\n"
         "  Topic orders now has 6 partitions.\n",
         {{"partitions", true}},
         true,
         run_topics_add_partitions},
        {"topics delete",
         "NAME",
         "delete a topic and its data",
         "Deletes the topic and all its records.\n"
         "\nExample:\n"
         "  brook --dir ./events topics delete orders\n"
         "  Deleted topic orders.\n",
         {},
         true,
         run_topics_delete},
        {"produce",
         "TOPIC [--partition P] [--key-separator SEP] [--header K=V]... [--null-empty] [--sync]",
         "write stdin lines as records",
         "Sends one record per line of standard input (the newline is not kept).\n"
         "  --partition P        send every record to partition P (default: by key)\n"
         "  --key-separator SEP  the text before the first SEP is the key; a line without SEP\n"
         "                       has a null key\n"
         "  --header K=V         add a header to every record (repeatable)\n"
         "  --null-empty         send an empty key or value as null (a tombstone), as kcat -Z\n"
         "  --sync               wait until the records are fsynced before exiting\n"
         "Prints \"produced N records\" on stderr at the end.\n"
         "\nExample:\n"
         "  printf 'alice:1\\nbob:2\\n' | brook --dir ./events produce orders --key-separator :\n"
         "  produced 2 records\n",
         {{"partition", true},
          {"key-separator", true},
          {"header", true, true},
          {"null-empty"},
          {"sync"}},
         true,
         run_produce},
        {"consume",
         "TOPIC [--partition P] [--group G] [--from-beginning | --offset N | --from-time MS]\n"
         "      [--max-messages N] [--follow] [--idle-timeout-ms T] [--format FMT]",
         "print records",
         "Prints records of TOPIC (every partition, or only P). Starts at the end (only new\n"
         "records, as Kafka's console consumer), the beginning, offset N, or the first record\n"
         "at or after MS milliseconds since the epoch. Without --follow it stops at the end\n"
         "offsets it saw when it started; with --follow it keeps tailing, also a store another\n"
         "process is writing, until --max-messages, --idle-timeout-ms without a record, or\n"
         "Ctrl-C. --format takes kcat's tokens:\n"
         "  %t topic  %p partition  %o offset  %k key  %s value  %S value size (-1 if null)\n"
         "  %T timestamp (ms)  %h headers (k=v,k=v)  %% a percent sign\n"
         "  escapes \\n \\t \\\\; the default is \"%s\\n\"; a null key or value prints as empty.\n"
         "With --group G it joins consumer group G, starts each partition at G's committed\n"
         "offset (without one: at the end, or the beginning with --from-beginning), commits\n"
         "the offset after each record it printed, and leaves G on exit. Commits are writes,\n"
         "so --group needs the store's writer lock; it takes no --partition, --offset or\n"
         "--from-time (move G with 'brook groups reset-offsets').\n"
         "\nExamples:\n"
         "  brook --dir ./events consume orders --from-beginning --format '%p:%o %k=%s\\n'\n"
         "  0:0 alice=1\n"
         "  2:0 bob=2\n"
         "  brook --dir ./events consume orders --group audit --from-beginning\n",
         {{"partition", true},
          {"group", true},
          {"from-beginning"},
          {"offset", true},
          {"from-time", true},
          {"max-messages", true},
          {"follow"},
          {"idle-timeout-ms", true},
          {"format", true}},
         true,
         run_consume},
        {"dump",
         "PATH [--records]",
         "show the batches of a segment file or partition",
         "Prints, for a .log segment file or every segment of a partition directory, each\n"
         "batch's base and last offset, record count, position, bytes, timestamps, codec and\n"
         "whether its checksum is ok or BAD; --records adds every record. Needs no --dir.\n"
         "\nExample:\n"
         "  brook dump ./events/topics/orders-0 --records\n",
         {{"records"}},
         false,
         run_dump},
        {"check",
         "[--repair]",
         "verify every checksum and index of the store",
         "Reads every batch of every partition and verifies its checksum, and checks every\n"
         "sealed index against its log. Without --repair nothing is changed and it works while\n"
         "another process writes. --repair (which needs the writer lock) cuts off torn tails\n"
         "and rebuilds bad indexes; corruption in the middle of a log is reported, never\n"
         "repaired by dropping data. Exits 3 if damage remains.\n"
         "\nExample:\n"
         "  brook --dir ./events check\n"
         "  checked 2 topics, 4 partitions, 4 segments, 120 batches, 48213 bytes\n"
         "  ok: no problems found\n",
         {{"repair"}},
         true,
         run_check},
        {"groups list",
         "",
         "list consumer groups, one id per line, sorted",
         "Prints the id of every consumer group that has members or committed offsets, one per\n"
         "line, sorted. Works while another process writes.\n"
         "\nExample:\n"
         "  brook --dir ./events groups list\n"
         "  audit\n"
         "  billing\n",
         {},
         true,
         run_groups_list},
        {"groups describe",
         "G [--json]",
         "show a group's committed offsets and lag",
         "Prints the group's state and member count, then per partition it committed or owns:\n"
         "TOPIC PARTITION COMMITTED END LAG (LAG = END - COMMITTED; \"-\" where it never\n"
         "committed). --json prints one JSON object instead, with the members and their\n"
         "assignments (its fields are in docs/cli.md). Works while another process writes;\n"
         "members of another process's groups are not visible from here.\n"
         "\nExample:\n"
         "  brook --dir ./events groups describe audit\n",
         {{"json"}},
         true,
         run_groups_describe},
        {"groups reset-offsets",
         "G --topic T (--to-earliest | --to-latest | --to-offset N | --to-time MS)",
         "move a group's committed offsets",
         "Sets G's committed offset of every partition of T: to the log start, the log end,\n"
         "offset N (clamped to each partition's start and end) or each partition's first record\n"
         "at or after MS milliseconds since the epoch (the end if none). Creates G if needed.\n"
         "Refused while the group has members. Prints the new offsets.\n"
         "\nExample:\n"
         "  brook --dir ./events groups reset-offsets audit --topic orders --to-offset 2\n"
         "  TOPIC  PARTITION   NEW-OFFSET\n"
         "  orders         0            2\n",
         {{"topic", true}, {"to-earliest"}, {"to-latest"}, {"to-offset", true}, {"to-time", true}},
         true,
         run_groups_reset_offsets},
        {"groups delete",
         "G",
         "delete a group and its committed offsets",
         "Deletes consumer group G and its committed offsets. Refused while it has members.\n"
         "\nExample:\n"
         "  brook --dir ./events groups delete audit\n"
         "  Deleted group audit.\n",
         {},
         true,
         run_groups_delete},
        {"maintain",
         "",
         "run retention and compaction once, now",
         "Runs one maintenance pass now (Store::run_maintenance): retention (retention.ms,\n"
         "retention.bytes) for every topic whose cleanup.policy has delete, then compaction of\n"
         "every compacted partition that is cleanable (min.cleanable.dirty.ratio,\n"
         "max.compaction.lag.ms). Prints what the pass deleted and compacted, and each partition\n"
         "whose start offset, segments or bytes it changed. It writes, so it needs the store's\n"
         "writer lock: it fails while another process has the store open for writing.\n"
         "\nExample:\n"
         "  brook --dir ./events maintain\n"
         "  maintenance pass done in 3 ms\n"
         "  retention: deleted 4 segments, 2160 bytes\n"
         "  compaction: rewrote 0 bytes, 0 bytes smaller\n"
         "  changed partitions:\n"
         "    orders/0: start offset 0 -> 40, segments 6 -> 2, bytes 3240 -> 1080\n",
         {},
         true,
         run_maintain},
        {"stats",
         "[--json]",
         "per partition: records, bytes, segments, dirty ratio",
         "Prints, for every partition of every topic, its start and end offsets, the records\n"
         "it holds (end - start; \"-\" for a compacted topic, whose offsets have gaps),\n"
         "segments, bytes, and for a compacted topic the dirty ratio (the share of cleanable\n"
         "bytes not yet compacted; 1.00 until a pass in the same process, as the library keeps\n"
         "cleaner state in memory), as Store::describe_topic reports them. --json prints one\n"
         "JSON object instead (its fields are in docs/cli.md). Works while another process\n"
         "writes.\n"
         "\nExample:\n"
         "  brook --dir ./events stats\n"
         "  TOPIC  PARTITION        START          END      RECORDS  SEGMENTS          BYTES  "
         "DIRTY\n"
         "  orders         0           40           60           20         2           1080      "
         "-\n",
         {{"json"}},
         true,
         run_stats},
    };
    return table;
}

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
