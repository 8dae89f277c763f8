// brook and brook-log as engines: the public API (Store, Producer, Consumer) and the partition
// log driven directly, for the workloads every system runs the same way.
#include "brook_engine.hpp"

#include <brook/brook.hpp>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "fs/file_system.hpp"
#include "log/batch_builder.hpp"
#include "log/partition_log.hpp"
#include "log/raw_batches.hpp"
#include "log/record_batch.hpp"
#include "store/store_core.hpp"

namespace brook::bench {

using namespace std::chrono_literals;

Config bench_topic_config() {
    // Room for a commit batch of 1000 records of 1 KiB in one batch.
    return {{"max.message.bytes", std::to_string(8 << 20)}};
}

Config producer_config(const Spec& spec) {
    const bool unbatched = spec.workload == "produce-unbatched";
    Config config = {
        {"acks", spec.durability == Durability::none ? "1" : "all"},
        {"linger.ms", unbatched ? "0" : "5"},
        // Large enough that a commit batch is one producer batch, sealed by flush().
        {"batch.size", std::to_string(std::max<std::size_t>(16384, spec.batch * 2048))},
    };
    if (spec.json) config["compression.type"] = "zstd";
    return config;
}

// The records of one produce_batch() call per commit batch, as the peers take theirs (a
// WriteBatch, a transaction, rd_kafka_produce_batch()): views of the caller's bytes, which the
// call copies, in this thread's buffers (write() may run on several threads at once).
std::span<const BatchRecord> fill_batch(const RecordGen& gen, std::int64_t first,
                                        std::size_t count) {
    thread_local std::vector<char> keys;            // 8 bytes each
    thread_local std::vector<BatchRecord> records;  // viewing them
    keys.resize(count * 8);
    records.resize(count);
    // Plain pointers and the base time in locals: the generator's calls would otherwise make the
    // compiler reload the thread-local vectors for every record.
    char* const key_bytes = keys.data();
    BatchRecord* const record_views = records.data();
    const std::int64_t base_timestamp = base_timestamp_ms();
    for (std::size_t r = 0; r < count; ++r) {
        const std::int64_t i = first + static_cast<std::int64_t>(r);
        char* const key = key_bytes + r * 8;
        gen.key(i, key);
        // Member by member: building a whole BatchRecord and copying it in makes GCC store each
        // optional in parts and load it back whole, which stalls store forwarding.
        BatchRecord& record = record_views[r];
        record.key = std::string_view(key, 8);
        record.value = gen.value(i);
        record.timestamp = base_timestamp + i;
    }
    return records;
}

std::unique_ptr<Store> open_store(const std::string& path, Options options) {
    // BROOK_BENCH_MMAP=1: the store reads its segments through mappings (docs/performance.md).
    if (std::getenv("BROOK_BENCH_MMAP") != nullptr) options.mmap_segment_reads = true;
    auto store = Store::open(path, std::move(options));
    if (!store.is_ok()) die("Store::open: " + store.status().to_string());
    return std::move(store).value();
}

void check(const Status& status, const std::string& what) {
    if (!status.is_ok()) die(what + ": " + status.to_string());
}

ProducerRecord bench_record(const RecordGen& gen, std::int64_t i) {
    char key[8];
    gen.key(i, key);
    return {.topic = kBenchTopic,
            .key = std::string(key, 8),
            .value = std::string(gen.value(i)),
            .timestamp = base_timestamp_ms() + i,
            .partition = PartitionId(0)};
}

namespace {

// BROOK_BENCH_PER_RECORD=1 makes the brook system queue every record with its own produce()
// call, for comparison with the produce_batch() call per commit batch it uses by default.
bool per_record_produce() {
    static const bool set = [] {
        const char* value = std::getenv("BROOK_BENCH_PER_RECORD");
        return value != nullptr && std::string_view(value) == "1";
    }();
    return set;
}

std::vector<std::string> disk_notes(const std::string& dir) {
    return {"bytes on disk: " + std::to_string(dir_bytes(dir, ".log")) + " in segments, " +
            std::to_string(dir_bytes(dir)) + " with preallocated indexes and metadata"};
}

class BrookEngine final : public Engine {
  public:
    void open(const Spec& spec) override {
        spec_ = spec;
        phases_.enable(spec.batch > 1);
        store_ = open_store(spec.dir + "/store");
        check(store_->create_topic(kBenchTopic, 1, bench_topic_config()), "create_topic");
        auto producer = Producer::create(*store_, producer_config(spec));
        if (!producer.is_ok()) die("Producer::create: " + producer.status().to_string());
        producer_ = std::move(producer).value();
    }

