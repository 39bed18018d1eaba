// A thin RAII wrapper over HDF5's C API (serial HDF5; each rank writes its own files).
// Every error names the file and the object, so a user reading "train_a.h5: dataset
// '/lengths' missing" knows what to fix. Every file w2s writes carries two root attributes:
// `w2s_kind` (what the file is) and `w2s_schema` (its schema version); readers refuse others.
// Every file's schema: docs/formats.md.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace w2s::h5 {

constexpr int64_t kSchemaVersion = 1;

using Shape = std::vector<hsize_t>;

// Owns one HDF5 identifier and closes it with the right H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();
  hid_t release() {
    hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
};

class File {
 public:
  // Creates (truncates) a file for writing. Pair with AtomicOutput for atomic writes.
  static File create(const std::string& path);
  // Opens an existing file; DataError naming the file if missing or not HDF5.
  static File open_read(const std::string& path);
  static File open_rw(const std::string& path);

  const std::string& path() const { return path_; }
  void flush();
  void close();

  bool exists(const std::string& name) const;  // dataset or group (nested paths fine)
  void create_group(const std::string& name);  // creates intermediate groups too
  std::vector<std::string> list(const std::string& group) const;  // member names
  Shape shape(const std::string& dataset) const;

  // Whole-dataset writes/reads. T: float, double, int32_t, int64_t, uint8_t.
  template <class T>
  void write(const std::string& name, const Shape& shape, const T* data);
  template <class T>
  void write(const std::string& name, const std::vector<T>& data) {
    write<T>(name, Shape{data.size()}, data.data());
  }
  template <class T>
  std::vector<T> read(const std::string& name) const;
  // Rows [row0, row0 + nrows) along dimension 0 into out (nrows * row size elements).
  template <class T>
  void read_rows(const std::string& name, hsize_t row0, hsize_t nrows, T* out) const;
  // The rows listed (any order; out gets them in that order) in one read: for narrow
  // per-example columns, where a random batch would otherwise cost one read per example.
  template <class T>
  void read_row_set(const std::string& name, const std::vector<hsize_t>& rows, T* out) const;

  // Streaming writes: an extendable, chunked dataset grown by append_rows.
  template <class T>
  void create_extendable(const std::string& name, const Shape& row_shape, hsize_t chunk_rows);
  template <class T>
  void append_rows(const std::string& name, const T* data, hsize_t nrows);

  // Attributes on an object ("/" for the root).
  void set_attr(const std::string& obj, const std::string& key, const std::string& value);
  void set_attr(const std::string& obj, const std::string& key, int64_t value);
  void set_attr(const std::string& obj, const std::string& key, double value);
  bool has_attr(const std::string& obj, const std::string& key) const;
  std::string attr_string(const std::string& obj, const std::string& key) const;
  int64_t attr_int(const std::string& obj, const std::string& key) const;
  double attr_double(const std::string& obj, const std::string& key) const;

  // Stamps w2s_kind / w2s_schema / w2s_version on the root.
  void stamp(const std::string& kind);
  // Refuses a file whose w2s_kind differs or whose schema is newer than this build reads.
  void require_kind(const std::string& kind) const;

 private:
  File(std::string path, hid_t id) : path_(std::move(path)), file_(id) {}
  Handle open_object(const std::string& name) const;
  Handle open_dataset_checked(const std::string& name, hid_t expected_class) const;
  std::string where(const std::string& name) const;
  void close_written(Handle& dataset, const std::string& name);  // RuntimeError with the OS reason

  std::string path_;
  Handle file_;
};

}  // namespace w2s::h5
