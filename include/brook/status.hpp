// Status and Result: how every brook call reports failure.
//
// brook never throws across its API. A call that can fail returns a Status, or a Result<T> that
// holds either a value or a Status. Both are [[nodiscard]]: ignoring an error is a compile
// warning. The code says what kind of failure it was, so a caller can act on it; the message
// says, in words, what was wrong and what to do about it.
//
// Thread safety: Status and Result are values. Distinct objects may be used from any thread;
// one object needs external synchronisation like any other value type.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace brook {

// What kind of failure a Status reports. These values are part of the API: never renumber.
enum class Code : std::uint8_t {
    ok = 0,
    invalid_argument = 1,        // The caller passed a bad name, config, size or state.
    not_found = 2,               // The named topic, partition, group or file does not exist.
    already_exists = 3,          // Creating something that is already there.
    corruption = 4,              // Stored data failed a checksum or structural check.
    no_space = 5,                // The disk is full (ENOSPC); nothing unacknowledged was kept.
    io_error = 6,                // The operating system failed an I/O call.
    busy = 7,                    // Another writer holds the store, or a resource is in use.
    fenced = 8,                  // A newer generation or epoch has replaced the caller.
    timed_out = 9,               // The operation did not finish within its deadline.
    offset_out_of_range = 10,    // The offset lies below the log start or beyond the log end.
    record_too_large = 11,       // A record or batch is larger than max.message.bytes.
    not_supported = 12,          // The operation or format version is not supported.
    closed = 13,                 // The object was closed, or its log stopped after a failure.
    out_of_order_sequence = 14,  // An idempotent batch's sequence number skips ahead.
    invalid_txn_state = 15,      // A transaction call out of order, such as commit before begin.
};

// A finer reason for some codes, for callers that need to tell cases apart.
enum class SubCode : std::uint8_t {
    none = 0,
    below_log_start = 1,  // offset_out_of_range: the offset is below the log start offset.
    above_log_end = 2,    // offset_out_of_range: the offset is beyond the log end offset.
    fail_stopped = 3,     // io_error: the log stopped after a failed fsync or write; reopen it.
};

// The name of a code, such as "invalid_argument".
std::string_view code_name(Code code) noexcept;

class [[nodiscard]] Status {
  public:
    Status() noexcept = default;

    static Status ok() noexcept {
        // Default- rather than value-initialized (`return {}`), which would zero-fill the whole
        // object first: this is on every hot path.
        Status ok;
        return ok;
    }
    static Status error(Code code, std::string message, SubCode sub = SubCode::none) {
        return Status(code, sub, std::move(message));
    }
    static Status invalid_argument(std::string m) {
        return error(Code::invalid_argument, std::move(m));
    }
    static Status not_found(std::string m) { return error(Code::not_found, std::move(m)); }
    static Status already_exists(std::string m) {
        return error(Code::already_exists, std::move(m));
    }
    static Status corruption(std::string m) { return error(Code::corruption, std::move(m)); }
    static Status no_space(std::string m) { return error(Code::no_space, std::move(m)); }
    static Status io_error(std::string m) { return error(Code::io_error, std::move(m)); }
    static Status busy(std::string m) { return error(Code::busy, std::move(m)); }
    static Status not_supported(std::string m) { return error(Code::not_supported, std::move(m)); }
    static Status closed(std::string m) { return error(Code::closed, std::move(m)); }
    static Status fenced(std::string m) { return error(Code::fenced, std::move(m)); }
    static Status out_of_order_sequence(std::string m) {
        return error(Code::out_of_order_sequence, std::move(m));
    }
    static Status invalid_txn_state(std::string m) {
        return error(Code::invalid_txn_state, std::move(m));
    }

    bool is_ok() const noexcept { return code_ == Code::ok; }
    explicit operator bool() const noexcept { return is_ok(); }
    Code code() const noexcept { return code_; }
    SubCode sub_code() const noexcept { return sub_; }
    const std::string& message() const noexcept { return message_; }

    // "ok", or the code name followed by the message: "corruption: checksum mismatch in ...".
    std::string to_string() const;

    // Marks a status as deliberately ignored.
    void ignore() const noexcept {}

    friend bool operator==(const Status& a, Code c) noexcept { return a.code_ == c; }

  private:
    Status(Code code, SubCode sub, std::string message)
        : code_(code), sub_(sub), message_(std::move(message)) {}

    Code code_ = Code::ok;
    SubCode sub_ = SubCode::none;
    std::string message_;
};

// Either a value of type T or a failed Status.
// REQUIRES: value() only when is_ok(); status() may always be called.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit
    Result(Status status) : state_(std::in_place_index<1>, std::move(status)) {  // NOLINT
        assert(!std::get<1>(state_).is_ok() && "a Result built from a Status must be an error");
    }

    bool is_ok() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return is_ok(); }

    T& value() & {
        assert(is_ok());
        return std::get<0>(state_);
    }
    const T& value() const& {
        assert(is_ok());
        return std::get<0>(state_);
    }
    T&& value() && {
        assert(is_ok());
        return std::get<0>(std::move(state_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    // The error, or an ok Status when a value is held.
    Status status() const { return is_ok() ? Status::ok() : std::get<1>(state_); }
    Code code() const noexcept { return is_ok() ? Code::ok : std::get<1>(state_).code(); }

  private:
    std::variant<T, Status> state_;
};

}  // namespace brook

// Returns early from the enclosing function when `expr` yields a failed Status.
#define BROOK_RETURN_IF_ERROR(expr)                       \
    do {                                                  \
        ::brook::Status brook_status_ = (expr);           \
        if (!brook_status_.is_ok()) return brook_status_; \
    } while (0)

#define BROOK_CONCAT_INNER_(a, b) a##b
#define BROOK_CONCAT_(a, b) BROOK_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result's value, or returns its Status from the enclosing function.
#define BROOK_ASSIGN_OR_RETURN(lhs, expr) \
    BROOK_ASSIGN_OR_RETURN_IMPL_(BROOK_CONCAT_(brook_result_, __LINE__), lhs, expr)
#define BROOK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
    auto tmp = (expr);                               \
    if (!tmp.is_ok()) return tmp.status();           \
    lhs = std::move(tmp).value()
