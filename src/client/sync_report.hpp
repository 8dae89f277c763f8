// SyncReport: the delivery report a produce_sync() caller waits for, kept in its own frame.
//
// Whichever thread appends the record sets the report; usually that is the caller's own
// thread, and then neither side makes a system call (util::WakeFlag). Replaces a
// std::promise, whose set_value() made a futex wake-up call on every record (glibc's
// pthread_once wakes unconditionally) and whose shared state was allocated per record.
//
// Thread safety: one setter and one waiting thread; set() is the setter's last access, after
// which the waiter may return and destroy the object.
#pragma once

#include <brook/producer.hpp>
#include <utility>

#include "util/wake_flag.hpp"

namespace brook::client {

class SyncReport {
  public:
    void set(DeliveryReport report) {
        report_ = std::move(report);
        done_.set();
    }

    // Waits until set() has run. @return the report.
    DeliveryReport wait() {
        done_.wait();
        return std::move(report_);
    }

  private:
    DeliveryReport report_;
    util::WakeFlag done_;
};

}  // namespace brook::client
