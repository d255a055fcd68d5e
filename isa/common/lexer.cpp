#include "isa/common/lexer.h"

#include <charconv>
#include <cstdio>
#include <cstring>

namespace xpusim::isa {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
// Characters that may begin a name after a '.' or '%' prefix, or begin it outright.
bool is_name_start(char c) {
  return is_alpha(c) || c == '_' || c == '$';
}
// '.' continues a name so that PTX's "mov.b32" and "%tid.x" are one token each.
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c) || c == '.';
}
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}
bool is_punct(char c) {
  return c != '\0' && std::strchr(",=:;[]{}()<>+-*/@!|&~^?", c);
}

// A token after which '-' means subtraction rather than the sign of a literal: "%r1-4" is
// three tokens, "[%rd1+-4]" and "ub=-4" carry the literal -4.
bool ends_operand(const Token& t) {
  switch (t.kind) {
    case TokenKind::ident:
    case TokenKind::integer:
    case TokenKind::floating:
    case TokenKind::string:
      return true;
    case TokenKind::punct:
      return t.text == ")" || t.text == "]";
    default:
      return false;
  }
}

// The lexer's position; `line_start` is the offset of the current line's first byte.
class Lexer {
 public:
  Lexer(const std::string& text, const std::string& file, unsigned styles)
      : s_(text), file_(file), styles_(styles) {}

  std::vector<Token> run() {
    while (i_ < s_.size()) step();
    // The last line gets its eol even without a final newline, so parsers can rely on it.
    if (!s_.empty() && s_.back() != '\n') push(TokenKind::eol, i_, i_);
    push(TokenKind::eof, i_, i_);
    return std::move(out_);
  }

 private:
  char at(size_t pos) const { return pos < s_.size() ? s_[pos] : '\0'; }
  SourceLoc loc(size_t pos) const { return {file_, line_, int(pos - line_start_ + 1)}; }
  [[noreturn]] void fail(size_t pos, const std::string& msg) const { throw Error(loc(pos), msg); }

  Token& push(TokenKind kind, size_t begin, size_t end) {
    Token t;
    t.kind = kind;
    t.text = s_.substr(begin, end - begin);
    t.loc = loc(begin);
    out_.push_back(std::move(t));
    return out_.back();
  }

  void step() {
    char c = s_[i_];
    if (c == '\n') {
      push(TokenKind::eol, i_, i_);
      new_line(++i_);
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++i_;
    } else if ((c == '#' && (styles_ & kHashComments)) ||
               (c == ';' && (styles_ & kSemicolonComments)) ||
               (c == '/' && at(i_ + 1) == '/' && (styles_ & kSlashComments))) {
      while (i_ < s_.size() && s_[i_] != '\n') ++i_;
    } else if (c == '/' && at(i_ + 1) == '*' && (styles_ & kSlashComments)) {
      block_comment();
    } else if (is_name_start(c) || ((c == '.' || c == '%') && is_name_start(at(i_ + 1)))) {
      size_t begin = i_++;
      while (is_name_char(at(i_))) ++i_;
      push(TokenKind::ident, begin, i_);
    } else if (is_digit(c) || (c == '.' && is_digit(at(i_ + 1))) ||
               (c == '-' && starts_number(i_ + 1) &&
                (out_.empty() || !ends_operand(out_.back())))) {
      number();
    } else if (c == '"') {
      string();
    } else if (is_punct(c)) {
      push(TokenKind::punct, i_, i_ + 1);
      ++i_;
    } else {
      char buf[48];
      if (c >= 0x20 && c < 0x7f) {
        std::snprintf(buf, sizeof buf, "unexpected character '%c'", c);
      } else {
        std::snprintf(buf, sizeof buf, "unexpected byte 0x%02x", unsigned(uint8_t(c)));
      }
      fail(i_, buf);
    }
  }

  void new_line(size_t start) {
    ++line_;
    line_start_ = start;
  }

  bool starts_number(size_t pos) const {
    return is_digit(at(pos)) || (at(pos) == '.' && is_digit(at(pos + 1)));
  }

  void block_comment() {
    SourceLoc start = loc(i_);
    for (i_ += 2; i_ < s_.size(); ++i_) {
      if (s_[i_] == '*' && at(i_ + 1) == '/') {
        i_ += 2;
        return;
      }
      if (s_[i_] == '\n') new_line(i_ + 1);
    }
    throw Error(start, "unterminated block comment (expected '*/')");
  }

  void number() {
    size_t begin = i_;
    bool negative = s_[i_] == '-';
    if (negative) ++i_;
    char c1 = at(i_ + 1);
    if (s_[i_] == '0' && (c1 == 'x' || c1 == 'X')) {
      i_ += 2;
      uint64_t v = 0;
      size_t digits = i_;
      for (; is_hex(at(i_)); ++i_) {
        if (v >> 60) fail(begin, "integer out of range (more than 64 bits)");
        v = v << 4 | uint64_t(hex_value(s_[i_]));
      }
      if (i_ == digits) malformed(begin);
      finish_integer(begin, v, negative);
    } else if (s_[i_] == '0' && (c1 == 'f' || c1 == 'F' || c1 == 'd' || c1 == 'D') &&
               is_hex(at(i_ + 2))) {
      // PTX hex float: 0f + 8 hex digits are fp32 bits, 0d + 16 hex digits fp64 bits.
      bool single = c1 == 'f' || c1 == 'F';
      i_ += 2;
      size_t digits = i_;
      uint64_t bits = 0;
      for (; is_hex(at(i_)); ++i_) bits = bits << 4 | uint64_t(hex_value(s_[i_]));
      if (i_ - digits != (single ? 8u : 16u)) malformed(begin);
      if (is_name_char(at(i_))) malformed(begin);
      Token& t = push(TokenKind::floating, begin, i_);
      t.magnitude = bits;
      t.negative = negative;
      if (single) {
        float f;
        uint32_t b32 = uint32_t(bits);
        std::memcpy(&f, &b32, 4);
        t.value = f;
      } else {
        std::memcpy(&t.value, &bits, 8);
      }
      if (negative) t.value = -t.value;
    } else {
      decimal(begin, negative);
    }
  }

