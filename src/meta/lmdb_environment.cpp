#include "meta/lmdb_environment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "meta/format.hpp"

namespace brook::meta {
namespace {

constexpr std::size_t kMinMapBytes = 64 * 1024;

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

}  // namespace

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

Result<std::unique_ptr<Environment>> Environment::open(const std::string& path,
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

Result<bool> Environment::open_databases() {
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

std::shared_lock<std::shared_mutex> Environment::lock_shared() {
    std::lock_guard gate(gate_);
    return std::shared_lock(txn_mutex_);
}

Status Environment::resize_map(std::size_t seen, std::size_t target) {
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

}  // namespace brook::meta
