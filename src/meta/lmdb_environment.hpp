// Environment: one LMDB environment (MDB_env) of the metadata store, shared by every
// LmdbMetaStore opened on its directory in this process, and the helpers those stores use to
// run transactions on it.
//
// An Environment is opened with MDB_NOTLS so that transactions belong to no thread. LMDB
// allows one MDB_env per file per process (closing a second one would drop the first one's
// file locks), so a process-wide registry maps (process id, canonical directory) to the open
// Environment, and acquire_environment() hands every store on that directory the same one. The
// process id is part of the key because a forked child inherits its parent's registry but must
// not use its parent's environment. The last store to let go closes the environment while
// holding the registry mutex, and an open that finds an environment being closed waits for it
// to finish.
//
// Every call is one short transaction (run()), never held across calls. The map can only be
// resized while this process has no transaction open, so each transaction holds txn_mutex_
// shared and a resize holds it exclusively. A resize first takes gate_, which new
// transactions also pass through, so a steady stream of readers cannot starve it. A write that
// fills the map (MDB_MAP_FULL from a put or the commit) is aborted, the map doubled and the
// transaction replayed. A transaction that cannot begin because another process grew the file
// beyond this map (MDB_MAP_RESIZED) adopts the new size and retries.
//
// Thread safety: an Environment may be used from any thread; the registry has its own mutex.
#pragma once

#include <lmdb.h>
#include <unistd.h>

#include <atomic>
#include <brook/status.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include "meta/meta_store.hpp"

namespace brook::meta {

// Map doublings or resize adoptions one run() may need before it gives up.
constexpr int kMaxMapRetries = 48;

inline MDB_val to_val(std::string_view s) {
    return MDB_val{s.size(), const_cast<char*>(s.data())};
}

inline std::string_view view(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// The Status for LMDB or errno code `rc` from operation `op` on the environment at `path`.
Status lmdb_status(int rc, std::string_view op, const std::string& path);

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
    // Opens the environment in canonical directory `path`, and its databases unless it is
    // read-only and no writer has created them yet. REQUIRES: the directory exists.
    // @return lmdb_status()'s codes for LMDB's failures; not_supported if liblmdb's key size
    //         limit is below the store's longest key.
    static Result<std::unique_ptr<Environment>> open(const std::string& path,
                                                     const MetaOptions& options);

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
    Result<bool> open_databases();

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
            if ((resized || (rc == MDB_MAP_FULL && write)) && retries < kMaxMapRetries) {
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

    std::shared_lock<std::shared_mutex> lock_shared();

    // Sets the map size to `target` bytes, or adopts the size another process set when
    // `target` is 0. `seen` is the size the failed transaction ran with: if another thread has
    // grown the map since, there is nothing to do.
    Status resize_map(std::size_t seen, std::size_t target);

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

// The shared environment of canonical directory `path`, opened if need be.
// @return busy if this process has it open read-only and `options` asks for read-write;
//         Environment::open's errors.
Result<std::shared_ptr<Environment>> acquire_environment(const std::string& path,
                                                         const MetaOptions& options);

}  // namespace brook::meta
