#include "log/compression.hpp"

#include <fmt/format.h>
#include <zstd.h>

namespace brook::log {

Result<std::vector<std::byte>> zstd_compress(std::span<const std::byte> input, int level) {
    std::vector<std::byte> out(ZSTD_compressBound(input.size()));
    const std::size_t n = ZSTD_compress(out.data(), out.size(), input.data(), input.size(), level);
    if (ZSTD_isError(n)) {
        return Status::io_error(fmt::format("zstd compression failed: {}", ZSTD_getErrorName(n)));
    }
    out.resize(n);
    return out;
}

Result<std::vector<std::byte>> zstd_decompress(std::span<const std::byte> input,
                                               std::size_t max_output) {
    const unsigned long long size = ZSTD_getFrameContentSize(input.data(), input.size());
    if (size == ZSTD_CONTENTSIZE_ERROR) {
        return Status::corruption("zstd frame header is malformed");
    }
    if (size == ZSTD_CONTENTSIZE_UNKNOWN) {
        return Status::corruption("zstd frame does not declare its content size");
    }
    if (size > max_output) {
        return Status::corruption(fmt::format(
            "zstd frame declares {} bytes of content, above the limit of {}", size, max_output));
    }
    const std::size_t frame_size = ZSTD_findFrameCompressedSize(input.data(), input.size());
    if (ZSTD_isError(frame_size)) {
        return Status::corruption(
            fmt::format("zstd frame is malformed: {}", ZSTD_getErrorName(frame_size)));
    }
    if (frame_size != input.size()) {
        return Status::corruption(fmt::format("{} bytes follow the zstd frame of {} bytes",
                                              input.size() - frame_size, frame_size));
    }
    std::vector<std::byte> out(static_cast<std::size_t>(size));
    const std::size_t n = ZSTD_decompress(out.data(), out.size(), input.data(), input.size());
    if (ZSTD_isError(n)) {
        return Status::corruption(
            fmt::format("zstd decompression failed: {}", ZSTD_getErrorName(n)));
    }
    if (n != out.size()) {
        return Status::corruption(fmt::format(
            "zstd frame declares {} bytes of content but decodes to {}", out.size(), n));
    }
    return out;
}

}  // namespace brook::log
