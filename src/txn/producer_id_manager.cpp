#include "txn/producer_id_manager.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <limits>

#include "txn/txn_format.hpp"
#include "util/endian.hpp"

namespace brook::txn {

Result<std::int64_t> ProducerIdManager::allocate() {
    std::lock_guard lock(mu_);
    if (next_ == limit_) {
        BROOK_ASSIGN_OR_RETURN(const auto stored,
                               meta_.get(format::kTxnSpace, format::kProducerIdBlockKey));
        std::int64_t start = 0;
        if (stored) {
            if (stored->size() != sizeof(std::int64_t)) {
                return Status::corruption(fmt::format(
                    "the producer id counter in the metadata store is {} bytes instead of 8; "
                    "restore the metadata from a backup",
                    stored->size()));
            }
            start = util::load_le<std::int64_t>(reinterpret_cast<const std::byte*>(stored->data()));
            if (start < 0 ||
                start > std::numeric_limits<std::int64_t>::max() - format::kProducerIdBlockSize) {
                return Status::corruption(fmt::format(
                    "the producer id counter in the metadata store holds {}, out of range", start));
            }
        }
        const std::int64_t end = start + format::kProducerIdBlockSize;
        std::array<std::byte, sizeof(std::int64_t)> buf{};
        util::store_le<std::int64_t>(buf.data(), end);
        BROOK_RETURN_IF_ERROR(
            meta_.put(format::kTxnSpace, format::kProducerIdBlockKey,
                      std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size())));
        next_ = start;
        limit_ = end;
    }
    return next_++;
}

}  // namespace brook::txn
