// Checksums for on-disk data: XXH3-64 from xxHash.
//
// Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace brook::util {

// XXH3-64 of `bytes` with seed 0.
std::uint64_t xxh3_64(std::span<const std::byte> bytes) noexcept;

}  // namespace brook::util
