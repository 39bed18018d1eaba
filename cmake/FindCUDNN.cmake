# Hints: -DCUDNN_ROOT=PREFIX or the environment variables CUDNN_ROOT, CUDNN_HOME, CUDNN_PATH,
# CUDNN_DIR (what site modules usually set), then the CUDA toolkit and system folders.
# Finds cuDNN 9 (header cudnn.h / cudnn_graph.h, library libcudnn). Sets CUDNN_FOUND and CUDNN::cudnn.
find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} $ENV{CUDNN_HOME} $ENV{CUDNN_PATH} $ENV{CUDNN_DIR} ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include /usr/include
          PATH_SUFFIXES include ${CMAKE_LIBRARY_ARCHITECTURE})
find_library(CUDNN_LIBRARY NAMES cudnn HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} $ENV{CUDNN_HOME} $ENV{CUDNN_PATH} $ENV{CUDNN_DIR} ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64 /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}
             PATH_SUFFIXES lib64 lib)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN DEFAULT_MSG CUDNN_LIBRARY CUDNN_INCLUDE_DIR)
if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION ${CUDNN_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${CUDNN_INCLUDE_DIR})
endif()
