# antiphase_add_subareas(): adds every direct subfolder that has a CMakeLists.txt, in
# sorted order. Each area (one concept per folder) owns its own CMakeLists.txt.
function(antiphase_add_subareas)
  file(GLOB _areas LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT _areas)
  foreach(area IN LISTS _areas)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${area}/CMakeLists.txt)
      add_subdirectory(${area})
    endif()
  endforeach()
endfunction()
