# Hints: -DNCCL_ROOT=PREFIX or the environment variables NCCL_ROOT, NCCL_HOME, NCCL_PATH,
# NCCL_DIR (what site modules usually set), then the CUDA toolkit and system folders.
# Finds NCCL (nccl.h, libnccl). Sets NCCL_FOUND and NCCL::nccl.
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} $ENV{NCCL_HOME} $ENV{NCCL_PATH} $ENV{NCCL_DIR} ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include /usr/include
          PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} $ENV{NCCL_HOME} $ENV{NCCL_PATH} $ENV{NCCL_DIR} ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64 /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}
             PATH_SUFFIXES lib64 lib)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NCCL DEFAULT_MSG NCCL_LIBRARY NCCL_INCLUDE_DIR)
if(NCCL_FOUND AND NOT TARGET NCCL::nccl)
  add_library(NCCL::nccl UNKNOWN IMPORTED)
  set_target_properties(NCCL::nccl PROPERTIES IMPORTED_LOCATION ${NCCL_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${NCCL_INCLUDE_DIR})
endif()
