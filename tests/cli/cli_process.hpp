// Runs the built `brook` binary for the CLI tests: fork/exec with pipes on stdin, stdout and
// stderr, so a test can feed input, read output as it comes and collect the exit code.
//
// The binary's path comes from the BROOK_BIN environment variable, set by tests/meson.build.
// Nothing here sleeps to wait for something: reads block (with poll) until the data arrives or
// a generous deadline, meant only to turn a hang into a failure, passes.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace brook_cli_test {

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

inline std::string brook_binary() {
    const char* path = std::getenv("BROOK_BIN");
    REQUIRE_MESSAGE(path != nullptr, "BROOK_BIN must name the built brook binary");
    return path;
}

struct Outcome {
    int exit_code = -1;
    std::string out;
    std::string err;
};

class Process {
  public:
    // Starts brook with `args`. `env` entries (NAME=VALUE) are added; BROOK_DIR is removed
    // from the inherited environment unless given here.
    explicit Process(const std::vector<std::string>& args,
                     const std::vector<std::string>& env = {}) {
        std::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test
        int in[2], out[2], err[2];
        REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
        const std::string binary = brook_binary();
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::dup2(err[1], 2);
            ::unsetenv("BROOK_DIR");
            for (const auto& entry : env) ::putenv(const_cast<char*>(entry.c_str()));
            std::vector<char*> argv{const_cast<char*>(binary.c_str())};
            for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
            argv.push_back(nullptr);
            ::execv(binary.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        ::close(err[1]);
        stdin_ = in[1];
        stdout_ = out[0];
        stderr_ = err[0];
    }
    ~Process() {
        close_stdin();
        if (pid_ > 0 && exit_code_ < 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (stdout_ >= 0) ::close(stdout_);
        if (stderr_ >= 0) ::close(stderr_);
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }

    void write_stdin(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            // Drain output meanwhile so a child blocked on a full pipe cannot deadlock us.
            pump(std::chrono::milliseconds(0));
            const ssize_t n = ::write(stdin_, data.data() + done, data.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // the child stopped reading (it exited): finish() tells why
            done += static_cast<std::size_t>(n);
        }
    }
    void close_stdin() {
        if (stdin_ >= 0) ::close(stdin_);
        stdin_ = -1;
    }

    // Reads output until stdout holds at least `lines` newlines. @return false at the deadline.
    bool wait_for_lines(std::size_t lines,
                        std::chrono::seconds deadline = std::chrono::seconds(60)) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (count_lines() < lines) {
            if (std::chrono::steady_clock::now() > until) return false;
            if (!pump(std::chrono::milliseconds(1000)) && stdout_ < 0)
                return count_lines() >= lines;
        }
        return true;
    }

    void signal(int sig) { ::kill(pid_, sig); }

    // Closes stdin, reads all output and waits for the exit.
    Outcome finish() {
        close_stdin();
        while (stdout_ >= 0 || stderr_ >= 0) pump(std::chrono::milliseconds(1000));
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return Outcome{exit_code_, out_, err_};
    }

    const std::string& out() const { return out_; }
    // What the child printed so far, for a failure message.
    std::string printed() const { return "stdout:\n" + out_ + "stderr:\n" + err_; }

  private:
    std::size_t count_lines() const {
        std::size_t n = 0;
        for (const char c : out_) n += c == '\n';
        return n;
    }
    // Reads what is available from stdout and stderr, waiting up to `wait`. @return whether
    // anything was read.
    bool pump(std::chrono::milliseconds wait) {
        pollfd fds[2] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0) return false;
        bool got = false;
        for (int i = 0; i < 2; ++i) {
            int& fd = i == 0 ? stdout_ : stderr_;
            if (fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buffer[65536];
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n > 0) {
                (i == 0 ? out_ : err_).append(buffer, static_cast<std::size_t>(n));
                got = true;
            } else if (n == 0 || errno != EINTR) {
                ::close(fd);
                fd = -1;
            }
        }
        return got;
    }

    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    int stderr_ = -1;
    int exit_code_ = -1;
    std::string out_;
    std::string err_;
};

// Runs brook to completion with `input` on stdin.
inline Outcome brook(const std::vector<std::string>& args, const std::string& input = {},
                     const std::vector<std::string>& env = {}) {
    Process process(args, env);
    process.write_stdin(input);
    return process.finish();
}

// A fresh temporary directory, removed afterwards, and the store path inside it.
class TempStore {
  public:
    TempStore() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/brook-cli-XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        root_ = pattern;
    }
    ~TempStore() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    std::string path() const { return root_ + "/store"; }
    const std::string& root() const { return root_; }

    // Runs brook --dir <store> args...
    Outcome run(std::vector<std::string> args, const std::string& input = {}) const {
        args.insert(args.begin(), {"--dir", path()});
        return brook(args, input);
    }

  private:
    std::string root_;
};

}  // namespace brook_cli_test
