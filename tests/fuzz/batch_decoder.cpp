// Fuzz target: the record batch decoder (log/record_batch.hpp) on arbitrary bytes.
// It must never crash, read out of bounds or allocate from an unchecked length. A batch it
// accepts must agree with its own header. Each input is decoded twice: as given, and with its
// checksum recomputed, so that mutations reach the record decoder behind the checksum.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "log/format.hpp"
#include "log/record_batch.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

using namespace brook;

namespace {

void decode(std::span<const std::byte> bytes) {
    if (bytes.size() >= log::format::kBatchHeaderSize) {
        (void)log::parse_batch_header(bytes);
    }
    auto decoded = log::decode_batch(bytes);
    if (decoded.is_ok()) {
        const log::DecodedBatch& batch = *decoded;
        FUZZ_CHECK(log::checksum_matches(bytes));
        FUZZ_CHECK(batch.records.size() == batch.header.record_count);
        FUZZ_CHECK(batch.header.total_size() <= bytes.size());
        for (std::size_t i = 0; i < batch.records.size(); ++i) {
            FUZZ_CHECK(batch.records[i].offset >= batch.header.base_offset);
            if (i > 0) FUZZ_CHECK(batch.records[i].offset > batch.records[i - 1].offset);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    decode(bytes);
    if (size >= log::format::kBatchHeaderSize) {
        std::vector<std::byte> fixed(bytes.begin(), bytes.end());
        const auto covered = std::span<const std::byte>(fixed).subspan(log::format::kAttributesPos);
        util::store_le<std::uint64_t>(fixed.data() + log::format::kChecksumPos,
                                      util::xxh3_64(covered));
        decode(fixed);
    }
    return 0;
}
