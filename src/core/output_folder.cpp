#include "core/output_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/strings.h"

namespace w2s {
namespace fs = std::filesystem;

namespace {

std::string host_name() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "unknown-host";
  return host;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The holder's record, one line: "pid P on host H since T: CMD" (what the lock file says).
std::string read_holder(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n;
  off_t at = 0;
  while ((n = ::pread(fd, buf, sizeof(buf), at)) > 0 && text.size() < 65536) {
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text.empty() ? "a process that has not yet written its record" : text;
}

void write_record(int fd, const std::string& command) {
  std::string record = strfmt("pid %ld on host %s since %s: %s\n", static_cast<long>(::getpid()),
                              host_name().c_str(), utc_now().c_str(), command.c_str());
  // The record only feeds messages: failing to write it must not stop the run.
  if (::ftruncate(fd, 0) != 0) return;
  [[maybe_unused]] ssize_t written = ::pwrite(fd, record.data(), record.size(), 0);
}

bool lock_unsupported(int err) { return err == ENOLCK || err == EOPNOTSUPP || err == EINVAL || err == ENOSYS; }

// Opens and flocks PATH: the descriptor, or -1 where the file system has no locks. UsageError
// naming the holder when a live process has it.
int lock_file(const std::string& dir, const std::string& path) {
  // O_CLOEXEC: a child process must not inherit (and so prolong) the lock.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeError(strfmt("cannot create the lock file %s: %s", path.c_str(), std::strerror(errno)));
  // flock, not fcntl: fcntl locks belong to the process, so a second lock of the same folder in
  // one process (w2s pipeline runs its stages in-process) would silently succeed, and closing
  // any descriptor of the file would drop them.
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EWOULDBLOCK) {
      std::string holder = read_holder(fd);
      ::close(fd);
      throw UsageError(strfmt("%s is in use by another w2s run (%s); wait for it to end or use another folder "
                              "(lock file %s)", dir.c_str(), holder.c_str(), path.c_str()));
    }
    ::close(fd);
    if (lock_unsupported(err)) {
      log_warn(strfmt("cannot lock %s (%s): the file system has no locks, so a second run on this folder "
                      "would not be detected", path.c_str(), std::strerror(err)));
      return -1;
    }
    throw RuntimeError(strfmt("cannot lock %s: %s", path.c_str(), std::strerror(err)));
  }
  return fd;
}

}  // namespace

OutputLock::~OutputLock() { release(); }

OutputLock& OutputLock::operator=(OutputLock&& o) noexcept {
  if (this != &o) {
    release();
    take(o);
  }
  return *this;
}

void OutputLock::take(OutputLock& o) noexcept {
  fd_ = o.fd_;
  path_ = std::move(o.path_);
  created_dir_ = std::move(o.created_dir_);
  o.fd_ = -1;
}

// The name goes first, then the lock: a run that opened the old file meanwhile finds, once it
// has the lock, that the name no longer leads to that file, and starts over (acquire).
void OutputLock::release() noexcept {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
  if (!created_dir_.empty()) ::rmdir(created_dir_.c_str());  // only if still empty
}

OutputLock OutputLock::acquire(const std::string& dir, const std::string& command) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  make_dirs(dir);
  const std::string path = dir + "/" + kOutputLockName;
  for (;;) {
    int fd = lock_file(dir, path);
    if (fd < 0) return OutputLock();  // no locks on this file system (warned)
    struct stat held{}, named{};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      write_record(fd, command);
      OutputLock lock;
      lock.fd_ = fd;
      lock.path_ = path;
      if (!existed) lock.created_dir_ = dir;
      return lock;
    }
    ::close(fd);  // locked a file its holder had just removed: take the current one
  }
}

bool same_file(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    bool same = fs::equivalent(a, b, ec);
    if (!ec) return same;
  }
  fs::path ca = fs::weakly_canonical(fs::absolute(a, ec), ec);
  fs::path cb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return ca == cb;
}

void require_outputs_not_inputs(const std::vector<NamedPath>& outputs, const std::vector<NamedPath>& inputs) {
  for (const auto& [out_opt, out] : outputs)
    for (const auto& [in_opt, in] : inputs)
      if (same_file(out, in))
        throw UsageError(strfmt("%s %s is the same file as %s %s: an output must not overwrite an input",
                                out_opt.c_str(), out.c_str(), in_opt.c_str(), in.c_str()));
}

}  // namespace w2s
