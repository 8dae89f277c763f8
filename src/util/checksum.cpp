#include "util/checksum.hpp"

#include <xxhash.h>

namespace brook::util {

std::uint64_t xxh3_64(std::span<const std::byte> bytes) noexcept {
    return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace brook::util
