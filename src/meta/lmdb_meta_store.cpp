// LmdbMetaStore: the metadata store in an LMDB environment (layout in meta/format.hpp).
//
// An Environment wraps one MDB_env, opened with MDB_NOTLS so that transactions belong to no
// thread. LMDB allows one MDB_env per file per process (closing a second one would drop the
// first one's file locks), so a process-wide registry maps (process id, canonical directory)
// to the open Environment, and every store opened on that directory shares it. The process id
// is part of the key because a forked child inherits its parent's registry but must not use
// its parent's environment. The last store to let go closes the environment while holding the
// registry mutex, and an open that finds an environment being closed waits for it to finish.
//
// Every call is one short transaction, never held across calls. The map can only be resized
// while this process has no transaction open, so each transaction holds txn_mutex_ shared and
// a resize holds it exclusively. A resize first takes gate_, which new transactions also pass
// through, so a steady stream of readers cannot starve it. A write that fills the map
// (MDB_MAP_FULL from a put or the commit) is aborted, the map doubled and the transaction
// replayed. A transaction that cannot begin because another process grew the file beyond this
// map (MDB_MAP_RESIZED) adopts the new size and retries.
#include <fmt/format.h>
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "fs/file_system.hpp"
#include "meta/format.hpp"
#include "meta/lmdb_file_check.hpp"
#include "meta/meta_store.hpp"
#include "meta/topic_record.hpp"
#include "util/endian.hpp"

