// Shared helpers for the fuzz targets (tests/fuzz/fuzz_*.cpp). Each target defines
// LLVMFuzzerTestOneInput; it is linked either with libFuzzer (W2S_FUZZ=ON, clang) or with
// replay_main.cpp, which runs the committed corpus once (every build, label `fuzz`).
//
// The rule every target enforces: outside input may be refused only with a w2s::Error (the
// one-line, exit-code-carrying error every command prints). Any other exception escapes the
// target and libFuzzer reports it as a crash, as it does sanitizer reports and aborts.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "core/error.h"

namespace w2s::fuzz {

// A private scratch folder (tmpfs when there is one: every input is written as a file, because
// the parsers under test read files), removed when the process exits normally.
// The name is never freed: the exit-time cleanup runs after static destructors would have.
inline const std::string& scratch_dir() {
  static const std::string& dir = *new std::string([] {
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string d = base + "/w2s-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }());
  return dir;
}

inline std::string scratch_path(const std::string& name) { return scratch_dir() + "/" + name; }

inline void write_file(const std::string& path, const void* data, size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!f) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// Consumes bytes from the front of the input (structure-aware targets); returns 0 when empty.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t byte() { return n_ ? (--n_, *p_++) : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | byte();
    return v;
  }
  // Up to max bytes as a string.
  std::string str(size_t max) {
    size_t len = std::min<size_t>(byte() % (max + 1), n_);
    std::string s(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }
  std::string_view rest() const { return {reinterpret_cast<const char*>(p_), n_}; }
  size_t left() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// Runs f; a w2s::Error is an accepted refusal (returns false), anything else propagates.
template <class F>
bool accepts(F&& f) {
  try {
    f();
    return true;
  } catch (const w2s::Error&) {
    return false;
  }
}

}  // namespace w2s::fuzz
