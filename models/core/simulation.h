// Running a SystemC simulation, and ending its threads. SystemC 2.3.4 runs each thread on a
// coroutine stack of its own and tells AddressSanitizer of each switch between stacks, except
// two: a switch back to the caller's stack (for ASan an empty stack), and the switch away from
// a thread whose function returned (none at all). ASan then unwinds an exception thrown on the
// stack it was not told of without clearing the frames' redzones, and later calls on that stack
// trip over them (docs/architecture.md, "Sanitizers and SystemC threads"). Every simulation
// runs through simulate() and every thread ends with end_thread(), so that ASan knows which
// stack runs wherever the models throw.
#pragma once

namespace xpusim {

// sc_start(): runs until no event is left or a thread calls sc_stop(). Then, in the sanitizer
// build, tells ASan that the calling thread runs on its own stack again, before anything
// (the error a model stored, any later error) is thrown on it.
void simulate();

// The end of a SystemC thread, in place of returning from its function: suspends the calling
// thread for good (the switch away from it is then one ASan is told of). Call it outside any
// catch handler: the C++ runtime keeps one list of the exceptions being handled per OS thread,
// not per SystemC thread.
void end_thread();

}  // namespace xpusim
