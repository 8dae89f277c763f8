// Checksums for on-disk data: XXH3-64 from xxHash.
//
// On x86-64 the hash of a long input (over 240 bytes) runs the widest of xxHash's SSE2, AVX2
// and AVX-512 loops that the CPU supports, chosen at the first call; every variant gives
// libxxhash's XXH3_64bits value, so the on-disk format does not depend on the machine.
//
// Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace brook::util {

// XXH3-64 of `bytes` with seed 0.
std::uint64_t xxh3_64(std::span<const std::byte> bytes) noexcept;

// XXH3-64 with seed 0 of bytes given in pieces: digest() equals xxh3_64 of all the pieces
// put together, so a file can be checked in chunks without holding it whole. One thread.
class Xxh3Stream {
  public:
    Xxh3Stream();
    ~Xxh3Stream();
    Xxh3Stream(const Xxh3Stream&) = delete;
    Xxh3Stream& operator=(const Xxh3Stream&) = delete;

    void update(std::span<const std::byte> bytes) noexcept;
    std::uint64_t digest() const noexcept;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// One build of XXH3-64's long-input loop, for tests that compare every variant this CPU can
// run with libxxhash.
struct Xxh3Variant {
    using HashLong = std::uint64_t (*)(const void*, std::size_t, std::uint64_t, const std::uint8_t*,
                                       std::size_t);
    const char* name;  // "sse2", "avx2" or "avx512"
    HashLong hash_long;

    // XXH3-64 of `bytes` with seed 0, with this variant's loop.
    std::uint64_t hash(std::span<const std::byte> bytes) const noexcept;
};

// The variants this CPU supports, narrowest first; xxh3_64 uses the last.
const std::vector<Xxh3Variant>& xxh3_64_variants();

}  // namespace brook::util
