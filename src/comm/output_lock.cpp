#include "comm/output_lock.h"

#include <exception>

#include "core/error.h"

namespace w2s {

OutputLock lock_output_folder(const std::string& dir, const std::string& command,
                              const std::function<void()>& check_on_root, MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  OutputLock lock;
  int code = 0;
  std::string message;
  if (rank == 0) {
    try {
      lock = OutputLock::acquire(dir, command);
      if (check_on_root) check_on_root();
    } catch (const Error& e) {
      code = static_cast<int>(e.code());
      message = e.what();
    } catch (const std::exception& e) {
      code = static_cast<int>(ExitCode::Runtime);
      message = e.what();
    }
  }
  if (size > 1) {
    int length = static_cast<int>(message.size());
    int header[2] = {code, length};
    MPI_Bcast(header, 2, MPI_INT, 0, comm);
    code = header[0];
    message.resize(static_cast<size_t>(header[1]));
    if (header[1] > 0) MPI_Bcast(message.data(), header[1], MPI_CHAR, 0, comm);
  }
  if (code != 0) throw Error(static_cast<ExitCode>(code), message);
  return lock;
}

}  // namespace w2s
