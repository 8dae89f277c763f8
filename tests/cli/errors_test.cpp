// Every command's error paths: exit codes 1 (error, one line "brook: error: ..."), 2 (usage)
// and what works while another process holds the store for writing.
#include "cli_process.hpp"

using brook_cli_test::contains;
using brook_cli_test::Outcome;
using brook_cli_test::Process;
using brook_cli_test::TempStore;

namespace {

// An error: exit 1, nothing on stdout, exactly one line on stderr that says `what`.
void check_error(const Outcome& outcome, const std::string& what) {
    CAPTURE(outcome.err);
    CHECK(outcome.exit_code == 1);
    CHECK(outcome.out.empty());
    CHECK(outcome.err.starts_with("brook: error: "));
    CHECK(outcome.err.find('\n') == outcome.err.size() - 1);
    CHECK(contains(outcome.err, what));
}

void check_usage(const Outcome& outcome, const std::string& what) {
    CAPTURE(outcome.err);
    CHECK(outcome.exit_code == 2);
    CHECK(outcome.out.empty());
    CHECK(outcome.err.starts_with("brook: error: "));
    CHECK(contains(outcome.err, what));
    CHECK(contains(outcome.err, "--help"));
}

}  // namespace

TEST_CASE("usage errors exit 2: no store, unknown command, bad flags, bad values") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "t"}).exit_code == 0);
    check_usage(brook_cli_test::brook({"topics", "list"}), "pass --dir DIR or set BROOK_DIR");
    check_usage(brook_cli_test::brook({}), "no command");
    check_usage(store.run({"frobnicate"}), "unknown command 'frobnicate'");
    check_usage(store.run({"topics", "frobnicate"}), "unknown command 'topics frobnicate'");
    check_usage(brook_cli_test::brook({"--verbose", "topics", "list"}), "unknown flag --verbose");

    check_usage(store.run({"topics", "create", "x", "--colour"}), "unknown flag --colour");
    check_usage(store.run({"topics", "create", "x", "--partitions", "zero"}), "--partitions");
    check_usage(store.run({"topics", "create", "x", "--partitions", "0"}), "--partitions");
    check_usage(store.run({"topics", "create", "x", "--config", "retention.ms"}), "KEY=VALUE");
    check_usage(store.run({"topics", "create"}), "topic name");
    check_usage(store.run({"topics", "list", "--json"}), "unknown flag --json");
    check_usage(store.run({"topics", "describe", "t", "--yaml"}), "unknown flag --yaml");
    check_usage(store.run({"topics", "alter", "t"}), "--config");
    check_usage(store.run({"topics", "alter", "t", "--partitions", "3"}),
                "unknown flag --partitions");
    check_usage(store.run({"topics", "add-partitions", "t"}), "--partitions N");
    check_usage(store.run({"topics", "delete", "t", "--force"}), "unknown flag --force");
    check_usage(store.run({"produce", "t", "--key-separator"}), "--key-separator needs a value");
    check_usage(store.run({"produce", "t", "--header", "novalue"}), "K=V");
    check_usage(store.run({"produce", "t", "--partition", "-1"}), "--partition");
    check_usage(store.run({"produce", "t", "--sync=yes"}), "--sync takes no value");
    check_usage(store.run({"consume", "t", "--from-beginning", "--offset", "3"}), "at most one");
    check_usage(store.run({"consume", "t", "--format", "%q"}), "unknown token '%q'");
    check_usage(store.run({"consume", "t", "--format", "\\x"}), "unknown escape");
    check_usage(store.run({"consume", "t", "--max-messages", "0"}), "--max-messages");
    check_usage(store.run({"consume", "t", "--follow", "--follow"}), "more than once");
    check_usage(store.run({"dump"}), "segment");
    check_usage(store.run({"dump", "x", "--bytes"}), "unknown flag --bytes");
    check_usage(store.run({"check", "--fix"}), "unknown flag --fix");
}

TEST_CASE("--help at every level exits 0 with usage and examples") {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                                 {"topics", "--help"},
                                                 {"topics", "create", "--help"},
                                                 {"topics", "list", "--help"},
                                                 {"topics", "describe", "--help"},
                                                 {"topics", "alter", "--help"},
                                                 {"topics", "add-partitions", "--help"},
                                                 {"topics", "delete", "--help"},
                                                 {"produce", "--help"},
                                                 {"consume", "--help"},
                                                 {"dump", "--help"},
                                                 {"check", "--help"}}) {
        const Outcome help = brook_cli_test::brook(args);
        CAPTURE(args[0]);
        CHECK(help.exit_code == 0);
        CHECK(help.out.starts_with("Usage: brook"));
        CHECK((contains(help.out, "Example") || args[0] == "topics"));
        CHECK(help.err.empty());
    }
}

