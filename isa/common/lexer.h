// Shared assembler toolkit, part 1: a line-aware tokenizer for every family's assembly text
// (the TPU's key=value syntax now, real PTX later). No family specifics here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/error.h"

namespace xpusim::isa {

enum class TokenKind {
  ident,     // foo, _x, $L__BB0_2, .reg, %r1, %tid.x, mov.b32 ('.' continues a name)
  integer,   // 42, 0x2a, -7 (a '-' directly before a digit, where no operand precedes it)
  floating,  // 1.5, .5, 2e-3, -1.0, PTX 0f3F800000 (fp32 bits) and 0d... (fp64 bits)
  string,    // "text" with \" \\ \n \t escapes, on one line
  punct,     // one of , = : ; [ ] { } ( ) < > + - * / @ ! | & ~ ^ ?
  eol,       // end of a source line (every line has one, the last too)
  eof,       // end of the text, after the last eol
};

// "identifier", "integer", ... for messages.
const char* token_kind_name(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::eof;
  std::string text;  // spelling in the source (a string keeps its quotes); empty for eol/eof
  SourceLoc loc;     // file, 1-based line and column (in bytes; a tab counts as one)

  // integer: magnitude and sign, so that the full uint64 range and INT64_MIN both fit.
  uint64_t magnitude = 0;
  bool negative = false;  // integer or floating written with a leading '-'
  // floating: the value as a double (exact for a hex float, whose bits are in magnitude).
  // For an fp32 operand use f32(): it rounds decimal text to fp32 directly, since going
  // through double first could round twice.
  double value = 0;
  // string: the text between the quotes with escapes resolved.
  std::string str;

  bool is(TokenKind k) const { return kind == k; }
  bool is_punct(char c) const { return kind == TokenKind::punct && text[0] == c; }
  bool is_ident(const char* name) const { return kind == TokenKind::ident && text == name; }
  // The nearest fp32 to an integer or floating token (round to nearest even, from the text,
  // once); a 0f hex float gives its exact bits, "-0" gives -0.0f.
  float f32() const;
  // For messages: "'text'", "end of line" or "end of file".
  std::string describe() const;
};

// Which comment styles (and literal forms) a dialect uses. ';' ends a statement in PTX, so
// there it must stay punctuation; the TPU syntax uses it (and '#') as a comment leader.
enum CommentStyle : unsigned {
  kHashComments = 1u << 0,       // # to end of line
  kSemicolonComments = 1u << 1,  // ; to end of line
  kSlashComments = 1u << 2,      // // to end of line and /* ... */ (may span lines)
  kUnsignedSuffix = 1u << 3,     // not a comment style: an integer may end in U (PTX's 0x8000U)
};

// Tokenizes `text` (from `file`, used in locations). A block comment counts as a space, so
// lines it spans produce no eol of their own. Throws Error at the offending character for
// an unknown character, an unterminated string or block comment, or a malformed or
// out-of-range number ("12ab", "0x", "0f123", an integer beyond 64 bits).
std::vector<Token> tokenize(const std::string& text, const std::string& file,
                            unsigned comment_styles);

}  // namespace xpusim::isa
