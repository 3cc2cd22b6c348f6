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

# _polder_uses_asio(TARGET OUT) - whether TARGET is compiled against the Asio
# and Beast headers, i.e. polder_asio_defs is in its compile-usage closure
# (its own link libraries and, through them, their interface link libraries;
# $<LINK_ONLY:...> entries carry no headers and are skipped).
function(_polder_uses_asio tgt out)
  get_property(_known GLOBAL PROPERTY _POLDER_ASIO_${tgt} SET)
  if(_known)
    get_property(_r GLOBAL PROPERTY _POLDER_ASIO_${tgt})
    set(${out} ${_r} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY _POLDER_ASIO_${tgt} FALSE)  # cycles end here
  set(_r FALSE)
  get_target_property(_type ${tgt} TYPE)
  set(_deps)
  if(NOT _type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(_deps ${tgt} LINK_LIBRARIES)
  endif()
  get_target_property(_ideps ${tgt} INTERFACE_LINK_LIBRARIES)
  foreach(_d IN LISTS _deps _ideps)
    if(_d MATCHES "^\\$<LINK_ONLY:" OR NOT TARGET "${_d}")
      continue()
    endif()
    get_target_property(_real ${_d} ALIASED_TARGET)
    if(NOT _real)
      set(_real ${_d})
    endif()
    if(_real STREQUAL "polder_asio_defs")
      set(_r TRUE)
      break()
    endif()
    get_target_property(_imported ${_real} IMPORTED)
    if(_imported)
      continue()
    endif()
    _polder_uses_asio(${_real} _sub)
    if(_sub)
      set(_r TRUE)
      break()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY _POLDER_ASIO_${tgt} ${_r})
  set(${out} ${_r} PARENT_SCOPE)
endfunction()

function(_polder_targets_in dir out)
  get_property(_t DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(_subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(_s IN LISTS _subdirs)
    _polder_targets_in(${_s} _st)
    list(APPEND _t ${_st})
  endforeach()
  set(${out} ${_t} PARENT_SCOPE)
endfunction()

# polder_share_pch() - called once, after every target exists: each C++
# library or executable that uses Asio reuses polder_pch's precompiled header.
# The libFuzzer tree compiles with -fsanitize=fuzzer, which clang's PCH check
# rejects as a different configuration, and builds few targets: no PCH there.
function(polder_share_pch)
  if(NOT TARGET polder_pch OR POLDER_FUZZ)
    return()
  endif()
  _polder_targets_in(${CMAKE_SOURCE_DIR} _all)
  foreach(_t IN LISTS _all)
    get_target_property(_type ${_t} TYPE)
    if(_t STREQUAL "polder_pch" OR NOT _type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    _polder_uses_asio(${_t} _uses)
    if(_uses)
      target_precompile_headers(${_t} REUSE_FROM polder_pch)
    endif()
  endforeach()
endfunction()
