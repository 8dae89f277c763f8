// FileSystem: the one door through which brook touches files.
//
// Every file and directory operation in brook goes through this interface. There are three
// implementations: PosixFileSystem (the real disk), MemoryFileSystem (a complete file system
// held in memory, for in-memory stores and tests) and, for the reliability tests, a fault-
// injecting wrapper (tests/support/fault_fs.hpp). Nothing outside src/fs/ makes file system
// calls, except LMDB on the metadata directory.
//
// Paths are plain strings joined with '/'. Errors come back as Status values:
//   not_found       the file or directory does not exist
//   already_exists  an exclusive create found the file there
//   no_space        ENOSPC or EDQUOT
//   busy            lock_file() found the lock held (the message names the holder's pid)
//   io_error        any other failure, with the path and the system's message
//
// Thread safety: a FileSystem may be used from any number of threads at once. A File may be
// read with read_at() from many threads while one thread appends, truncates or syncs it.
// A MappedRegion's bytes are shared memory; callers synchronise access to them.
#pragma once

#include <brook/status.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace brook::fs {

// An open file. Writes go to the end (append) or to a position (write_at).
class File {
  public:
    virtual ~File() = default;

    // Reads up to out.size() bytes starting at `offset`. Returns the number of bytes read,
    // which is smaller than out.size() only at the end of the file.
    virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const = 0;

    // Appends all of `data` at the current end of the file.
    // REQUIRES: the file was opened writable.
    virtual Status append(std::span<const std::byte> data) = 0;

    // Writes all of `data` at `offset`, extending the file if needed.
    // REQUIRES: the file was opened writable.
    virtual Status write_at(std::uint64_t offset, std::span<const std::byte> data) = 0;

    // Sets the file's size, cutting off or zero-extending its tail.
    // REQUIRES: the file was opened writable and has no live MappedRegion.
    virtual Status truncate(std::uint64_t size) = 0;

    // Makes the file's data and size durable (fdatasync). A failure here is reported once;
    // callers must treat the file's unsynced contents as lost (fail-stop).
    virtual Status sync() = 0;

    // The current size of the file in bytes.
    virtual Result<std::uint64_t> size() const = 0;

    // The path this file was opened with.
    virtual const std::string& path() const = 0;
};

// A read-write shared mapping of the first `size()` bytes of a file. Stores to data() reach
// the file; sync() makes them durable. The mapping stays valid until the region is destroyed,
// even if the File it came from is closed.
class MappedRegion {
  public:
    virtual ~MappedRegion() = default;
    virtual std::byte* data() = 0;
    virtual const std::byte* data() const = 0;
    virtual std::size_t size() const = 0;
    // Makes stores to the region durable (msync).
    virtual Status sync() = 0;
};

// A read-only shared mapping of the first size() bytes of a file, for reading bytes that are
// never written again in place (a segment's batches) without copying them. A mapping of a
// growing file may reach past its end, for the bytes appended later. The mapping stays valid
// until the last reference to it is gone, even if the file is closed, removed or replaced by
// a rename. Reading bytes the file does not hold (past its end, or cut off meanwhile) is not
// defined (a POSIX mapping then faults with SIGBUS): read only what the file holds and
// nothing truncates.
// Thread safety: data() may be read from any number of threads.
class ReadMapping {
  public:
    virtual ~ReadMapping() = default;
    virtual const std::byte* data() const = 0;
    virtual std::size_t size() const = 0;
};

// A held exclusive lock on a lock file. Destroying it releases the lock.
class FileLock {
  public:
    virtual ~FileLock() = default;
};

enum class OpenMode {
    read_only,         // The file must exist; it is opened for reading.
    read_write,        // The file must exist; it is opened for reading and writing.
    create_or_open,    // Open for reading and writing, creating an empty file if absent.
    create_exclusive,  // Create a new empty file; already_exists if it is there.
};

class FileSystem {
  public:
    virtual ~FileSystem() = default;

    // Opens a file. Creating a file does not make its directory entry durable: call
    // sync_dir() on the parent directory for that.
    virtual Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) = 0;

    // Maps the first `size` bytes of `file` read-write, for random access: a fault reads in
    // only the page it touches, with no read-ahead. Its users, the offset and time indexes,
    // append entries and binary-search them, and a new index is a hole sized for a whole
    // segment's entries; with read-ahead, the first store into it made the kernel fill up to
    // read_ahead_kb (8 MiB on some virtual disks) of page cache with zeros.
    // REQUIRES: file.size() >= size, and size > 0; the file was opened writable.
    virtual Result<std::unique_ptr<MappedRegion>> map(File& file, std::size_t size) = 0;

    // Maps the first `size` bytes of `file` read-only (see ReadMapping). With `grows`, the file
    // may still be appended to while mapped, and `size` may reach past its end: the mapping
    // shows what is appended within its first `size` bytes. The in-memory file system refuses
    // that, since an append may move its buffer, and otherwise hands out its buffer and
    // refuses to resize the file while it is mapped.
    // REQUIRES: size > 0. Nothing reads through the mapping past the file's end (on POSIX
    // that raises SIGBUS), so nothing truncates the file below what its readers look at.
    // @return invalid_argument if the file holds fewer than `size` bytes and `grows` is false;
    //         not_supported where the file system cannot map the file so (callers then read
    //         with read_at); io_error.
    virtual Result<std::shared_ptr<const ReadMapping>> map_read_only(File& file, std::size_t size,
                                                                     bool grows) {
        (void)size;
        (void)grows;
        return Status::error(Code::not_supported,
                             "map " + file.path() + ": this file system has no read mappings");
    }

    // True if a file or directory exists at `path`.
    virtual bool exists(const std::string& path) = 0;

    // The names (not paths) of the entries in a directory, in no particular order. The POSIX
    // file system refuses a `path` that is itself a symbolic link with corruption, as open()
    // refuses a file that is one.
    virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;

    // Creates a directory and any missing parents. Succeeds if it already exists.
    virtual Status create_dirs(const std::string& path) = 0;

    // Removes a file. not_found if absent.
    virtual Status remove_file(const std::string& path) = 0;

    // Removes an empty directory. not_found if absent.
    virtual Status remove_dir(const std::string& path) = 0;

    // Atomically replaces `to` with `from`.
    virtual Status rename(const std::string& from, const std::string& to) = 0;

    // Makes the directory's entries (creates, renames, removals) durable.
    virtual Status sync_dir(const std::string& path) = 0;

    // Takes an exclusive lock on `path` (created if absent) and writes this process's pid to it.
    // busy, naming the holder's pid, if another process or another caller holds it.
    virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) = 0;
};

// The process-wide POSIX file system. Without `read_mappings` (the default, as for a Store),
// map_read_only() fails with not_supported, so that segments are read with pread and an I/O
// error is a Status rather than a SIGBUS.
FileSystem& posix_file_system(bool read_mappings = false);

// A new, empty in-memory file system. Each call returns an independent one.
std::shared_ptr<FileSystem> new_memory_file_system();

// Joins two path parts with exactly one '/'.
std::string join_path(const std::string& dir, const std::string& name);

// The directory part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string parent_path(const std::string& path);

}  // namespace brook::fs
