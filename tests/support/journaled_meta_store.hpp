// Meta stores for the fault and power-cut sweeps, which run a store on the fault-injecting file
// system: LMDB does its own I/O outside the FileSystem interface, so the sweeps keep metadata in
// an in-memory meta store shared across reopenings, and journal its writes to rebuild it as of
// a power cut.
//
// Thread safety: both classes may be used from any thread at once (the inner store and the
// journal serialise).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "meta/meta_store.hpp"
#include "support/fault_fs.hpp"

namespace brook::testing {

// Every write to a meta store with the number of mutating file system operations done when
// it was made, so that the metadata as of a power cut can be rebuilt: LMDB commits durably at
// once, so a cut after operation k keeps exactly the writes made before it.
class MetaJournal {
  public:
    using Step = std::function<Status(meta::MetaStore&)>;

    void record(std::uint64_t ops, Step step) {
        std::lock_guard lock(mu_);
        steps_.emplace_back(ops, std::move(step));
    }

    // A fresh meta store holding the writes made before mutating operation `cut` completed.
    std::shared_ptr<meta::MetaStore> image(std::uint64_t cut) const {
        auto out = meta::new_memory_meta_store();
        std::lock_guard lock(mu_);
        for (const auto& [ops, step] : steps_) {
            if (ops < cut) REQUIRE(step(*out).is_ok());
        }
        return out;
    }

  private:
    mutable std::mutex mu_;
    std::vector<std::pair<std::uint64_t, Step>> steps_;
};

// A meta store shared across reopenings of a store: LMDB stands outside the FileSystem, so the
// sweeps keep metadata in memory and treat it as durable once written. With a journal, every
// write is also recorded there, stamped with `files`' mutating operation count.
class SharedMetaStore final : public meta::MetaStore {
  public:
    explicit SharedMetaStore(std::shared_ptr<meta::MetaStore> inner,
                             std::shared_ptr<MetaJournal> journal = {},
                             const FaultFileSystem* files = nullptr)
        : inner_(std::move(inner)), journal_(std::move(journal)), files_(files) {}
    Status put_topic(const meta::TopicRecord& t) override {
        return journaled([t](meta::MetaStore& m) { return m.put_topic(t); });
    }
    Result<std::optional<meta::TopicRecord>> get_topic(std::string_view n) override {
        return inner_->get_topic(n);
    }
    Result<std::vector<meta::TopicRecord>> list_topics() override { return inner_->list_topics(); }
    Status delete_topic(std::string_view n) override {
        return journaled([n = std::string(n)](meta::MetaStore& m) { return m.delete_topic(n); });
    }
    Result<std::uint64_t> allocate_id() override {
        auto id = inner_->allocate_id();
        if (id.is_ok() && journal_) {
            journal_->record(files_->operations(op::mutating),
                             [](meta::MetaStore& m) { return m.allocate_id().status(); });
        }
        return id;
    }
    Status put(std::string_view s, std::string_view k, std::string_view v) override {
        return journaled([s = std::string(s), k = std::string(k),
                          v = std::string(v)](meta::MetaStore& m) { return m.put(s, k, v); });
    }
    Result<std::optional<std::string>> get(std::string_view s, std::string_view k) override {
        return inner_->get(s, k);
    }
    Status remove(std::string_view s, std::string_view k) override {
        return journaled([s = std::string(s), k = std::string(k)](meta::MetaStore& m) {
            return m.remove(s, k);
        });
    }
    Result<std::vector<std::pair<std::string, std::string>>> scan(std::string_view s,
                                                                  std::string_view p) override {
        return inner_->scan(s, p);
    }
    Status write(std::span<const Write> w) override {
        return journaled([w = std::vector<Write>(w.begin(), w.end())](meta::MetaStore& m) {
            return m.write(w);
        });
    }

  private:
    Status journaled(const MetaJournal::Step& step) {
        Status status = step(*inner_);
        if (status.is_ok() && journal_) journal_->record(files_->operations(op::mutating), step);
        return status;
    }

    std::shared_ptr<meta::MetaStore> inner_;
    std::shared_ptr<MetaJournal> journal_;
    const FaultFileSystem* files_;
};

}  // namespace brook::testing
