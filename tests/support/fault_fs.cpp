#include "support/fault_fs.hpp"

#include <algorithm>
#include <random>

namespace brook::testing {
namespace {

// "/a/b" from "/a//b/" or "/a/./b". Paths through the wrapper are absolute.
std::string normalise(const std::string& path) {
    std::string out;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        const std::string part = path.substr(start, end - start);
        if (!part.empty() && part != ".") out += "/" + part;
        start = end + 1;
    }
    return out.empty() ? "/" : out;
}

std::string parent_of(const std::string& key) {
    const auto slash = key.rfind('/');
    return slash == 0 ? "/" : key.substr(0, slash);
}

std::string child_prefix(const std::string& key) {
    return key == "/" ? "/" : key + "/";
}

std::string name_of(const std::string& key) {
    return key.substr(key.rfind('/') + 1);
}

Status injected_error(Code code, const std::string& what) {
    const char* reason = code == Code::no_space ? "No space left on device" : "Input/output error";
    return Status::error(code, "injected: " + what + ": " + reason);
}

std::vector<std::byte> read_whole(const fs::File& file) {
    auto size = file.size();
    if (!size.is_ok()) return {};
    std::vector<std::byte> bytes(*size);
    auto got = file.read_at(0, bytes);
    bytes.resize(got.is_ok() ? *got : 0);
    return bytes;
}

}  // namespace

std::string op_names(unsigned kinds) {
    static constexpr std::pair<unsigned, const char*> kNames[] = {
        {op::open, "open"},     {op::read, "read"},     {op::write, "write"}, {op::sync, "sync"},
        {op::rename, "rename"}, {op::unlink, "unlink"}, {op::mmap, "mmap"},   {op::mkdir, "mkdir"},
    };
    std::string out;
    for (const auto& [bit, name] : kNames) {
        if ((kinds & bit) == 0) continue;
        if (!out.empty()) out += "|";
        out += name;
    }
    return out;
}

const char* tear_name(Tear tear) {
    switch (tear) {
        case Tear::drop: return "drop";
        case Tear::prefix: return "prefix";
        case Tear::garbage: return "garbage";
        case Tear::zeros: return "zeros";
    }
    return "?";
}

class FaultFileSystem::WrappedFile final : public fs::File {
  public:
    WrappedFile(FaultFileSystem& owner, std::unique_ptr<fs::File> inner, std::shared_ptr<Node> node)
        : owner_(owner), inner_(std::move(inner)), node_(std::move(node)) {}

    Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
        ++owner_.reads;
        std::lock_guard lock(owner_.mu_);
        Status injected = owner_.begin(op::read, "pread " + path());
        auto result =
            injected.is_ok() ? inner_->read_at(offset, out) : Result<std::size_t>(injected);
        owner_.end(op::read);
        if (result.is_ok()) owner_.bytes_read += *result;
        return result;
    }

    Status append(std::span<const std::byte> data) override {
        std::lock_guard lock(owner_.mu_);
        Status status = owner_.begin(op::write, "write " + path());
        if (status.is_ok() && owner_.fail_writes_no_space) {
            status = injected_error(Code::no_space, "write " + path());
        }
        if (status.is_ok()) {
            status = inner_->append(data);
        } else {
            // Half the bytes land before the failure, as a real short write leaves them.
            inner_->append(data.first(data.size() / 2)).ignore();
        }
        owner_.end(op::write);
        return status;
    }

    Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
        std::lock_guard lock(owner_.mu_);
        Status status = owner_.begin(op::write, "pwrite " + path());
        if (status.is_ok() && owner_.fail_writes_no_space) {
            status = injected_error(Code::no_space, "pwrite " + path());
        }
        if (status.is_ok()) {
            status = inner_->write_at(offset, data);
        } else {
            inner_->write_at(offset, data.first(data.size() / 2)).ignore();
        }
        owner_.end(op::write);
        return status;
    }

    Status truncate(std::uint64_t size) override {
        std::lock_guard lock(owner_.mu_);
        Status status = owner_.begin(op::write, "ftruncate " + path());
        if (status.is_ok()) status = inner_->truncate(size);
        owner_.end(op::write);
        return status;
    }

    Status sync() override {
        if (owner_.before_sync) BROOK_RETURN_IF_ERROR(owner_.before_sync(path()));
        std::lock_guard lock(owner_.mu_);
        Status status = owner_.begin(op::sync, "fdatasync " + path());
        if (status.is_ok() && owner_.fail_sync) {
            status = injected_error(Code::io_error, "fdatasync " + path());
        }
        if (status.is_ok()) status = inner_->sync();
        if (status.is_ok()) owner_.snapshot_contents(*node_);
        owner_.end(op::sync);
        return status;
    }

    Result<std::uint64_t> size() const override {
        std::lock_guard lock(owner_.mu_);
        Status injected = owner_.begin(op::read, "fstat " + path());
        auto result = injected.is_ok() ? inner_->size() : Result<std::uint64_t>(injected);
        owner_.end(op::read);
        return result;
    }

    const std::string& path() const override { return inner_->path(); }

    fs::File& inner() { return *inner_; }
    const std::shared_ptr<Node>& node() const { return node_; }

  private:
    FaultFileSystem& owner_;
    std::unique_ptr<fs::File> inner_;
    std::shared_ptr<Node> node_;
};

