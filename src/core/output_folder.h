// Ownership of an output folder. A command that writes a folder (train/pretrain --run-dir,
// label --out-dir, pipeline's root) holds an advisory lock on FOLDER/.w2s.lock for its whole
// life: flock(2) on an open descriptor, which the kernel drops when the process exits or dies,
// so a crash never leaves a stale lock to clean up by hand (the file may stay; it is free). The
// file records who holds it (pid, host, start time, command line), so a second run on the folder
// can say whom it waits for. A normal release removes the file, and the folder if the lock
// created it and it is still empty (a refused run leaves nothing behind).
// Also here: the check that an output is not one of the command's own inputs.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace w2s {

class OutputLock {
 public:
  OutputLock() = default;  // holds nothing (ranks other than 0, or a file system without locks)
  ~OutputLock();
  OutputLock(OutputLock&& o) noexcept { take(o); }
  OutputLock& operator=(OutputLock&& o) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  // Creates DIR if needed and locks it for `command` (recorded in the lock file). When another
  // live process holds it: UsageError "DIR is in use by ... (pid P on host H since T: CMD)".
  // Where the file system cannot lock (some network mounts), warns and returns an empty lock.
  static OutputLock acquire(const std::string& dir, const std::string& command);
  bool held() const { return fd_ >= 0; }

 private:
  void take(OutputLock& o) noexcept;
  void release() noexcept;
  int fd_ = -1;
  std::string path_;          // the lock file
  std::string created_dir_;   // the folder, when acquire() created it
};

constexpr const char* kOutputLockName = ".w2s.lock";

// True when both paths name the same file: the same inode where both exist, else the same
// path after resolving ".", ".." and symbolic links.
bool same_file(const std::string& a, const std::string& b);

// An output path with the option that named it ("--out", "predictions.h5 in --run-dir", ...).
using NamedPath = std::pair<std::string, std::string>;  // {option, path}
// UsageError "--out X is the same file as --model Y ..." when an output is one of the inputs.
// Empty paths are ignored.
void require_outputs_not_inputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs);

}  // namespace w2s
