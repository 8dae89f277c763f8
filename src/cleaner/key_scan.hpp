// scan_keys: the offsets and keys of a batch's records, all the cleaner's key map needs.
//
// The key map's scan reads every record of the dirty range, so it skips what it does not use:
// for an uncompressed batch it reads each record's length, offset delta and key, and steps over
// the timestamp, value and headers without decoding them (record layout in docs/format.md,
// "Records"). The batch's checksum is verified first, and every length is checked against the
// bytes before it is used; the record count, offset deltas and record lengths must agree with
// the header. A zstd batch is decoded whole by decode_batch_views.
//
// Thread safety: pure function; the buffers belong to the caller.
#pragma once

#include <brook/status.hpp>
#include <brook/types.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "log/record_batch.hpp"

namespace brook::cleaner {

struct KeyedOffset {
    Offset offset;
    std::optional<std::string_view> key;  // into the batch or `decompressed`
};

// Replaces `out` with the offset and key of every record of one whole batch (`header` parsed
// from it). `scratch` and `decompressed` are working buffers the views may point into: keep
// them unchanged while `out` is in use.
// @return corruption if the checksum or the record structure is wrong; decode_batch_views'
//         errors for a compressed batch.
Status scan_keys(std::span<const std::byte> batch, const log::BatchHeader& header,
                 std::vector<log::RecordView>& scratch, std::vector<std::byte>& decompressed,
                 std::vector<KeyedOffset>& out);

}  // namespace brook::cleaner