class FaultFileSystem::WrappedRegion final : public fs::MappedRegion {
  public:
    WrappedRegion(FaultFileSystem& owner, std::unique_ptr<fs::MappedRegion> inner,
                  std::shared_ptr<Node> node, std::string path)
        : owner_(owner), inner_(std::move(inner)), node_(std::move(node)), path_(std::move(path)) {
        ++node_->live_mappings;
    }
    ~WrappedRegion() override {
        std::lock_guard lock(owner_.mu_);
        --node_->live_mappings;
    }
    WrappedRegion(const WrappedRegion&) = delete;
    WrappedRegion& operator=(const WrappedRegion&) = delete;

    std::byte* data() override { return inner_->data(); }
    const std::byte* data() const override { return inner_->data(); }
    std::size_t size() const override { return inner_->size(); }

    Status sync() override {
        std::lock_guard lock(owner_.mu_);
        Status status = owner_.begin(op::sync, "msync " + path_);
        if (status.is_ok() && owner_.fail_sync) {
            status = injected_error(Code::io_error, "msync " + path_);
        }
        if (status.is_ok()) status = inner_->sync();
        if (status.is_ok()) owner_.snapshot_contents(*node_);
        owner_.end(op::sync);
        return status;
    }

  private:
    FaultFileSystem& owner_;
    std::unique_ptr<fs::MappedRegion> inner_;
    std::shared_ptr<Node> node_;
    std::string path_;
};

FaultFileSystem::FaultFileSystem(fs::FileSystem& inner) : inner_(inner) {}

FaultFileSystem::~FaultFileSystem() = default;

void FaultFileSystem::inject(FaultRule rule) {
    std::lock_guard lock(mu_);
    rule_ = rule;
    rule_seen_ = 0;
    failures_ = 0;
}

void FaultFileSystem::clear_faults() {
    std::lock_guard lock(mu_);
    rule_.reset();
    crash_.reset();
}

std::uint64_t FaultFileSystem::failures_injected() const {
    std::lock_guard lock(mu_);
    return failures_;
}

std::uint64_t FaultFileSystem::operations(unsigned kinds) const {
    std::lock_guard lock(mu_);
    std::uint64_t total = 0;
    for (const auto& [bit, count] : counts_) {
        if ((kinds & bit) != 0) total += count;
    }
    return total;
}

void FaultFileSystem::reset_counts() {
    std::lock_guard lock(mu_);
    counts_.clear();
}

Status FaultFileSystem::begin(unsigned kind, const std::string& what) {
    ++counts_[kind];
    if (!rule_ || (rule_->kinds & kind) == 0) return Status::ok();
    ++rule_seen_;
    if (rule_seen_ == rule_->nth || (rule_->persistent && rule_seen_ > rule_->nth)) {
        ++failures_;
        return injected_error(rule_->code, what);
    }
    return Status::ok();
}

void FaultFileSystem::end(unsigned kind) {
    if (!crash_ || (crash_->kinds & kind) == 0) return;
    if (++crash_->seen == crash_->k) captured_ = crash_image_locked(crash_->tear, crash_->seed);
}

void FaultFileSystem::snapshot_contents(Node& node) const {
    if (node.reader) node.synced = read_whole(*node.reader);
}

std::shared_ptr<FaultFileSystem::Node> FaultFileSystem::add_live(const std::string& key,
                                                                 bool directory) {
    auto node = std::make_shared<Node>();
    node->directory = directory;
    if (!directory) {
        auto reader = inner_.open(key, fs::OpenMode::read_only);
        if (reader.is_ok()) node->reader = std::move(*reader);
    }
    live_[key] = node;
    return node;
}

std::shared_ptr<FaultFileSystem::Node> FaultFileSystem::adopt(const std::string& key,
                                                              bool directory) {
    auto node = add_live(key, directory);
    snapshot_contents(*node);
    if (key != "/") {
        const std::string parent = parent_of(key);
        auto parent_node = node_at(parent);
        if (!parent_node) parent_node = adopt(parent, true);
        parent_node->durable_children[name_of(key)] = node;
    }
    return node;
}

