#include "log/checkpoint.hpp"

#include <fmt/format.h>

#include <array>

#include "log/format.hpp"
#include "util/checksum.hpp"
#include "util/endian.hpp"

namespace brook::log {
namespace {

std::string file_name(CheckpointKind kind) {
    switch (kind) {
        case CheckpointKind::recovery_point: return std::string(format::kRecoveryPointFile);
        case CheckpointKind::clean_shutdown: return std::string(format::kCleanShutdownFile);
        case CheckpointKind::log_start_offset: return std::string(format::kLogStartOffsetFile);
        case CheckpointKind::swap_manifest: return std::string(format::kSwapManifestFile);
    }
    return {};
}

std::uint32_t magic_of(CheckpointKind kind) {
    switch (kind) {
        case CheckpointKind::recovery_point: return format::kRecoveryPointMagic;
        case CheckpointKind::clean_shutdown: return format::kCleanShutdownMagic;
        case CheckpointKind::log_start_offset: return format::kLogStartOffsetMagic;
        case CheckpointKind::swap_manifest: return format::kSwapManifestMagic;
    }
    return 0;
}

using Buffer = std::array<std::byte, format::kCheckpointSize>;

std::uint64_t body_checksum(const Buffer& buf) {
    return util::xxh3_64(std::span<const std::byte>(buf.data(), 24));
}

}  // namespace

Status write_checkpoint(fs::FileSystem& fs, const std::string& dir, CheckpointKind kind,
                        const Checkpoint& checkpoint) {
    Buffer buf{};
    util::store_le<std::uint32_t>(buf.data(), magic_of(kind));
    util::store_le<std::uint32_t>(buf.data() + 4, format::kCheckpointVersion);
    util::store_le<std::int64_t>(buf.data() + 8, checkpoint.offset.value());
    util::store_le<std::uint64_t>(buf.data() + 16, checkpoint.active_log_size);
    util::store_le<std::uint64_t>(buf.data() + 24, body_checksum(buf));

    return replace_file(fs, dir, file_name(kind), buf);
}

Status replace_file(fs::FileSystem& fs, const std::string& dir, const std::string& name,
                    std::span<const std::byte> bytes) {
    const std::string path = fs::join_path(dir, name);
    const std::string temp = path + std::string(format::kTempSuffix);
    {
        BROOK_ASSIGN_OR_RETURN(auto file, fs.open(temp, fs::OpenMode::create_or_open));
        BROOK_RETURN_IF_ERROR(file->truncate(0));
        if (!bytes.empty()) BROOK_RETURN_IF_ERROR(file->append(bytes));
        BROOK_RETURN_IF_ERROR(file->sync());
    }
    BROOK_RETURN_IF_ERROR(fs.rename(temp, path));
    return fs.sync_dir(dir);
}

Result<std::optional<Checkpoint>> read_checkpoint(fs::FileSystem& fs, const std::string& dir,
                                                  CheckpointKind kind) {
    const std::string path = fs::join_path(dir, file_name(kind));
    auto opened = fs.open(path, fs::OpenMode::read_only);
    if (opened.code() == Code::not_found) return std::optional<Checkpoint>();
    if (!opened.is_ok()) return opened.status();
    Buffer buf{};
    BROOK_ASSIGN_OR_RETURN(const std::uint64_t size, (*opened)->size());
    BROOK_ASSIGN_OR_RETURN(const std::size_t got, (*opened)->read_at(0, buf));
    if (size != buf.size() || got != buf.size()) {
        return Status::corruption(
            fmt::format("{} is {} bytes, expected {}", path, size, buf.size()));
    }
    if (util::load_le<std::uint32_t>(buf.data()) != magic_of(kind) ||
        util::load_le<std::uint32_t>(buf.data() + 4) != format::kCheckpointVersion ||
        util::load_le<std::uint64_t>(buf.data() + 24) != body_checksum(buf)) {
        return Status::corruption(
            fmt::format("{} fails its magic, version or checksum check", path));
    }
    return std::optional<Checkpoint>(Checkpoint{
        Offset(util::load_le<std::int64_t>(buf.data() + 8)),
        util::load_le<std::uint64_t>(buf.data() + 16),
    });
}

Status remove_checkpoint(fs::FileSystem& fs, const std::string& dir, CheckpointKind kind) {
    const Status removed = fs.remove_file(fs::join_path(dir, file_name(kind)));
    if (removed.code() == Code::not_found) return Status::ok();
    BROOK_RETURN_IF_ERROR(removed);
    return fs.sync_dir(dir);
}

}  // namespace brook::log
