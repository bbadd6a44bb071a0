# Helpers that keep one CMake library per folder of src/ and record the allowed include arrows.
#
# dittofs_add_library(NAME SOURCES ... DEPS ...): a static library whose files may include
# exactly the headers of its own folder and of its direct DEPS (checked by
# tools/check_layering.py, run as the `layering` test; test targets are checked the same way).
# dittofs_add_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.
#
# Test code (tests and test libraries) is compiled without optimization whatever the build type:
# the code under test keeps the build's flags, and a test file of many TESTs and EXPECTs builds
# 3 to 4 times faster at -O0 than at -O2 (vfs_test.cc: 29 s against 8 s), which is most of a
# cold build's time.
set(DITTOFS_TEST_CODE_OPTIONS -O0 CACHE STRING "Compile options for test code (after the build type's)")

set(DITTOFS_LAYERING_FILE "${CMAKE_BINARY_DIR}/layering.txt")
file(WRITE "${DITTOFS_LAYERING_FILE}" "")

# Records that target `name` lives in the current folder, that its files (`sources`; a
# library's headers too) may include its direct `deps`' headers, and whether it is test code.
function(dittofs_record_layering name kind deps sources)
  file(RELATIVE_PATH dir "${PROJECT_SOURCE_DIR}/src" "${CMAKE_CURRENT_SOURCE_DIR}")
  string(REPLACE ";" "," deps "${deps}")
  string(REPLACE ";" "," sources "${sources}")
  if(deps STREQUAL "")
    set(deps "-")
  endif()
  if(sources STREQUAL "")
    set(sources "-")
  endif()
  file(APPEND "${DITTOFS_LAYERING_FILE}" "${name} ${dir} ${kind} ${deps} ${sources}\n")
endfunction()

function(dittofs_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} ${ARG_LIBS})
  dittofs_record_layering(${name} lib "${ARG_DEPS}" "${ARG_SOURCES}")
endfunction()

# dittofs_add_interface(NAME DEPS ...): a header-only library (an interface with no code).
function(dittofs_add_interface name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  add_library(${name} INTERFACE)
  target_include_directories(${name} INTERFACE "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  dittofs_record_layering(${name} lib "${ARG_DEPS}" "")
endfunction()

# dittofs_add_test_library(NAME SOURCES ... DEPS ...): test support (e.g. a conformance suite)
# that lives beside the code it tests; only test binaries link it.
function(dittofs_add_test_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} GTest::gtest GTest::gmock)
  target_compile_options(${name} PRIVATE ${DITTOFS_TEST_CODE_OPTIONS})
  dittofs_record_layering(${name} test "${ARG_DEPS}" "${ARG_SOURCES}")
endfunction()

function(dittofs_add_executable name)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME" "SOURCES;DEPS;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} ${ARG_LIBS})
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
  dittofs_record_layering(${name} bin "${ARG_DEPS}" "${ARG_SOURCES}")
endfunction()

function(dittofs_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} ${ARG_LIBS} GTest::gtest GTest::gmock
                        GTest::gtest_main)
  target_compile_options(${name} PRIVATE ${DITTOFS_TEST_CODE_OPTIONS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  dittofs_record_layering(${name} test "${ARG_DEPS}" "${ARG_SOURCES}")
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 600)
endfunction()