std::shared_ptr<FaultFileSystem::Node> FaultFileSystem::node_at(const std::string& key) {
    if (auto found = live_.find(key); found != live_.end()) return found->second;
    if (!inner_.exists(key)) return nullptr;
    return adopt(key, inner_.list_dir(key).is_ok());
}

FaultFileSystem::Entries FaultFileSystem::live_children(const std::string& key) const {
    Entries children;
    const std::string prefix = child_prefix(key);
    for (auto it = live_.lower_bound(prefix); it != live_.end() && it->first.starts_with(prefix);
         ++it) {
        const std::string name = it->first.substr(prefix.size());
        if (!name.empty() && name.find('/') == std::string::npos) children[name] = it->second;
    }
    return children;
}

void FaultFileSystem::mark_durable(const std::string& dir) {
    std::lock_guard lock(mu_);
    const std::string key = normalise(dir);
    mark_durable_locked(key);
    roots_.insert(key);
}

void FaultFileSystem::mark_durable_locked(const std::string& key) {
    auto node = node_at(key);
    if (!node) return;
    snapshot_contents(*node);
    if (!node->directory) return;
    auto names = inner_.list_dir(key);
    if (names.is_ok()) {
        for (const auto& name : *names) mark_durable_locked(child_prefix(key) + name);
    }
    node->durable_children = live_children(key);
}

void FaultFileSystem::crash_after(std::uint64_t k, Tear tear, std::uint64_t seed, unsigned kinds) {
    std::lock_guard lock(mu_);
    crash_ = CrashPoint{k, tear, seed, kinds};
    captured_.reset();
}

std::shared_ptr<fs::FileSystem> FaultFileSystem::captured_image() const {
    std::lock_guard lock(mu_);
    return captured_;
}

std::shared_ptr<fs::FileSystem> FaultFileSystem::crash_image(Tear tear, std::uint64_t seed) const {
    std::lock_guard lock(mu_);
    return crash_image_locked(tear, seed);
}

std::shared_ptr<fs::FileSystem> FaultFileSystem::crash_image_locked(Tear tear,
                                                                    std::uint64_t seed) const {
    auto image = fs::new_memory_file_system();
    std::uint64_t state = seed;
    for (const auto& root : roots_) {
        auto found = live_.find(root);
        if (found != live_.end()) build_image(*image, root, *found->second, tear, state);
    }
    return image;
}

void FaultFileSystem::build_image(fs::FileSystem& image, const std::string& path, const Node& dir,
                                  Tear tear, std::uint64_t& state) const {
    image.create_dirs(path).ignore();
    for (const auto& [name, child] : dir.durable_children) {
        const std::string child_path = child_prefix(path) + name;
        if (child->directory) {
            build_image(image, child_path, *child, tear, state);
            continue;
        }
        std::vector<std::byte> bytes = child->synced;
        // A mapped file's live bytes belong to its writer's threads until it syncs them, so
        // only its synced contents are taken; its tail is not torn.
        const bool readable = child->reader && child->live_mappings == 0;
        const std::vector<std::byte> live = readable ? read_whole(*child->reader) : bytes;
        if (tear != Tear::drop && live.size() > bytes.size()) {
            std::mt19937_64 random(state++);
            const std::size_t tail = live.size() - bytes.size();
            const std::size_t synced = bytes.size();
            const std::size_t keep = tear == Tear::prefix ? 1 + random() % tail : tail;
            for (std::size_t i = 0; i < keep; ++i) {
                if (tear == Tear::prefix) bytes.push_back(live[synced + i]);
                if (tear == Tear::garbage) bytes.push_back(static_cast<std::byte>(random()));
                if (tear == Tear::zeros) bytes.push_back(std::byte{0});
            }
        }
        auto file = image.open(child_path, fs::OpenMode::create_or_open);
        if (file.is_ok()) (*file)->append(bytes).ignore();
    }
}

Result<std::unique_ptr<fs::File>> FaultFileSystem::open(const std::string& path,
                                                        fs::OpenMode mode) {
    std::lock_guard lock(mu_);
    const std::string key = normalise(path);
    Status injected = begin(op::open, "open " + path);
    if (!injected.is_ok()) {
        end(op::open);
        return injected;
    }
    auto node = node_at(key);
    auto file = inner_.open(path, mode);
    if (file.is_ok() && !node) node = add_live(key, false);
    end(op::open);
    if (!file.is_ok()) return file.status();
    return std::unique_ptr<fs::File>(new WrappedFile(*this, std::move(*file), std::move(node)));
}

