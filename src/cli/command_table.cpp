// The command table of the brook tool: every command's path, synopsis, one-line summary, full
// help with examples, flags, whether it needs a store directory, and the function that runs
// it. main.cpp finds commands here and prints their help from it.
#include "cli.hpp"

namespace brook::cli {

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

}  // namespace brook::cli
