// RecordFormat: the --format template of `brook consume`, with kcat's tokens.
//
//   %t topic  %p partition  %o offset  %k key  %s value  %S value size (-1 for null)
//   %T timestamp (ms)  %h headers as k=v,k=v  %% a percent sign
//   escapes \n \t \\ ; a null key or value prints as empty.
//
// Thread safety: a compiled format is immutable; append() may run on many threads.
#pragma once

#include <brook/message.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brook::cli {

class RecordFormat {
  public:
    // Compiles a template. @return nullopt and sets `error` for an unknown token or escape.
    static std::optional<RecordFormat> compile(std::string_view text, std::string& error);

    // Appends `message` formatted to `out`.
    void append(const Message& message, std::string& out) const;

  private:
    struct Part {
        char field = 0;       // 0 for literal text, else the token letter
        std::string literal;  // for field == 0
    };
    std::vector<Part> parts_;
};

}  // namespace brook::cli
