#include "fs/file_system.hpp"

namespace brook::fs {

std::string join_path(const std::string& dir, const std::string& name) {
    if (dir.empty()) return name;
    if (name.empty()) return dir;
    std::string out = dir;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    std::size_t start = 0;
    while (start < name.size() && name[start] == '/') ++start;
    if (out != "/") out += '/';
    out.append(name, start);
    return out;
}

std::string parent_path(const std::string& path) {
    std::string trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    const auto slash = trimmed.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return trimmed.substr(0, slash);
}

}  // namespace brook::fs
