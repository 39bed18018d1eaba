// Atomic outputs: every file w2s writes is written under a temporary name beside its final
// path and renamed into place only when complete. A crash, a kill or an exception therefore
// leaves either the previous complete file or nothing — never a half-written one.
#pragma once
#include <string>

namespace w2s {

class AtomicOutput {
 public:
  explicit AtomicOutput(std::string final_path);
  ~AtomicOutput();  // removes the temporary file unless commit() ran
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& final_path() const { return final_; }
  // fsyncs the temporary file, renames it over the final path and fsyncs the directory.
  void commit();

 private:
  std::string final_;
  std::string temp_;
  bool committed_ = false;
};

// Writes a whole text file atomically.
void write_text_atomic(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);  // DataError naming the file if unreadable
bool file_exists(const std::string& path);
void make_dirs(const std::string& path);  // mkdir -p; RuntimeError naming the path on failure
// Removes the temporaries a killed w2s writer on this host left in a folder (AtomicOutput
// names them FINAL.tmp.w2s.PID@HOST); never a file of another name, host or live process.
// Returns how many it removed.
int remove_stale_temps(const std::string& dir);

}  // namespace w2s
