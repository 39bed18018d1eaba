# Chooses the BLAS and its CBLAS header; defines the target w2s_blas.
#   W2S_BLAS=AUTO      Debian's OpenMP build of OpenBLAS if present (it runs single-threaded
#                      inside w2s's own OpenMP regions and uses the same thread pool outside, so
#                      BLAS and w2s's loops do not fight over cores), else FindBLAS's choice.
#   W2S_BLAS=<vendor>  FindBLAS with BLA_VENDOR=<vendor>: OpenBLAS, Intel10_64lp (MKL, threaded),
#                      Intel10_64lp_seq, FlexiBLAS, Generic, ... Prefixes from BLAS_ROOT, MKLROOT
#                      or CMAKE_PREFIX_PATH (e.g. a module's $OPENBLAS_ROOT).
# MKL's CBLAS header is mkl_cblas.h: W2S_BLAS_MKL tells src/ops/cpu/blas.h to include it.
set(W2S_BLAS "AUTO" CACHE STRING "BLAS: AUTO, or a FindBLAS vendor (OpenBLAS, Intel10_64lp, FlexiBLAS, Generic, ...)")
add_library(w2s_blas INTERFACE)

set(W2S_OPENBLAS_OPENMP_DIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp)
if(W2S_BLAS STREQUAL "AUTO" AND CMAKE_LIBRARY_ARCHITECTURE)
  find_library(W2S_OPENBLAS_OPENMP_LIB openblas PATHS ${W2S_OPENBLAS_OPENMP_DIR} NO_DEFAULT_PATH)
  find_path(W2S_OPENBLAS_OPENMP_INC cblas.h PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
            NO_DEFAULT_PATH)
endif()

if(W2S_OPENBLAS_OPENMP_LIB AND W2S_OPENBLAS_OPENMP_INC)
  target_link_libraries(w2s_blas INTERFACE ${W2S_OPENBLAS_OPENMP_LIB})
  target_include_directories(w2s_blas INTERFACE ${W2S_OPENBLAS_OPENMP_INC})
  set(CMAKE_INSTALL_RPATH ${W2S_OPENBLAS_OPENMP_DIR})
  set(CMAKE_BUILD_RPATH ${W2S_OPENBLAS_OPENMP_DIR})
  message(STATUS "w2s: BLAS = OpenBLAS (OpenMP build) ${W2S_OPENBLAS_OPENMP_LIB}")
  return()
endif()

if(NOT W2S_BLAS STREQUAL "AUTO")
  set(BLA_VENDOR ${W2S_BLAS})
endif()
find_package(BLAS REQUIRED)
target_link_libraries(w2s_blas INTERFACE BLAS::BLAS)
if(W2S_BLAS MATCHES "^Intel" OR BLAS_LIBRARIES MATCHES "mkl")
  find_path(W2S_CBLAS_INCLUDE mkl_cblas.h HINTS ${MKLROOT} $ENV{MKLROOT} PATH_SUFFIXES include REQUIRED)
  target_compile_definitions(w2s_blas INTERFACE W2S_BLAS_MKL=1)
else()
  # OpenBLAS modules put cblas.h under include/ or include/openblas/.
  set(hints ${BLAS_ROOT} $ENV{BLAS_ROOT} ${OpenBLAS_ROOT} $ENV{OpenBLAS_ROOT} $ENV{OPENBLAS_ROOT})
  foreach(lib ${BLAS_LIBRARIES})
    get_filename_component(dir ${lib} DIRECTORY)
    list(APPEND hints ${dir}/..)
  endforeach()
  find_path(W2S_CBLAS_INCLUDE cblas.h HINTS ${hints} PATH_SUFFIXES include include/openblas openblas REQUIRED)
endif()
target_include_directories(w2s_blas INTERFACE ${W2S_CBLAS_INCLUDE})
message(STATUS "w2s: BLAS = ${W2S_BLAS}: ${BLAS_LIBRARIES} (CBLAS header in ${W2S_CBLAS_INCLUDE})")
