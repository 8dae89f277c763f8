// MemoryFileSystem: a complete file system held in memory.
//
// The namespace is an ordered map from normalised absolute path ("/a/b") to an entry that is
// either a directory or a file; a directory's children are the keys directly below its prefix.
// One mutex guards the namespace. A file entry holds the file's bytes, which its open handles
// share (memory_file.hpp), so a removed or renamed file stays usable through handles opened
// before, as with POSIX unlink.
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fs/file_system.hpp"
#include "fs/memory_file.hpp"

namespace brook::fs {
namespace {

using detail::FileData;
using detail::MemoryFile;

// A directory entry: a file when `file` is set, a directory otherwise.
struct Entry {
    std::shared_ptr<FileData> file;
    bool is_directory() const { return file == nullptr; }
};

// "/a/b" from "a//b/", "/a/./b" or "/a/c/../b"; "/" for the root.
std::string normalise(const std::string& path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        const std::string part = path.substr(start, end - start);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = end + 1;
    }
    if (parts.empty()) return "/";
    std::string out;
    for (const auto& part : parts) out += "/" + part;
    return out;
}

std::string parent_of(const std::string& normalised) {
    const auto slash = normalised.rfind('/');
    return slash == 0 ? "/" : normalised.substr(0, slash);
}

// The prefix every key below a directory starts with.
std::string child_prefix(const std::string& directory) {
    return directory == "/" ? "/" : directory + "/";
}

// The paths currently locked through lock_file(). Shared with the locks so that a lock may
// outlive the file system that issued it.
struct LockTable {
    std::mutex mutex;
    std::set<std::string> held;
};

class MemoryFileLock final : public FileLock {
  public:
    MemoryFileLock(std::shared_ptr<LockTable> table, std::string path)
        : table_(std::move(table)), path_(std::move(path)) {}
    ~MemoryFileLock() override {
        std::lock_guard lock(table_->mutex);
        table_->held.erase(path_);
    }
    MemoryFileLock(const MemoryFileLock&) = delete;
    MemoryFileLock& operator=(const MemoryFileLock&) = delete;

  private:
    std::shared_ptr<LockTable> table_;
    std::string path_;
};

class MemoryFileSystem final : public FileSystem {
  public:
    MemoryFileSystem() { entries_.emplace("/", Entry{}); }

    Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override {
        const std::string key = normalise(path);
        std::lock_guard lock(mutex_);
        const auto found = entries_.find(key);
        if (found != entries_.end()) {
            if (found->second.is_directory()) {
                return Status::io_error("open " + path + ": Is a directory");
            }
            if (mode == OpenMode::create_exclusive) {
                return Status::already_exists("open " + path + ": File exists");
            }
            return make_file(found->second.file, path, mode);
        }
        if (mode == OpenMode::read_only || mode == OpenMode::read_write) {
            return Status::not_found("open " + path + ": No such file or directory");
        }
        BROOK_RETURN_IF_ERROR(check_parent_directory("open", path, key));
        auto data = std::make_shared<FileData>();
        entries_.emplace(key, Entry{data});
        return make_file(std::move(data), path, mode);
    }

    Result<std::unique_ptr<MappedRegion>> map(File& file, std::size_t size) override {
        auto* memory_file = dynamic_cast<MemoryFile*>(&file);
        if (memory_file != nullptr && !memory_file->writable()) {
            return Status::io_error("map " + file.path() + ": file opened read-only");
        }
        BROOK_ASSIGN_OR_RETURN(auto data, detail::pin_mapping(file, size));
        return std::unique_ptr<MappedRegion>(
            std::make_unique<detail::MemoryMappedRegion>(std::move(data), size));
    }

    Result<std::shared_ptr<const ReadMapping>> map_read_only(File& file, std::size_t size,
                                                             bool grows) override {
        if (grows) {
            return Status::error(
                Code::not_supported,
                "map " + file.path() + ": an in-memory file cannot grow while it is mapped");
        }
        BROOK_ASSIGN_OR_RETURN(auto data, detail::pin_mapping(file, size));
        return std::shared_ptr<const ReadMapping>(
            std::make_shared<detail::MemoryReadMapping>(std::move(data), size));
    }

    bool exists(const std::string& path) override {
        std::lock_guard lock(mutex_);
        return entries_.contains(normalise(path));
    }

    Result<std::vector<std::string>> list_dir(const std::string& path) override {
        const std::string key = normalise(path);
        std::lock_guard lock(mutex_);
        BROOK_RETURN_IF_ERROR(check_directory("opendir", path, key));
        std::vector<std::string> names;
        const std::string prefix = child_prefix(key);
        for (auto it = entries_.lower_bound(prefix);
             it != entries_.end() && it->first.starts_with(prefix); ++it) {
            const std::string name = it->first.substr(prefix.size());
            if (!name.empty() && name.find('/') == std::string::npos) names.push_back(name);
        }
        return names;
    }

    Status create_dirs(const std::string& path) override {
        const std::string key = normalise(path);
        std::lock_guard lock(mutex_);
        std::size_t end = 0;
        while (end != std::string::npos) {
            end = key.find('/', end + 1);
            const std::string prefix = key.substr(0, end);
            const auto [it, inserted] = entries_.emplace(prefix, Entry{});
            if (!inserted && !it->second.is_directory()) {
                return Status::io_error("mkdir " + prefix + ": Not a directory");
            }
        }
        return Status::ok();
    }

