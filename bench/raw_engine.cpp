// raw: the physical limit. Length-prefixed records packed into a 64 KiB buffer, written to one
// file with write(2) at each commit (and fdatasync'd as the durability asks), read back with
// read(2) in 64 KiB chunks. No checksums, no index, no offsets: what any log must cost at least.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "engine.hpp"

namespace brook::bench {
namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die(std::string("raw: write failed: ") + std::strerror(errno));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

class RawEngine final : public Engine {
  public:
    ~RawEngine() override {
        if (fd_ >= 0) ::close(fd_);
    }

    void open(const Spec& spec) override {
        path_ = spec.dir + "/raw.log";
        durability_ = spec.durability;
        fd_ = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_APPEND | O_CLOEXEC, 0644);
        if (fd_ < 0) die("raw: cannot create " + path_ + ": " + std::strerror(errno));
    }

    void write(const RecordGen& gen, std::int64_t first, std::size_t count) override {
        {
            std::lock_guard lock(mu_);
            for (std::int64_t i = first; i < first + static_cast<std::int64_t>(count); ++i) {
                const std::string_view value = gen.value(i);
                const std::size_t need = 4 + 8 + value.size();
                if (used_ + need > kBufferBytes) drain();
                const auto length = static_cast<std::uint32_t>(8 + value.size());
                std::memcpy(buffer_ + used_, &length, 4);
                gen.key(i, buffer_ + used_ + 4);
                std::memcpy(buffer_ + used_ + 12, value.data(), value.size());
                used_ += need;
            }
            drain();
        }
        // Outside the lock, so concurrent committers may share the kernel's flushes.
        if (durability_ != Durability::none && ::fdatasync(fd_) != 0) {
            die(std::string("raw: fdatasync failed: ") + std::strerror(errno));
        }
    }

    std::int64_t scan(std::uint64_t& acc) override {
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("raw: cannot open " + path_);
        std::string buf(2 * kBufferBytes, '\0');
        std::size_t have = 0;
        std::int64_t records = 0;
        while (true) {
            const ssize_t n = ::read(fd, buf.data() + have, kBufferBytes);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) die("raw: read failed");
            have += static_cast<std::size_t>(n);
            std::size_t pos = 0;
            while (have - pos >= 4) {
                std::uint32_t length = 0;
                std::memcpy(&length, buf.data() + pos, 4);
                if (have - pos < 4 + length) break;
                fold_value(acc, std::string_view(buf.data() + pos + 12, length - 8));
                pos += 4 + length;
                ++records;
            }
            std::memmove(buf.data(), buf.data() + pos, have - pos);
            have -= pos;
            if (n == 0) break;
        }
        ::close(fd);
        return records;
    }

    void recover(const Spec& spec, std::int64_t records) override {
        path_ = spec.dir + "/raw.log";
        std::uint64_t acc = 0;
        const std::int64_t read = scan(acc);
        if (read != records) die("raw: read back " + std::to_string(read) + " records");
    }

  private:
    // REQUIRES: mu_ held.
    void drain() {
        write_all(fd_, buffer_, used_);
        used_ = 0;
    }

    std::string path_;
    Durability durability_ = Durability::none;
    int fd_ = -1;
    std::mutex mu_;
    char buffer_[kBufferBytes];
    std::size_t used_ = 0;
};

[[maybe_unused]] const bool raw_registered = register_engine(
    "raw",
    {"append-100b", "append-1kb", "append-sync-batch", "append-sync-record", "group-commit-4",
     "consume-100b", "produce-unbatched", "zstd-json", "recovery"},
    [] { return std::make_unique<RawEngine>(); });

}  // namespace
}  // namespace brook::bench
