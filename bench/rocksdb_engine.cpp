// rocksdb: 8-byte big-endian sequential keys, one WriteBatch per commit batch, WAL on. Without
// fsync, WriteOptions::sync=false (the WAL write reaches the page cache); with fsync,
// sync=true (RocksDB groups concurrent synced writers into one fsync). Otherwise Debian's
// RocksDB with its default options, as a user would start.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>

#include "engine.hpp"

namespace brook::bench {
namespace {

void check_rocks(const rocksdb::Status& status, const char* what) {
    if (!status.ok()) die(std::string("rocksdb: ") + what + ": " + status.ToString());
}

class RocksdbEngine final : public Engine {
  public:
    void open(const Spec& spec) override {
        dir_ = spec.dir;
        rocksdb::Options options;
        options.create_if_missing = true;
        rocksdb::DB* db = nullptr;
        check_rocks(rocksdb::DB::Open(options, spec.dir + "/db", &db), "open");
        db_.reset(db);
        write_options_.sync = spec.durability != Durability::none;
    }

    void write(const RecordGen& gen, std::int64_t first, std::size_t count) override {
        rocksdb::WriteBatch batch;
        std::string value;
        std::int64_t offset = next_.fetch_add(static_cast<std::int64_t>(count));
        for (std::int64_t i = first; i < first + static_cast<std::int64_t>(count); ++i) {
            char key[8];
            put_be64(key, static_cast<std::uint64_t>(offset++));
            const std::string_view v = gen.value(i);
            value.resize(8 + v.size());
            gen.key(i, value.data());
            std::memcpy(value.data() + 8, v.data(), v.size());
            check_rocks(batch.Put(rocksdb::Slice(key, 8), value), "put");
        }
        check_rocks(db_->Write(write_options_, &batch), "write");
    }

    std::int64_t scan(std::uint64_t& acc) override {
        std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
        std::int64_t read = 0;
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            const rocksdb::Slice v = it->value();
            fold_value(acc, std::string_view(v.data() + 8, v.size() - 8));
            ++read;
        }
        check_rocks(it->status(), "iterate");
        return read;
    }

    std::string read_at(std::int64_t offset) override {
        char key[8];
        put_be64(key, static_cast<std::uint64_t>(offset));
        std::string value;
        check_rocks(db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key, 8), &value), "get");
        return value.substr(8);
    }

    std::vector<std::string> notes() override {
        return {"bytes on disk: " + std::to_string(dir_bytes(dir_))};
    }

  private:
    std::string dir_;
    std::unique_ptr<rocksdb::DB> db_;
    rocksdb::WriteOptions write_options_;
    std::atomic<std::int64_t> next_{0};
};

[[maybe_unused]] const bool rocksdb_registered =
    register_engine("rocksdb",
                    {"append-100b", "append-1kb", "append-sync-batch", "append-sync-record",
                     "group-commit-4", "consume-100b", "produce-unbatched", "seek-offset"},
                    [] { return std::make_unique<RocksdbEngine>(); });

}  // namespace
}  // namespace brook::bench
