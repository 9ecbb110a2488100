# tapio_protos(TARGET <lib> ROOTS <import roots...> FILES <rel/path.proto...>)
# Generates protobuf-c sources (keeping each file's relative path, so generated headers
# include each other as protoc-c expects), Python modules (for tests and the Python
# client) and one descriptor set with every import, embedded as a C array for gRPC
# server reflection. <lib> is a static library of the generated C code.
function(tapio_protos)
  cmake_parse_arguments(ARG "" "TARGET" "ROOTS;FILES" ${ARGN})
  set(outdir ${CMAKE_CURRENT_BINARY_DIR})
  set(pydir ${outdir}/python)
  set(iflags)
  foreach(root ${ARG_ROOTS})
    list(APPEND iflags -I${root})
  endforeach()
  set(csrcs)
  set(allsrc)
  foreach(rel ${ARG_FILES})
    set(abs)
    foreach(root ${ARG_ROOTS})
      if(NOT abs AND EXISTS ${root}/${rel})
        set(abs ${root}/${rel})
      endif()
    endforeach()
    if(NOT abs)
      message(FATAL_ERROR "proto ${rel} not found under ${ARG_ROOTS}")
    endif()
    list(APPEND allsrc ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    add_custom_command(OUTPUT ${outdir}/${stem}.pb-c.c ${outdir}/${stem}.pb-c.h
      COMMAND ${PROTOC_C} ${iflags} --c_out=${outdir} ${abs}
      DEPENDS ${abs}
      COMMENT "protoc-c ${rel}"
      VERBATIM)
    list(APPEND csrcs ${outdir}/${stem}.pb-c.c)
  endforeach()
  add_custom_command(OUTPUT ${outdir}/descriptor_set.pb ${pydir}/.stamp
    COMMAND ${CMAKE_COMMAND} -E make_directory ${pydir}
    COMMAND ${PROTOC} ${iflags} --include_imports --descriptor_set_out=${outdir}/descriptor_set.pb
            --python_out=${pydir} ${allsrc}
    COMMAND ${CMAKE_COMMAND} -E touch ${pydir}/.stamp
    DEPENDS ${allsrc}
    COMMENT "descriptor set and Python modules"
    VERBATIM)
  add_custom_command(OUTPUT ${outdir}/descriptor_set.c
    COMMAND ${CMAKE_COMMAND} -DIN=${outdir}/descriptor_set.pb -DOUT=${outdir}/descriptor_set.c
            -DSYMBOL=tapio_descriptor_set -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${outdir}/descriptor_set.pb ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "embed descriptor set"
    VERBATIM)
  add_library(${ARG_TARGET} STATIC ${csrcs} ${outdir}/descriptor_set.c)
  target_include_directories(${ARG_TARGET} PUBLIC ${outdir})
  target_link_libraries(${ARG_TARGET} PUBLIC PkgConfig::PROTOBUFC)
  # Generated code: not ours, compiled without our warning set.
  target_compile_options(${ARG_TARGET} PRIVATE -w)
endfunction()