  void decimal(size_t begin, bool negative) {
    uint64_t v = 0;
    bool overflow = false;
    for (; is_digit(at(i_)); ++i_) {
      uint64_t d = uint64_t(s_[i_] - '0');
      if (v > (UINT64_MAX - d) / 10) overflow = true;
      v = v * 10 + d;
    }
    bool is_float = false;
    if (at(i_) == '.') {
      is_float = true;
      for (++i_; is_digit(at(i_));) ++i_;
    }
    if (at(i_) == 'e' || at(i_) == 'E') {
      size_t e = i_ + 1;
      if (at(e) == '+' || at(e) == '-') ++e;
      if (!is_digit(at(e))) malformed(begin);
      for (i_ = e; is_digit(at(i_));) ++i_;
      is_float = true;
    }
    if (!is_float) {
      if (overflow) fail(begin, "integer out of range (more than 64 bits)");
      finish_integer(begin, v, negative);
      return;
    }
    if (is_name_char(at(i_))) malformed(begin);
    Token& t = push(TokenKind::floating, begin, i_);
    t.negative = negative;
    auto r = std::from_chars(s_.data() + begin, s_.data() + i_, t.value);
    if (r.ec != std::errc()) fail(begin, "floating-point literal out of range '" + t.text + "'");
  }

  void finish_integer(size_t begin, uint64_t v, bool negative) {
    if (at(i_) == 'U' && (styles_ & kUnsignedSuffix)) ++i_;
    if (is_name_char(at(i_))) malformed(begin);
    Token& t = push(TokenKind::integer, begin, i_);
    t.magnitude = v;
    t.negative = negative;
  }

  [[noreturn]] void malformed(size_t begin) {
    size_t end = i_;
    while (is_name_char(at(end))) ++end;
    fail(begin, "malformed number '" + s_.substr(begin, end - begin) + "'");
  }

  void string() {
    size_t begin = i_++;
    std::string value;
    for (;;) {
      char c = at(i_);
      if (c == '\0' && i_ >= s_.size()) fail(begin, "unterminated string (expected '\"')");
      if (c == '\n') fail(begin, "unterminated string (expected '\"' before the end of line)");
      ++i_;
      if (c == '"') break;
      if (c == '\\') {
        char e = at(i_++);
        switch (e) {
          case '"':
          case '\\':
            value += e;
            break;
          case 'n':
            value += '\n';
            break;
          case 't':
            value += '\t';
            break;
          default:
            fail(i_ - 2, "unknown escape in string (expected \\\" \\\\ \\n or \\t)");
        }
      } else {
        value += c;
      }
    }
    push(TokenKind::string, begin, i_).str = std::move(value);
  }

  const std::string& s_;
  const std::string& file_;
  unsigned styles_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  std::vector<Token> out_;
};

}  // namespace

const char* token_kind_name(TokenKind kind) {
  switch (kind) {
    case TokenKind::ident:
      return "identifier";
    case TokenKind::integer:
      return "integer";
    case TokenKind::floating:
      return "floating-point number";
    case TokenKind::string:
      return "string";
    case TokenKind::punct:
      return "punctuation";
    case TokenKind::eol:
      return "end of line";
    case TokenKind::eof:
      return "end of file";
  }
  return "token";
}

std::string Token::describe() const {
  if (kind == TokenKind::eol || kind == TokenKind::eof) return token_kind_name(kind);
  return "'" + text + "'";
}

float Token::f32() const {
  if (kind == TokenKind::integer) {
    // uint64 -> float rounds once, to nearest even.
    float f = float(magnitude);
    return negative ? -f : f;
  }
  if (kind != TokenKind::floating) {
    throw Error(loc, std::string("expected a number, found ") + describe());
  }
  size_t p = negative ? 1 : 0;
  if (text.size() > p + 1 && (text[p + 1] == 'f' || text[p + 1] == 'F')) {
    uint32_t bits = uint32_t(magnitude);
    float f;
    std::memcpy(&f, &bits, 4);
    return negative ? -f : f;
  }
  if (text.size() > p + 1 && (text[p + 1] == 'd' || text[p + 1] == 'D')) return float(value);
  float f = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), f);
  if (r.ec != std::errc()) throw Error(loc, "value out of fp32 range: '" + text + "'");
  return f;
}

std::vector<Token> tokenize(const std::string& text, const std::string& file,
                            unsigned comment_styles) {
  return Lexer(text, file, comment_styles).run();
}

}  // namespace xpusim::isa
