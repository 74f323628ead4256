# mnemo_protoc_c(<out_var> ROOT <dir> FILES <rel.proto>...)
# Runs protoc-c on each <dir>/<rel>.proto into ${CMAKE_BINARY_DIR}/gen and
# appends the generated .pb-c.c files to <out_var>. The generated .c includes
# its header by the proto's relative path, so gen/ must be a public include
# directory of the library that compiles them.
find_program(PROTOC_C_EXECUTABLE NAMES protoc-c protoc-gen-c REQUIRED)
set(MNEMO_GEN_DIR ${CMAKE_BINARY_DIR}/gen)

function(mnemo_protoc_c out_var)
  cmake_parse_arguments(ARG "" "ROOT" "FILES" ${ARGN})
  set(sources ${${out_var}})
  foreach(rel IN LISTS ARG_FILES)
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(c ${MNEMO_GEN_DIR}/${stem}.pb-c.c)
    set(h ${MNEMO_GEN_DIR}/${stem}.pb-c.h)
    add_custom_command(
      OUTPUT ${c} ${h}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${MNEMO_GEN_DIR}
      COMMAND ${PROTOC_C_EXECUTABLE} -I${ARG_ROOT} --c_out=${MNEMO_GEN_DIR} ${ARG_ROOT}/${rel}
      DEPENDS ${ARG_ROOT}/${rel}
      COMMENT "protoc-c ${rel}"
      VERBATIM)
    list(APPEND sources ${c})
  endforeach()
  set(${out_var} ${sources} PARENT_SCOPE)
endfunction()
