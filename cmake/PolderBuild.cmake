# Compiler flags, sanitizers, ccache and the helpers every module uses.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo)
endif()

add_compile_options(-Wall -Wextra -Wno-unused-parameter)
add_compile_definitions(POLDER_VERSION="${PROJECT_VERSION}")
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 warns on valid coroutine code and on Boost internals.
  add_compile_options(-Wno-mismatched-new-delete -Wno-maybe-uninitialized)
endif()

if(POLDER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 cannot emit UBSan's function-type check prologue for split C++20
    # coroutines at -O2 -g ("Cannot represent a difference across sections");
    # that one check is off in the clang (fuzz) tree, every other stays on.
    add_compile_options(-fno-sanitize=function)
  endif()
endif()

# polder_module(NAME ... ) - one static library per common/ directory, aliased polder::NAME.
# Sources are src/*.cpp, public headers include/polder/NAME/*.hpp.
function(polder_module name)
  cmake_parse_arguments(M "" "" "PUBLIC;PRIVATE" ${ARGN})
  file(GLOB _src CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(polder_${name} STATIC ${_src})
  add_library(polder::${name} ALIAS polder_${name})
  target_include_directories(polder_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(polder_${name} PUBLIC ${M_PUBLIC} PRIVATE ${M_PRIVATE})
endfunction()

# polder_unit_test(NAME SOURCES... LIBS ...) - a Catch2 executable registered with CTest.
function(polder_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE polder_catch2_main ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name})
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# polder_fuzz_target(NAME SOURCES f.cpp LIBS polder::x CORPUS dir)
# A libFuzzer target (LLVMFuzzerTestOneInput) beside the parser it tests.
# With POLDER_FUZZ=ON (clang): a real libFuzzer binary; CTest runs it for
# POLDER_FUZZ_SECONDS on a copy of its seed corpus. Otherwise it links a small
# replay driver and CTest replays the seed corpus under the sanitizers, so every
# ordinary test run also exercises what the fuzzer once found.
set(POLDER_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz target runs in the test suite")
function(polder_fuzz_target name)
  cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  if(POLDER_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_test(NAME ${name}
      COMMAND ${CMAKE_COMMAND} -E env ${CMAKE_SOURCE_DIR}/tests/fuzz/run-fuzzer.sh
              $<TARGET_FILE:${name}> ${F_CORPUS} ${POLDER_FUZZ_SECONDS})
    set_tests_properties(${name} PROPERTIES LABELS fuzz)
  else()
    target_sources(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
    add_test(NAME ${name} COMMAND ${name} ${F_CORPUS})
    set_tests_properties(${name} PROPERTIES LABELS fuzz-replay)
  endif()
endfunction()
