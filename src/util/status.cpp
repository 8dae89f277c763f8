#include <brook/status.hpp>

namespace brook {

std::string_view code_name(Code code) noexcept {
    switch (code) {
        case Code::ok: return "ok";
        case Code::invalid_argument: return "invalid_argument";
        case Code::not_found: return "not_found";
        case Code::already_exists: return "already_exists";
        case Code::corruption: return "corruption";
        case Code::no_space: return "no_space";
        case Code::io_error: return "io_error";
        case Code::busy: return "busy";
        case Code::fenced: return "fenced";
        case Code::timed_out: return "timed_out";
        case Code::offset_out_of_range: return "offset_out_of_range";
        case Code::record_too_large: return "record_too_large";
        case Code::not_supported: return "not_supported";
        case Code::closed: return "closed";
        case Code::out_of_order_sequence: return "out_of_order_sequence";
        case Code::invalid_txn_state: return "invalid_txn_state";
    }
    return "unknown";
}

std::string Status::to_string() const {
    if (is_ok()) return "ok";
    std::string out(code_name(code_));
    if (!message_.empty()) {
        out += ": ";
        out += message_;
    }
    return out;
}

}  // namespace brook
