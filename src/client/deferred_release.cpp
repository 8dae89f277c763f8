// The per-thread deferred drops of Message references (detail::DeferredRelease in
// <brook/message.hpp>): a thread dropping the Messages of one read in a row subtracts their
// references with one atomic subtraction instead of one each.
//
// Thread safety: each thread touches only its own DeferredRelease; the subtraction from the
// source's count is atomic, so references dropped on several threads at once stay exact.
#include <brook/message.hpp>

namespace brook::detail {
namespace {

// Flushes the thread's deferred drops when the thread exits; drops after that (from other
// thread_local destructors) are no longer deferred.
struct FlushAtExit {
    ~FlushAtExit() {
        flush_deferred_release();
        exited = true;
    }
    static thread_local bool exited;
};
thread_local bool FlushAtExit::exited = false;
thread_local FlushAtExit flush_at_exit;

}  // namespace

thread_local constinit DeferredRelease deferred_release;

void flush_deferred_release() noexcept {
    DeferredRelease& deferred = deferred_release;
    if (deferred.source == nullptr) return;
    const MessageSource* source = deferred.source;
    const std::int64_t count = deferred.count;
    deferred = {};
    source->release_now(count);
}

void MessageSource::release_first() const noexcept {
    flush_deferred_release();
    if (refs_.load(std::memory_order_relaxed) > 1 && !FlushAtExit::exited) {
        // Registers the flush at this thread's exit (a thread_local is made on first use).
        [[maybe_unused]] FlushAtExit* registered = &flush_at_exit;
        deferred_release = {this, 1};
        return;
    }
    release_now(1);
}

}  // namespace brook::detail
