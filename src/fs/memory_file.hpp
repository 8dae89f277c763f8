// The open files of MemoryFileSystem (memory_file_system.cpp) and their mappings.
//
// A file's bytes live in a FileData shared by the file system's entry and by every handle open
// on it, so a removed or renamed file stays usable through handles opened before, as with POSIX
// unlink. The FileData's shared_mutex guards its bytes and its count of live mappings. A mapped
// buffer must not move, so a file with live mappings refuses any change of size instead of
// invalidating them. The bytes sit in a SparseBuffer: space preallocated and never written, such
// as the rest of an index file, costs no memory, as it costs no disk in a sparse file.
//
// Thread safety: as fs::File and the mappings promise (file_system.hpp). Each call on a handle
// takes its file's mutex; a mapping's bytes are not guarded, and its users order their own
// accesses, as with mmap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include "fs/file_system.hpp"
#include "fs/sparse_buffer.hpp"

namespace brook::fs::detail {

struct FileData {
    mutable std::shared_mutex mutex;
    SparseBuffer bytes;
    int live_mappings = 0;
};

// A handle on a FileData, read-only or writable. Its errors name `path`: io_error for a write
// through a read-only handle or a change of size while the file is mapped; no_space when the
// SparseBuffer cannot grow.
class MemoryFile final : public File {
  public:
    MemoryFile(std::shared_ptr<FileData> data, std::string path, bool writable)
        : data_(std::move(data)), path_(std::move(path)), writable_(writable) {}

    Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
    Status append(std::span<const std::byte> data) override;
    Status write_at(std::uint64_t offset, std::span<const std::byte> data) override;
    Status truncate(std::uint64_t size) override;
    Status sync() override { return Status::ok(); }
    Result<std::uint64_t> size() const override;

    const std::string& path() const override { return path_; }
    bool writable() const { return writable_; }
    const std::shared_ptr<FileData>& data() const { return data_; }

  private:
    Status check_writable(std::string_view operation) const;

    std::shared_ptr<FileData> data_;
    std::string path_;
    bool writable_;
};

// Counts a new mapping of the first `size` bytes of `file`, which must hold them, so that the
// file refuses to resize until the MappedBuffer made from the result lets go.
// @return the file's bytes; invalid_argument if `file` is not a MemoryFile, `size` is 0 or the
//         file holds fewer bytes.
Result<std::shared_ptr<FileData>> pin_mapping(File& file, std::size_t size);

// A file's buffer, mapped: counted in the file's live mappings (taken by pin_mapping) until
// destroyed, so that the buffer neither moves nor shrinks meanwhile.
class MappedBuffer {
  public:
    MappedBuffer(std::shared_ptr<FileData> file, std::size_t size)
        : file_(std::move(file)), data_(file_->bytes.data()), size_(size) {}
    ~MappedBuffer();
    MappedBuffer(const MappedBuffer&) = delete;
    MappedBuffer& operator=(const MappedBuffer&) = delete;

  protected:
    std::shared_ptr<FileData> file_;
    std::byte* data_;
    std::size_t size_;
};

class MemoryReadMapping final : public ReadMapping, private MappedBuffer {
  public:
    using MappedBuffer::MappedBuffer;
    const std::byte* data() const override { return data_; }
    std::size_t size() const override { return size_; }
};

class MemoryMappedRegion final : public MappedRegion, private MappedBuffer {
  public:
    using MappedBuffer::MappedBuffer;
    std::byte* data() override { return data_; }
    const std::byte* data() const override { return data_; }
    std::size_t size() const override { return size_; }
    Status sync() override { return Status::ok(); }
};

}  // namespace brook::fs::detail
