# The library as layers: one static library per layer, each linking only the layers below it.
# The table below is the architecture (docs/architecture.md draws it). A layer's sources may
# include headers of its own layer and of the layers it depends on, directly or through
# another layer; tools/check_layers.py enforces that on every build of the layer, naming the
# file, the include and the rule it breaks, and `ctest -R arch.` runs it on the whole tree.
#
# w2s_layer(NAME DIRS dir... [DEPS layer...] [CUDA_SOURCES file...] [CUDA_ONLY])
#   DIRS          folders (relative to the project root) whose *.cpp/*.cu/*.h/*.cuh belong here
#   DEPS          the layers directly below it that it uses
#   CUDA_SOURCES  sources of DIRS compiled only with the CUDA backend
#   CUDA_ONLY     the whole layer exists only with the CUDA backend (still checked without it)

find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(W2S_LAYER_TABLE "")           # JSON objects, one per layer, for tools/check_layers.py
set(W2S_LAYER_TABLE_FILE ${PROJECT_BINARY_DIR}/layers.json)
set(W2S_LAYERS "")                # the layer targets that exist in this build

function(w2s_layer name)
  cmake_parse_arguments(L "CUDA_ONLY" "" "DIRS;DEPS;CUDA_SOURCES" ${ARGN})
  # The table entry (for the check) exists whether or not the layer is built.
  set(dirs_json "")
  set(deps_json "")
  foreach(d ${L_DIRS})
    list(APPEND dirs_json "\"${d}\"")
  endforeach()
  foreach(d ${L_DEPS})
    list(APPEND deps_json "\"${d}\"")
  endforeach()
  list(JOIN dirs_json ", " dirs_json)
  list(JOIN deps_json ", " deps_json)
  set(W2S_LAYER_TABLE "${W2S_LAYER_TABLE}${W2S_LAYER_SEP}\n  {\"name\": \"${name}\", \"dirs\": [${dirs_json}], \"deps\": [${deps_json}]}"
      PARENT_SCOPE)
  set(W2S_LAYER_SEP "," PARENT_SCOPE)
  if(L_CUDA_ONLY AND NOT W2S_HAVE_CUDA)
    return()
  endif()

  set(sources "")
  set(checked "")
  foreach(d ${L_DIRS})
    file(GLOB s CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${d}/*.cpp ${PROJECT_SOURCE_DIR}/${d}/*.cu)
    file(GLOB h CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${d}/*.h ${PROJECT_SOURCE_DIR}/${d}/*.cuh)
    list(APPEND sources ${s})
    list(APPEND checked ${s} ${h})
  endforeach()
  list(FILTER sources EXCLUDE REGEX "/src/cli/main\\.cpp$")
  if(NOT W2S_HAVE_CUDA)
    foreach(f ${L_CUDA_SOURCES})
      list(REMOVE_ITEM sources ${PROJECT_SOURCE_DIR}/${f})
    endforeach()
  endif()

  set(target w2s_${name})
  set(stamp ${PROJECT_BINARY_DIR}/layer-check/${name}.ok)
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/check_layers.py
            --table ${W2S_LAYER_TABLE_FILE} --root ${PROJECT_SOURCE_DIR} --layer ${name}
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${checked} ${PROJECT_SOURCE_DIR}/tools/check_layers.py ${W2S_LAYER_TABLE_FILE}
    COMMENT "Checking the includes of layer ${name}"
    VERBATIM)
  add_custom_target(${target}_layer_check DEPENDS ${stamp})

  add_library(${target} STATIC ${sources})
  add_dependencies(${target} ${target}_layer_check)
  target_link_libraries(${target} PUBLIC w2s_base)
  foreach(dep ${L_DEPS})
    if(TARGET w2s_${dep})
      target_link_libraries(${target} PUBLIC w2s_${dep})
    endif()
  endforeach()
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra ${W2S_ARCH_FLAGS}>)
  if(W2S_HAVE_CUDA)
    set_target_properties(${target} PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo -Xcompiler=-Wall,-Wextra>)
  endif()
  set(W2S_LAYERS ${W2S_LAYERS} ${target} PARENT_SCOPE)
endfunction()

# Written once every layer is declared (called at the end of the table).
function(w2s_write_layer_table)
  file(WRITE ${W2S_LAYER_TABLE_FILE}.new "[${W2S_LAYER_TABLE}\n]\n")
  # Only replaced when it changed, so a reconfigure does not re-run every layer's check.
  file(COPY_FILE ${W2S_LAYER_TABLE_FILE}.new ${W2S_LAYER_TABLE_FILE} ONLY_IF_DIFFERENT)
  file(REMOVE ${W2S_LAYER_TABLE_FILE}.new)
endfunction()
