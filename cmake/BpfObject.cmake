# xo_bpf_object(NAME SOURCE [DEFINES ...]) compiles a BPF C source with
# clang -target bpf -g so that the object carries BTF, func_info and line_info.
# The object lands at ${CMAKE_CURRENT_BINARY_DIR}/NAME.o and a custom target
# NAME_bpf depends on it.
function(xo_bpf_object name source)
  cmake_parse_arguments(ARG "" "" "DEFINES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.o)
  set(defs)
  foreach(d ${ARG_DEFINES})
    list(APPEND defs -D${d})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${BPF_CLANG} -target bpf -O2 -g -mcpu=v3 ${defs}
            -I${CMAKE_SOURCE_DIR}/examples/include
            -I/usr/include/x86_64-linux-gnu
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${out}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source}
    COMMENT "BPF ${name}.o"
    VERBATIM)
  add_custom_target(${name}_bpf ALL DEPENDS ${out})
endfunction()
