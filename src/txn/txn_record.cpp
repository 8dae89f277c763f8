#include "txn/txn_record.hpp"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::txn {
namespace {

class Writer {
  public:
    template <typename T>
    void put(T v) {
        const std::size_t at = bytes_.size();
        bytes_.resize(at + sizeof(T));
        util::store_le<T>(bytes_.data() + at, v);
    }
    void put_string(std::string_view s) {
        put<std::uint16_t>(static_cast<std::uint16_t>(s.size()));
        const std::size_t at = bytes_.size();
        bytes_.resize(at + s.size());
        std::memcpy(bytes_.data() + at, s.data(), s.size());
    }
    std::string finish() {
        const std::uint64_t sum = util::xxh3_64(bytes_);
        put<std::uint64_t>(sum);
        return std::string(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
    }

  private:
    std::vector<std::byte> bytes_;
};

// Reads the checked body of a record; every read is bounds-checked, so a short record makes
// ok() false instead of reading past the end.
class Reader {
  public:
    explicit Reader(std::string_view body) : body_(body) {}
    template <typename T>
    T get() {
        if (!ok_ || body_.size() - pos_ < sizeof(T)) {
            ok_ = false;
            return T{};
        }
        const T v = util::load_le<T>(reinterpret_cast<const std::byte*>(body_.data() + pos_));
        pos_ += sizeof(T);
        return v;
    }
    std::string get_string() {
        const auto n = get<std::uint16_t>();
        if (!ok_ || body_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        std::string s(body_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    // A count of entries of at least `min_entry` bytes each, refused if the rest cannot hold
    // that many: no container is sized from an unchecked length.
    std::uint32_t get_count(std::size_t min_entry) {
        const auto n = get<std::uint32_t>();
        if (ok_ && n > (body_.size() - pos_) / min_entry) ok_ = false;
        return ok_ ? n : 0;
    }
    bool ok() const { return ok_; }
    bool done() const { return ok_ && pos_ == body_.size(); }

  private:
    std::string_view body_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

constexpr std::size_t kMinPartitionEntry = 2 + 4;
constexpr std::size_t kMinGroupEntry = 2 + 4;
constexpr std::size_t kMinOffsetEntry = 2 + 4 + 8;

}  // namespace

std::string_view state_name(TxnState state) noexcept {
    switch (state) {
        case TxnState::empty: return "empty";
        case TxnState::ongoing: return "ongoing";
        case TxnState::prepare_commit: return "prepare_commit";
        case TxnState::prepare_abort: return "prepare_abort";
    }
    return "unknown";
}

Status validate_transactional_id(std::string_view id) {
    if (id.empty() || id.size() > format::kMaxTransactionalIdBytes ||
        id.find('\0') != std::string_view::npos) {
        return Status::invalid_argument(fmt::format(
            "transactional.id '{}' is not valid: it must be 1 to {} bytes without a 0x00 byte", id,
            format::kMaxTransactionalIdBytes));
    }
    return Status::ok();
}

std::string record_key(std::string_view transactional_id) {
    std::string key(format::kTransactionalIdPrefix);
    key.push_back(format::kKeySeparator);
    key.append(transactional_id);
    return key;
}

std::string_view id_of_key(std::string_view key) {
    const std::string prefix = record_key("");
    return key.starts_with(prefix) ? key.substr(prefix.size()) : std::string_view();
}

std::string encode_record(const TxnRecord& record) {
    Writer w;
    w.put<std::uint8_t>(format::kTxnRecordV1);
    w.put<std::int64_t>(record.producer_id);
    w.put<std::int16_t>(record.producer_epoch);
    w.put<std::uint8_t>(static_cast<std::uint8_t>(record.state));
    w.put<std::int32_t>(record.timeout_ms);
    w.put<std::int64_t>(record.start_ms);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(record.partitions.size()));
    for (const TopicPartition& tp : record.partitions) {
        w.put_string(tp.topic);
        w.put<std::int32_t>(tp.partition.value());
    }
    w.put<std::uint32_t>(static_cast<std::uint32_t>(record.pending_offsets.size()));
    for (const auto& [group, offsets] : record.pending_offsets) {
        w.put_string(group);
        w.put<std::uint32_t>(static_cast<std::uint32_t>(offsets.size()));
        for (const auto& [tp, offset] : offsets) {
            w.put_string(tp.topic);
            w.put<std::int32_t>(tp.partition.value());
            w.put<std::int64_t>(offset.value());
        }
    }
    return w.finish();
}

Result<TxnRecord> decode_record(std::string_view transactional_id, std::string_view bytes) {
    auto corrupt = [&](std::string_view what) {
        return Status::corruption(fmt::format(
            "the transaction record of transactional.id '{}' in the metadata store is damaged "
            "({}); restore the metadata from a backup",
            transactional_id, what));
    };
    if (bytes.size() < 1 + format::kChecksumSize) return corrupt("too short");
    const std::string_view body = bytes.substr(0, bytes.size() - format::kChecksumSize);
    const auto* raw = reinterpret_cast<const std::byte*>(bytes.data());
    const auto sum = util::xxh3_64(std::span(raw, body.size()));
    if (sum != util::load_le<std::uint64_t>(raw + body.size())) return corrupt("checksum mismatch");
    Reader r(body);
    const auto version = r.get<std::uint8_t>();
    if (version != format::kTxnRecordV1) {
        return Status::not_supported(fmt::format(
            "the transaction record of transactional.id '{}' has version {}, written by a newer "
            "brook",
            transactional_id, version));
    }
    TxnRecord out;
    out.producer_id = r.get<std::int64_t>();
    out.producer_epoch = r.get<std::int16_t>();
    const auto state = r.get<std::uint8_t>();
    if (state > format::kMaxTxnState) return corrupt(fmt::format("unknown state {}", state));
    out.state = static_cast<TxnState>(state);
    out.timeout_ms = r.get<std::int32_t>();
    out.start_ms = r.get<std::int64_t>();
    const std::uint32_t partitions = r.get_count(kMinPartitionEntry);
    for (std::uint32_t i = 0; i < partitions && r.ok(); ++i) {
        std::string topic = r.get_string();
        out.partitions.insert({std::move(topic), PartitionId(r.get<std::int32_t>())});
    }
    const std::uint32_t groups = r.get_count(kMinGroupEntry);
    for (std::uint32_t g = 0; g < groups && r.ok(); ++g) {
        auto& offsets = out.pending_offsets[r.get_string()];
        const std::uint32_t n = r.get_count(kMinOffsetEntry);
        for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
            std::string topic = r.get_string();
            const PartitionId partition(r.get<std::int32_t>());
            offsets[{std::move(topic), partition}] = Offset(r.get<std::int64_t>());
        }
    }
    if (!r.done()) return corrupt("its length does not match its contents");
    if (out.producer_id < 0 || out.producer_epoch < 0) return corrupt("a negative producer id");
    return out;
}

}  // namespace brook::txn
