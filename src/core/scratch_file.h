// Private scratch files for per-example data too large to keep in memory (a training run's
// targets over a million examples, sorted runs of ids). The file lives in $TMPDIR (else /tmp)
// and is unlinked as soon as it is created: it has no name, nothing can clobber it, and it
// vanishes when the process closes it or dies. Reads are pread()s into the caller's buffer,
// so the data sits in the page cache, not in the process's resident memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace w2s {

class ScratchFile {
 public:
  ScratchFile();  // RuntimeError naming the directory when no file can be made there
  ~ScratchFile();
  ScratchFile(ScratchFile&& o) noexcept;
  ScratchFile& operator=(ScratchFile&& o) noexcept;
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Appends `bytes` at the end; RuntimeError (disk full, ...) naming the directory.
  void append(const void* data, size_t bytes);
  // Reads [offset, offset + bytes), which must lie within what was appended.
  void read(uint64_t offset, void* out, size_t bytes) const;
  uint64_t size() const { return size_; }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string dir_;  // for error messages
};

}  // namespace w2s
