#include "io/h5.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "core/error.h"

namespace w2s::h5 {
namespace {

// Set when an HDF5 close failed (a full disk): HDF5 then keeps the object's id, half torn
// down, and its own shutdown at exit (H5close) crashes on it. The process is about to exit
// with its one-line error, so the library is left as it is; otherwise it shuts down as usual.
bool g_close_failed = false;

void close_library_at_exit() {
  if (!g_close_failed) H5close();
}

// HDF5 prints error stacks to stderr by default; w2s reports its own one-line errors.
struct SetUpHdf5 {
  SetUpHdf5() {
    // Must precede the library's initialisation (any other H5 call) to take effect.
    if (H5dont_atexit() >= 0) std::atexit(close_library_at_exit);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
};
const SetUpHdf5 g_setup;

template <class T>
hid_t native_type();
template <>
hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <>
hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <>
hid_t native_type<int32_t>() { return H5T_NATIVE_INT32; }
template <>
hid_t native_type<int64_t>() { return H5T_NATIVE_INT64; }
template <>
hid_t native_type<uint8_t>() { return H5T_NATIVE_UINT8; }

template <class T>
H5T_class_t type_class() {
  return std::is_floating_point_v<T> ? H5T_FLOAT : H5T_INTEGER;
}

hsize_t product(const Shape& s) {
  return std::accumulate(s.begin(), s.end(), hsize_t{1}, std::multiplies<hsize_t>());
}

// The operating system's reason for the HDF5 call that just failed ("No space left on device"):
// the file driver records errno in its message on the error stack, which the next HDF5 call
// clears, so this must run right after the failure. Falls back to errno as it was then.
herr_t find_os_error(unsigned, const H5E_error2_t* e, void* out) {
  const char* at = e->desc ? std::strstr(e->desc, "errno = ") : nullptr;
  if (!at) return 0;
  int code = std::atoi(at + std::strlen("errno = "));
  if (code <= 0) return 0;
  *static_cast<int*>(out) = code;
  return 1;  // stop at the first (innermost) one
}

std::string os_error_of_failure(int errno_then) {
  int code = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_os_error, &code);
  if (code == 0) code = errno_then;
  return code > 0 ? std::string(": ") + std::strerror(code) : std::string();
}

// A failed write, flush or close: exit 3 with the file, the step and the system's reason.
Error write_error(const std::string& what, int errno_then) {
  return RuntimeError(what + os_error_of_failure(errno_then));
}

std::string dims_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ < 0) return;
  herr_t closed = 0;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: closed = H5Fclose(id_); break;
    case H5I_GROUP: closed = H5Gclose(id_); break;
    case H5I_DATASET: closed = H5Dclose(id_); break;
    case H5I_DATASPACE: closed = H5Sclose(id_); break;
    case H5I_DATATYPE: closed = H5Tclose(id_); break;
    case H5I_ATTR: closed = H5Aclose(id_); break;
    case H5I_GENPROP_LST: closed = H5Pclose(id_); break;
    default: break;
  }
  // A destructor cannot report it (an error is usually on its way already): just remember it.
  if (closed < 0) g_close_failed = true;
  id_ = -1;
}

File File::create(const std::string& path) {
  errno = 0;
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw write_error(path + ": cannot create HDF5 file", errno);
  return File(path, id);
}

File File::open_read(const std::string& path) {
  FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) throw DataError(path, "file not found or unreadable");
  std::fclose(probe);
  if (H5Fis_hdf5(path.c_str()) <= 0) throw DataError(path, "not an HDF5 file (or truncated)");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw DataError(path, "cannot open HDF5 file (truncated or corrupt?)");
  return File(path, id);
}

File File::open_rw(const std::string& path) {
  if (H5Fis_hdf5(path.c_str()) <= 0) throw DataError(path, "not an HDF5 file (or truncated)");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (id < 0) throw DataError(path, "cannot open HDF5 file for writing");
  return File(path, id);
}

void File::flush() {
  errno = 0;
  if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) throw write_error(path_ + ": cannot write HDF5 file", errno);
}

void File::close() {
  if (!file_.valid()) return;
  // Everything cached is written here: a full disk usually shows up at this call.
  errno = 0;
  if (H5Fclose(file_.release()) < 0) {
    g_close_failed = true;
    throw write_error(path_ + ": cannot write HDF5 file (close failed)", errno);
  }
}

std::string File::where(const std::string& name) const { return path_ + ": '" + name + "'"; }

// Closing a dataset writes its cached chunks: a failure there is a failed write, not noise.
void File::close_written(Handle& dataset, const std::string& name) {
  errno = 0;
  if (H5Dclose(dataset.release()) < 0) {
    g_close_failed = true;
    throw write_error(where(name) + ": write failed", errno);
  }
}

