// MemoryFile and its mappings (see memory_file.hpp).
#include "fs/memory_file.hpp"

#include <algorithm>
#include <mutex>

namespace brook::fs::detail {
namespace {

Status mapped_error(const std::string& path) {
    return Status::io_error("resize " + path + ": file is memory-mapped");
}

}  // namespace

Result<std::size_t> MemoryFile::read_at(std::uint64_t offset, std::span<std::byte> out) const {
    std::shared_lock lock(data_->mutex);
    const auto& bytes = data_->bytes;
    if (offset >= bytes.size()) return std::size_t{0};
    const std::size_t count = std::min<std::size_t>(out.size(), bytes.size() - offset);
    std::copy_n(bytes.data() + offset, count, out.begin());
    return count;
}

Status MemoryFile::append(std::span<const std::byte> data) {
    BROOK_RETURN_IF_ERROR(check_writable("append"));
    if (data.empty()) return Status::ok();
    std::unique_lock lock(data_->mutex);
    if (data_->live_mappings > 0) return mapped_error(path_);
    return data_->bytes.write(data_->bytes.size(), data);
}

Status MemoryFile::write_at(std::uint64_t offset, std::span<const std::byte> data) {
    BROOK_RETURN_IF_ERROR(check_writable("write"));
    if (data.empty()) return Status::ok();
    std::unique_lock lock(data_->mutex);
    if (offset + data.size() > data_->bytes.size() && data_->live_mappings > 0) {
        return mapped_error(path_);
    }
    return data_->bytes.write(offset, data);
}

Status MemoryFile::truncate(std::uint64_t size) {
    BROOK_RETURN_IF_ERROR(check_writable("truncate"));
    std::unique_lock lock(data_->mutex);
    if (size == data_->bytes.size()) return Status::ok();
    if (data_->live_mappings > 0) return mapped_error(path_);
    return data_->bytes.resize(size);
}

Result<std::uint64_t> MemoryFile::size() const {
    std::shared_lock lock(data_->mutex);
    return static_cast<std::uint64_t>(data_->bytes.size());
}

Status MemoryFile::check_writable(std::string_view operation) const {
    if (writable_) return Status::ok();
    return Status::io_error(std::string(operation) + " " + path_ + ": file opened read-only");
}

Result<std::shared_ptr<FileData>> pin_mapping(File& file, std::size_t size) {
    auto* memory_file = dynamic_cast<MemoryFile*>(&file);
    if (memory_file == nullptr) {
        return Status::invalid_argument("map " + file.path() +
                                        ": the file was not opened by this file system");
    }
    if (size == 0) return Status::invalid_argument("map " + file.path() + ": empty region");
    const auto& data = memory_file->data();
    std::unique_lock lock(data->mutex);
    if (data->bytes.size() < size) {
        return Status::invalid_argument("map " + file.path() + ": " + std::to_string(size) +
                                        " bytes requested but the file holds " +
                                        std::to_string(data->bytes.size()));
    }
    ++data->live_mappings;
    return data;
}

MappedBuffer::~MappedBuffer() {
    std::unique_lock lock(file_->mutex);
    --file_->live_mappings;
}

}  // namespace brook::fs::detail