    void write(const RecordGen& gen, std::int64_t first, std::size_t count) override {
        const auto end = first + static_cast<std::int64_t>(count);
        if (count == 1 && spec_.durability != Durability::none) {
            auto report = producer_->produce_sync(bench_record(gen, first));
            if (!report.is_ok()) die("produce_sync: " + report.status().to_string());
            return;
        }
        PhaseTimes::Clock::time_point t = phases_.start();
        if (count > 1 && !per_record_produce()) {
            const std::span<const BatchRecord> records = fill_batch(gen, first, count);
            t = phases_.add(kFill, t);
            check(producer_->produce_batch(kBenchTopic, PartitionId(0), records), "produce_batch");
        } else {
            produce_each(gen, first, end);
        }
        t = phases_.add(kProduce, t);
        if (spec_.workload == "produce-unbatched") {
            // As a Kafka client is used: serve delivery reports as they come.
            producer_->poll(0ms);
            return;
        }
        // One commit: the batch is appended (and with acks=all fsynced) before this returns.
        check(producer_->flush(), "flush");
        phases_.add(kFlush, t);
    }

    void finish_writes() override { check(producer_->flush(), "flush"); }

    void begin_timed() override { phases_.reset(); }

    std::optional<std::string> write_phases() const override { return phases_.note(); }

    // One produce() call per record: the caller's bytes, copied into the batch, as
    // rd_kafka_producev() with RD_KAFKA_MSG_F_COPY gets them. Each status is checked without
    // building a message string per record (as the peers' checks take a char*).
    void produce_each(const RecordGen& gen, std::int64_t first, std::int64_t end) {
        for (std::int64_t i = first; i < end; ++i) {
            char key[8];
            gen.key(i, key);
            const Status produced =
                producer_->produce(kBenchTopic, PartitionId(0), std::string_view(key, 8),
                                   gen.value(i), base_timestamp_ms() + i);
            if (!produced.is_ok()) die("produce: " + produced.to_string());
        }
    }

