# The CUDA backend: kernels/*.cu (device code) and src/ops/cuda/*.cpp (host side), built into
# w2s_cuda and linked into w2s_lib users. Included only when W2S_HAVE_CUDA.
enable_language(CUDA)
if(NOT CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "52")
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
file(GLOB W2S_CUDA_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/kernels/*.cu ${PROJECT_SOURCE_DIR}/src/ops/cuda/*.cpp)
if(W2S_CUDA_SOURCES)
  add_library(w2s_cuda STATIC ${W2S_CUDA_SOURCES})
  target_include_directories(w2s_cuda PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/kernels)
  set_target_properties(w2s_cuda PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_compile_definitions(w2s_cuda PRIVATE OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
  target_compile_options(w2s_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo -Xcompiler=-Wall,-Wextra>
                         $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)
  target_link_libraries(w2s_cuda PUBLIC CUDA::cudart CUDA::cublasLt CUDNN::cudnn NCCL::nccl MPI::MPI_C
                        nlohmann_json::nlohmann_json hdf5::hdf5)
  target_link_libraries(w2s_lib PUBLIC w2s_cuda)
  target_compile_definitions(w2s_lib PUBLIC W2S_HAVE_CUDA=1)
endif()
