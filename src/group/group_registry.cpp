#include "group/group_registry.hpp"

namespace brook::group {

Result<std::shared_ptr<Group>> GroupRegistry::get(std::string_view group_id) {
    BROOK_RETURN_IF_ERROR(validate_group_id(group_id));
    std::lock_guard lock(mu_);
    auto it = groups_.find(group_id);
    if (it == groups_.end()) {
        it = groups_
                 .emplace(std::string(group_id),
                          std::make_shared<Group>(std::string(group_id), *this))
                 .first;
    }
    return it->second;
}

std::shared_ptr<Group> GroupRegistry::find(std::string_view group_id) const {
    std::lock_guard lock(mu_);
    auto it = groups_.find(group_id);
    return it == groups_.end() ? nullptr : it->second;
}

std::vector<std::string> GroupRegistry::ids() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, group] : groups_) out.push_back(id);
    return out;
}

void GroupRegistry::forget(std::string_view group_id) {
    std::lock_guard lock(mu_);
    auto it = groups_.find(group_id);
    if (it != groups_.end()) groups_.erase(it);
}

Status GroupRegistry::with_offsets(const std::function<Status(OffsetTable&)>& use) {
    std::shared_lock lock(closing_);
    if (closed_) return Status::closed("the store is closed");
    BROOK_RETURN_IF_ERROR(store_.check_open());
    OffsetTable table(store_.meta());
    return use(table);
}

void GroupRegistry::close() {
    std::unique_lock lock(closing_);
    closed_ = true;
}

}  // namespace brook::group
