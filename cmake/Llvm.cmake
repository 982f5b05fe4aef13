# LLVM 19, for the two libraries that use it: xo_llvm (the MC oracle) and
# xo_ir (the IR tier). Found once, here, from Debian's llvm-19-dev.
# LLVM's version file only accepts an exact major.minor request (19 != 19.1),
# so the major version is checked by hand.
find_package(LLVM REQUIRED CONFIG
  PATHS /usr/lib/llvm-19/lib/cmake/llvm NO_DEFAULT_PATH)
if(NOT LLVM_VERSION_MAJOR EQUAL 19)
  message(FATAL_ERROR "xoffload needs LLVM 19, found ${LLVM_PACKAGE_VERSION}")
endif()
separate_arguments(XO_LLVM_DEFINITIONS NATIVE_COMMAND "${LLVM_DEFINITIONS}")

# xo_link_llvm_privately(TARGET): LLVM's headers, definitions and libLLVM.so
# (the dylib target `LLVM`) for TARGET's own sources only, so that nothing
# that links TARGET sees LLVM's headers, flags or symbols.
function(xo_link_llvm_privately target)
  target_include_directories(${target} SYSTEM PRIVATE ${LLVM_INCLUDE_DIRS})
  target_compile_options(${target} PRIVATE ${XO_LLVM_DEFINITIONS})
  target_link_libraries(${target} PRIVATE LLVM)
endfunction()
