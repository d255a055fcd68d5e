// libsystemc defines main(), which calls sc_main. A fuzz target's main is libFuzzer's (linked
// whole into the executable by -fsanitize=fuzzer, so it takes precedence over the shared
// library's), and SystemC's is never called: this definition only resolves its reference.
#include <cstdio>
#include <cstdlib>

// (SystemC declares it extern "C" in <systemc>, which this file need not include.)
extern "C" int sc_main(int, char*[]) {
  std::fputs("xpusim fuzz target: sc_main is never called (libFuzzer's main runs)\n", stderr);
  std::abort();
}
