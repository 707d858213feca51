# Compiles a CO-RE BPF program with clang and generates its libbpf skeleton.
#
#   antiphase_add_bpf_skeleton(<name> SOURCE <file.bpf.c> [DEPENDS <headers>...])
#
# produces ${CMAKE_BINARY_DIR}/bpf/<name>.bpf.o and ${CMAKE_BINARY_DIR}/bpf/<name>.skel.h
# (included as "bpf/<name>.skel.h") and a custom target <name>_skel that builds them.
# The program includes its kernel types from a committed minimal CO-RE header, so the
# build never reads the build host's kernel BTF.
#
# The object embedded in the skeleton is stripped of DWARF (`llvm-strip -g`): libbpf needs
# only the .BTF and .BTF.ext sections (CO-RE relocations, line info for verifier logs),
# which are not debug sections and stay. <name>.debug.bpf.o keeps the DWARF, for
# `llvm-objdump -S`.
include_guard(GLOBAL)

find_program(ANTIPHASE_BPF_CLANG NAMES clang clang-14 clang-15 clang-16 REQUIRED)
find_program(ANTIPHASE_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin REQUIRED)
find_program(ANTIPHASE_BPF_STRIP NAMES llvm-strip llvm-strip-14 llvm-strip-15 llvm-strip-16 REQUIRED)

# __TARGET_ARCH_* selects bpf_tracing.h's register layout for the target CPU. Cached
# (INTERNAL) because include_guard skips this file in later directories, whose scope
# would otherwise not see a plain variable.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(_bpf_arch x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(_bpf_arch arm64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "ppc64le")
  set(_bpf_arch powerpc)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "s390x")
  set(_bpf_arch s390)
else()
  message(FATAL_ERROR "BpfObject: unsupported CPU ${CMAKE_SYSTEM_PROCESSOR}")
endif()
set(ANTIPHASE_BPF_ARCH ${_bpf_arch} CACHE INTERNAL "__TARGET_ARCH_ suffix for BPF programs")

function(antiphase_add_bpf_skeleton name)
  cmake_parse_arguments(ARG "" "SOURCE" "DEPENDS" ${ARGN})
  if(NOT ARG_SOURCE)
    message(FATAL_ERROR "antiphase_add_bpf_skeleton(${name}): SOURCE is required")
  endif()
  get_filename_component(src ${ARG_SOURCE} ABSOLUTE)
  set(out_dir ${CMAKE_BINARY_DIR}/bpf)
  set(debug_obj ${out_dir}/${name}.debug.bpf.o)
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)
  set(include_flags -I${CMAKE_SOURCE_DIR})
  foreach(dir IN LISTS LIBBPF_INCLUDE_DIRS)
    list(APPEND include_flags -I${dir})
  endforeach()

  add_custom_command(
    OUTPUT ${debug_obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${ANTIPHASE_BPF_CLANG} -target bpf -O2 -g -D__TARGET_ARCH_${ANTIPHASE_BPF_ARCH}
            -Wall -Werror ${include_flags} -MD -MF ${debug_obj}.d -c ${src} -o ${debug_obj}
    DEPENDS ${src} ${ARG_DEPENDS}
    DEPFILE ${debug_obj}.d
    COMMENT "BPF: compiling ${name}.bpf.o"
    VERBATIM)

  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${ANTIPHASE_BPF_STRIP} -g ${debug_obj} -o ${obj}
    DEPENDS ${debug_obj}
    COMMENT "BPF: stripping DWARF from ${name}.bpf.o"
    VERBATIM)

  # Write to a temporary file first so a failed generation never leaves a truncated header.
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "\"$1\" gen skeleton \"$2\" name \"$3\" > \"$4.tmp\" && mv \"$4.tmp\" \"$4\""
            sh ${ANTIPHASE_BPFTOOL} ${obj} ${name} ${skel}
    DEPENDS ${obj}
    COMMENT "BPF: generating ${name}.skel.h"
    VERBATIM)

  add_custom_target(${name}_skel DEPENDS ${skel})
endfunction()
