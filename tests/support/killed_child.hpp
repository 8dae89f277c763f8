// A forked child process that reports over a pipe and is killed with SIGKILL at a chosen
// moment, for the crash tests (tests/crash, tests/txn).
//
// The child runs `body(write_fd)` and must end with _exit() or be killed; by convention it
// writes "R\n" once its store is open and ready. The parent collects everything written.
#pragma once

#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

namespace brook::testing {

struct ChildOutcome {
    std::string received;  // everything the child wrote to the pipe
    int status = 0;        // as from waitpid()
};

// Forks a child running `body`, and kills it `run_for` after it wrote "R\n" (or, with
// `from_start`, `run_for` after the fork). A negative `run_for` never kills: the parent waits
// for the child to exit.
inline ChildOutcome run_killed_child(const std::function<void(int write_fd)>& body,
                                     std::chrono::microseconds run_for, bool from_start = false) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        body(fds[1]);
        ::_exit(0);
    }
    ::close(fds[1]);
    using Clock = std::chrono::steady_clock;
    const bool kill_it = run_for.count() >= 0;
    auto deadline = kill_it && from_start ? Clock::now() + run_for : Clock::time_point::max();
    ChildOutcome outcome;
    bool killed = false;
    char buffer[4096];
    for (;;) {
        if (kill_it && deadline == Clock::time_point::max() &&
            outcome.received.starts_with("R\n")) {
            deadline = Clock::now() + run_for;
        }
        int wait_ms = -1;
        if (!killed && deadline != Clock::time_point::max()) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) {
                ::kill(pid, SIGKILL);
                killed = true;
            } else {
                wait_ms = static_cast<int>(left);
            }
        }
        pollfd readable{fds[0], POLLIN, 0};
        if (::poll(&readable, 1, wait_ms) <= 0) continue;
        const ssize_t got = ::read(fds[0], buffer, sizeof buffer);
        if (got <= 0) break;  // EOF: the child is gone
        outcome.received.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fds[0]);
    REQUIRE(::waitpid(pid, &outcome.status, 0) == pid);
    return outcome;
}

}  // namespace brook::testing
