#include "core/scratch_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/strings.h"

namespace w2s {

ScratchFile::ScratchFile() {
  const char* tmp = std::getenv("TMPDIR");
  dir_ = tmp && *tmp ? tmp : "/tmp";
  std::string templ = dir_ + "/w2s-scratch.XXXXXX";
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0)
    throw RuntimeError(strfmt("cannot create a scratch file in %s (set TMPDIR to a writable folder): %s",
                              dir_.c_str(), std::strerror(errno)));
  ::unlink(name.data());  // nameless from here on: removed by the kernel when closed
}

ScratchFile::~ScratchFile() {
  if (fd_ >= 0) ::close(fd_);
}

ScratchFile::ScratchFile(ScratchFile&& o) noexcept : fd_(o.fd_), size_(o.size_), dir_(std::move(o.dir_)) {
  o.fd_ = -1;
}

ScratchFile& ScratchFile::operator=(ScratchFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    size_ = o.size_;
    dir_ = std::move(o.dir_);
    o.fd_ = -1;
  }
  return *this;
}

void ScratchFile::append(const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(size_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw RuntimeError(strfmt("cannot write a scratch file in %s (disk full? set TMPDIR elsewhere): %s",
                                dir_.c_str(), n < 0 ? std::strerror(errno) : "no progress"));
    p += n;
    bytes -= static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
}

void ScratchFile::read(uint64_t offset, void* out, size_t bytes) const {
  if (offset + bytes > size_)
    throw RuntimeError(strfmt("scratch file read [%llu, %llu) past its end %llu", static_cast<unsigned long long>(offset),
                              static_cast<unsigned long long>(offset + bytes), static_cast<unsigned long long>(size_)));
  char* p = static_cast<char*>(out);
  while (bytes > 0) {
    ssize_t n = ::pread(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw RuntimeError(strfmt("cannot read a scratch file in %s: %s", dir_.c_str(),
                                n < 0 ? std::strerror(errno) : "unexpected end"));
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
}

}  // namespace w2s
