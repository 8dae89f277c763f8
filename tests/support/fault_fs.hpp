// FaultFileSystem: a FileSystem wrapper for the reliability tests, after LevelDB's
// FaultInjectionTestEnv and SQLite's crash-test VFS.
//
// It forwards every call to an inner FileSystem (usually the in-memory one) and adds three
// things:
//
//  * Operation counting. Every call that can fail is one operation of a kind (open, read,
//    write, sync, rename, unlink, mmap, mkdir); operations(kinds) counts them.
//  * Fault injection. inject() fails the k-th later operation of the chosen kinds with EIO
//    (io_error) or ENOSPC (no_space), once or persistently from then on. A failed append or
//    write_at first writes half its bytes, as a short write on a full disk leaves them.
//  * Power loss. It tracks what was made durable: each file's contents as of its last sync
//    (File::sync or MappedRegion::sync) and each directory's entries as of its last sync_dir.
//    crash_image() builds a fresh in-memory FileSystem holding only that durable state, as
//    the disk would be after a power cut now: file tails past the last sync are dropped, and
//    so are files created, renamed or removed since their directory's last sync (a removed
//    file comes back, a renamed one is back at its old name). The unsynced tail of a file can
//    instead be torn: a prefix of it kept, or the whole of it turned into garbage or zeros.
//    crash_after(k) captures that image right after the k-th mutating operation, so a
//    workload can run on and the test can then reopen the image as of that moment.
//
// Durable roots: mark_durable(dir) declares `dir` and everything already below it durable
// (a store created before the test's faults begin). crash_image() holds the trees below the
// durable roots; files outside them are not part of any image.
//
// The legacy switches (fail_sync, fail_writes_no_space) and the `reads` counter serve older
// tests that wrap the POSIX file system; they apply to every later call until cleared.
//
// Thread safety: every method may be called from any thread at once. One mutex serialises all
// operations through the wrapper, so a crash image is always taken between two operations.
// Stores made through a MappedRegion's data() are not operations; they become durable at the
// region's sync(). A crash image holds a mapped file's synced contents only, since its live
// bytes may be being stored to by another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fs/file_system.hpp"

namespace brook::testing {

// Operation kinds, combinable as a bit mask.
namespace op {
inline constexpr unsigned open = 1u << 0;    // open, lock_file
inline constexpr unsigned read = 1u << 1;    // File::read_at, size, list_dir
inline constexpr unsigned write = 1u << 2;   // append, write_at, truncate
inline constexpr unsigned sync = 1u << 3;    // File::sync, MappedRegion::sync, sync_dir
inline constexpr unsigned rename = 1u << 4;  // rename
inline constexpr unsigned unlink = 1u << 5;  // remove_file, remove_dir
inline constexpr unsigned mmap = 1u << 6;    // map
inline constexpr unsigned mkdir = 1u << 7;   // create_dirs
inline constexpr unsigned all = (1u << 8) - 1;
// The operations that change what is on disk (crash points).
inline constexpr unsigned mutating = open | write | sync | rename | unlink | mkdir;
}  // namespace op

// "open", "write|sync", ... for messages.
std::string op_names(unsigned kinds);

struct FaultRule {
    unsigned kinds = op::all;    // which operations count towards `nth`
    std::uint64_t nth = 1;       // fail the nth matching operation after inject() (1-based)
    bool persistent = false;     // and every matching operation after it
    Code code = Code::io_error;  // io_error (EIO) or no_space (ENOSPC)
};

// What happens to a file's unsynced tail at a power cut.
enum class Tear {
    drop,     // the tail is lost: the file ends at its last synced size
    prefix,   // a random part of the tail survives (at least one byte)
    garbage,  // the tail's length survives, filled with random bytes
    zeros,    // the tail's length survives, filled with zero bytes
};

const char* tear_name(Tear tear);

class FaultFileSystem final : public fs::FileSystem {
  public:
    // REQUIRES: `inner` outlives this wrapper and is changed only through it.
    explicit FaultFileSystem(fs::FileSystem& inner);
    ~FaultFileSystem() override;

    // Legacy switches: fail every sync with io_error / every write with no_space.
    std::atomic<bool> fail_sync{false};
    std::atomic<bool> fail_writes_no_space{false};
    // Number of read_at calls made through files opened here, and the bytes they returned.
    std::atomic<std::uint64_t> reads{0};
    std::atomic<std::uint64_t> bytes_read{0};
    // Called by File::sync with the file's path before anything else, outside the wrapper's
    // lock: a test may block in it to hold that fsync while other operations go on, or return
    // an error, which the sync then fails with (nothing is synced). Set it before the workload
    // starts and clear it after.
    std::function<Status(const std::string& path)> before_sync;
    // Called by list_dir with the directory's path after a successful listing, outside the
    // wrapper's lock, before the listing is returned: a test may change the directory then, as
    // another process would between a reader's listing and its opens. Set and clear it as
    // before_sync.
    std::function<void(const std::string& path)> after_list_dir;

