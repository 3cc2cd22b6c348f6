# test_embed_migrations.cmake - checks common/db/cmake/embed_migrations.cmake:
# well-named files are embedded byte for byte (quotes, backslashes, a raw-string
# terminator and non-ASCII bytes included), and a badly named file or a
# duplicate version fails the generator with a message naming the file.
# Run by CTest as: cmake -DSCRIPT=... -DWORK=... -P test_embed_migrations.cmake
# SECURITY: test-only. STANDARDS: none.
cmake_minimum_required(VERSION 3.25)

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/ok" "${WORK}/badname" "${WORK}/dup")

# A file with content that would end a raw string literal )" or )sql" and bytes >= 0x80.
file(WRITE "${WORK}/ok/0001_first.sql" "SELECT ')\"'; -- )sql\" \\\\ \"\"\" é\n")
file(WRITE "${WORK}/ok/0012_second_one.sql" "CREATE TABLE x (id int);\n")

function(generate dir files out result_var output_var)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -DSCHEMA_DIR=${dir} -DOUTPUT=${out} -DFILES=${files} -P ${SCRIPT}
    RESULT_VARIABLE r OUTPUT_VARIABLE o ERROR_VARIABLE e)
  set(${result_var} ${r} PARENT_SCOPE)
  set(${output_var} "${o}${e}" PARENT_SCOPE)
endfunction()

generate(${WORK}/ok "0001_first.sql,0012_second_one.sql" ${WORK}/ok.cpp r o)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "generator failed on valid files: ${o}")
endif()
file(READ ${WORK}/ok.cpp cpp)
foreach(expected
    "{1, \"first\", std::string_view(reinterpret_cast<const char*>(sql_0), 32)}"
    "{12, \"second_one\", std::string_view(reinterpret_cast<const char*>(sql_1), 25)}"
    "0x53,0x45,0x4c,0x45,0x43,0x54,0x20,0x27,0x29,0x22,0x27"   # SELECT ')"'
    "0xc3,0xa9")                                               # é in UTF-8
  string(FIND "${cpp}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "generated source lacks: ${expected}\n${cpp}")
  endif()
endforeach()
# No SQL text may appear as a string literal.
string(FIND "${cpp}" "SELECT" at)
if(NOT at EQUAL -1)
  message(FATAL_ERROR "SQL text leaked into the generated source as text")
endif()

# An empty set still generates a valid (empty) table.
generate(${WORK}/ok "" ${WORK}/empty.cpp r o)
file(READ ${WORK}/empty.cpp cpp)
string(FIND "${cpp}" "std::span<const migration> table{};" at)
if(NOT r EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "generator failed on an empty set: ${o}")
endif()

foreach(bad "1_short.sql" "0003_Upper.sql" "0003_with-dash.sql" "0000_zero.sql" "0003_.sql")
  file(WRITE "${WORK}/badname/${bad}" "SELECT 1;\n")
  generate(${WORK}/badname "${bad}" ${WORK}/bad.cpp r o)
  if(r EQUAL 0)
    message(FATAL_ERROR "generator accepted the file name ${bad}")
  endif()
  string(FIND "${o}" "${bad}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "generator error does not name ${bad}: ${o}")
  endif()
endforeach()

file(WRITE "${WORK}/dup/0004_a.sql" "SELECT 1;\n")
file(WRITE "${WORK}/dup/0004_b.sql" "SELECT 2;\n")
generate(${WORK}/dup "0004_a.sql,0004_b.sql" ${WORK}/dup.cpp r o)
string(FIND "${o}" "already has version 0004" at)
if(r EQUAL 0 OR at EQUAL -1)
  message(FATAL_ERROR "generator did not refuse a duplicate version: ${o}")
endif()

file(REMOVE_RECURSE "${WORK}")
message(STATUS "embed_migrations.cmake: all checks passed")
