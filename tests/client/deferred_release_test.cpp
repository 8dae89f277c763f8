// Deferred drops of Message references (detail::DeferredRelease): a thread that drops
// references to one source in a row subtracts them later, in one go. The source must never be
// recycled while a reference is held, must be recycled exactly once, at once when the last
// reference goes on a thread holding the deferred ones, and otherwise no later than when the
// thread that deferred drops drops a reference to another source, flushes, or exits. Meant to
// run under ThreadSanitizer too.
#include <doctest/doctest.h>

#include <atomic>
#include <brook/message.hpp>
#include <iterator>
#include <latch>
#include <thread>
#include <vector>

using namespace brook;

namespace {

// A source that counts its recycles instead of deleting itself.
struct CountedSource final : detail::MessageSource {
    std::atomic<int> recycled{0};

  private:
    void recycle() const noexcept override {
        const_cast<CountedSource*>(this)->recycled.fetch_add(1);
    }
};

// `n` references to `source`, taken at once as the consumer takes them.
std::vector<detail::SourceRef> refs_to(const CountedSource& source, int n) {
    source.acquire(n);
    std::vector<detail::SourceRef> refs;
    for (int i = 0; i < n; ++i) refs.push_back(detail::SourceRef::adopt(&source));
    return refs;
}

}  // namespace

TEST_CASE("one thread dropping every reference recycles the source once, with the last") {
    CountedSource source;
    auto refs = refs_to(source, 100);
    for (int i = 0; i < 99; ++i) {
        refs.pop_back();
        REQUIRE(source.recycled == 0);
    }
    refs.pop_back();
    CHECK(source.recycled == 1);
    detail::flush_deferred_release();
    CHECK(source.recycled == 1);
}

TEST_CASE("dropping a reference to another source subtracts the deferred drops") {
    CountedSource first;
    CountedSource second;
    auto firsts = refs_to(first, 10);
    auto seconds = refs_to(second, 10);
    // Another holder keeps `first` alive while this thread drops its references.
    std::vector<detail::SourceRef> kept(1, firsts.front());
    firsts.clear();
    CHECK(first.recycled == 0);
    // The other holder drops its reference on another thread, whose exit subtracts it.
    std::thread([&] { kept.clear(); }).join();
    // This thread's drops of `first` are still deferred (their count keeps it alive) until it
    // drops a reference to `second`.
    CHECK(first.recycled == 0);
    seconds.pop_back();
    CHECK(first.recycled == 1);
    seconds.clear();
    CHECK(second.recycled == 1);
}

TEST_CASE("drops deferred on a thread are subtracted when it flushes or exits") {
    CountedSource source;
    auto refs = refs_to(source, 20);
    std::vector<detail::SourceRef> theirs(std::make_move_iterator(refs.begin() + 10),
                                          std::make_move_iterator(refs.end()));
    refs.resize(10);

    std::latch dropped(1);
    std::latch flush(1);
    std::thread other([&] {
        theirs.clear();  // deferred: this thread's references are not the last
        dropped.count_down();
        flush.wait();
        detail::flush_deferred_release();
    });
    dropped.wait();
    // Both threads' drops are deferred, each while the other's are still counted: the source
    // goes when the second of them flushes.
    refs.clear();
    CHECK(source.recycled == 0);
    flush.count_down();
    other.join();
    CHECK(source.recycled == 0);
    detail::flush_deferred_release();
    CHECK(source.recycled == 1);

    // A thread's exit flushes its deferred drops; the last reference, held here, then
    // recycles the source at once.
    CountedSource again;
    auto mine = refs_to(again, 4);
    std::vector<detail::SourceRef> gone(std::make_move_iterator(mine.begin() + 2),
                                        std::make_move_iterator(mine.end()));
    mine.resize(2);
    std::thread([moved = std::move(gone)]() mutable { moved.clear(); }).join();
    CHECK(again.recycled == 0);
    mine.clear();
    CHECK(again.recycled == 1);
}

TEST_CASE("references copied and dropped on many threads at once recycle the source once") {
    for (int round = 0; round < 20; ++round) {
        CountedSource source;
        auto refs = refs_to(source, 64);
        std::vector<std::thread> threads;
        std::atomic<int> early{0};
        for (int t = 0; t < 4; ++t) {
            std::vector<detail::SourceRef> mine(refs.begin() + t * 16, refs.begin() + (t + 1) * 16);
            threads.emplace_back([&source, &early, mine = std::move(mine)]() mutable {
                for (int i = 0; i < 50; ++i) {
                    std::vector<detail::SourceRef> copies(mine.begin(), mine.end());
                    if (source.recycled != 0) ++early;
                }
                mine.clear();
            });
        }
        refs.clear();
        for (auto& t : threads) t.join();
        CHECK(early == 0);
        // This thread's drops may still be deferred (the others held references meanwhile).
        detail::flush_deferred_release();
        CHECK(source.recycled == 1);
    }
}
