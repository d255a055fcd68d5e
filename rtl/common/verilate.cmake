# What every verilated unit (rtl/*/) builds alike; included before their folders.
find_package(verilator REQUIRED HINTS $ENV{VERILATOR_ROOT})

# xpusim_verilate(<lib> <prefix> <top> <TRACE|SYSTEMC> SOURCES <.v ...> ARGS <verilator args ...>
#                 [RUNTIME <var>]): the RTL of top module <top> verilated into a STATIC library
# <lib> (class <prefix>), in C++ mode with VCD tracing or in SystemC mode. Simulation speed hardly
# matters at these sizes, build time does (-O3 doubles it): -O1 for the per-cycle code, -O0 for
# constructors and tracing. verilate() adds Verilator's runtime (verilated*.cpp) to every target:
# it is taken out (and appended to <var> when given), to be compiled once for all units of a mode
# (rtl/systolic builds it). Generated code: no warnings; consumers see its headers as system
# headers, so that our strict flags stay quiet; not instrumented by the sanitizers (not our code,
# and it doubles the sanitizer build), while the harness that drives it is.
function(xpusim_verilate lib prefix top mode)
  cmake_parse_arguments(ARG "" "RUNTIME" "SOURCES;ARGS" ${ARGN})
  add_library(${lib} STATIC)
  verilate(${lib} PREFIX ${prefix} TOP_MODULE ${top} SOURCES ${ARG_SOURCES}
    OPT_FAST -O1 OPT_SLOW -O0 ${mode} VERILATOR_ARGS ${ARG_ARGS})
  get_target_property(sources ${lib} SOURCES)
  set(runtime ${sources})
  list(FILTER runtime INCLUDE REGEX "/include/verilated[a-z_]*\\.cpp$")
  list(FILTER sources EXCLUDE REGEX "/include/verilated[a-z_]*\\.cpp$")
  if(ARG_RUNTIME)
    set(${ARG_RUNTIME} ${${ARG_RUNTIME}} ${runtime} PARENT_SCOPE)
  endif()
  # Verilator writes a model as many small sources, each of which includes the model's headers
  # (about 0.9 s of a compile whatever its size): they are compiled as two, the per-cycle code at
  # -O1 and the rest (constructors, tracing) at -O0, as Verilator's own makefile compiles one
  # __ALL.cpp. verilate() told them apart above: OPT_FAST (-O1) on the per-cycle sources, OPT_SLOW
  # on the rest. The generated sources stay the target's, as headers, so that verilate()'s command
  # still writes them first.
  set(fast "")
  set(slow "")
  foreach(source ${sources})
    if(NOT source MATCHES "\\.cpp$")
      continue()
    endif()
    get_source_file_property(flags ${source} COMPILE_FLAGS)
    if(flags MATCHES "-O1" AND NOT source MATCHES "__Trace__[0-9]+\\.cpp$")
      string(APPEND fast "#include \"${source}\"\n")
    else()
      string(APPEND slow "#include \"${source}\"\n")
    endif()
    set_source_files_properties(${source} PROPERTIES HEADER_FILE_ONLY ON)
  endforeach()
  foreach(part fast slow)
    set(unity ${CMAKE_CURRENT_BINARY_DIR}/${prefix}__${part}.cpp)
    file(CONFIGURE OUTPUT ${unity} CONTENT "${${part}}")
    set(level -O1)
    if(part STREQUAL "slow")
      set(level -O0)
    endif()
    set_source_files_properties(${unity} PROPERTIES COMPILE_OPTIONS ${level})
    list(APPEND sources ${unity})
  endforeach()
  set_property(TARGET ${lib} PROPERTY SOURCES ${sources})
  target_compile_options(${lib} PRIVATE -w $<$<BOOL:${XPUSIM_SANITIZE}>:-fno-sanitize=all>)
  set_target_properties(${lib} PROPERTIES SYSTEM ON)
endfunction()
