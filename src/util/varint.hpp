// Zig-zag varints, as Kafka's record v2 encoding uses them.
//
// A signed value is zig-zag mapped (0, -1, 1, -2, ... become 0, 1, 2, 3, ...) and written
// little-endian in groups of 7 bits, the high bit of each byte marking that another follows.
// A varint holds an int32 in at most 5 bytes, a varlong an int64 in at most 10.
//
// Decoding is bounds-checked: it never reads past the span and rejects encodings whose value
// does not fit the target type. Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

namespace brook::util {

constexpr std::uint32_t zigzag_encode(std::int32_t v) noexcept {
    return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
constexpr std::uint64_t zigzag_encode(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int32_t zigzag_decode(std::uint32_t v) noexcept {
    return static_cast<std::int32_t>((v >> 1) ^ (0u - (v & 1u)));
}
constexpr std::int64_t zigzag_decode(std::uint64_t v) noexcept {
    return static_cast<std::int64_t>((v >> 1) ^ (std::uint64_t{0} - (v & 1u)));
}

inline void append_unsigned_varint(std::vector<std::byte>& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::byte>(v));
}

inline void append_varint(std::vector<std::byte>& out, std::int32_t v) {
    append_unsigned_varint(out, zigzag_encode(v));
}
inline void append_varlong(std::vector<std::byte>& out, std::int64_t v) {
    append_unsigned_varint(out, zigzag_encode(v));
}

// Reads an unsigned varint of type U from bytes[pos, end). On success advances `pos` past it;
// on failure (the bytes end first, or the value overflows U) leaves `pos` unchanged.
template <typename U>
std::optional<U> read_unsigned_varint(std::span<const std::byte> bytes, std::size_t& pos) noexcept {
    constexpr int kBits = std::numeric_limits<U>::digits;
    U result = 0;
    std::size_t p = pos;
    for (int shift = 0; shift < kBits; shift += 7) {
        if (p >= bytes.size()) return std::nullopt;
        const auto b = std::to_integer<std::uint8_t>(bytes[p++]);
        // In the last group only kBits - shift value bits remain, and no continuation bit.
        if (kBits - shift < 7 && (b >> (kBits - shift)) != 0) return std::nullopt;
        result |= static_cast<U>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            pos = p;
            return result;
        }
    }
    return std::nullopt;
}

inline std::optional<std::int32_t> read_varint(std::span<const std::byte> bytes,
                                               std::size_t& pos) noexcept {
    const auto v = read_unsigned_varint<std::uint32_t>(bytes, pos);
    if (!v) return std::nullopt;
    return zigzag_decode(*v);
}

inline std::optional<std::int64_t> read_varlong(std::span<const std::byte> bytes,
                                                std::size_t& pos) noexcept {
    const auto v = read_unsigned_varint<std::uint64_t>(bytes, pos);
    if (!v) return std::nullopt;
    return zigzag_decode(*v);
}

}  // namespace brook::util
