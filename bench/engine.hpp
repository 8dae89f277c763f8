// Engine: one system behind the workloads that every system can run the same way.
//
// The append, sync, group-commit, consume and seek-offset workloads are written once, in
// engine.cpp, against this interface; each system (brook, brook-log, raw and the peers)
// implements it in its own file and registers the workloads it supports with
// register_engine(). That keeps the record generator, the commit batch, the timing and the
// checks identical across systems: only the engine calls differ.
//
// Thread safety: one thread calls an engine, except write() in the group-commit workload,
// where Spec::threads threads call it at once; an engine registered for that workload must
// allow it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness.hpp"

namespace brook::bench {

// Timestamps of generated records: record i gets base_timestamp_ms() + i. The base is this
// process's start time: timestamps far in the past would make the log roll a segment on every
// append, since segment.ms counts from a segment's first timestamp (as in Kafka).
std::int64_t base_timestamp_ms();

// Folds one read value into a checksum, so a scan touches every value and can be checked
// against the generator without keeping the records.
inline void fold_value(std::uint64_t& acc, std::string_view value) noexcept {
    std::uint64_t head = 0;
    std::memcpy(&head, value.data(), std::min<std::size_t>(8, value.size()));
    acc = acc * 31 + head + value.size();
}

class Engine {
  public:
    virtual ~Engine() = default;

    // Creates the system's store in spec.dir, with spec.durability for every commit.
    virtual void open(const Spec& spec) = 0;

    // Writes records [first, first + count) of `gen` as one commit, with offsets (or keys in
    // sequence) first .. first + count - 1, durable as spec.durability says when it returns.
    // An asynchronous producer may still hold them until finish_writes().
    virtual void write(const RecordGen& gen, std::int64_t first, std::size_t count) = 0;

    // Completes every write (flushes a producer), so that all of them can be read back.
    virtual void finish_writes() {}

    // Called after the warm-up commits, before the timed ones: forgets what write() measured.
    virtual void begin_timed() {}

    // Reads every record from the first in order, folding each value into `acc`.
    // @return the number of records read.
    virtual std::int64_t scan(std::uint64_t& acc) = 0;

    // Seconds an engine that cannot hold the whole log (the mock Kafka broker) already spent
    // scanning, into the same `acc`, while it was written; its scan() reads the rest.
    virtual double scanned_during_writes(std::uint64_t& /*acc*/, std::int64_t& /*read*/) {
        return 0;
    }

    // Reads the value of the record at `offset`.
    virtual std::string read_at(std::int64_t /*offset*/) { die("this engine has no point reads"); }

    // Reads the value of the first record whose timestamp is >= `timestamp_ms`.
    virtual std::string read_at_time(std::int64_t /*timestamp_ms*/) {
        die("this engine has no reads by time");
    }

    // Opens what another process wrote into spec.dir and died without closing, validating it
    // as the system does after a crash (raw reads every byte back, having nothing else to
    // check), and dies unless all `records` records are there.
    virtual void recover(const Spec& /*spec*/, std::int64_t /*records*/) {
        die("this engine has no recovery");
    }

    // Notes for the row (bytes on disk and the like), after the timed part.
    virtual std::vector<std::string> notes() { return {}; }

    // For an append row: where write()'s time went (PhaseTimes::note()), if the engine
    // measures it.
    virtual std::optional<std::string> write_phases() const { return std::nullopt; }
};

using EngineFactory = std::function<std::unique_ptr<Engine>()>;

// Registers `system` for each of `workloads`, which must be among: append-100b, append-1kb,
// append-sync-batch, append-sync-record, group-commit-4, consume-100b, produce-unbatched,
// zstd-json, seek-offset, seek-time, recovery.
bool register_engine(const std::string& system, const std::vector<std::string>& workloads,
                     EngineFactory factory);

// The generic workloads, for systems that add special cases around them.
Row run_append(const Spec& spec, Engine& engine);
Row run_consume(const Spec& spec, Engine& engine);
Row run_seek_offset(const Spec& spec, Engine& engine);
Row run_seek_time(const Spec& spec, Engine& engine);
// Fills the engine in a child process that exits without closing it, then times recover().
Row run_recovery(const Spec& spec, const EngineFactory& factory);

// Fills an engine with `n` records of `gen` in commits of spec.batch, untimed.
void fill(const Spec& spec, Engine& engine, const RecordGen& gen, std::int64_t n);

// The checksum a scan of the first `n` records of `gen` must produce.
std::uint64_t expected_checksum(const RecordGen& gen, std::int64_t n);

}  // namespace brook::bench
