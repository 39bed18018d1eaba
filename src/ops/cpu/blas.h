// The CBLAS interface of whichever BLAS the build chose (cmake/w2s_blas.cmake): MKL names its
// header mkl_cblas.h, every other BLAS cblas.h.
#pragma once
#ifdef W2S_BLAS_MKL
#include <mkl_cblas.h>
#else
#include <cblas.h>
#endif
