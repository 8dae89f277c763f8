// rdkafka_mock: librdkafka's in-process mock cluster (one broker), what teams use to test
// against Kafka without a cluster. A producer (linger.ms=5, or 0 for the unbatched workload,
// acks=1) sends every record (a commit batch with one rd_kafka_produce_batch() call), is flushed at
// the end, and a consumer assigned to the partition reads them back. The mock broker keeps the log
// in memory, so it only runs the workloads without fsync. It also keeps only the last 5 MB of each
// partition (max_size in rdkafka_mock.c), so for the consume workload the log is written and read
// in windows of 4 MB: each window is flushed, then consumed, and only the consuming is timed.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <vector>

#include "engine.hpp"

namespace brook::bench {
namespace {

constexpr const char* kTopic = "bench";

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
    char error[512];
    if (rd_kafka_conf_set(conf, key, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
        die(std::string("rdkafka: ") + key + ": " + error);
    }
}

void delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die(std::string("rdkafka: delivery failed: ") + rd_kafka_err2str(message->err));
    }
    ++*static_cast<std::int64_t*>(opaque);
}

class RdkafkaEngine final : public Engine {
  public:
    ~RdkafkaEngine() override {
        if (consumer_ != nullptr) {
            rd_kafka_consumer_close(consumer_);
            rd_kafka_destroy(consumer_);
        }
        if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
        if (producer_ != nullptr) rd_kafka_destroy(producer_);
    }

    void open(const Spec& spec) override {
        consume_ = spec.workload == "consume-100b";
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        set(conf, "test.mock.num.brokers", "1");
        set(conf, "log_level", "3");
        set(conf, "linger.ms", spec.workload == "produce-unbatched" ? "0" : "5");
        set(conf, "batch.num.messages", std::to_string(std::max<std::size_t>(spec.batch, 1000)));
        set(conf, "acks", "1");
        set(conf, "queue.buffering.max.messages", "2000000");
        set(conf, "queue.buffering.max.kbytes", "2097151");
        rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
        rd_kafka_conf_set_opaque(conf, &delivered_);
        char error[512];
        producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
        if (producer_ == nullptr) die(std::string("rdkafka: producer: ") + error);
        rd_kafka_mock_cluster_t* cluster = rd_kafka_handle_mock_cluster(producer_);
        if (cluster == nullptr) die("rdkafka: no mock cluster");
        if (rd_kafka_mock_topic_create(cluster, kTopic, 1, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            die("rdkafka: cannot create the topic on the mock cluster");
        }
        bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster);
        topic_ = rd_kafka_topic_new(producer_, kTopic, nullptr);
        if (topic_ == nullptr) die("rdkafka: topic handle");
    }

    void write(const RecordGen& gen, std::int64_t first, std::size_t count) override {
        if (count > 1) {
            produce_batch(gen, first, count);
        } else {
            produce_each(gen, first, count);
        }
        rd_kafka_poll(producer_, 0);
        written_ += static_cast<std::int64_t>(count);
        window_bytes_ += count * gen.record_bytes();
        if (consume_ && window_bytes_ >= kWindowBytes) {
            finish_writes();
            Stopwatch watch;
            read_ += consume_until(written_, acc_);
            scan_seconds_ += watch.seconds();
            window_bytes_ = 0;
        }
    }

    double scanned_during_writes(std::uint64_t& acc, std::int64_t& read) override {
        acc = acc_;
        read = read_;
        return scan_seconds_;
    }

