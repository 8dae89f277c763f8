// PosixFileSystem: the FileSystem on the real disk, through the POSIX calls.
//
// Every call that can be interrupted is retried on EINTR, and reads and writes loop until all
// bytes are moved. Errors become Status values naming the operation, the path and the system's
// message. The store lock is an open-file-description lock (F_OFD_SETLK), so a second lock on
// the same file fails even from the same process.
//
// Security of the store directory: files are created 0640 and directories 0750, both further
// narrowed by the process umask. Files are opened, and directories listed, with O_NOFOLLOW, so a
// store file or partition directory replaced by a symbolic link (which could point outside the
// store) is refused with corruption naming the path.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "fs/file_system.hpp"

namespace brook::fs {
namespace {

constexpr mode_t kFileMode = 0640;
constexpr mode_t kDirMode = 0750;

Status errno_status(std::string_view operation, const std::string& path, int error) {
    std::string message =
        std::string(operation) + " " + path + ": " + std::system_category().message(error);
    switch (error) {
        case ENOENT: return Status::not_found(std::move(message));
        case EEXIST: return Status::already_exists(std::move(message));
        case ELOOP:
            return Status::corruption(
                message +
                " (it is a symbolic link: brook refuses links inside a store, "
                "which could point outside it; replace the link with the "
                "file or directory it points to)");
        case ENOSPC:
        case EDQUOT: return Status::no_space(std::move(message));
        default: return Status::io_error(std::move(message));
    }
}

Status close_fd(int fd, const std::string& path) {
    // Linux releases the descriptor even when close() fails, so it is never retried.
    if (::close(fd) != 0 && errno != EINTR) return errno_status("close", path, errno);
    return Status::ok();
}

Status read_fully_at(int fd, const std::string& path, std::uint64_t offset,
                     std::span<std::byte> out, std::size_t& total) {
    total = 0;
    while (total < out.size()) {
        const ssize_t n =
            ::pread(fd, out.data() + total, out.size() - total, static_cast<off_t>(offset + total));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_status("pread", path, errno);
        }
        if (n == 0) break;
        total += static_cast<std::size_t>(n);
    }
    return Status::ok();
}

Status write_fully_at(int fd, const std::string& path, std::uint64_t offset,
                      std::span<const std::byte> data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n =
            ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_status("pwrite", path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
    return Status::ok();
}

Result<std::uint64_t> file_size(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_status("fstat", path, errno);
    return static_cast<std::uint64_t>(st.st_size);
}

class PosixFile final : public File {
  public:
    PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    ~PosixFile() override { close_fd(fd_, path_).ignore(); }
    PosixFile(const PosixFile&) = delete;
    PosixFile& operator=(const PosixFile&) = delete;

    Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
        std::size_t total = 0;
        BROOK_RETURN_IF_ERROR(read_fully_at(fd_, path_, offset, out, total));
        return total;
    }

    // Only one thread writes a file, so the end found here is still the end when writing.
    Status append(std::span<const std::byte> data) override {
        const off_t end = ::lseek(fd_, 0, SEEK_END);
        if (end < 0) return errno_status("lseek", path_, errno);
        return write_fully_at(fd_, path_, static_cast<std::uint64_t>(end), data);
    }

    Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
        return write_fully_at(fd_, path_, offset, data);
    }

    Status truncate(std::uint64_t size) override {
        while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
            if (errno != EINTR) return errno_status("ftruncate", path_, errno);
        }
        return Status::ok();
    }

    Status sync() override {
        while (::fdatasync(fd_) != 0) {
            if (errno != EINTR) return errno_status("fdatasync", path_, errno);
        }
        return Status::ok();
    }

    Result<std::uint64_t> size() const override { return file_size(fd_, path_); }
    const std::string& path() const override { return path_; }
    int fd() const { return fd_; }

  private:
    int fd_;
    std::string path_;
};

class PosixMappedRegion final : public MappedRegion {
  public:
    PosixMappedRegion(std::byte* data, std::size_t size, std::string path)
        : data_(data), size_(size), path_(std::move(path)) {}
    ~PosixMappedRegion() override { ::munmap(data_, size_); }
    PosixMappedRegion(const PosixMappedRegion&) = delete;
    PosixMappedRegion& operator=(const PosixMappedRegion&) = delete;

    std::byte* data() override { return data_; }
    const std::byte* data() const override { return data_; }
    std::size_t size() const override { return size_; }

