// Strong types for the numbers that are easy to mix up: offsets and partition ids.
//
// An Offset is the position of a record in one partition's log, as in Kafka: the first record
// ever written has offset 0 and each later record has a larger one. A PartitionId numbers the
// partitions of a topic from 0. Both are plain values and safe to share between threads.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace brook {

class Offset {
  public:
    constexpr Offset() noexcept = default;
    constexpr explicit Offset(std::int64_t value) noexcept : value_(value) {}

    constexpr std::int64_t value() const noexcept { return value_; }

    constexpr Offset operator+(std::int64_t delta) const noexcept { return Offset(value_ + delta); }
    constexpr Offset operator-(std::int64_t delta) const noexcept { return Offset(value_ - delta); }
    constexpr std::int64_t operator-(Offset other) const noexcept { return value_ - other.value_; }
    constexpr Offset& operator++() noexcept {
        ++value_;
        return *this;
    }

    friend constexpr auto operator<=>(Offset, Offset) noexcept = default;

  private:
    std::int64_t value_ = 0;
};

class PartitionId {
  public:
    constexpr PartitionId() noexcept = default;
    constexpr explicit PartitionId(std::int32_t value) noexcept : value_(value) {}

    constexpr std::int32_t value() const noexcept { return value_; }

    friend constexpr auto operator<=>(PartitionId, PartitionId) noexcept = default;

  private:
    std::int32_t value_ = 0;
};

}  // namespace brook

template <>
struct std::hash<brook::Offset> {
    std::size_t operator()(brook::Offset o) const noexcept {
        return std::hash<std::int64_t>{}(o.value());
    }
};
template <>
struct std::hash<brook::PartitionId> {
    std::size_t operator()(brook::PartitionId p) const noexcept {
        return std::hash<std::int32_t>{}(p.value());
    }
};
