// A FileSystem wrapper for tests: forwards to another FileSystem, counts reads, and can fail
// syncs or writes on request, or simulate a crash after a number of mutating calls. (The
// reliability work grows this into the full fault injector.)
#pragma once

#include "fs/file_system.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace brook::testing {

class FaultFileSystem final : public fs::FileSystem {
public:
    explicit FaultFileSystem(fs::FileSystem& inner) : inner_(inner) {}

    // Failures to inject; each applies to every later call until reset.
    std::atomic<bool> fail_sync{false};
    std::atomic<bool> fail_writes_no_space{false};
    // Number of read_at calls made through files opened here.
    std::atomic<std::uint64_t> reads{0};
    // A simulated crash: once `crash_after` mutating calls (creating opens, writes, truncates,
    // syncs, renames, removals, directory creations) have succeeded, every later one fails with
    // io_error and changes nothing. -1 turns it off. `mutations` counts the successful ones.
    std::atomic<std::int64_t> crash_after{-1};
    std::atomic<std::int64_t> mutations{0};

    Result<std::unique_ptr<fs::File>> open(const std::string& path, fs::OpenMode mode) override {
        if (mode == fs::OpenMode::create_or_open || mode == fs::OpenMode::create_exclusive) {
            BROOK_RETURN_IF_ERROR(mutate("create " + path));
        }
        auto file = inner_.open(path, mode);
        if (!file.is_ok()) return file.status();
        return std::unique_ptr<fs::File>(new File(*this, std::move(*file)));
    }
    Result<std::unique_ptr<fs::MappedRegion>> map(fs::File& file, std::size_t size) override {
        return inner_.map(*static_cast<File&>(file).inner, size);
    }
    bool exists(const std::string& path) override { return inner_.exists(path); }
    Result<std::vector<std::string>> list_dir(const std::string& path) override {
        return inner_.list_dir(path);
    }
    Status create_dirs(const std::string& path) override {
        BROOK_RETURN_IF_ERROR(mutate("create_dirs " + path));
        return inner_.create_dirs(path);
    }
    Status remove_file(const std::string& path) override {
        BROOK_RETURN_IF_ERROR(mutate("remove_file " + path));
        return inner_.remove_file(path);
    }
    Status remove_dir(const std::string& path) override {
        BROOK_RETURN_IF_ERROR(mutate("remove_dir " + path));
        return inner_.remove_dir(path);
    }
    Status rename(const std::string& from, const std::string& to) override {
        BROOK_RETURN_IF_ERROR(mutate("rename " + from));
        return inner_.rename(from, to);
    }
    Status sync_dir(const std::string& path) override {
        if (fail_sync) return Status::io_error("injected: fsync " + path + " failed");
        BROOK_RETURN_IF_ERROR(mutate("fsync " + path));
        return inner_.sync_dir(path);
    }
    Result<std::unique_ptr<fs::FileLock>> lock_file(const std::string& path) override {
        return inner_.lock_file(path);
    }

private:
    Status mutate(const std::string& what) {
        const std::int64_t limit = crash_after.load();
        if (limit >= 0 && mutations.load() >= limit) {
            return Status::io_error("injected crash: " + what + " never happened");
        }
        ++mutations;
        return Status::ok();
    }

    struct File final : fs::File {
        File(FaultFileSystem& owner, std::unique_ptr<fs::File> inner)
            : owner(owner), inner(std::move(inner)) {}
        Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
            ++owner.reads;
            return inner->read_at(offset, out);
        }
        Status append(std::span<const std::byte> data) override {
            BROOK_RETURN_IF_ERROR(owner.mutate("append " + path()));
            if (owner.fail_writes_no_space) {
                // Half the bytes land before the disk fills, as a real short write would leave.
                inner->append(data.first(data.size() / 2)).ignore();
                return Status::no_space("injected: write " + path() + ": No space left on device");
            }
            return inner->append(data);
        }
        Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
            BROOK_RETURN_IF_ERROR(owner.mutate("pwrite " + path()));
            if (owner.fail_writes_no_space) return Status::no_space("injected: pwrite " + path());
            return inner->write_at(offset, data);
        }
        Status truncate(std::uint64_t size) override {
            BROOK_RETURN_IF_ERROR(owner.mutate("truncate " + path()));
            return inner->truncate(size);
        }
        Status sync() override {
            if (owner.fail_sync) return Status::io_error("injected: fdatasync " + path() + " failed");
            BROOK_RETURN_IF_ERROR(owner.mutate("fdatasync " + path()));
            return inner->sync();
        }
        Result<std::uint64_t> size() const override { return inner->size(); }
        const std::string& path() const override { return inner->path(); }

        FaultFileSystem& owner;
        std::unique_ptr<fs::File> inner;
    };

    fs::FileSystem& inner_;
};

}  // namespace brook::testing
