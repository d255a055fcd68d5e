// Test runner: Catch2 started from sc_main, since libsystemc defines main().
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <systemc>

#include <cstdlib>

int sc_main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }

// Our own main (it takes precedence over libsystemc's): silence SystemC's banner, also when
// CTest lists the test cases at build time, then enter the kernel, which calls sc_main.
int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
