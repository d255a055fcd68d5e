#include "isa/common/parser.h"

namespace xpusim::isa {

void throw_expected(const Token& found, const std::string& what) {
  throw Error(found.loc, "expected " + what + ", found " + found.describe());
}

TokenStream::TokenStream(std::vector<Token> tokens) : toks_(std::move(tokens)) {
  // tokenize() always ends with eof; keep that true for hand-built token lists too.
  if (toks_.empty() || toks_.back().kind != TokenKind::eof) toks_.emplace_back();
}

const Token& TokenStream::peek(size_t ahead) const {
  size_t p = pos_ + ahead;
  return p < toks_.size() ? toks_[p] : toks_.back();
}

const Token& TokenStream::next() {
  const Token& t = toks_[pos_];
  if (pos_ + 1 < toks_.size()) ++pos_;
  return t;
}

bool TokenStream::accept_punct(char c) {
  if (!at_punct(c)) return false;
  next();
  return true;
}

const Token& TokenStream::expect(TokenKind kind, const std::string& what) {
  if (!at(kind)) fail(what);
  return next();
}

const Token& TokenStream::expect_punct(char c) {
  if (!at_punct(c)) fail(std::string("'") + c + "'");
  return next();
}

uint64_t TokenStream::expect_uint(uint64_t max, const std::string& what) {
  const Token& t = peek();
  if (!t.is(TokenKind::integer) || (t.negative && t.magnitude != 0) || t.magnitude > max) {
    fail(what);
  }
  return next().magnitude;
}

int64_t TokenStream::expect_int(int64_t min, int64_t max, const std::string& what) {
  const Token& t = peek();
  if (!t.is(TokenKind::integer)) fail(what);
  // Every int64 magnitude, INT64_MIN's included, fits below this bound.
  constexpr uint64_t kMinMagnitude = uint64_t(1) << 63;
  if (t.magnitude > (t.negative ? kMinMagnitude : kMinMagnitude - 1)) fail(what);
  int64_t v = t.negative ? int64_t(uint64_t(0) - t.magnitude) : int64_t(t.magnitude);
  if (v < min || v > max) fail(what);
  next();
  return v;
}

void LabelTable::define(const std::string& name, uint64_t value, const SourceLoc& loc) {
  auto [it, inserted] = labels_.try_emplace(name, Label{value, loc});
  if (!inserted) {
    throw Error(loc, "duplicate label " + name + " (first defined at line " +
                         std::to_string(it->second.loc.line) + ")");
  }
}

const LabelTable::Label* LabelTable::find(const std::string& name) const {
  auto it = labels_.find(name);
  return it == labels_.end() ? nullptr : &it->second;
}

uint64_t LabelTable::resolve(const std::string& name, const SourceLoc& use) const {
  const Label* l = find(name);
  if (!l) throw Error(use, "undefined label " + name);
  return l->value;
}

}  // namespace xpusim::isa