    Status remove_file(const std::string& path) override {
        const std::string key = normalise(path);
        std::lock_guard lock(mutex_);
        const auto found = entries_.find(key);
        if (found == entries_.end()) {
            return Status::not_found("unlink " + path + ": No such file or directory");
        }
        if (found->second.is_directory()) {
            return Status::io_error("unlink " + path + ": Is a directory");
        }
        entries_.erase(found);
        return Status::ok();
    }

    Status remove_dir(const std::string& path) override {
        const std::string key = normalise(path);
        std::lock_guard lock(mutex_);
        BROOK_RETURN_IF_ERROR(check_directory("rmdir", path, key));
        if (key == "/") return Status::io_error("rmdir " + path + ": Device or resource busy");
        if (has_children(key)) return Status::io_error("rmdir " + path + ": directory not empty");
        entries_.erase(key);
        return Status::ok();
    }

    Status rename(const std::string& from, const std::string& to) override {
        const std::string from_key = normalise(from);
        const std::string to_key = normalise(to);
        const std::string operation = "rename " + from + " to " + to;
        std::lock_guard lock(mutex_);
        const auto source = entries_.find(from_key);
        if (source == entries_.end()) {
            return Status::not_found(operation + ": No such file or directory");
        }
        if (from_key == to_key) return Status::ok();
        BROOK_RETURN_IF_ERROR(check_parent_directory("rename", to, to_key));
        const auto target = entries_.find(to_key);
        if (source->second.is_directory()) {
            if (to_key.starts_with(child_prefix(from_key))) {
                return Status::io_error(operation + ": Invalid argument");
            }
            if (target != entries_.end()) {
                if (!target->second.is_directory()) {
                    return Status::io_error(operation + ": Not a directory");
                }
                if (has_children(to_key)) {
                    return Status::io_error(operation + ": directory not empty");
                }
            }
            move_subtree(from_key, to_key);
            return Status::ok();
        }
        if (target != entries_.end() && target->second.is_directory()) {
            return Status::io_error(operation + ": Is a directory");
        }
        entries_[to_key] = source->second;
        entries_.erase(from_key);
        return Status::ok();
    }

    Status sync_dir(const std::string& path) override {
        const std::string key = normalise(path);
        std::lock_guard lock(mutex_);
        return check_directory("open directory", path, key);
    }

    Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
        const std::string key = normalise(path);
        const std::string pid = std::to_string(::getpid());
        {
            std::lock_guard lock(locks_->mutex);
            if (!locks_->held.insert(key).second) {
                return Status::busy("store lock " + path + " is held by pid " + pid +
                                    "; close the other writer or open with read_only");
            }
        }
        auto lock = std::make_unique<MemoryFileLock>(locks_, key);
        BROOK_ASSIGN_OR_RETURN(auto file, open(path, OpenMode::create_or_open));
        BROOK_RETURN_IF_ERROR(file->truncate(0));
        const std::string contents = pid + "\n";
        BROOK_RETURN_IF_ERROR(file->append(std::as_bytes(std::span(contents))));
        return std::unique_ptr<FileLock>(std::move(lock));
    }

  private:
    static Result<std::unique_ptr<File>> make_file(std::shared_ptr<FileData> data,
                                                   const std::string& path, OpenMode mode) {
        const bool writable = mode != OpenMode::read_only;
        return std::unique_ptr<File>(std::make_unique<MemoryFile>(std::move(data), path, writable));
    }

    // REQUIRES: mutex_ is held.
    Status check_directory(std::string_view operation, const std::string& path,
                           const std::string& key) const {
        const auto found = entries_.find(key);
        if (found == entries_.end()) {
            return Status::not_found(std::string(operation) + " " + path +
                                     ": No such file or directory");
        }
        if (!found->second.is_directory()) {
            return Status::io_error(std::string(operation) + " " + path + ": Not a directory");
        }
        return Status::ok();
    }

    // REQUIRES: mutex_ is held.
    Status check_parent_directory(std::string_view operation, const std::string& path,
                                  const std::string& key) const {
        if (key == "/") return Status::io_error(std::string(operation) + " /: Is a directory");
        return check_directory(operation, path, parent_of(key));
    }

    // REQUIRES: mutex_ is held.
    bool has_children(const std::string& directory) const {
        const std::string prefix = child_prefix(directory);
        auto it = entries_.lower_bound(prefix);
        if (it != entries_.end() && it->first == directory) ++it;  // The root is its own prefix.
        return it != entries_.end() && it->first.starts_with(prefix);
    }

    // Moves a directory and everything below it to `to`, replacing an empty directory there.
    // REQUIRES: mutex_ is held.
    void move_subtree(const std::string& from, const std::string& to) {
        std::map<std::string, Entry> moved;
        const std::string prefix = child_prefix(from);
        auto it = entries_.lower_bound(prefix);
        while (it != entries_.end() && it->first.starts_with(prefix)) {
            moved.emplace(to + "/" + it->first.substr(prefix.size()), std::move(it->second));
            it = entries_.erase(it);
        }
        entries_.erase(from);
        entries_[to] = Entry{};
        entries_.merge(moved);
    }

    std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    std::shared_ptr<LockTable> locks_ = std::make_shared<LockTable>();
};

}  // namespace

std::shared_ptr<FileSystem> new_memory_file_system() {
    return std::make_shared<MemoryFileSystem>();
}

}  // namespace brook::fs
