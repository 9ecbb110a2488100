# tapio_bpf_skeletons(TARGET <target> SOURCES a.bpf.c ...)
# Compiles each BPF program with clang -target bpf (CO-RE, BTF) and generates its libbpf
# skeleton <name>.skel.h with bpftool. <target> is an INTERFACE library whose include
# directory holds the skeletons; linking it orders the build after them.
set(TAPIO_BPF_ARCH x86 CACHE STRING "BPF target arch (__TARGET_ARCH_*) and vmlinux.h folder")
set(TAPIO_BPF_CFLAGS -g -O2 -target bpf -D__TARGET_ARCH_${TAPIO_BPF_ARCH}
    -Wall -Wextra -Werror -Wno-unused-parameter
    -I${CMAKE_SOURCE_DIR}/bpf_include -I${CMAKE_SOURCE_DIR}/bpf_include/${TAPIO_BPF_ARCH}
    -I${CMAKE_SOURCE_DIR}/bpf)

function(tapio_bpf_skeletons)
  cmake_parse_arguments(ARG "" "TARGET" "SOURCES" ${ARGN})
  set(outdir ${CMAKE_CURRENT_BINARY_DIR})
  file(GLOB bpf_headers ${CMAKE_SOURCE_DIR}/bpf_include/*.h ${CMAKE_SOURCE_DIR}/bpf/*.h)
  set(skels)
  set(objs)
  foreach(src ${ARG_SOURCES})
    get_filename_component(name ${src} NAME_WE)
    set(obj ${outdir}/${name}.bpf.o)
    set(skel ${outdir}/${name}.skel.h)
    add_custom_command(OUTPUT ${obj}
      COMMAND ${CLANG} ${TAPIO_BPF_CFLAGS} -c ${src} -o ${obj}
      DEPENDS ${src} ${bpf_headers}
      COMMENT "BPF ${name}.bpf.c"
      VERBATIM)
    add_custom_command(OUTPUT ${skel}
      COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
      COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
      DEPENDS ${obj}
      COMMENT "skeleton ${name}.skel.h"
      VERBATIM)
    list(APPEND skels ${skel})
    list(APPEND objs ${obj})
  endforeach()
  add_custom_target(${ARG_TARGET}_gen DEPENDS ${skels})
  add_library(${ARG_TARGET} INTERFACE)
  target_include_directories(${ARG_TARGET} INTERFACE ${outdir})
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_gen)
  set_property(GLOBAL PROPERTY TAPIO_BPF_OBJECTS ${objs})
endfunction()