bool File::exists(const std::string& name) const {
  if (name == "/" || name.empty()) return true;
  // Check every prefix: H5Lexists fails on a path whose parent is missing.
  std::string prefix;
  size_t start = name[0] == '/' ? 1 : 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string part = name.substr(0, slash == std::string::npos ? name.size() : slash);
    if (H5Lexists(file_.get(), part.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

void File::create_group(const std::string& name) {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE));
  H5Pset_obj_track_times(gcpl.get(), 0);
  Handle g(H5Gcreate2(file_.get(), name.c_str(), lcpl.get(), gcpl.get(), H5P_DEFAULT));
  if (!g.valid()) throw RuntimeError(where(name) + ": cannot create group");
}

std::vector<std::string> File::list(const std::string& group) const {
  Handle g(H5Gopen2(file_.get(), group.c_str(), H5P_DEFAULT));
  if (!g.valid()) throw DataError(path_, "group '" + group + "' missing");
  H5G_info_t info;
  H5Gget_info(g.get(), &info);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t n = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    std::string name(static_cast<size_t>(n), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), n + 1, H5P_DEFAULT);
    names.push_back(name);
  }
  return names;
}

Handle File::open_object(const std::string& name) const {
  if (!exists(name)) throw DataError(path_, "'" + name + "' missing");
  Handle h(H5Oopen(file_.get(), name.c_str(), H5P_DEFAULT));
  if (!h.valid()) throw DataError(path_, "cannot open '" + name + "'");
  return h;
}

Handle File::open_dataset_checked(const std::string& name, hid_t expected_class) const {
  if (!exists(name)) throw DataError(path_, "dataset '" + name + "' missing");
  Handle d(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT));
  if (!d.valid()) throw DataError(path_, "'" + name + "' is not a readable dataset");
  Handle t(H5Dget_type(d.get()));
  if (H5Tget_class(t.get()) != expected_class)
    throw DataError(path_, "dataset '" + name + "' has the wrong element type (expected " +
                               (expected_class == H5T_FLOAT ? "float" : "integer") + ")");
  return d;
}

Shape File::shape(const std::string& dataset) const {
  if (!exists(dataset)) throw DataError(path_, "dataset '" + dataset + "' missing");
  Handle d(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT));
  if (!d.valid()) throw DataError(path_, "'" + dataset + "' is not a dataset");
  Handle s(H5Dget_space(d.get()));
  int rank = H5Sget_simple_extent_ndims(s.get());
  if (rank < 0) throw DataError(path_, "dataset '" + dataset + "' has an unreadable shape");
  Shape dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(s.get(), dims.data(), nullptr);
  return dims;
}