Result<std::unique_ptr<fs::MappedRegion>> FaultFileSystem::map(fs::File& file, std::size_t size) {
    auto* wrapped = dynamic_cast<WrappedFile*>(&file);
    if (wrapped == nullptr) {
        return Status::invalid_argument("map " + file.path() + ": not opened by this file system");
    }
    std::lock_guard lock(mu_);
    Status injected = begin(op::mmap, "mmap " + file.path());
    Result<std::unique_ptr<fs::MappedRegion>> region =
        injected.is_ok() ? inner_.map(wrapped->inner(), size) : injected;
    end(op::mmap);
    if (!region.is_ok()) return region.status();
    return std::unique_ptr<fs::MappedRegion>(
        new WrappedRegion(*this, std::move(*region), wrapped->node(), file.path()));
}

bool FaultFileSystem::exists(const std::string& path) {
    return inner_.exists(path);
}

Result<std::vector<std::string>> FaultFileSystem::list_dir(const std::string& path) {
    Result<std::vector<std::string>> names = std::vector<std::string>{};
    {
        std::lock_guard lock(mu_);
        Status injected = begin(op::read, "opendir " + path);
        names =
            injected.is_ok() ? inner_.list_dir(path) : Result<std::vector<std::string>>(injected);
        end(op::read);
    }
    if (names.is_ok() && after_list_dir) after_list_dir(path);
    return names;
}

Status FaultFileSystem::create_dirs(const std::string& path) {
    std::lock_guard lock(mu_);
    const std::string key = normalise(path);
    Status status = begin(op::mkdir, "mkdir " + path);
    if (status.is_ok()) {
        // Existing directories are adopted as durable; the ones made now are not yet.
        std::vector<std::string> made;
        for (std::string at = key; at != "/" && !node_at(at); at = parent_of(at))
            made.push_back(at);
        status = inner_.create_dirs(path);
        if (status.is_ok()) {
            for (const auto& dir : made) add_live(dir, true);
        }
    }
    end(op::mkdir);
    return status;
}

Status FaultFileSystem::remove_file(const std::string& path) {
    std::lock_guard lock(mu_);
    Status status = begin(op::unlink, "unlink " + path);
    if (status.is_ok()) status = inner_.remove_file(path);
    if (status.is_ok()) live_.erase(normalise(path));
    end(op::unlink);
    return status;
}

Status FaultFileSystem::remove_dir(const std::string& path) {
    std::lock_guard lock(mu_);
    Status status = begin(op::unlink, "rmdir " + path);
    if (status.is_ok()) status = inner_.remove_dir(path);
    if (status.is_ok()) live_.erase(normalise(path));
    end(op::unlink);
    return status;
}

Status FaultFileSystem::rename(const std::string& from, const std::string& to) {
    std::lock_guard lock(mu_);
    const std::string from_key = normalise(from);
    const std::string to_key = normalise(to);
    Status status = begin(op::rename, "rename " + from + " to " + to);
    if (status.is_ok()) {
        node_at(from_key);
        node_at(to_key);
        status = inner_.rename(from, to);
    }
    if (status.is_ok() && from_key != to_key) {
        // Move the entry and, for a directory, everything below it.
        Entries moved;
        const std::string prefix = child_prefix(from_key);
        for (auto it = live_.begin(); it != live_.end();) {
            if (it->first == from_key || it->first.starts_with(prefix)) {
                moved[to_key + it->first.substr(from_key.size())] = it->second;
                it = live_.erase(it);
            } else {
                ++it;
            }
        }
        for (auto& [key, node] : moved) live_[key] = std::move(node);
    }
    end(op::rename);
    return status;
}

Status FaultFileSystem::sync_dir(const std::string& path) {
    std::lock_guard lock(mu_);
    const std::string key = normalise(path);
    Status status = begin(op::sync, "fsync " + path);
    if (status.is_ok() && fail_sync) status = injected_error(Code::io_error, "fsync " + path);
    if (status.is_ok()) status = inner_.sync_dir(path);
    if (status.is_ok()) {
        if (auto node = node_at(key)) node->durable_children = live_children(key);
    }
    end(op::sync);
    return status;
}

Result<std::unique_ptr<fs::FileLock>> FaultFileSystem::lock_file(const std::string& path) {
    std::lock_guard lock(mu_);
    const std::string key = normalise(path);
    Status injected = begin(op::open, "lock " + path);
    if (!injected.is_ok()) {
        end(op::open);
        return injected;
    }
    const bool known = node_at(key) != nullptr;
    auto held = inner_.lock_file(path);
    if (held.is_ok() && !known) add_live(key, false);
    end(op::open);
    return held;
}

}  // namespace brook::testing
