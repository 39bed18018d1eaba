#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace w2s {
namespace fs = std::filesystem;

namespace {
// 0, or the errno of a failed fsync (a network file system may report a full disk only here).
int fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return 0;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

constexpr const char* kTempMarker = ".tmp.w2s.";

std::string this_host() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "unknown-host";
  return host;
}

// ".tmp.w2s.PID@HOST": the writer's identity is in the name, so a cleanup can tell whose it is.
std::string temp_suffix_of_this_process() {
  return kTempMarker + std::to_string(::getpid()) + "@" + this_host();
}

struct TempWriter {
  long pid = 0;
  std::string host;
};

// The writer recorded in a temporary's name; false for any name w2s did not make.
bool parse_temp_name(const std::string& name, TempWriter& writer) {
  size_t at = name.rfind(kTempMarker);
  if (at == std::string::npos || at == 0) return false;
  std::string rest = name.substr(at + std::strlen(kTempMarker));
  size_t sep = rest.find('@');
  if (sep == 0 || sep > 10 || sep == std::string::npos || sep + 1 == rest.size()) return false;
  for (size_t i = 0; i < sep; ++i)
    if (rest[i] < '0' || rest[i] > '9') return false;
  writer.pid = std::stol(rest.substr(0, sep));
  writer.host = rest.substr(sep + 1);
  return writer.pid > 0 && writer.host.find('/') == std::string::npos;
}

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }
}  // namespace

AtomicOutput::AtomicOutput(std::string final_path)
    : final_(std::move(final_path)), temp_(final_ + temp_suffix_of_this_process()) {
  fs::path parent = fs::path(final_).parent_path();
  if (!parent.empty()) make_dirs(parent.string());
  std::error_code ec;
  fs::remove(temp_, ec);
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicOutput::commit() {
  if (int err = fsync_path(temp_, false); err != 0 && err != EINVAL)
    throw RuntimeError("cannot write " + temp_ + ": " + std::strerror(err));
  if (std::rename(temp_.c_str(), final_.c_str()) != 0)
    throw RuntimeError("cannot rename " + temp_ + " to " + final_ + ": " + std::strerror(errno));
  committed_ = true;
  fs::path parent = fs::path(final_).parent_path();
  fsync_path(parent.empty() ? "." : parent.string(), true);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicOutput out(path);
  {
    errno = 0;
    std::ofstream f(out.temp_path(), std::ios::binary);
    if (!f) throw RuntimeError("cannot write " + out.temp_path() + ": " + std::strerror(errno ? errno : EIO));
    f << text;
    f.close();  // a full disk may show only when the buffer is written out here
    if (!f) throw RuntimeError("cannot write " + out.temp_path() + ": " + std::strerror(errno ? errno : EIO));
  }
  out.commit();
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw DataError(path, "cannot open file");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw RuntimeError("cannot create directory " + path + ": " + ec.message());
}

// A temporary is removed only when w2s can prove it is a dead writer's: its name has the form
// AtomicOutput gives (".tmp.w2s.PID@HOST"), HOST is this host, and PID is no live process (or is
// this process, which calls this before writing there). Anything else stays: a user's file that
// merely contains ".tmp.", or a temporary of another host, whose writer may be alive (two runs
// on one folder are kept apart by its lock, but `w2s eval` does not lock the folder it writes).
int remove_stale_temps(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  const std::string host = this_host();
  const long me = static_cast<long>(::getpid());
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    TempWriter writer;
    if (!entry.is_regular_file(ec) || !parse_temp_name(entry.path().filename().string(), writer)) continue;
    if (writer.host != host || (writer.pid != me && process_alive(writer.pid))) continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace w2s
