#include "record_format.hpp"

#include <fmt/format.h>

namespace brook::cli {

std::optional<RecordFormat> RecordFormat::compile(std::string_view text, std::string& error) {
    constexpr std::string_view kFields = "tpoksSTh";
    RecordFormat format;
    std::string literal;
    const auto flush_literal = [&] {
        if (!literal.empty()) format.parts_.push_back(Part{0, std::move(literal)});
        literal.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c != '%' && c != '\\') {
            literal += c;
            continue;
        }
        if (i + 1 == text.size()) {
            error = fmt::format("the format ends with a lone '{}'", c);
            return std::nullopt;
        }
        const char next = text[++i];
        if (c == '\\') {
            if (next == 'n') {
                literal += '\n';
            } else if (next == 't') {
                literal += '\t';
            } else if (next == '\\') {
                literal += '\\';
            } else {
                error =
                    fmt::format("unknown escape '\\{}' in the format; use \\n, \\t or \\\\", next);
                return std::nullopt;
            }
        } else if (next == '%') {
            literal += '%';
        } else if (kFields.find(next) != std::string_view::npos) {
            flush_literal();
            format.parts_.push_back(Part{next, {}});
        } else {
            error = fmt::format(
                "unknown token '%{}' in the format; use %t %p %o %k %s %S %T %h or %%", next);
            return std::nullopt;
        }
    }
    flush_literal();
    return format;
}

void RecordFormat::append(const Message& message, std::string& out) const {
    for (const auto& part : parts_) {
        switch (part.field) {
            case 0: out += part.literal; break;
            case 't': out += message.topic(); break;
            case 'p':
                fmt::format_to(std::back_inserter(out), "{}", message.partition().value());
                break;
            case 'o':
                fmt::format_to(std::back_inserter(out), "{}", message.offset().value());
                break;
            case 'k': out += message.key().value_or(""); break;
            case 's': out += message.value().value_or(""); break;
            case 'S': {
                const auto value = message.value();
                fmt::format_to(std::back_inserter(out), "{}",
                               value ? static_cast<std::int64_t>(value->size()) : -1);
                break;
            }
            case 'T': fmt::format_to(std::back_inserter(out), "{}", message.timestamp()); break;
            case 'h': {
                bool first = true;
                for (const auto& header : message.headers()) {
                    if (!first) out += ',';
                    first = false;
                    out += header.key;
                    out += '=';
                    out += header.value.value_or("");
                }
                break;
            }
            default: break;
        }
    }
}

}  // namespace brook::cli
