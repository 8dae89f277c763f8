// zstd compression of a batch's records section, as one zstd frame.
//
// Decompression never allocates more than the caller's cap: the frame must declare its
// content size, and that size must not exceed `max_output`. Pure functions, safe from any
// thread.
#pragma once

#include <brook/status.hpp>
#include <cstddef>
#include <span>
#include <vector>

namespace brook::log {

// Compresses `input` into a single zstd frame that records its content size.
// @return io_error if zstd fails.
Result<std::vector<std::byte>> zstd_compress(std::span<const std::byte> input, int level);

// Decompresses exactly one zstd frame, which must fill `input` entirely.
// @return corruption if the frame is malformed, has trailing bytes, does not declare its
//         content size, declares more than `max_output` bytes, or decodes to another size.
Result<std::vector<std::byte>> zstd_decompress(std::span<const std::byte> input,
                                               std::size_t max_output);

}  // namespace brook::log