TEST_CASE("errors exit 1 with one line: unknown topic, bad config, missing store") {
    TempStore store;
    check_error(store.run({"topics", "list"}), "no store at");
    check_error(store.run({"topics", "describe", "t"}), "no store at");
    check_error(store.run({"produce", "t"}, "x\n"), "no store at");
    check_error(store.run({"consume", "t"}), "no store at");
    check_error(store.run({"check"}), "no store at");
    check_error(store.run({"topics", "delete", "t"}), "no store at");

    REQUIRE(store.run({"topics", "create", "t", "--partitions", "2"}).exit_code == 0);
    const std::string unknown = "unknown topic 'nope'";
    check_error(store.run({"topics", "describe", "nope"}), unknown);
    check_error(store.run({"topics", "alter", "nope", "--config", "retention.ms=1"}), unknown);
    check_error(store.run({"topics", "add-partitions", "nope", "--partitions", "4"}), unknown);
    check_error(store.run({"topics", "delete", "nope"}), unknown);
    check_error(store.run({"consume", "nope"}), unknown);
    const Outcome produced = store.run({"produce", "nope"}, "x\n");
    CHECK(produced.exit_code == 1);
    CHECK(contains(produced.err, unknown));

    check_error(store.run({"topics", "create", "t"}), "already exists");
    check_error(store.run({"topics", "create", "bad/name"}), "bad/name");
    check_error(store.run({"topics", "create", "x", "--config", "retention.ms=soon"}),
                "retention.ms");
    check_error(store.run({"topics", "create", "x", "--config", "retention.mss=1"}),
                "unknown topic config 'retention.mss'");
    check_error(store.run({"topics", "alter", "t", "--config", "cleanup.policy=sometimes"}),
                "cleanup.policy");
    check_error(store.run({"topics", "add-partitions", "t", "--partitions", "2"}), "2");
    check_error(store.run({"consume", "t", "--partition", "2"}), "has no partition 2");
    check_error(store.run({"consume", "t", "--offset", "1"}), "--offset 1 is outside partition 0");
    CHECK(store.run({"produce", "t", "--partition", "5"}, "x\n").exit_code == 1);
    check_error(store.run({"dump", store.root() + "/missing.log"}), "no file or directory");
    check_error(store.run({"dump", store.path() + "/LOCK"}), "not a segment file");
    check_error(store.run({"dump", store.path()}), "no segment (.log) files");
    // Nothing was created by the failed commands.
    CHECK(store.run({"topics", "list"}).out == "t\n");
}

TEST_CASE("a locked store: writes fail with the holder's pid, reads work, and a writer is tailed") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "t"}).exit_code == 0);
    REQUIRE(store.run({"produce", "t"}, "before\n").exit_code == 0);

    // Another process holds the store for writing: a producer reading a pipe we control.
    Process writer({"--dir", store.path(), "produce", "t", "--key-separator", ":"});
    Process tail({"--dir", store.path(), "consume", "t", "--from-beginning", "--follow", "--format",
                  "%o %k %s\\n"});
    REQUIRE_MESSAGE(tail.wait_for_lines(1), tail.printed());
    CHECK(tail.out() == "0  before\n");
    writer.write_stdin("k1:first\n");
    // The tailing consumer sees the writer's record; the writer holds the lock from here on.
    REQUIRE_MESSAGE(tail.wait_for_lines(2), tail.printed());
    CHECK(tail.out() == "0  before\n1 k1 first\n");

    const std::string holder = "held by pid " + std::to_string(writer.pid());
    check_error(store.run({"topics", "create", "u"}), holder);
    check_error(store.run({"topics", "alter", "t", "--config", "retention.ms=1"}), holder);
    check_error(store.run({"topics", "add-partitions", "t", "--partitions", "2"}), holder);
    check_error(store.run({"topics", "delete", "t"}), holder);
    check_error(store.run({"produce", "t"}, "x\n"), holder);
    check_error(store.run({"check", "--repair"}), holder);

    // Readers work beside the writer.
    CHECK(store.run({"topics", "list"}).out == "t\n");
    const Outcome described = store.run({"topics", "describe", "t", "--json"});
    CHECK(described.exit_code == 0);
    CHECK(contains(described.out, "\"end_offset\":2"));
    const Outcome consumed = store.run({"consume", "t", "--from-beginning"});
    CHECK(consumed.exit_code == 0);
    CHECK(consumed.out == "before\nfirst\n");
    CHECK(store.run({"check"}).exit_code == 0);

    // More records, in several writes, keep arriving at the tail in order.
    std::string expected = tail.out();
    for (int i = 0; i < 200; ++i) {
        writer.write_stdin("k" + std::to_string(i) + ":v" + std::to_string(i) + "\n");
        expected +=
            std::to_string(2 + i) + " k" + std::to_string(i) + " v" + std::to_string(i) + "\n";
        if (i % 50 == 49)
            REQUIRE_MESSAGE(tail.wait_for_lines(static_cast<std::size_t>(3 + i)), tail.printed());
        // check reads beside the appending writer and finds nothing wrong.
        if (i == 120) CHECK(store.run({"check"}).exit_code == 0);
    }
    const Outcome writer_done = writer.finish();
    CHECK(writer_done.exit_code == 0);
    CHECK(writer_done.err == "produced 201 records\n");
    REQUIRE_MESSAGE(tail.wait_for_lines(202), tail.printed());
    tail.signal(SIGTERM);
    const Outcome tail_done = tail.finish();
    CHECK(tail_done.exit_code == 0);
    CHECK(tail_done.out == expected);

    // With the writer gone, writes work again.
    CHECK(store.run({"topics", "create", "u"}).exit_code == 0);
}

TEST_CASE("consume --follow stops after --idle-timeout-ms without records, and at --max-messages") {
    TempStore store;
    REQUIRE(store.run({"topics", "create", "t"}).exit_code == 0);
    REQUIRE(store.run({"produce", "t"}, "a\nb\nc\n").exit_code == 0);
    const Outcome idle =
        store.run({"consume", "t", "--from-beginning", "--follow", "--idle-timeout-ms", "300"});
    CHECK(idle.exit_code == 0);
    CHECK(idle.out == "a\nb\nc\n");
    const Outcome limited =
        store.run({"consume", "t", "--from-beginning", "--follow", "--max-messages", "2"});
    CHECK(limited.exit_code == 0);
    CHECK(limited.out == "a\nb\n");
}
