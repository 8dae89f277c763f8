// Little-endian loads and stores for the on-disk formats.
//
// The persistent formats are little-endian on every platform; these helpers read and write
// fixed-width integers at any alignment. Pure functions, safe from any thread.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace brook::util {

template <typename T>
requires std::is_integral_v<T>
inline T load_le(const std::byte* p) noexcept {
    static_assert(
        std::endian::native == std::endian::little,
        "brook's persistent formats are little-endian; add byte swapping for this target");
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
requires std::is_integral_v<T>
inline void store_le(std::byte* p, T v) noexcept {
    static_assert(
        std::endian::native == std::endian::little,
        "brook's persistent formats are little-endian; add byte swapping for this target");
    std::memcpy(p, &v, sizeof v);
}

}  // namespace brook::util