    Status sync() override {
        if (::msync(data_, size_, MS_SYNC) != 0) return errno_status("msync", path_, errno);
        return Status::ok();
    }

  private:
    std::byte* data_;
    std::size_t size_;
    std::string path_;
};

class PosixReadMapping final : public ReadMapping {
  public:
    PosixReadMapping(const std::byte* data, std::size_t size) : data_(data), size_(size) {}
    ~PosixReadMapping() override { ::munmap(const_cast<std::byte*>(data_), size_); }
    PosixReadMapping(const PosixReadMapping&) = delete;
    PosixReadMapping& operator=(const PosixReadMapping&) = delete;

    const std::byte* data() const override { return data_; }
    std::size_t size() const override { return size_; }

  private:
    const std::byte* data_;
    std::size_t size_;
};

// Holds the open lock file; closing the descriptor releases the OFD lock.
class PosixFileLock final : public FileLock {
  public:
    PosixFileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    ~PosixFileLock() override { close_fd(fd_, path_).ignore(); }
    PosixFileLock(const PosixFileLock&) = delete;
    PosixFileLock& operator=(const PosixFileLock&) = delete;

  private:
    int fd_;
    std::string path_;
};

int open_flags(OpenMode mode) {
    switch (mode) {
        case OpenMode::read_only: return O_RDONLY;
        case OpenMode::read_write: return O_RDWR;
        case OpenMode::create_or_open: return O_RDWR | O_CREAT;
        case OpenMode::create_exclusive: return O_RDWR | O_CREAT | O_EXCL;
    }
    return O_RDONLY;
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The holder's pid as written in the lock file, or "unknown" if it cannot be read.
std::string lock_holder(int fd, const std::string& path) {
    std::byte buffer[32];
    std::size_t length = 0;
    if (!read_fully_at(fd, path, 0, buffer, length).is_ok()) return "unknown";
    std::string pid;
    for (std::size_t i = 0; i < length; ++i) {
        const char c = static_cast<char>(buffer[i]);
        if (c < '0' || c > '9') break;
        pid += c;
    }
    return pid.empty() ? "unknown" : pid;
}

class PosixFileSystem final : public FileSystem {
  public:
    explicit PosixFileSystem(bool read_mappings) : read_mappings_(read_mappings) {}

    Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override {
        int fd;
        do {
            fd = ::open(path.c_str(), open_flags(mode) | O_CLOEXEC | O_NOFOLLOW, kFileMode);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) return errno_status("open", path, errno);
        return std::unique_ptr<File>(std::make_unique<PosixFile>(fd, path));
    }

    Result<std::unique_ptr<MappedRegion>> map(File& file, std::size_t size) override {
        BROOK_ASSIGN_OR_RETURN(PosixFile* const posix_file, mappable(file, size, size));
        void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, posix_file->fd(), 0);
        if (data == MAP_FAILED) return errno_status("mmap", file.path(), errno);
        // Advice only: a kernel that refuses it reads ahead, which costs memory and time but
        // changes no byte.
        (void)::madvise(data, size, MADV_RANDOM);
        return std::unique_ptr<MappedRegion>(
            std::make_unique<PosixMappedRegion>(static_cast<std::byte*>(data), size, file.path()));
    }

    Result<std::shared_ptr<const ReadMapping>> map_read_only(File& file, std::size_t size,
                                                             bool grows) override {
        if (!read_mappings_) {
            return Status::error(Code::not_supported,
                                 "map " + file.path() + ": read mappings are turned off");
        }
        // A shared mapping shows what later write()s put within it, so a growing file may be
        // mapped beyond its end, for the appends to come.
        BROOK_ASSIGN_OR_RETURN(PosixFile* const posix_file, mappable(file, size, grows ? 0 : size));
        void* data = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, posix_file->fd(), 0);
        if (data == MAP_FAILED) return errno_status("mmap", file.path(), errno);
        return std::shared_ptr<const ReadMapping>(
            std::make_shared<PosixReadMapping>(static_cast<const std::byte*>(data), size));
    }

    // `file` as a PosixFile that holds at least `must_hold` bytes, for a mapping of `size`
    // bytes by map() or map_read_only().
    static Result<PosixFile*> mappable(File& file, std::size_t size, std::size_t must_hold) {
        auto* posix_file = dynamic_cast<PosixFile*>(&file);
        if (posix_file == nullptr) {
            return Status::invalid_argument("map " + file.path() +
                                            ": the file was not opened by this file system");
        }
        if (size == 0) return Status::invalid_argument("map " + file.path() + ": empty region");
        BROOK_ASSIGN_OR_RETURN(const std::uint64_t file_bytes, posix_file->size());
        if (file_bytes < must_hold) {
            return Status::invalid_argument("map " + file.path() + ": " + std::to_string(size) +
                                            " bytes requested but the file holds " +
                                            std::to_string(file_bytes));
        }
        return posix_file;
    }

    bool exists(const std::string& path) override {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0;
    }

    Result<std::vector<std::string>> list_dir(const std::string& path) override {
        int fd;
        do {
            fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            // O_DIRECTORY | O_NOFOLLOW fails on a link with ENOTDIR: report it as the link.
            const int error = errno;
            struct stat st {};
            const bool link =
                error == ENOTDIR && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
            return errno_status("opendir", path, link ? ELOOP : error);
        }
        DIR* dir = ::fdopendir(fd);
        if (dir == nullptr) {
            const int error = errno;
            ::close(fd);
            return errno_status("opendir", path, error);
        }
        std::vector<std::string> names;
        while (true) {
            errno = 0;
            const dirent* entry = ::readdir(dir);
            if (entry == nullptr) break;
            const std::string_view name = entry->d_name;
            if (name != "." && name != "..") names.emplace_back(name);
        }
        const int read_error = errno;
        ::closedir(dir);
        if (read_error != 0) return errno_status("readdir", path, read_error);
        return names;
    }

    Status create_dirs(const std::string& path) override {
        std::size_t end = 0;
        while (end != std::string::npos) {
            end = path.find('/', end + 1);
            const std::string prefix = path.substr(0, end);
            if (prefix.empty() || prefix.back() == '/') continue;
            if (::mkdir(prefix.c_str(), kDirMode) == 0) continue;
            if (errno == EEXIST && is_directory(prefix)) continue;
            return errno_status("mkdir", prefix, errno == EEXIST ? ENOTDIR : errno);
        }
        return Status::ok();
    }

    Status remove_file(const std::string& path) override {
        if (::unlink(path.c_str()) != 0) return errno_status("unlink", path, errno);
        return Status::ok();
    }

    Status remove_dir(const std::string& path) override {
        if (::rmdir(path.c_str()) != 0) return errno_status("rmdir", path, errno);
        return Status::ok();
    }

    Status rename(const std::string& from, const std::string& to) override {
        if (::rename(from.c_str(), to.c_str()) != 0) {
            return errno_status("rename", from + " to " + to, errno);
        }
        return Status::ok();
    }

    Status sync_dir(const std::string& path) override {
        const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return errno_status("open directory", path, errno);
        Status status = Status::ok();
        while (::fsync(fd) != 0) {
            if (errno != EINTR) {
                status = errno_status("fsync", path, errno);
                break;
            }
        }
        const Status closed = close_fd(fd, path);
        return status.is_ok() ? closed : status;
    }

    Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kFileMode);
        if (fd < 0) return errno_status("open lock file", path, errno);
        auto lock = std::make_unique<PosixFileLock>(fd, path);

        struct flock request {};
        request.l_type = F_WRLCK;
        request.l_whence = SEEK_SET;
        if (::fcntl(fd, F_OFD_SETLK, &request) != 0) {
            if (errno != EAGAIN && errno != EACCES) return errno_status("fcntl lock", path, errno);
            return Status::busy("store lock " + path + " is held by pid " + lock_holder(fd, path) +
                                "; close the other writer or open with read_only");
        }
        if (::ftruncate(fd, 0) != 0) return errno_status("ftruncate", path, errno);
        const std::string pid = std::to_string(::getpid()) + "\n";
        BROOK_RETURN_IF_ERROR(write_fully_at(fd, path, 0, std::as_bytes(std::span(pid))));
        return std::unique_ptr<FileLock>(std::move(lock));
    }

  private:
    const bool read_mappings_;
};

}  // namespace

FileSystem& posix_file_system(bool read_mappings) {
    static PosixFileSystem with_mappings(true);
    static PosixFileSystem without_mappings(false);
    return read_mappings ? with_mappings : without_mappings;
}

}  // namespace brook::fs
