#include "models/core/simulation.h"

#include <systemc>

#include "models/core/sanitizer.h"

#ifdef XPUSIM_ASAN
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace xpusim {

void simulate() {
  sc_core::sc_start();
#ifdef XPUSIM_ASAN
  // A switch to this thread's own stack, announced as SystemC announces its switches.
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* bottom;
    size_t size;
    pthread_attr_getstack(&attr, &bottom, &size);
    pthread_attr_destroy(&attr);
    __sanitizer_start_switch_fiber(nullptr, bottom, size);
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
  }
#endif
}

void end_thread() {
  sc_core::sc_get_current_process_handle().suspend();
}

}  // namespace xpusim
