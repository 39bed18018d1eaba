# The CUDA language for the backend's layers (kernels/*.cu, src/ops/cuda, and the CUDA sources
# of comm, model and optim; see cmake/w2s_layers.cmake). Included only when W2S_HAVE_CUDA.
enable_language(CUDA)
if(NOT CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "52")
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
