// LmdbMetaStore: the metadata store in an LMDB environment (layout in meta/format.hpp), and
// open_lmdb_meta_store(), which checks the directory and its files before it shares the
// directory's Environment (lmdb_environment.hpp) with the new store.
//
// Every call is one short transaction on the environment (Environment::run), never held
// across calls. A store opened read-only, or on an environment this process opened read-only,
// refuses every write with not_supported.
#include <fmt/format.h>
#include <lmdb.h>

#include <filesystem>

#include "fs/file_system.hpp"
#include "meta/format.hpp"
#include "meta/lmdb_environment.hpp"
#include "meta/lmdb_file_check.hpp"
#include "meta/meta_store.hpp"
#include "meta/topic_record.hpp"
#include "util/endian.hpp"

namespace brook::meta {
namespace {

class LmdbMetaStore final : public MetaStore {
  public:
    LmdbMetaStore(std::shared_ptr<Environment> env, bool read_only)
        : env_(std::move(env)), read_only_(read_only || env_->read_only()) {}

    Status put_topic(const TopicRecord& topic) override {
        BROOK_RETURN_IF_ERROR(check_topic_name(topic.name));
        BROOK_RETURN_IF_ERROR(check_writable("put_topic"));
        const std::string value = encode_topic_record(topic);
        return env_->run("write topic", true, [&](MDB_txn* txn) {
            MDB_val k = to_val(topic.name);
            MDB_val v = to_val(value);
            return mdb_put(txn, env_->topics(), &k, &v, 0);
        });
    }

    Result<std::optional<TopicRecord>> get_topic(std::string_view name) override {
        BROOK_RETURN_IF_ERROR(check_topic_name(name));
        BROOK_ASSIGN_OR_RETURN(const bool ready, env_->open_databases());
        if (!ready) return std::optional<TopicRecord>();
        std::optional<std::string> bytes;
        BROOK_RETURN_IF_ERROR(env_->run("read topic", false, [&](MDB_txn* txn) {
            return copy_value(txn, env_->topics(), name, bytes);
        }));
        if (!bytes) return std::optional<TopicRecord>();
        BROOK_ASSIGN_OR_RETURN(TopicRecord topic, decode_topic_record(name, *bytes));
        return std::optional<TopicRecord>(std::move(topic));
    }

    Result<std::vector<TopicRecord>> list_topics() override {
        BROOK_ASSIGN_OR_RETURN(const bool ready, env_->open_databases());
        std::vector<std::pair<std::string, std::string>> entries;
        if (ready) {
            BROOK_RETURN_IF_ERROR(env_->run("list topics", false, [&](MDB_txn* txn) {
                entries.clear();
                return for_each_from(txn, env_->topics(), {}, [&](auto key, auto value) {
                    entries.emplace_back(key, value);
                    return true;
                });
            }));
        }
        std::vector<TopicRecord> topics;
        topics.reserve(entries.size());
        for (const auto& [name, bytes] : entries) {
            BROOK_ASSIGN_OR_RETURN(TopicRecord topic, decode_topic_record(name, bytes));
            topics.push_back(std::move(topic));
        }
        return topics;
    }

    Status delete_topic(std::string_view name) override {
        BROOK_RETURN_IF_ERROR(check_topic_name(name));
        BROOK_RETURN_IF_ERROR(check_writable("delete_topic"));
        bool absent = false;
        const Status deleted = env_->run("delete topic", true, [&](MDB_txn* txn) {
            MDB_val k = to_val(name);
            const int rc = mdb_del(txn, env_->topics(), &k, nullptr);
            absent = rc == MDB_NOTFOUND;
            return rc;
        });
        if (absent) {
            return Status::not_found(
                fmt::format("topic '{}' is not in metadata store {}", name, env_->path()));
        }
        return deleted;
    }

    Result<std::uint64_t> allocate_id() override {
        BROOK_RETURN_IF_ERROR(check_writable("allocate_id"));
        std::uint64_t id = 0;
        bool bad_size = false;
        const Status allocated = env_->run("allocate id", true, [&](MDB_txn* txn) {
            MDB_val k = to_val(format::kTopicIdCounter);
            MDB_val v{};
            int rc = mdb_get(txn, env_->counters(), &k, &v);
            if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return rc;
            bad_size = rc == MDB_SUCCESS && v.mv_size != format::kCounterSize;
            if (bad_size) return MDB_CORRUPTED;
            const std::uint64_t last =
                rc == MDB_NOTFOUND
                    ? 0
                    : util::load_le<std::uint64_t>(static_cast<const std::byte*>(v.mv_data));
            id = last + 1;
            std::byte buf[format::kCounterSize];
            util::store_le<std::uint64_t>(buf, id);
            MDB_val next{sizeof buf, buf};
            return mdb_put(txn, env_->counters(), &k, &next, 0);
        });
        if (bad_size) {
            return Status::corruption(
                fmt::format("counter '{}' in metadata store {} is not {} bytes",
                            format::kTopicIdCounter, env_->path(), format::kCounterSize));
        }
        BROOK_RETURN_IF_ERROR(allocated);
        return id;
    }

