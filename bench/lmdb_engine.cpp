// lmdb: 8-byte big-endian offset keys, MDB_APPEND, one write transaction per commit batch.
// Without fsync the environment is opened MDB_NOSYNC (commits reach the page cache only);
// with fsync, LMDB's default: every commit is durable when it returns.
#include <lmdb.h>

#include <mutex>

#include "engine.hpp"

namespace brook::bench {
namespace {

void check_mdb(int rc, const char* what) {
    if (rc != MDB_SUCCESS) die(std::string("lmdb: ") + what + ": " + mdb_strerror(rc));
}

class LmdbEngine final : public Engine {
  public:
    ~LmdbEngine() override {
        if (read_txn_ != nullptr) mdb_txn_abort(read_txn_);
        if (env_ != nullptr) mdb_env_close(env_);
    }

    void open(const Spec& spec) override {
        dir_ = spec.dir;
        check_mdb(mdb_env_create(&env_), "mdb_env_create");
        check_mdb(mdb_env_set_mapsize(env_, std::size_t{64} << 30), "mdb_env_set_mapsize");
        const unsigned flags = spec.durability == Durability::none ? MDB_NOSYNC : 0;
        check_mdb(mdb_env_open(env_, dir_.c_str(), flags | MDB_NOTLS, 0644), "mdb_env_open");
        MDB_txn* txn = nullptr;
        check_mdb(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
        check_mdb(mdb_dbi_open(txn, nullptr, 0, &dbi_), "mdb_dbi_open");
        check_mdb(mdb_txn_commit(txn), "mdb_txn_commit");
    }

    void write(const RecordGen& gen, std::int64_t first, std::size_t count) override {
        MDB_txn* txn = nullptr;
        // The write transaction holds LMDB's writer lock, which also guards next_ and value_.
        check_mdb(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
        for (std::int64_t i = first; i < first + static_cast<std::int64_t>(count); ++i) {
            char key[8];
            put_be64(key, static_cast<std::uint64_t>(next_++));
            const std::string_view value = gen.value(i);
            value_.resize(8 + value.size());
            gen.key(i, value_.data());
            std::memcpy(value_.data() + 8, value.data(), value.size());
            MDB_val k{8, key};
            MDB_val v{value_.size(), value_.data()};
            check_mdb(mdb_put(txn, dbi_, &k, &v, MDB_APPEND), "mdb_put");
        }
        check_mdb(mdb_txn_commit(txn), "mdb_txn_commit");
    }

    std::int64_t scan(std::uint64_t& acc) override {
        MDB_txn* txn = nullptr;
        check_mdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin");
        MDB_cursor* cursor = nullptr;
        check_mdb(mdb_cursor_open(txn, dbi_, &cursor), "mdb_cursor_open");
        MDB_val k, v;
        std::int64_t read = 0;
        for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
            fold_value(acc,
                       std::string_view(static_cast<const char*>(v.mv_data) + 8, v.mv_size - 8));
            ++read;
        }
        mdb_cursor_close(cursor);
        mdb_txn_abort(txn);
        return read;
    }

    std::string read_at(std::int64_t offset) override {
        if (read_txn_ == nullptr) {
            check_mdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_), "mdb_txn_begin");
        }
        char key[8];
        put_be64(key, static_cast<std::uint64_t>(offset));
        MDB_val k{8, key}, v;
        check_mdb(mdb_get(read_txn_, dbi_, &k, &v), "mdb_get");
        return std::string(static_cast<const char*>(v.mv_data) + 8, v.mv_size - 8);
    }

    std::vector<std::string> notes() override {
        return {"bytes on disk: " + std::to_string(dir_bytes(dir_))};
    }

  private:
    std::string dir_;
    MDB_env* env_ = nullptr;
    MDB_dbi dbi_ = 0;
    MDB_txn* read_txn_ = nullptr;
    std::int64_t next_ = 0;
    std::string value_;
};

[[maybe_unused]] const bool lmdb_registered =
    register_engine("lmdb",
                    {"append-100b", "append-1kb", "append-sync-batch", "append-sync-record",
                     "group-commit-4", "consume-100b", "produce-unbatched", "seek-offset"},
                    [] { return std::make_unique<LmdbEngine>(); });

}  // namespace
}  // namespace brook::bench
