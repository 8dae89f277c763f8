#include "util/checksum.hpp"

#include <type_traits>

// XXH3 is compiled here from xxhash.h (XXH_INLINE_ALL), the way xxHash's own
// xxh_x86dispatch.c does it: on x86-64 the long-input loop exists in an SSE2, an AVX2 and an
// AVX-512 build, each marked with a target attribute, and the first call picks the widest one
// the CPU (and the OS's saved vector state) supports. The rest of the build keeps its
// portable flags. Every variant is the same algorithm with the same secret and seed, so the
// hashes equal libxxhash's XXH3_64bits (tests/util/checksum_test.cpp checks this).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BROOK_XXH3_X86_DISPATCH 1
#include <immintrin.h>
#define XXH_DISPATCH_AVX2 1
#define XXH_DISPATCH_AVX512 1
#define XXH_TARGET_AVX2 __attribute__((__target__("avx2")))
#define XXH_TARGET_AVX512 __attribute__((__target__("avx512f")))
// The AVX-512 accumulators load 64-byte aligned.
#define XXH_ACC_ALIGN 64
#endif
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace brook::util {
namespace {

using HashLong = Xxh3Variant::HashLong;
static_assert(std::is_same_v<XXH64_hash_t, std::uint64_t> && std::is_same_v<xxh_u8, std::uint8_t>);

#ifdef BROOK_XXH3_X86_DISPATCH
// GCC 12's AVX-512 intrinsics start from a deliberately undefined vector, which -Wall reports.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
XXH_NO_INLINE XXH_TARGET_AVX2 XXH64_hash_t hash_long_avx2(const void* XXH_RESTRICT input,
                                                          size_t len, XXH64_hash_t,
                                                          const xxh_u8* XXH_RESTRICT, size_t) {
    return XXH3_hashLong_64b_internal(input, len, XXH3_kSecret, sizeof(XXH3_kSecret),
                                      XXH3_accumulate_512_avx2, XXH3_scrambleAcc_avx2);
}

XXH_NO_INLINE XXH_TARGET_AVX512 XXH64_hash_t hash_long_avx512(const void* XXH_RESTRICT input,
                                                              size_t len, XXH64_hash_t,
                                                              const xxh_u8* XXH_RESTRICT, size_t) {
    return XXH3_hashLong_64b_internal(input, len, XXH3_kSecret, sizeof(XXH3_kSecret),
                                      XXH3_accumulate_512_avx512, XXH3_scrambleAcc_avx512);
}
#pragma GCC diagnostic pop
#endif

std::uint64_t hash_with(HashLong hash_long, std::span<const std::byte> bytes) noexcept {
    return XXH3_64bits_internal(bytes.data(), bytes.size(), 0, XXH3_kSecret, sizeof(XXH3_kSecret),
                                hash_long);
}

std::vector<Xxh3Variant> supported_variants() {
    std::vector<Xxh3Variant> variants{{"sse2", XXH3_hashLong_64b_default}};
#ifdef BROOK_XXH3_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) variants.push_back({"avx2", hash_long_avx2});
    if (__builtin_cpu_supports("avx512f")) variants.push_back({"avx512", hash_long_avx512});
#endif
    return variants;
}

}  // namespace

std::uint64_t Xxh3Variant::hash(std::span<const std::byte> bytes) const noexcept {
    return hash_with(hash_long, bytes);
}

const std::vector<Xxh3Variant>& xxh3_64_variants() {
    static const std::vector<Xxh3Variant> variants = supported_variants();
    return variants;
}

// xxHash's streaming state; XXH3_state_t asks for 64-byte alignment, which new honours.
struct Xxh3Stream::State {
    XXH3_state_t xxh;
};

Xxh3Stream::Xxh3Stream() : state_(std::make_unique<State>()) {
    XXH3_64bits_reset(&state_->xxh);
}

Xxh3Stream::~Xxh3Stream() = default;

void Xxh3Stream::update(std::span<const std::byte> bytes) noexcept {
    XXH3_64bits_update(&state_->xxh, bytes.data(), bytes.size());
}

std::uint64_t Xxh3Stream::digest() const noexcept {
    return XXH3_64bits_digest(&state_->xxh);
}

std::uint64_t xxh3_64(std::span<const std::byte> bytes) noexcept {
    static const HashLong widest = xxh3_64_variants().back().hash_long;
    return hash_with(widest, bytes);
}

}  // namespace brook::util