namespace brook::meta {
namespace {

constexpr std::size_t kMinMapBytes = 64 * 1024;
// Map doublings or resize adoptions one call may need before it gives up.
constexpr int kMaxRetries = 48;

MDB_val to_val(std::string_view s) {
    return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view view(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// The Status for LMDB or errno code `rc` from operation `op` on the environment at `path`.
Status lmdb_status(int rc, std::string_view op, const std::string& path) {
    std::string message = fmt::format("{} in metadata store {}: {}", op, path, mdb_strerror(rc));
    switch (rc) {
        case ENOSPC:
        case MDB_MAP_FULL: return Status::no_space(std::move(message));
        case EAGAIN:
        case EBUSY:
        case MDB_READERS_FULL: return Status::busy(std::move(message));
        case MDB_CORRUPTED:
        case MDB_INVALID:
        case MDB_VERSION_MISMATCH:
        case MDB_PAGE_NOTFOUND: return Status::corruption(std::move(message));
        case ENOENT: return Status::not_found(std::move(message));
        case MDB_BAD_VALSIZE:
        case MDB_TXN_FULL: return Status::invalid_argument(std::move(message));
        default: return Status::io_error(std::move(message));  // EACCES, EROFS, EIO, ...
    }
}

// Visits the entries of `dbi` in key order, from the first key not below `start` (from the
// first key when `start` is empty), until `visit` returns false. Returns an LMDB code.
template <typename Visit>
int for_each_from(MDB_txn* txn, MDB_dbi dbi, std::string_view start, Visit&& visit) {
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn, dbi, &cursor);
    if (rc != MDB_SUCCESS) return rc;
    MDB_val key = to_val(start);
    MDB_val value{};
    rc = mdb_cursor_get(cursor, &key, &value, start.empty() ? MDB_FIRST : MDB_SET_RANGE);
    while (rc == MDB_SUCCESS && visit(view(key), view(value))) {
        rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

class Environment {
  public:
    // Opens the environment in canonical directory `path`. The directory exists.
    static Result<std::unique_ptr<Environment>> open(const std::string& path,
                                                     const MetaOptions& options) {
        MDB_env* env = nullptr;
        int rc = mdb_env_create(&env);
        if (rc != MDB_SUCCESS) return lmdb_status(rc, "create environment", path);
        std::unique_ptr<Environment> self(new Environment(env, path, options.read_only));
        rc = mdb_env_set_maxdbs(env, format::kDatabaseCount);
        if (rc == MDB_SUCCESS && !options.read_only) {
            rc = mdb_env_set_mapsize(env, std::max(options.initial_map_bytes, kMinMapBytes));
        }
        const unsigned flags = MDB_NOTLS | (options.read_only ? MDB_RDONLY : 0);
        if (rc == MDB_SUCCESS) rc = mdb_env_open(env, path.c_str(), flags, 0640);
        if (rc != MDB_SUCCESS) return lmdb_status(rc, "open environment", path);
        if (mdb_env_get_maxkeysize(env) < static_cast<int>(format::kMaxKeyBytes)) {
            return Status::not_supported(
                fmt::format("liblmdb allows keys of {} bytes; the metadata store needs {}",
                            mdb_env_get_maxkeysize(env), format::kMaxKeyBytes));
        }
        MDB_envinfo info;
        mdb_env_info(env, &info);
        self->map_bytes_ = info.me_mapsize;
        // A writer creates the databases now; a reader may find them later (open_databases).
        const Result<bool> ready = self->open_databases();
        if (!ready.is_ok()) return ready.status();
        return self;
    }

    ~Environment() { mdb_env_close(env_); }
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    const std::string& path() const { return path_; }
    pid_t owner() const { return owner_; }
    bool read_only() const { return read_only_; }
    MDB_dbi topics() const { return topics_; }
    MDB_dbi state() const { return state_; }
    MDB_dbi counters() const { return counters_; }

    // Makes the database handles usable. Returns false if a read-only environment has no
    // databases yet because no writer has created them; reads then see an empty store.
    Result<bool> open_databases() {
        if (databases_open_.load(std::memory_order_acquire)) return true;
        // LMDB allows one transaction at a time to open database handles.
        std::lock_guard lock(dbi_mutex_);
        if (databases_open_.load(std::memory_order_relaxed)) return true;
        bool missing = false;
        const Status opened = run("open databases", !read_only_, [&](MDB_txn* txn) {
            const std::pair<const char*, MDB_dbi*> dbs[] = {{format::kTopicsDb, &topics_},
                                                            {format::kStateDb, &state_},
                                                            {format::kCountersDb, &counters_}};
            for (const auto& [name, dbi] : dbs) {
                const int rc = mdb_dbi_open(txn, name, read_only_ ? 0 : MDB_CREATE, dbi);
                missing = rc == MDB_NOTFOUND;
                if (rc != MDB_SUCCESS) return rc;
            }
            return MDB_SUCCESS;
        });
        if (missing) return false;
        BROOK_RETURN_IF_ERROR(opened);
        databases_open_.store(true, std::memory_order_release);
        return true;
    }

    // Runs `body` (MDB_txn* -> LMDB code) in a new transaction, committing it if the body
    // returns MDB_SUCCESS and aborting it otherwise. A write body may run more than once.
    template <typename Body>
    Status run(std::string_view op, bool write, Body&& body) {
        for (int retries = 0;; ++retries) {
            std::size_t map_bytes = 0;
            int rc;
            {
                std::shared_lock lock = lock_shared();
                map_bytes = map_bytes_;
                MDB_txn* txn = nullptr;
                rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &txn);
                if (rc == MDB_SUCCESS) {
                    rc = body(txn);
                    if (rc == MDB_SUCCESS) {
                        rc = mdb_txn_commit(txn);  // frees the transaction even when it fails
                    } else {
                        mdb_txn_abort(txn);
                    }
                }
            }
            const bool resized = rc == MDB_MAP_RESIZED;
            if ((resized || (rc == MDB_MAP_FULL && write)) && retries < kMaxRetries) {
                BROOK_RETURN_IF_ERROR(resize_map(map_bytes, resized ? 0 : 2 * map_bytes));
                continue;
            }
            if (rc != MDB_SUCCESS) return lmdb_status(rc, op, path_);
            return Status::ok();
        }
    }

  private:
    Environment(MDB_env* env, std::string path, bool read_only)
        : env_(env), path_(std::move(path)), owner_(::getpid()), read_only_(read_only) {}

    std::shared_lock<std::shared_mutex> lock_shared() {
        std::lock_guard gate(gate_);
        return std::shared_lock(txn_mutex_);
    }

    // Sets the map size to `target` bytes, or adopts the size another process set when
    // `target` is 0. `seen` is the size the failed transaction ran with: if another thread has
    // grown the map since, there is nothing to do.
    Status resize_map(std::size_t seen, std::size_t target) {
        std::lock_guard gate(gate_);
        std::unique_lock lock(txn_mutex_);
        if (target != 0 && map_bytes_ > seen) return Status::ok();
        const int rc = mdb_env_set_mapsize(env_, target);
        if (rc != MDB_SUCCESS) return lmdb_status(rc, "resize map", path_);
        MDB_envinfo info;
        mdb_env_info(env_, &info);
        map_bytes_ = info.me_mapsize;
        return Status::ok();
    }

    MDB_env* const env_;
    const std::string path_;
    const pid_t owner_;
    const bool read_only_;

    std::mutex gate_;
    std::shared_mutex txn_mutex_;
    std::size_t map_bytes_ = 0;  // guarded by txn_mutex_

    std::mutex dbi_mutex_;
    std::atomic<bool> databases_open_{false};
    MDB_dbi topics_ = 0;  // valid once databases_open_
    MDB_dbi state_ = 0;
    MDB_dbi counters_ = 0;
};

// ---- Registry ----------------------------------------------------------------------------

struct Registry {
    struct Entry {
        std::weak_ptr<Environment> env;
        const Environment* raw = nullptr;  // identifies the entry to its deleter
    };
    std::mutex mutex;
    std::condition_variable closed;
    std::map<std::pair<pid_t, std::string>, Entry> entries;
};

// Never destroyed, so stores destroyed during static destruction can still reach it.
Registry& registry() {
    static Registry* const instance = new Registry;
    return *instance;
}

// Closes an environment and forgets it, under the registry mutex so that no new environment
// on the same directory opens while this one closes.
struct CloseEnvironment {
    void operator()(Environment* env) const {
        Registry& r = registry();
        std::lock_guard lock(r.mutex);
        auto it = r.entries.find({env->owner(), env->path()});
        if (it != r.entries.end() && it->second.raw == env) r.entries.erase(it);
        delete env;
        r.closed.notify_all();
    }
};

// The shared environment of canonical directory `path`, opened if need be.
Result<std::shared_ptr<Environment>> acquire_environment(const std::string& path,
                                                         const MetaOptions& options) {
    Registry& r = registry();
    const std::pair<pid_t, std::string> key{::getpid(), path};
    std::shared_ptr<Environment> env;  // outlives the lock: its deleter takes the mutex
    std::unique_lock lock(r.mutex);
    for (auto it = r.entries.find(key); it != r.entries.end(); it = r.entries.find(key)) {
        env = it->second.env.lock();
        if (env) break;
        r.closed.wait(lock);  // the last store on it is closing it
    }
    if (env) {
        if (env->read_only() && !options.read_only) {
            return Status::busy(fmt::format(
                "metadata store {} is open read-only in this process; close it before opening "
                "it read-write",
                path));
        }
        return env;
    }
    BROOK_ASSIGN_OR_RETURN(auto opened, Environment::open(path, options));
    env = std::shared_ptr<Environment>(opened.release(), CloseEnvironment{});
    r.entries[key] = Registry::Entry{env, env.get()};
    return env;
}

// ---- Store -------------------------------------------------------------------------------

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