    void finish_writes() override {
        if (rd_kafka_flush(producer_, 600'000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            die("rdkafka: flush timed out");
        if (delivered_ != written_) die("rdkafka: not every record was delivered");
    }

    std::int64_t scan(std::uint64_t& acc) override { return consume_until(written_, acc); }

  private:
    static constexpr std::size_t kWindowBytes = 4 << 20;

    // A commit batch with one rd_kafka_produce_batch() call, as brook takes it with one
    // produce_batch(): copied (RD_KAFKA_MSG_F_COPY). A full queue refuses the tail of the
    // batch, which is sent again after a poll.
    void produce_batch(const RecordGen& gen, std::int64_t first, std::size_t count) {
        keys_.resize(count * 8);
        messages_.assign(count, rd_kafka_message_t{});
        for (std::size_t r = 0; r < count; ++r) {
            const std::int64_t i = first + static_cast<std::int64_t>(r);
            gen.key(i, &keys_[r * 8]);
            const std::string_view value = gen.value(i);
            messages_[r].payload = const_cast<char*>(value.data());
            messages_[r].len = value.size();
            messages_[r].key = &keys_[r * 8];
            messages_[r].key_len = 8;
        }
        std::size_t sent = 0;
        while (sent < count) {
            rd_kafka_message_t* rest = messages_.data() + sent;
            const int queued = rd_kafka_produce_batch(topic_, 0, RD_KAFKA_MSG_F_COPY, rest,
                                                      static_cast<int>(count - sent));
            // The first `queued` were taken; the rest may only have met a full queue.
            for (std::size_t m = sent; m < count; ++m) {
                const rd_kafka_resp_err_t err = messages_[m].err;
                const bool taken = m < sent + static_cast<std::size_t>(queued);
                if (taken ? err != RD_KAFKA_RESP_ERR_NO_ERROR
                          : err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    die(std::string("rdkafka: produce_batch: ") + rd_kafka_err2str(err));
                }
            }
            sent += static_cast<std::size_t>(queued);
            if (sent < count) rd_kafka_poll(producer_, 1);
        }
    }

    void produce_each(const RecordGen& gen, std::int64_t first, std::size_t count) {
        for (std::int64_t i = first; i < first + static_cast<std::int64_t>(count); ++i) {
            char key[8];
            gen.key(i, key);
            const std::string_view value = gen.value(i);
            while (true) {
                const rd_kafka_resp_err_t err = rd_kafka_producev(
                    producer_, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(0),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, 8),
                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                    RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    die(std::string("rdkafka: produce: ") + rd_kafka_err2str(err));
                }
                rd_kafka_poll(producer_, 1);
            }
        }
    }

    // Reads records until `end` records have been read in all, folding them into `acc`.
    // @return how many this call read.
    std::int64_t consume_until(std::int64_t end, std::uint64_t& acc) {
        if (consumer_ == nullptr) start_consumer();
        std::int64_t read = 0;
        while (consumed_ < end) {
            rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, 10'000);
            if (m == nullptr) {
                die("rdkafka: the consumer got nothing for 10 s after " +
                    std::to_string(consumed_) + " records");
            }
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
                die(std::string("rdkafka: consume: ") + rd_kafka_message_errstr(m));
            if (m->offset != consumed_) die("rdkafka: the mock broker lost records");
            fold_value(acc, std::string_view(static_cast<const char*>(m->payload), m->len));
            ++read;
            ++consumed_;
            rd_kafka_message_destroy(m);
        }
        return read;
    }

    void start_consumer() {
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        set(conf, "bootstrap.servers", bootstraps_);
        set(conf, "group.id", "bench");
        set(conf, "enable.auto.commit", "false");
        set(conf, "fetch.wait.max.ms", "10");
        char error[512];
        consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
        if (consumer_ == nullptr) die(std::string("rdkafka: consumer: ") + error);
        rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(partitions, kTopic, 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        if (rd_kafka_assign(consumer_, partitions) != RD_KAFKA_RESP_ERR_NO_ERROR)
            die("rdkafka: assign");
        rd_kafka_topic_partition_list_destroy(partitions);
    }

    rd_kafka_t* producer_ = nullptr;
    rd_kafka_topic_t* topic_ = nullptr;
    std::vector<char> keys_;  // produce_batch()'s keys, 8 bytes each
    std::vector<rd_kafka_message_t> messages_;
    rd_kafka_t* consumer_ = nullptr;
    std::string bootstraps_;
    std::int64_t delivered_ = 0;
    std::int64_t written_ = 0;
    // The consume workload's windows: bytes written since the last, what was read so far.
    bool consume_ = false;
    std::size_t window_bytes_ = 0;
    std::int64_t consumed_ = 0;
    std::int64_t read_ = 0;
    std::uint64_t acc_ = 0;
    double scan_seconds_ = 0;
};

[[maybe_unused]] const bool rdkafka_registered = register_engine(
    "rdkafka_mock", {"append-100b", "append-1kb", "consume-100b", "produce-unbatched"},
    [] { return std::make_unique<RdkafkaEngine>(); });

}  // namespace
}  // namespace brook::bench