template <class T>
void File::write(const std::string& name, const Shape& shape, const T* data) {
  size_t slash = name.rfind('/');
  if (slash != std::string::npos && slash > 0 && !exists(name.substr(0, slash)))
    create_group(name.substr(0, slash));
  Handle space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr));
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  // No modification times: the same content gives the same bytes (and the same sha256).
  H5Pset_obj_track_times(dcpl.get(), 0);
  hsize_t n = product(shape);
  if (n > 0 && !shape.empty()) {
    // Chunk along rows (~1 MiB per chunk) so readers can stream rows without reading it all.
    Shape chunk = shape;
    hsize_t row = n / shape[0];
    hsize_t rows = std::max<hsize_t>(1, std::min<hsize_t>(shape[0], (1u << 20) / sizeof(T) / std::max<hsize_t>(row, 1)));
    chunk[0] = rows;
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  }
  Handle d(H5Dcreate2(file_.get(), name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, dcpl.get(),
                      H5P_DEFAULT));
  if (!d.valid()) throw RuntimeError(where(name) + ": cannot create dataset");
  errno = 0;
  if (n > 0 && H5Dwrite(d.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw write_error(where(name) + ": write failed", errno);
  close_written(d, name);
}

template <class T>
std::vector<T> File::read(const std::string& name) const {
  Handle d = open_dataset_checked(name, type_class<T>());
  Shape dims = shape(name);
  std::vector<T> out(product(dims));
  if (!out.empty() && H5Dread(d.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw DataError(path_, "cannot read dataset '" + name + "' (truncated or corrupt?)");
  return out;
}

template <class T>
void File::read_rows(const std::string& name, hsize_t row0, hsize_t nrows, T* out) const {
  Handle d = open_dataset_checked(name, type_class<T>());
  Shape dims = shape(name);
  if (dims.empty() || row0 + nrows > dims[0])
    throw DataError(path_, "rows [" + std::to_string(row0) + ", " + std::to_string(row0 + nrows) +
                               ") out of range for '" + name + "' of shape " + dims_str(dims));
  if (nrows == 0) return;
  Handle fspace(H5Dget_space(d.get()));
  Shape start(dims.size(), 0), count = dims;
  start[0] = row0;
  count[0] = nrows;
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
  if (H5Dread(d.get(), native_type<T>(), mspace.get(), fspace.get(), H5P_DEFAULT, out) < 0)
    throw DataError(path_, "cannot read rows of '" + name + "' (truncated or corrupt?)");
}

template <class T>
void File::read_row_set(const std::string& name, const std::vector<hsize_t>& rows, T* out) const {
  if (rows.empty()) return;
  Handle d = open_dataset_checked(name, type_class<T>());
  Shape dims = shape(name);
  for (hsize_t r : rows)
    if (dims.empty() || r >= dims[0])
      throw DataError(path_, "row " + std::to_string(r) + " out of range for '" + name + "' of shape " + dims_str(dims));
  // A point selection lists every element's coordinates: row, then its position in the row.
  const size_t rank = dims.size();
  const hsize_t row_elems = product(Shape(dims.begin() + 1, dims.end()));
  std::vector<hsize_t> coords;
  coords.reserve(rows.size() * row_elems * rank);
  for (hsize_t r : rows)
    for (hsize_t e = 0; e < row_elems; ++e) {
      coords.push_back(r);
      size_t at = coords.size();
      coords.resize(at + rank - 1);
      for (size_t k = rank - 1, rest = e; k >= 1; --k) {
        coords[at + k - 1] = rest % dims[k];
        rest /= dims[k];
      }
    }
  const hsize_t points = static_cast<hsize_t>(rows.size()) * row_elems;
  Handle fspace(H5Dget_space(d.get()));
  if (H5Sselect_elements(fspace.get(), H5S_SELECT_SET, points, coords.data()) < 0)
    throw RuntimeError(where(name) + ": cannot select rows");
  Handle mspace(H5Screate_simple(1, &points, nullptr));
  if (H5Dread(d.get(), native_type<T>(), mspace.get(), fspace.get(), H5P_DEFAULT, out) < 0)
    throw DataError(path_, "cannot read rows of '" + name + "' (truncated or corrupt?)");
}

template <class T>
void File::create_extendable(const std::string& name, const Shape& row_shape, hsize_t chunk_rows) {
  Shape dims{0}, maxdims{H5S_UNLIMITED}, chunk{std::max<hsize_t>(chunk_rows, 1)};
  for (hsize_t d : row_shape) {
    dims.push_back(d);
    maxdims.push_back(d);
    chunk.push_back(d);
  }
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()));
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(dcpl.get(), 0);
  H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  Handle d(H5Dcreate2(file_.get(), name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, dcpl.get(),
                      H5P_DEFAULT));
  if (!d.valid()) throw RuntimeError(where(name) + ": cannot create extendable dataset");
}

template <class T>
void File::append_rows(const std::string& name, const T* data, hsize_t nrows) {
  if (nrows == 0) return;
  Handle d = open_dataset_checked(name, type_class<T>());
  Shape dims = shape(name);
  Shape newdims = dims;
  newdims[0] += nrows;
  if (H5Dset_extent(d.get(), newdims.data()) < 0) throw RuntimeError(where(name) + ": cannot extend");
  Handle fspace(H5Dget_space(d.get()));
  Shape start(dims.size(), 0), count = dims;
  start[0] = dims[0];
  count[0] = nrows;
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Handle mspace(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
  errno = 0;
  if (H5Dwrite(d.get(), native_type<T>(), mspace.get(), fspace.get(), H5P_DEFAULT, data) < 0)
    throw write_error(where(name) + ": append failed", errno);
  mspace.reset();
  fspace.reset();
  close_written(d, name);
}

#define W2S_H5_INSTANTIATE(T)                                                                  \
  template void File::write<T>(const std::string&, const Shape&, const T*);                   \
  template std::vector<T> File::read<T>(const std::string&) const;                             \
  template void File::read_rows<T>(const std::string&, hsize_t, hsize_t, T*) const;           \
  template void File::read_row_set<T>(const std::string&, const std::vector<hsize_t>&, T*) const; \
  template void File::create_extendable<T>(const std::string&, const Shape&, hsize_t);        \
  template void File::append_rows<T>(const std::string&, const T*, hsize_t);
W2S_H5_INSTANTIATE(float)
W2S_H5_INSTANTIATE(double)
W2S_H5_INSTANTIATE(int32_t)
W2S_H5_INSTANTIATE(int64_t)
W2S_H5_INSTANTIATE(uint8_t)
#undef W2S_H5_INSTANTIATE

void File::set_attr(const std::string& obj, const std::string& key, const std::string& value) {
  Handle o = open_object(obj);
  if (H5Aexists(o.get(), key.c_str()) > 0) H5Adelete(o.get(), key.c_str());
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR));
  Handle a(H5Acreate2(o.get(), key.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* bytes = value.empty() ? "" : value.data();
  if (!a.valid() || H5Awrite(a.get(), type.get(), bytes) < 0)
    throw RuntimeError(where(obj) + ": cannot write attribute " + key);
}

namespace {
template <class T>
void set_scalar_attr(hid_t obj, const std::string& where, const std::string& key, T value) {
  if (H5Aexists(obj, key.c_str()) > 0) H5Adelete(obj, key.c_str());
  Handle space(H5Screate(H5S_SCALAR));
  Handle a(H5Acreate2(obj, key.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!a.valid() || H5Awrite(a.get(), native_type<T>(), &value) < 0)
    throw RuntimeError(where + ": cannot write attribute " + key);
}
}  // namespace

void File::set_attr(const std::string& obj, const std::string& key, int64_t value) {
  set_scalar_attr<int64_t>(open_object(obj).get(), where(obj), key, value);
}

void File::set_attr(const std::string& obj, const std::string& key, double value) {
  set_scalar_attr<double>(open_object(obj).get(), where(obj), key, value);
}

bool File::has_attr(const std::string& obj, const std::string& key) const {
  if (!exists(obj)) return false;
  Handle o = open_object(obj);
  return H5Aexists(o.get(), key.c_str()) > 0;
}

namespace {
Handle open_attr(const File& f, hid_t obj, const std::string& obj_name, const std::string& key) {
  if (H5Aexists(obj, key.c_str()) <= 0)
    throw DataError(f.path(), "attribute '" + key + "' missing on '" + obj_name + "'");
  return Handle(H5Aopen(obj, key.c_str(), H5P_DEFAULT));
}
}  // namespace

std::string File::attr_string(const std::string& obj, const std::string& key) const {
  Handle o = open_object(obj);
  Handle a = open_attr(*this, o.get(), obj, key);
  Handle type(H5Aget_type(a.get()));
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw DataError(path_, "attribute '" + key + "' on '" + obj + "' is not a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    char* value = nullptr;
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    if (H5Aread(a.get(), mem.get(), &value) < 0)
      throw DataError(path_, "cannot read attribute '" + key + "'");
    std::string out = value ? value : "";
    H5free_memory(value);
    return out;
  }
  size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  if (H5Aread(a.get(), type.get(), out.data()) < 0) throw DataError(path_, "cannot read attribute '" + key + "'");
  out.resize(std::min(out.size(), out.find('\0')));
  return out;
}

int64_t File::attr_int(const std::string& obj, const std::string& key) const {
  Handle o = open_object(obj);
  Handle a = open_attr(*this, o.get(), obj, key);
  Handle type(H5Aget_type(a.get()));
  Handle space(H5Aget_space(a.get()));
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Sget_simple_extent_npoints(space.get()) != 1)
    throw DataError(path_, "attribute '" + key + "' on '" + obj + "' is not an integer scalar");
  int64_t v = 0;
  if (H5Aread(a.get(), H5T_NATIVE_INT64, &v) < 0) throw DataError(path_, "cannot read attribute '" + key + "'");
  return v;
}

double File::attr_double(const std::string& obj, const std::string& key) const {
  Handle o = open_object(obj);
  Handle a = open_attr(*this, o.get(), obj, key);
  Handle type(H5Aget_type(a.get()));
  Handle space(H5Aget_space(a.get()));
  H5T_class_t cls = H5Tget_class(type.get());
  if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || H5Sget_simple_extent_npoints(space.get()) != 1)
    throw DataError(path_, "attribute '" + key + "' on '" + obj + "' is not a numeric scalar");
  double v = 0;
  if (H5Aread(a.get(), H5T_NATIVE_DOUBLE, &v) < 0) throw DataError(path_, "cannot read attribute '" + key + "'");
  return v;
}

void File::stamp(const std::string& kind) {
  set_attr("/", "w2s_kind", kind);
  set_attr("/", "w2s_schema", kSchemaVersion);
  set_attr("/", "w2s_version", std::string(W2S_VERSION));
}

void File::require_kind(const std::string& kind) const {
  if (!has_attr("/", "w2s_kind"))
    throw DataError(path_, "not a w2s file (no w2s_kind attribute; expected a " + kind + ")");
  std::string actual = attr_string("/", "w2s_kind");
  if (actual != kind) throw DataError(path_, "is a w2s " + actual + ", expected a " + kind);
  int64_t schema = has_attr("/", "w2s_schema") ? attr_int("/", "w2s_schema") : -1;
  if (schema < 1 || schema > kSchemaVersion)
    throw DataError(path_, "schema version " + std::to_string(schema) + " is not supported (this w2s reads " +
                               std::to_string(kSchemaVersion) + ")");
}

}  // namespace w2s::h5
