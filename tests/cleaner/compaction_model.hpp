// A brute-force model of compaction for the cleaner's tests: the records a log should hold
// after each pass, computed from the records it held before.
#pragma once

#include <brook/types.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "log/record_batch.hpp"

namespace brook::testing {

class CompactionModel {
  public:
    explicit CompactionModel(std::int64_t delete_retention_ms)
        : delete_retention_ms_(delete_retention_ms) {}

    void append(const std::vector<log::Record>& records) {
        for (const auto& r : records) records_.push_back(r);
    }

    // A pass at `now` that compacted everything below `cleaned_to`.
    void pass(Offset cleaned_to, std::int64_t now) {
        std::map<std::string, Offset> latest;
        for (const auto& r : records_) {
            if (r.offset < cleaned_to && r.key) latest[*r.key] = r.offset;
        }
        std::vector<log::Record> kept;
        for (const auto& r : records_) {
            bool keep = true;
            if (r.offset < cleaned_to && r.key) {
                if (latest[*r.key] != r.offset) keep = false;
                const auto seen = seen_.find(r.offset.value());
                if (!r.value && seen != seen_.end() && now - seen->second >= delete_retention_ms_) {
                    keep = false;
                }
            }
            if (keep) kept.push_back(r);
        }
        records_ = std::move(kept);
        for (const auto& r : records_) {
            if (!r.value && r.offset >= first_dirty_ && r.offset < cleaned_to) {
                seen_.emplace(r.offset.value(), now);
            }
        }
        if (cleaned_to > first_dirty_) first_dirty_ = cleaned_to;
    }

    // The cleaner forgets its state on reopen: everything is dirty and unseen again.
    void forget() {
        first_dirty_ = Offset(0);
        seen_.clear();
    }

    const std::vector<log::Record>& records() const { return records_; }

    // The latest value of every key among all records ever appended (nullopt: deleted).
    static std::map<std::string, std::optional<std::string>> latest_values(
        const std::vector<log::Record>& records) {
        std::map<std::string, std::optional<std::string>> out;
        for (const auto& r : records) {
            if (r.key) out[*r.key] = r.value;
        }
        return out;
    }

  private:
    std::int64_t delete_retention_ms_;
    std::vector<log::Record> records_;
    Offset first_dirty_{0};
    std::map<std::int64_t, std::int64_t> seen_;  // tombstone offset -> first pass time
};

}  // namespace brook::testing
