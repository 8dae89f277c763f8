// TxnRecord: what the store keeps about one transactional.id, and its encoding in the
// metadata store (layout in txn/txn_format.hpp).
//
// The coordinator holds one TxnRecord per transactional.id in memory and writes it to the
// metadata store at every durable state change (a new epoch, prepare_commit, prepare_abort,
// back to empty).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <brook/message.hpp>
#include <brook/status.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "txn/txn_format.hpp"

namespace brook::txn {

using format::TxnState;

// "empty", "ongoing", "prepare_commit" or "prepare_abort".
std::string_view state_name(TxnState state) noexcept;

struct TxnRecord {
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    TxnState state = TxnState::empty;
    std::int32_t timeout_ms = 60000;
    std::int64_t start_ms = -1;  // when the transaction in progress began; -1 when empty
    std::set<TopicPartition> partitions;
    // Offsets sent with send_offsets_to_transaction, per group id: applied at commit.
    std::map<std::string, std::map<TopicPartition, Offset>, std::less<>> pending_offsets;

    friend bool operator==(const TxnRecord&, const TxnRecord&) = default;
};

// @return invalid_argument unless `id` is 1 to kMaxTransactionalIdBytes bytes without 0x00.
Status validate_transactional_id(std::string_view id);

// The key of `transactional_id` in format::kTxnSpace.
std::string record_key(std::string_view transactional_id);
// The transactional.id of a key found under record_key(""), or "" if it is not one.
std::string_view id_of_key(std::string_view key);

std::string encode_record(const TxnRecord& record);

// @return corruption naming the transactional.id and what was wrong; not_supported for a
//         record of a newer version.
Result<TxnRecord> decode_record(std::string_view transactional_id, std::string_view bytes);

}  // namespace brook::txn