    // Arms `rule`, replacing any armed one; matching operations are counted from now.
    void inject(FaultRule rule);
    // Disarms the rule (and the crash point); later operations succeed.
    void clear_faults();
    // How many operations the armed rule has failed.
    std::uint64_t failures_injected() const;
    // Operations of `kinds` made since construction or reset_counts().
    std::uint64_t operations(unsigned kinds = op::all) const;
    void reset_counts();

    // Declares `dir` and everything below it durable as it is now.
    void mark_durable(const std::string& dir);
    // The durable state as a new in-memory file system (see above). `seed` drives the tear.
    std::shared_ptr<fs::FileSystem> crash_image(Tear tear = Tear::drop,
                                                std::uint64_t seed = 0) const;
    // Captures crash_image(tear, seed) right after the k-th operation of `kinds` from now.
    void crash_after(std::uint64_t k, Tear tear, std::uint64_t seed, unsigned kinds = op::mutating);
    // The image crash_after() captured, or null if the k-th operation never came.
    std::shared_ptr<fs::FileSystem> captured_image() const;

    Result<std::unique_ptr<fs::File>> open(const std::string& path, fs::OpenMode mode) override;
    Result<std::unique_ptr<fs::MappedRegion>> map(fs::File& file, std::size_t size) override;
    bool exists(const std::string& path) override;
    Result<std::vector<std::string>> list_dir(const std::string& path) override;
    Status create_dirs(const std::string& path) override;
    Status remove_file(const std::string& path) override;
    Status remove_dir(const std::string& path) override;
    Status rename(const std::string& from, const std::string& to) override;
    Status sync_dir(const std::string& path) override;
    Result<std::unique_ptr<fs::FileLock>> lock_file(const std::string& path) override;

  private:
    class WrappedFile;
    class WrappedRegion;
    struct Node;
    using Entries = std::map<std::string, std::shared_ptr<Node>>;
    // A file or directory as the wrapper tracks it across renames and removals.
    struct Node {
        bool directory = false;
        std::vector<std::byte> synced;     // a file's contents as of its last sync
        std::shared_ptr<fs::File> reader;  // reads a file's live contents, wherever it is now
        Entries durable_children;          // a directory's entries as of its last sync_dir
        int live_mappings = 0;             // WrappedRegions on the file; guarded by mu_
    };

    // Counts one operation; returns the error to inject, if any. REQUIRES: mu_ held.
    Status begin(unsigned kind, const std::string& what);
    // Captures the crash image if this was the crash point. REQUIRES: mu_ held.
    void end(unsigned kind);
    // The node at normalised `key`, adopting an untracked existing file or directory as
    // durable; null if there is nothing there. REQUIRES: mu_ held (as for all below).
    std::shared_ptr<Node> node_at(const std::string& key);
    std::shared_ptr<Node> adopt(const std::string& key, bool directory);
    // Records a new, not yet durable entry at `key`.
    std::shared_ptr<Node> add_live(const std::string& key, bool directory);
    void snapshot_contents(Node& node) const;
    Entries live_children(const std::string& key) const;
    void mark_durable_locked(const std::string& key);
    void build_image(fs::FileSystem& image, const std::string& path, const Node& dir, Tear tear,
                     std::uint64_t& state) const;
    std::shared_ptr<fs::FileSystem> crash_image_locked(Tear tear, std::uint64_t seed) const;

    fs::FileSystem& inner_;
    mutable std::mutex mu_;
    std::map<unsigned, std::uint64_t> counts_;  // per single kind bit
    std::optional<FaultRule> rule_;
    std::uint64_t rule_seen_ = 0;
    std::uint64_t failures_ = 0;

    struct CrashPoint {
        std::uint64_t k;
        Tear tear;
        std::uint64_t seed;
        unsigned kinds;
        std::uint64_t seen = 0;
    };
    std::optional<CrashPoint> crash_;
    std::shared_ptr<fs::FileSystem> captured_;

    Entries live_;  // normalised path -> node, for everything the wrapper has seen
    std::set<std::string> roots_;
};

}  // namespace brook::testing
