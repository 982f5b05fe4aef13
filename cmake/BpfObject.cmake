# xo_bpf_object(NAME SOURCE [MCPU v3|v4|...] [DEFINES ...] [NO_BTF]) compiles a
# BPF C source with clang -target bpf -O2 -g -mcpu=MCPU (default v3) so that
# the object carries BTF, func_info and line_info; NO_BTF leaves out -g, for
# objects like those built before BTF existed.
# The object lands at ${CMAKE_CURRENT_BINARY_DIR}/NAME.o and a custom target
# NAME_bpf depends on it. clang writes a depfile so that editing an included
# header (examples/include/xo_parse.h, ...) rebuilds the object.
function(xo_bpf_object name source)
  cmake_parse_arguments(ARG "NO_BTF" "MCPU" "DEFINES" ${ARGN})
  set(debug -g)
  if(ARG_NO_BTF)
    set(debug)
  endif()
  if(NOT ARG_MCPU)
    set(ARG_MCPU v3)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.o)
  set(defs)
  foreach(d ${ARG_DEFINES})
    list(APPEND defs -D${d})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${BPF_CLANG} -target bpf -O2 ${debug} -mcpu=${ARG_MCPU} ${defs}
            -I${CMAKE_SOURCE_DIR}/examples/include
            -I/usr/include/x86_64-linux-gnu
            -MD -MF ${out}.d
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${out}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source}
    DEPFILE ${out}.d
    COMMENT "BPF ${name}.o"
    VERBATIM)
  add_custom_target(${name}_bpf ALL DEPENDS ${out})
endfunction()