    Status put(std::string_view space, std::string_view key, std::string_view value) override {
        const Write one{std::string(space), std::string(key), std::string(value)};
        return write(std::span<const Write>(&one, 1));
    }

    Result<std::optional<std::string>> get(std::string_view space, std::string_view key) override {
        BROOK_RETURN_IF_ERROR(check_state_key(space, key));
        BROOK_ASSIGN_OR_RETURN(const bool ready, env_->open_databases());
        std::optional<std::string> value;
        if (!ready) return value;
        const std::string full = state_key(space, key);
        BROOK_RETURN_IF_ERROR(env_->run("read state", false, [&](MDB_txn* txn) {
            return copy_value(txn, env_->state(), full, value);
        }));
        return value;
    }

    Status remove(std::string_view space, std::string_view key) override {
        const Write one{std::string(space), std::string(key), std::nullopt};
        return write(std::span<const Write>(&one, 1));
    }

    Result<std::vector<std::pair<std::string, std::string>>> scan(
        std::string_view space, std::string_view prefix) override {
        BROOK_RETURN_IF_ERROR(check_state_key(space, prefix));
        BROOK_ASSIGN_OR_RETURN(const bool ready, env_->open_databases());
        std::vector<std::pair<std::string, std::string>> out;
        if (!ready) return out;
        const std::string start = state_key(space, prefix);
        const std::size_t space_bytes = space.size() + 1;
        BROOK_RETURN_IF_ERROR(env_->run("scan state", false, [&](MDB_txn* txn) {
            out.clear();
            return for_each_from(txn, env_->state(), start, [&](auto key, auto value) {
                if (!key.starts_with(start)) return false;
                out.emplace_back(key.substr(space_bytes), value);
                return true;
            });
        }));
        return out;
    }

    Status write(std::span<const Write> writes) override {
        for (const Write& w : writes) BROOK_RETURN_IF_ERROR(check_state_key(w.space, w.key));
        BROOK_RETURN_IF_ERROR(check_writable("write"));
        std::vector<std::string> keys;
        keys.reserve(writes.size());
        for (const Write& w : writes) keys.push_back(state_key(w.space, w.key));
        return env_->run("write state", true, [&](MDB_txn* txn) {
            for (std::size_t i = 0; i < writes.size(); ++i) {
                MDB_val k = to_val(keys[i]);
                int rc;
                if (writes[i].value) {
                    MDB_val v = to_val(*writes[i].value);
                    rc = mdb_put(txn, env_->state(), &k, &v, 0);
                } else {
                    rc = mdb_del(txn, env_->state(), &k, nullptr);
                    if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;
                }
                if (rc != MDB_SUCCESS) return rc;
            }
            return MDB_SUCCESS;
        });
    }

  private:
    // Copies the value of `key` in `dbi` into `out`, leaving `out` alone if there is none.
    static int copy_value(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                          std::optional<std::string>& out) {
        MDB_val k = to_val(key);
        MDB_val v{};
        const int rc = mdb_get(txn, dbi, &k, &v);
        if (rc == MDB_SUCCESS) out = std::string(view(v));
        return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
    }

    Status check_writable(std::string_view op) const {
        if (!read_only_) return Status::ok();
        return Status::not_supported(
            fmt::format("{}: metadata store {} was opened read-only", op, env_->path()));
    }

    const std::shared_ptr<Environment> env_;
    const bool read_only_;
};

}  // namespace

Result<std::unique_ptr<MetaStore>> open_lmdb_meta_store(const std::string& dir,
                                                        const MetaOptions& options) {
    namespace stdfs = std::filesystem;
    std::error_code ec;
    BROOK_RETURN_IF_ERROR(check_lmdb_not_symbolic_links(dir));
    if (options.read_only) {
        const bool exists = stdfs::exists(stdfs::path(dir) / format::kDataFile, ec);
        if (ec) return lmdb_status(ec.value(), "look for data file", dir);
        if (!exists) {
            return Status::not_found(fmt::format(
                "metadata store {} has no {}; it must be created by a read-write open first", dir,
                format::kDataFile));
        }
    } else {
        // Through the FileSystem so the directory gets the store's mode (0750 under the umask).
        BROOK_RETURN_IF_ERROR(fs::posix_file_system().create_dirs(dir));
    }
    const std::string path = stdfs::canonical(dir, ec).string();
    if (ec) return lmdb_status(ec.value(), "resolve directory", dir);
    const stdfs::path data = stdfs::path(path) / format::kDataFile;
    if (stdfs::exists(data, ec)) BROOK_RETURN_IF_ERROR(check_lmdb_file_length(data.string()));
    BROOK_ASSIGN_OR_RETURN(auto env, acquire_environment(path, options));
    return std::unique_ptr<MetaStore>(
        std::make_unique<LmdbMetaStore>(std::move(env), options.read_only));
}

}  // namespace brook::meta
