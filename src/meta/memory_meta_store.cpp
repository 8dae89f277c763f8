// MemoryMetaStore: the metadata store held in ordered maps, for tests.
//
// Topics are keyed by name and state by the same space-0x00-key string the LMDB store uses,
// so scans return the same keys in the same order. One mutex guards everything, which makes
// each call, write() included, atomic.
#include <fmt/format.h>

#include <map>
#include <mutex>

#include "meta/meta_store.hpp"
#include "meta/topic_record.hpp"

namespace brook::meta {
namespace {

class MemoryMetaStore final : public MetaStore {
  public:
    Status put_topic(const TopicRecord& topic) override {
        BROOK_RETURN_IF_ERROR(check_topic_name(topic.name));
        std::lock_guard lock(mutex_);
        topics_[topic.name] = topic;
        return Status::ok();
    }

    Result<std::optional<TopicRecord>> get_topic(std::string_view name) override {
        BROOK_RETURN_IF_ERROR(check_topic_name(name));
        std::lock_guard lock(mutex_);
        auto it = topics_.find(name);
        if (it == topics_.end()) return std::optional<TopicRecord>();
        return std::optional<TopicRecord>(it->second);
    }

    Result<std::vector<TopicRecord>> list_topics() override {
        std::lock_guard lock(mutex_);
        std::vector<TopicRecord> out;
        out.reserve(topics_.size());
        for (const auto& [name, topic] : topics_) out.push_back(topic);
        return out;
    }

    Status delete_topic(std::string_view name) override {
        BROOK_RETURN_IF_ERROR(check_topic_name(name));
        std::lock_guard lock(mutex_);
        auto it = topics_.find(name);
        if (it == topics_.end()) {
            return Status::not_found(fmt::format("topic '{}' is not in the metadata store", name));
        }
        topics_.erase(it);
        return Status::ok();
    }

    Result<std::uint64_t> allocate_id() override {
        std::lock_guard lock(mutex_);
        return ++last_id_;
    }

    Status put(std::string_view space, std::string_view key, std::string_view value) override {
        BROOK_RETURN_IF_ERROR(check_state_key(space, key));
        std::lock_guard lock(mutex_);
        state_[state_key(space, key)] = std::string(value);
        return Status::ok();
    }

    Result<std::optional<std::string>> get(std::string_view space, std::string_view key) override {
        BROOK_RETURN_IF_ERROR(check_state_key(space, key));
        std::lock_guard lock(mutex_);
        auto it = state_.find(state_key(space, key));
        if (it == state_.end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    }

    Status remove(std::string_view space, std::string_view key) override {
        BROOK_RETURN_IF_ERROR(check_state_key(space, key));
        std::lock_guard lock(mutex_);
        state_.erase(state_key(space, key));
        return Status::ok();
    }

    Result<std::vector<std::pair<std::string, std::string>>> scan(
        std::string_view space, std::string_view prefix) override {
        BROOK_RETURN_IF_ERROR(check_state_key(space, prefix));
        const std::string start = state_key(space, prefix);
        const std::size_t space_bytes = space.size() + 1;
        std::lock_guard lock(mutex_);
        std::vector<std::pair<std::string, std::string>> out;
        for (auto it = state_.lower_bound(start);
             it != state_.end() && it->first.starts_with(start); ++it) {
            out.emplace_back(it->first.substr(space_bytes), it->second);
        }
        return out;
    }

    Status write(std::span<const Write> writes) override {
        for (const Write& w : writes) BROOK_RETURN_IF_ERROR(check_state_key(w.space, w.key));
        std::lock_guard lock(mutex_);
        for (const Write& w : writes) {
            if (w.value) {
                state_[state_key(w.space, w.key)] = *w.value;
            } else {
                state_.erase(state_key(w.space, w.key));
            }
        }
        return Status::ok();
    }

  private:
    std::mutex mutex_;
    std::map<std::string, TopicRecord, std::less<>> topics_;
    std::map<std::string, std::string, std::less<>> state_;
    std::uint64_t last_id_ = 0;
};

}  // namespace

std::unique_ptr<MetaStore> new_memory_meta_store() {
    return std::make_unique<MemoryMetaStore>();
}

}  // namespace brook::meta
