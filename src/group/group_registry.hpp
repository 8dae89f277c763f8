// GroupRegistry: the store's consumer groups, and the group layer's view of the store.
//
// StoreCore owns one registry. It creates a Group the first time a consumer or an admin call
// names it, and keeps it until delete_group. It also gives groups what they need from the
// store, through the StoreView the store gives it: the offset table (only while the store is
// open; close() waits for commits in flight), topic partition counts, a topology version that
// moves whenever topics or partitions change, and the wakeup of blocked polls.
//
// Ownership: owned by StoreCore, which outlives it, as does the StoreView; groups hold a
// reference back.
// Thread safety: every method may be called from any thread.
#pragma once

#include <brook/status.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "group/assignor.hpp"
#include "group/group.hpp"
#include "group/offset_table.hpp"
#include "group/store_view.hpp"

namespace brook::group {

class GroupRegistry {
  public:
    explicit GroupRegistry(StoreView& store) : store_(store) {}

    // The group `group_id`, created if new. @return invalid_argument for a bad id.
    Result<std::shared_ptr<Group>> get(std::string_view group_id);
    // The group if it exists in memory, else null.
    std::shared_ptr<Group> find(std::string_view group_id) const;
    // Ids of the groups in memory, sorted.
    std::vector<std::string> ids() const;
    // Forgets a group (delete_group). Consumers still holding it keep a detached object.
    void forget(std::string_view group_id);

    // Runs `use` on the offset table. @return closed once the store is closing.
    Status with_offsets(const std::function<Status(OffsetTable&)>& use);

    // The store, for groups: partition counts, sync_below() before a commit (so that a
    // committed offset never points past what a power cut keeps), the topology version and
    // notify() (so blocked polls look at the group again).
    StoreView& store() noexcept { return store_; }

    // Refuses further offset table use and waits for uses in flight.
    void close();

  private:
    StoreView& store_;
    mutable std::mutex mu_;  // guards groups_
    std::map<std::string, std::shared_ptr<Group>, std::less<>> groups_;
    std::shared_mutex closing_;  // shared by offset table uses, exclusive by close()
    bool closed_ = false;        // guarded by closing_
};

}  // namespace brook::group
