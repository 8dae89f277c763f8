// sqlite: a table (seq INTEGER PRIMARY KEY, key BLOB, value BLOB) in WAL mode, one INSERT per
// record, one transaction per commit batch. Without fsync, synchronous=NORMAL (commits reach
// the WAL in the page cache; checkpoints still fsync, as SQLite does); with fsync,
// synchronous=FULL (every commit fsyncs the WAL). One connection, shared under a mutex.
#include <sqlite3.h>

#include <mutex>

#include "engine.hpp"

namespace brook::bench {
namespace {

class SqliteEngine final : public Engine {
  public:
    ~SqliteEngine() override {
        for (sqlite3_stmt* s : {insert_, select_}) sqlite3_finalize(s);
        if (db_ != nullptr) sqlite3_close(db_);
    }

    void open(const Spec& spec) override {
        dir_ = spec.dir;
        const std::string path = spec.dir + "/bench.db";
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) die("sqlite: cannot open " + path);
        exec("PRAGMA journal_mode=WAL");
        exec(spec.durability == Durability::none ? "PRAGMA synchronous=NORMAL"
                                                 : "PRAGMA synchronous=FULL");
        exec("CREATE TABLE log (seq INTEGER PRIMARY KEY, key BLOB NOT NULL, value BLOB)");
        prepare("INSERT INTO log (seq, key, value) VALUES (?, ?, ?)", &insert_);
        prepare("SELECT value FROM log WHERE seq = ?", &select_);
    }

    void write(const RecordGen& gen, std::int64_t first, std::size_t count) override {
        std::lock_guard lock(mu_);
        exec("BEGIN");
        for (std::int64_t i = first; i < first + static_cast<std::int64_t>(count); ++i) {
            char key[8];
            gen.key(i, key);
            const std::string_view value = gen.value(i);
            sqlite3_bind_int64(insert_, 1, next_++);
            sqlite3_bind_blob(insert_, 2, key, 8, SQLITE_STATIC);
            sqlite3_bind_blob(insert_, 3, value.data(), static_cast<int>(value.size()),
                              SQLITE_STATIC);
            if (sqlite3_step(insert_) != SQLITE_DONE)
                die(std::string("sqlite: insert: ") + sqlite3_errmsg(db_));
            sqlite3_reset(insert_);
        }
        exec("COMMIT");
    }

    std::int64_t scan(std::uint64_t& acc) override {
        sqlite3_stmt* stmt = nullptr;
        prepare("SELECT value FROM log ORDER BY seq", &stmt);
        std::int64_t read = 0;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            fold_value(acc, column(stmt));
            ++read;
        }
        sqlite3_finalize(stmt);
        return read;
    }

    std::string read_at(std::int64_t offset) override {
        sqlite3_bind_int64(select_, 1, offset);
        if (sqlite3_step(select_) != SQLITE_ROW) die("sqlite: no row at " + std::to_string(offset));
        std::string value(column(select_));
        sqlite3_reset(select_);
        return value;
    }

    std::vector<std::string> notes() override {
        return {"bytes on disk: " + std::to_string(dir_bytes(dir_))};
    }

  private:
    static std::string_view column(sqlite3_stmt* stmt) {
        return {static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0))};
    }

    void exec(const char* sql) {
        char* error = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
            const std::string message = error != nullptr ? error : "?";
            sqlite3_free(error);
            die(std::string("sqlite: ") + sql + ": " + message);
        }
    }

    void prepare(const char* sql, sqlite3_stmt** stmt) {
        if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
            die(std::string("sqlite: ") + sql + ": " + sqlite3_errmsg(db_));
        }
    }

    std::string dir_;
    sqlite3* db_ = nullptr;
    sqlite3_stmt* insert_ = nullptr;
    sqlite3_stmt* select_ = nullptr;
    std::mutex mu_;
    std::int64_t next_ = 0;
};

// Times sqlite3_open(":memory:"), the peer of Store::open_in_memory; closing is not timed.
Row open_memory(const Spec& spec) {
    Row row = bare_row(spec);
    Latencies latencies;
    for (std::int64_t i = 0; i < spec.records; ++i) {
        sqlite3* db = nullptr;
        const std::int64_t start = now_ns();
        const int rc = sqlite3_open(":memory:", &db);
        const std::int64_t took = now_ns() - start;
        if (rc != SQLITE_OK) die("sqlite: cannot open :memory:");
        sqlite3_close(db);
        latencies.add_ns(took);
        row.seconds += double(took) / 1e9;
    }
    latencies.fill(row);
    row.notes.push_back("records = opens; latencies are per open");
    return row;
}

BROOK_BENCH_CASE("open-memory", "sqlite", open_memory);

[[maybe_unused]] const bool sqlite_registered =
    register_engine("sqlite",
                    {"append-100b", "append-1kb", "append-sync-batch", "append-sync-record",
                     "group-commit-4", "consume-100b", "produce-unbatched", "seek-offset"},
                    [] { return std::make_unique<SqliteEngine>(); });

}  // namespace
}  // namespace brook::bench
