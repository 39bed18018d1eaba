// gtest entry point for the unit suite: MPI is initialised once (single process) because some
// units build a ProcessGrid::single().
#include <gtest/gtest.h>
#include <mpi.h>

#include "core/log.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  w2s::set_log_quiet(true);
  int rc = RUN_ALL_TESTS();
  MPI_Finalize();
  return rc;
}
