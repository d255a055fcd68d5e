// Shared assembler toolkit, part 2: a cursor over tokens with "expected X, found Y"
// diagnostics, and a label table that allows forward references.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "isa/common/lexer.h"

namespace xpusim::isa {

// Throws Error at `found`: "file:line:col: expected <what>, found '<text>'".
[[noreturn]] void throw_expected(const Token& found, const std::string& what);

// A cursor over tokenize()'s output (which always ends with eof). Reading never moves past
// eof, so a parser cannot run off the end.
class TokenStream {
 public:
  explicit TokenStream(std::vector<Token> tokens);

  const Token& peek(size_t ahead = 0) const;
  const Token& next();
  bool at(TokenKind kind) const { return peek().kind == kind; }
  bool at_punct(char c) const { return peek().is_punct(c); }
  // Consumes the next token when it is the punctuation `c`.
  bool accept_punct(char c);

  // Consume and return the next token if it matches; otherwise throw_expected(what).
  const Token& expect(TokenKind kind, const std::string& what);
  const Token& expect_punct(char c);
  // An integer token in [0, max] / [min, max]; `what` should name the range for the user.
  uint64_t expect_uint(uint64_t max, const std::string& what);
  int64_t expect_int(int64_t min, int64_t max, const std::string& what);

  [[noreturn]] void fail(const std::string& what) const { throw_expected(peek(), what); }

 private:
  std::vector<Token> toks_;
  size_t pos_ = 0;
};

// Names defined once each, used anywhere (before or after the definition): parse the whole
// text calling define(), keep the uses, then resolve() each of them.
class LabelTable {
 public:
  struct Label {
    uint64_t value = 0;
    SourceLoc loc;  // where it was defined
  };

  // Throws Error at `loc`: "duplicate label X (first defined at line N)".
  void define(const std::string& name, uint64_t value, const SourceLoc& loc);
  // nullptr when `name` is not (yet) defined.
  const Label* find(const std::string& name) const;
  // The value of `name`; throws Error at `use`: "undefined label X".
  uint64_t resolve(const std::string& name, const SourceLoc& use) const;

 private:
  std::unordered_map<std::string, Label> labels_;
};

}  // namespace xpusim::isa
