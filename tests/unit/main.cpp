// gtest entry point for the unit suite: MPI is initialised once (single process) because some
// units build a ProcessGrid::single().
//
// gtest_discover_tests runs every case as its own process, two at a time under `ctest -j2`, all
// with one environment. Each of those MPI singletons makes and removes an Open MPI session
// directory under one shared base, and two of them starting and finishing together race on it
// (open-mpi/ompi#8510: "unable to create the desired directory ... File exists"). So unless the
// caller chose a base, this process takes a fresh one of its own and removes it at exit.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/log.h"

namespace {

// Returns the directory made for this process, or "" when the caller already set a base.
std::string use_private_ompi_session_base() {
  if (std::getenv("OMPI_MCA_orte_tmpdir_base") != nullptr) return "";
  std::string tmpl = (std::filesystem::temp_directory_path() / "w2s-unit-ompi-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return "";  // fall back to Open MPI's default base
  setenv("OMPI_MCA_orte_tmpdir_base", tmpl.c_str(), 1);
  return tmpl;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const std::string session_base = use_private_ompi_session_base();
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  w2s::set_log_quiet(true);
  int rc = RUN_ALL_TESTS();
  MPI_Finalize();
  if (!session_base.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(session_base, ignored);
  }
  return rc;
}
