// Errors with an exit code category, so every command fails with a one-line reason and a
// predictable status: 1 usage/config, 2 input data, 3 runtime, 75 stopped by a preemption signal
// after a checkpoint (EX_TEMPFAIL: Slurm requeues, a re-run resumes).
#pragma once
#include <stdexcept>
#include <string>

namespace w2s {

enum class ExitCode : int { Ok = 0, Usage = 1, Data = 2, Runtime = 3, Preempted = 75 };

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Bad command line or configuration (unknown key, missing option, shape that does not divide).
inline Error UsageError(const std::string& message) { return Error(ExitCode::Usage, message); }

// Bad input data; the message always starts with the file (and line, where there is one).
inline Error DataError(const std::string& file, const std::string& message) {
  return Error(ExitCode::Data, file + ": " + message);
}

// Anything that goes wrong while running (non-finite loss, failed collective, I/O failure).
inline Error RuntimeError(const std::string& message) { return Error(ExitCode::Runtime, message); }

// Throws a runtime error naming the broken invariant; for checks that should never fire.
#define W2S_CHECK(cond, msg)                                                             \
  do {                                                                                   \
    if (!(cond)) throw ::w2s::RuntimeError(std::string("internal check failed: ") + (msg) + \
                                           " (" #cond ", " __FILE__ ")");                \
  } while (0)

}  // namespace w2s
