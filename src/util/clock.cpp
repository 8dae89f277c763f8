#include <brook/clock.hpp>
#include <chrono>

namespace brook {

std::int64_t SystemClock::now_ms() const noexcept {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

SystemClock& SystemClock::instance() noexcept {
    static SystemClock clock;
    return clock;
}

}  // namespace brook