    std::int64_t scan(std::uint64_t& acc) override {
        Consumer& consumer = this->consumer({});
        std::int64_t read = 0;
        std::vector<Message> messages;
        while (true) {
            if (consumer.consume(messages, 10'000, 0ms) == 0) return read;
            for (const Message& m : messages) {
                // As LMDB's loop checks each step's return code: a test, with the error's
                // label only built for an error.
                if (!m.error().is_ok()) check(m.error(), "consume");
                fold_value(acc, m.value().value_or(""));
            }
            read += static_cast<std::int64_t>(messages.size());
        }
    }

    std::string read_at(std::int64_t offset) override {
        // A point read fetches one batch, not a megabyte of them.
        Consumer& consumer = this->consumer({{"max.partition.fetch.bytes", "1"}});
        check(consumer.seek({kBenchTopic, PartitionId(0), Offset(offset)}), "seek");
        std::optional<Message> m = consumer.poll(1s);
        if (!m || !m->error().is_ok() || m->offset() != Offset(offset)) {
            die("poll after seek to " + std::to_string(offset) + " did not return that record");
        }
        return std::string(m->value().value_or(""));
    }

    std::string read_at_time(std::int64_t timestamp_ms) override {
        Consumer& consumer = this->consumer({{"max.partition.fetch.bytes", "1"}});
        auto offsets = consumer.offsets_for_times({{kBenchTopic, PartitionId(0), timestamp_ms}});
        if (!offsets.is_ok() || offsets->size() != 1) die("offsets_for_times failed");
        return read_at(offsets->front().offset.value());
    }

    void recover(const Spec& spec, std::int64_t records) override {
        spec_ = spec;
        store_ = open_store(spec.dir + "/store");
        auto topic = store_->describe_topic(kBenchTopic);
        if (!topic.is_ok()) die("describe_topic: " + topic.status().to_string());
        const Offset end = topic->partitions.at(0).log_end_offset;
        if (end != Offset(records)) {
            die("recovered " + std::to_string(end.value()) + " records of " +
                std::to_string(records));
        }
        // The store hides its logs; this reaches past the public API only to prove the rescan.
        auto partition = store_->core()->partition(kBenchTopic, PartitionId(0));
        if (!partition.is_ok()) die("partition: " + partition.status().to_string());
        const log::RecoveryReport& report = (*partition)->log->recovery_report();
        if (report.clean_shutdown || report.segments_scanned < 1) {
            die("the store did not rescan its segments after the crash");
        }
    }

    std::vector<std::string> notes() override {
        std::vector<std::string> notes = disk_notes(spec_.dir);
        if (spec_.batch > 1) {
            notes.push_back(per_record_produce()
                                ? "records queued with one produce() call each "
                                  "(BROOK_BENCH_PER_RECORD=1)"
                                : "records queued with one produce_batch() call per commit batch");
        }
        return notes;
    }

  private:
    Consumer& consumer(const Config& extra) {
        if (!consumer_) {
            Config config = {{"auto.offset.reset", "earliest"}};
            config.insert(extra.begin(), extra.end());
            auto consumer = Consumer::create(*store_, config);
            if (!consumer.is_ok()) die("Consumer::create: " + consumer.status().to_string());
            consumer_ = std::move(consumer).value();
            check(consumer_->assign({{kBenchTopic, PartitionId(0), Offset(0)}}), "assign");
        }
        return *consumer_;
    }

    // write()'s phases: with produce() per record (BROOK_BENCH_PER_RECORD=1), the records
    // are made inside the produce phase.
    enum Phase : std::size_t { kFill, kProduce, kFlush };
    Spec spec_;
    PhaseTimes phases_{"fill", per_record_produce() ? "produce" : "produce_batch", "flush"};
    std::unique_ptr<Store> store_;
    std::unique_ptr<Producer> producer_;
    std::unique_ptr<Consumer> consumer_;
};

class BrookLogEngine final : public Engine {
  public:
    void open(const Spec& spec) override {
        spec_ = spec;
        phases_.enable(spec.batch > 1);
        log_ = open_bench_log(spec.dir + "/partition-0");
    }

    // Each record is encoded from the generator's bytes straight into the batch with the log's
    // BatchBuilder (as the Producer encodes), into the buffer of this thread's previous commit
    // (group-commit-4 calls write() from four threads at once).
    void write(const RecordGen& gen, std::int64_t first, std::size_t count) override {
        thread_local std::vector<std::byte> buffer;
        log::BatchBuilder builder(std::move(buffer));
        const std::span<const log::Header> no_headers;
        PhaseTimes::Clock::time_point t = phases_.start();
        for (std::size_t r = 0; r < count; ++r) {
            const std::int64_t i = first + static_cast<std::int64_t>(r);
            char key_bytes[8];
            gen.key(i, key_bytes);
            const std::string_view key(key_bytes, 8);
            const std::string_view value = gen.value(i);
            builder.add(key, value, no_headers, base_timestamp_ms() + i,
                        static_cast<std::int32_t>(r),
                        log::BatchBuilder::fields_size(key, value, no_headers));
        }
        log::BatchOptions options;
        if (spec_.json) options.compression = log::Compression::zstd;
        t = phases_.add(kEncode, t);
        auto bytes = builder.finish(options);
        if (!bytes.is_ok()) die("BatchBuilder::finish: " + bytes.status().to_string());
        t = phases_.add(kFinish, t);
        // As the Producer does: the bytes were encoded just now, so the log need not hash them
        // again (reads still verify the checksum).
        auto appended = log_->append(*bytes, {.freshly_encoded = true});
        if (!appended.is_ok()) die("append: " + appended.status().to_string());
        if (spec_.durability != Durability::none) {
            check(log_->sync_to(appended->last_offset + 1), "sync_to");
        }
        phases_.add(kAppend, t);
        buffer = std::move(bytes).value();
    }

    void begin_timed() override { phases_.reset(); }

    std::optional<std::string> write_phases() const override { return phases_.note(); }

    // The log's zero-copy scan, as an embedder reading the log directly does it: one read
    // buffer reused, the records decoded (checksums verified) as views into it.
    std::int64_t scan(std::uint64_t& acc) override {
        std::int64_t read = 0;
        log::RawBatches raw;
        std::vector<std::vector<std::byte>> decompressed;
        std::vector<log::RecordView> records;
        std::vector<log::HeaderView> headers;
        Offset from = log_->log_start_offset();
        while (from < log_->log_end_offset()) {
            check(log_->read_raw_into(from, 1 << 20, log::Isolation::read_uncommitted, raw),
                  "read_raw_into");
            if (raw.headers.empty()) die("read_raw_into returned nothing before the log end");
            decompressed.clear();
            records.clear();
            headers.clear();
            check(log::decode_raw_views(raw, from, decompressed, records, headers),
                  "decode_raw_views");
            for (const log::RecordView& r : records) fold_value(acc, r.value.value_or(""));
            read += static_cast<std::int64_t>(records.size());
            from = raw.headers.back().last_offset() + 1;
        }
        return read;
    }

    std::string read_at(std::int64_t offset) override {
        auto batches = log_->read(Offset(offset), 1);
        if (!batches.is_ok() || batches->empty() || batches->front().records.empty()) {
            die("read at " + std::to_string(offset) + " returned nothing");
        }
        return batches->front().records.front().value.value_or("");
    }

    std::string read_at_time(std::int64_t timestamp_ms) override {
        auto offset = log_->offset_for_timestamp(timestamp_ms);
        if (!offset.is_ok() || !*offset) die("offset_for_timestamp found nothing");
        return read_at((*offset)->value());
    }

    void recover(const Spec& spec, std::int64_t records) override {
        spec_ = spec;
        log_ = open_bench_log(spec.dir + "/partition-0");
        const log::RecoveryReport& report = log_->recovery_report();
        if (report.clean_shutdown || report.segments_scanned < 1) {
            die("the log did not rescan its segments after the crash");
        }
        if (log_->log_end_offset() != Offset(records)) {
            die("recovered " + std::to_string(log_->log_end_offset().value()) + " records of " +
                std::to_string(records));
        }
    }

    std::vector<std::string> notes() override { return disk_notes(spec_.dir); }

  private:
    // write()'s phases: encoding the records (the generator's included), the batch header and
    // checksum, and the append (with its fsync when the row asks for one).
    enum Phase : std::size_t { kEncode, kFinish, kAppend };
    Spec spec_;
    PhaseTimes phases_{"encode", "finish", "append"};
    std::unique_ptr<log::PartitionLog> log_;
};

const std::vector<std::string> kEngineWorkloads = {
    "append-100b",    "append-1kb",   "append-sync-batch", "append-sync-record",
    "group-commit-4", "consume-100b", "produce-unbatched", "zstd-json",
    "seek-offset",    "seek-time",    "recovery",
};

[[maybe_unused]] const bool brook_registered =
    register_engine("brook", kEngineWorkloads, [] { return std::make_unique<BrookEngine>(); });
[[maybe_unused]] const bool brook_log_registered = register_engine(
    "brook-log", kEngineWorkloads, [] { return std::make_unique<BrookLogEngine>(); });

}  // namespace

std::unique_ptr<log::PartitionLog> open_bench_log(const std::string& dir) {
    log::LogConfig config;
    config.max_message_bytes = 8 << 20;
    auto log =
        log::PartitionLog::open(fs::posix_file_system(), dir, config, SystemClock::instance());
    if (!log.is_ok()) die("PartitionLog::open: " + log.status().to_string());
    return std::move(log).value();
}

}  // namespace brook::bench
