# antiphase_discover_tests(<target> LABELS <label>... [TEST_FILTER <gtest filter>]
#                          [DISCOVERY_TIMEOUT <s>] [PROPERTIES <name> <value>...])
# gtest_discover_tests() for tests that carry several ctest labels. CMake 3.25's
# gtest_discover_tests() flattens a list-valued property, so PROPERTIES LABELS "a;b"
# would label the tests "a" and set a bogus property "b"; here the labels are applied
# by a ctest include file that runs after the discovered tests are defined. Call it
# several times with disjoint TEST_FILTERs to label parts of one binary differently.
function(antiphase_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TEST_FILTER;DISCOVERY_TIMEOUT" "LABELS;PROPERTIES")
  get_property(count TARGET ${target} PROPERTY ANTIPHASE_DISCOVER_COUNT)
  if(NOT count)
    set(count 0)
  endif()
  math(EXPR count "${count} + 1")
  set_property(TARGET ${target} PROPERTY ANTIPHASE_DISCOVER_COUNT ${count})
  set(list_var "${target}_${count}_TESTS")
  set(options TEST_LIST ${list_var})
  if(arg_TEST_FILTER)
    list(APPEND options TEST_FILTER "${arg_TEST_FILTER}")
  endif()
  if(arg_DISCOVERY_TIMEOUT)
    list(APPEND options DISCOVERY_TIMEOUT ${arg_DISCOVERY_TIMEOUT})
  endif()
  if(arg_PROPERTIES)
    list(APPEND options PROPERTIES ${arg_PROPERTIES})
  endif()
  gtest_discover_tests(${target} ${options})
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_labels_${count}.cmake")
  file(WRITE "${script}"
       "if(DEFINED ${list_var})\n  set_tests_properties(\${${list_var}} PROPERTIES LABELS \"${arg_LABELS}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()
