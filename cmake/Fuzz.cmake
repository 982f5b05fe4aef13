# The libFuzzer pattern of fuzz/README.md, written once. fuzz/CMakeLists.txt
# finds clang++-19 (XO_FUZZ_CLANGXX) and includes this file; each
# fuzz/<area>/CMakeLists.txt then calls xo_fuzz_target.
#
# xo_fuzz_target(NAME
#                SOURCES harness.cpp sources-under-test...
#                [HEADERS glob...]        headers the fuzzer build depends on
#                [FLAGS flag...]          extra clang++ flags (include dirs, -W...)
#                [LIBS arg...]            link arguments (after -o)
#                [SEEDER target [SEEDER_ARGS arg...]]
#                [SEED_FILES file...]
#                [SEED_DEPENDS target...] targets that produce SEED_FILES/SEEDER_ARGS
#                LABELS label...)
#   Builds ${CMAKE_CURRENT_BINARY_DIR}/NAME with clang++ and the sanitizers
#   (custom target fuzz_<area>_<what>_build, part of ALL: <area> is the
#   folder, <what> is NAME without "fuzz_" and "<area>_") and registers the
#   bounded ctest NAME. The test starts from a fresh corpus: the inputs that
#   crashed once (fuzz/<area>/crashes/crash-*, replayed first so the test
#   fails for as long as their bug is there), then SEED_FILES copied in,
#   then `SEEDER <corpus> SEEDER_ARGS...` writing its seeds; then 20 s of
#   fuzzing. libFuzzer exits non-zero on a crash, sanitizer report, timeout
#   or out-of-memory, leaving the input in artifacts/. Without any seed
#   (no SEEDER, no SEED_FILES) no test is registered.
function(xo_fuzz_target name)
  cmake_parse_arguments(ARG "" "SEEDER"
    "SOURCES;HEADERS;FLAGS;LIBS;SEEDER_ARGS;SEED_FILES;SEED_DEPENDS;LABELS" ${ARGN})
  get_filename_component(area ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  string(REGEX REPLACE "^fuzz_" "" what ${name})
  string(REGEX REPLACE "^${area}_" "" what ${what})
  set(build_target fuzz_${area}_${what}_build)

  # The sources under test are compiled again by clang with the sanitizers,
  # straight from the source tree (plus the generated headers:
  # core/version.hpp): the g++-built libraries carry no sanitizer or
  # coverage instrumentation.
  set(fuzzer ${CMAKE_CURRENT_BINARY_DIR}/${name})
  file(GLOB headers ${ARG_HEADERS})
  add_custom_command(
    OUTPUT ${fuzzer}
    COMMAND ${XO_FUZZ_CLANGXX} -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
            -std=c++20 -O1 -g -I${CMAKE_SOURCE_DIR} -I${XO_GENERATED_DIR} ${ARG_FLAGS}
            ${ARG_SOURCES} -o ${fuzzer} ${ARG_LIBS}
    DEPENDS ${ARG_SOURCES} ${headers}
    COMMENT "clang++ libFuzzer build of ${name}"
    VERBATIM)
  # Not the output's own name: Ninja would see two rules for one file.
  add_custom_target(${build_target} ALL DEPENDS ${fuzzer})
  if(ARG_SEED_DEPENDS)
    add_dependencies(${build_target} ${ARG_SEED_DEPENDS})
  endif()

  if(NOT ARG_SEEDER AND NOT ARG_SEED_FILES)
    message(STATUS "fuzz/${area}: no seeds; ${name} is built but has no test")
    return()
  endif()
  set(corpus ${CMAKE_CURRENT_BINARY_DIR}/corpus)
  set(artifacts ${CMAKE_CURRENT_BINARY_DIR}/artifacts)
  set(crashes ${CMAKE_CURRENT_SOURCE_DIR}/crashes)
  set(run "rm -rf '${corpus}' && mkdir -p '${corpus}' '${artifacts}'")
  string(APPEND run " && { [ ! -d '${crashes}' ] || cp '${crashes}'/crash-* '${corpus}/'; }")
  if(ARG_SEED_FILES)
    list(JOIN ARG_SEED_FILES "' '" files)
    string(APPEND run " && cp '${files}' '${corpus}/'")
  endif()
  if(ARG_SEEDER)
    string(APPEND run " && '$<TARGET_FILE:${ARG_SEEDER}>' '${corpus}'")
    foreach(a ${ARG_SEEDER_ARGS})
      string(APPEND run " '${a}'")
    endforeach()
  endif()
  string(APPEND run " && '${fuzzer}' -max_total_time=20 -timeout=10 -rss_limit_mb=2048"
                    " -print_final_stats=1 -artifact_prefix='${artifacts}/' '${corpus}'")
  add_test(NAME ${name} COMMAND sh -c "${run}")
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 120)
endfunction()

# xo_fuzz_library_sources(OUT lib...): the .cpp sources of library targets,
# absolute, for a fuzzer that compiles a library's own source list.
function(xo_fuzz_library_sources out)
  set(all)
  foreach(lib ${ARGN})
    get_target_property(dir ${lib} SOURCE_DIR)
    get_target_property(srcs ${lib} SOURCES)
    foreach(s ${srcs})
      if(NOT IS_ABSOLUTE ${s})
        set(s ${dir}/${s})
      endif()
      list(APPEND all ${s})
    endforeach()
  endforeach()
  list(FILTER all INCLUDE REGEX "\\.cpp$")
  set(${out} ${all} PARENT_SCOPE)
endfunction()

# xo_fuzz_bpf_seed_objects(OUT_OBJECTS OUT_TARGETS): the clang-built example
# and test BPF objects that exist in this build (paths) and the targets that
# build them, for the fuzzers that start from real programs.
function(xo_fuzz_bpf_seed_objects out_objects out_targets)
  set(objects)
  set(targets)
  foreach(obj
      xdp1_kern:${XO_EXAMPLES_BIN}/xdp1/xdp1_kern.o
      xdp2_kern:${XO_EXAMPLES_BIN}/xdp2/xdp2_kern.o
      chain_ingress:${XO_EXAMPLES_BIN}/chain/chain_ingress.o
      semantics_progs:${CMAKE_BINARY_DIR}/tests/translator/semantics_progs.o
      verifier_denied_helper:${CMAKE_BINARY_DIR}/tests/verifier/verifier_denied_helper.o)
    string(REPLACE ":" ";" pair ${obj})
    list(GET pair 0 name)
    list(GET pair 1 path)
    if(TARGET ${name}_bpf)
      list(APPEND targets ${name}_bpf)
      list(APPEND objects ${path})
    endif()
  endforeach()
  set(${out_objects} ${objects} PARENT_SCOPE)
  set(${out_targets} ${targets} PARENT_SCOPE)
endfunction()
