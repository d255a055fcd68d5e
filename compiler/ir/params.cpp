#include "compiler/ir/params.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>

#include "models/core/error.h"

namespace xpusim::compiler {

namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

std::string known_names(const Scope& scope) {
  std::vector<std::string> v;
  for (const auto& [name, value] : scope) v.push_back(name);
  return v.empty() ? "the workload has no params"
                   : "known: " + fmt::format("{}", fmt::join(v, ", "));
}

const std::string& lookup(const std::string& name, const Scope& scope) {
  auto it = scope.find(name);
  if (it == scope.end())
    throw Error(fmt::format("unknown name '{}' ({})", name, known_names(scope)));
  return it->second;
}

// A recursive-descent reader of one integer expression.
class Expression {
 public:
  Expression(const std::string& text, const Scope& scope) : s_(text), scope_(scope) {}

  int64_t value() {
    const int64_t v = sum();
    skip_space();
    if (i_ != s_.size()) fail(fmt::format("unexpected '{}'", s_.substr(i_)));
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("in the expression '{}': {}", s_, what));
  }
  void skip_space() {
    while (i_ < s_.size() && s_[i_] == ' ') ++i_;
  }
  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  int64_t sum() {
    int64_t v = product();
    for (;;) {
      bool overflow = false;
      if (eat('+'))
        overflow = __builtin_add_overflow(v, product(), &v);
      else if (eat('-'))
        overflow = __builtin_sub_overflow(v, product(), &v);
      else
        return v;
      if (overflow) fail("the value overflows 64-bit integers");
    }
  }
  int64_t product() {
    int64_t v = unary();
    for (;;) {
      if (eat('*')) {
        if (__builtin_mul_overflow(v, unary(), &v)) fail("the value overflows 64-bit integers");
      } else if (eat('/') || eat('%')) {
        const bool rem = s_[i_ - 1] == '%';
        const int64_t d = unary();
        if (d == 0) fail("division by zero");
        if (!rem && v % d != 0)
          fail(
              fmt::format("{} / {} is not a whole number ('/' must divide exactly; '%' gives the "
                          "remainder)",
                          v, d));
        if (v == INT64_MIN && d == -1) fail("the value overflows 64-bit integers");
        v = rem ? v % d : v / d;
      } else {
        return v;
      }
    }
  }
  int64_t unary() {
    if (eat('-')) {
      if (++depth_ > kMaxDepth) fail(fmt::format("more than {} minus signs in a row", kMaxDepth));
      const int64_t v = unary();
      --depth_;
      if (v == INT64_MIN) fail("the value overflows 64-bit integers");
      return -v;
    }
    return atom();
  }
  int64_t atom() {
    skip_space();
    if (eat('(')) {
      if (++depth_ > kMaxDepth) fail(fmt::format("more than {} nested parentheses", kMaxDepth));
      const int64_t v = sum();
      if (!eat(')')) fail("a ')' is missing");
      --depth_;
      return v;
    }
    if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      int64_t v = 0;
      for (; i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])); ++i_) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s_[i_] - '0', &v))
          fail("the value overflows 64-bit integers");
      }
      return v;
    }
    if (i_ < s_.size() && s_[i_] == '$') ++i_;  // `$(heads * $dim)` reads as `$(heads * dim)`
    if (i_ < s_.size() && ident_start(s_[i_])) {
      const size_t from = i_;
      while (i_ < s_.size() && ident_char(s_[i_])) ++i_;
      const std::string name = s_.substr(from, i_ - from);
      const std::string& text = lookup(name, scope_);
      size_t used = 0;
      int64_t v = 0;
      try {
        v = std::stoll(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != text.size())
        fail(fmt::format("'{}' is '{}', not an integer", name, text));
      return v;
    }
    fail(i_ < s_.size() ? fmt::format("expected a number, a name or '(' at '{}'", s_.substr(i_))
                        : std::string("it ends where a number, a name or '(' was expected"));
  }

  static constexpr int kMaxDepth = 64;  // nesting, which bounds the reader's recursion

  const std::string& s_;
  const Scope& scope_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

bool is_identifier(const std::string& s) {
  if (s.empty() || !ident_start(s[0])) return false;
  for (char c : s)
    if (!ident_char(c)) return false;
  return true;
}

WorkloadParams parse_param_options(const std::vector<std::string>& options) {
  WorkloadParams p;
  for (const std::string& o : options) {
    const size_t eq = o.find('=');
    // Any name without blanks: an ONNX model's named dims are not identifiers ("p2o.Dim.0").
    if (eq == std::string::npos || eq == 0 || eq + 1 == o.size() ||
        o.find_first_of(" \t\n") != std::string::npos)
      throw Error(
          fmt::format("--param wants NAME=VALUE (a workload parameter and its value), got "
                      "'{}'",
                      o));
    if (!p.emplace(o.substr(0, eq), o.substr(eq + 1)).second)
      throw Error(fmt::format("--param {} is given twice", o.substr(0, eq)));
  }
  return p;
}

std::string substitute(const std::string& text, const Scope& scope) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (i + 1 < text.size() && text[i + 1] == '(') {
      size_t end = i + 2;
      for (int depth = 1; end < text.size(); ++end) {
        depth += text[end] == '(' ? 1 : text[end] == ')' ? -1 : 0;
        if (depth == 0) break;
      }
      if (end >= text.size())
        throw Error(fmt::format("'$(' at column {} has no matching ')'", i + 1));
      out += std::to_string(Expression(text.substr(i + 2, end - i - 2), scope).value());
      i = end;
    } else if (i + 1 < text.size() && ident_start(text[i + 1])) {
      size_t end = i + 1;
      while (end < text.size() && ident_char(text[end])) ++end;
      out += lookup(text.substr(i + 1, end - i - 1), scope);
      i = end - 1;
    } else {
      throw Error("a '$' must be followed by a name, '(' or another '$' (a '$' itself is '$$')");
    }
  }
  return out;
}

}  // namespace xpusim::compiler
