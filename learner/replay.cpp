#include "learner/replay.h"

#include <H5Cpp.h>

#include <ATen/ATen.h>
#include <zlib.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/check.h"
#include "common/fs.h"
#include "common/wire.h"
#include "common/wire_tensor.h"
#include "rlae_build_info.h"

// Sanitizer builds only (weak: null elsewhere): see read_isolated.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace rlae {
namespace {

// Every HDF5 call of this file goes through one try block per public function;
// H5::Exception becomes rlae::Error naming the file and HDF5's own message.
[[noreturn]] void rethrow_h5(const H5::Exception& e, const std::string& path, const char* what) {
  RLAE_FAIL(path, ": HDF5 error while ", what, ": ", e.getFuncName(), ": ", e.getDetailMsg());
}

// The frame: the first kShardFrameBytes of a shard, where HDF5 files keep their
// user block (libhdf5 finds the superblock at offset 512; h5py reads the file as is).
// One line of text, zero-padded:
//   "rlae replay shard; frame 1; bytes N; crc32 XXXXXXXX\n"
// N is the file's size after the frame and the CRC-32 (zlib) covers those bytes.
// A shard is read only when its frame matches: a damaged or truncated file is
// refused before libhdf5 parses any of it. The frame is no signature (anyone can
// compute a CRC): what libhdf5 does on a forged file with a valid frame is
// contained by parsing in a child process (read_isolated).
constexpr const char* kFrameMagic = "rlae replay shard; frame 1; ";
const char kHdf5Signature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};

bool has_hdf5_signature(const std::string& bytes) {
  // libhdf5 looks for its signature at 0, 512, 1024, 2048, ...
  for (size_t at = 0; at + 8 <= bytes.size(); at = at == 0 ? 512 : at * 2) {
    if (std::memcmp(bytes.data() + at, kHdf5Signature, 8) == 0) return true;
  }
  return false;
}

uint32_t crc_of(const std::string& bytes, size_t from) {
  return wire::crc32(bytes.data() + from, bytes.size() - from);
}

std::string frame_line(size_t payload, uint32_t crc) {
  char line[96];
  std::snprintf(line, sizeof line, "%sbytes %zu; crc32 %08x\n", kFrameMagic, payload, static_cast<unsigned>(crc));
  return line;
}

// The frame goes before the HDF5 image: libhdf5 and h5py find the superblock at
// offset 512 and read the file as one with a 512-byte user block.
std::string framed(const std::string& image, const std::string& path) {
  RLAE_CHECK(image.size() >= 8 && std::memcmp(image.data(), kHdf5Signature, 8) == 0, path,
             ": HDF5 did not produce a file image");
  const std::string line = frame_line(image.size(), crc_of(image, 0));
  std::string out = line;
  out.resize(kShardFrameBytes, '\0');
  out += image;
  return out;
}

void check_frame(const std::string& bytes, const std::string& path) {
  const size_t magic = std::strlen(kFrameMagic);
  if (bytes.compare(0, magic, kFrameMagic) != 0) {
    if (has_hdf5_signature(bytes)) {
      const size_t slash = path.find_last_of('/');
      const std::string all = slash == std::string::npos ? std::string("*.h5") : path.substr(0, slash + 1) + "*.h5";
      RLAE_FAIL(path, ": an HDF5 file without rlae's frame (not written by rlae, or by a version before frames); "
                      "if it is a shard you made or edited, `rlae replay seal ", path, "` checks it and adds the "
                      "frame (all of a run's: `rlae replay seal ", all, "`)");
    }
    RLAE_FAIL(path, ": not an rlae replay shard (", bytes.size() < magic ? "too short for" : "no",
              " rlae frame at its start)");
  }
  RLAE_CHECK(bytes.size() >= kShardFrameBytes, path, ": replay shard truncated inside its frame (", bytes.size(),
             " bytes)");
  const std::string frame = bytes.substr(0, kShardFrameBytes);
  const size_t end = frame.find('\n', magic);
  RLAE_CHECK(end != std::string::npos && end < kShardFrameBytes, path, ": replay shard frame is damaged");
  unsigned long long payload = 0;
  unsigned crc = 0;
  int used = 0;
  const std::string rest = bytes.substr(magic, end - magic);
  RLAE_CHECK(std::sscanf(rest.c_str(), "bytes %llu; crc32 %8x%n", &payload, &crc, &used) == 2 &&
                 static_cast<size_t>(used) == rest.size() && frame_line(payload, crc) == bytes.substr(0, end + 1),
             path, ": replay shard frame is damaged");
  for (size_t i = end + 1; i < kShardFrameBytes; ++i) {
    RLAE_CHECK(bytes[i] == 0, path, ": replay shard frame is damaged (byte ", i, ")");
  }
  const size_t have = bytes.size() - kShardFrameBytes;
  const std::string changed = std::string(": the file changed after rlae wrote it: damaged (copy it again from a good "
                                          "source), or edited on purpose (then `rlae replay seal ") + path +
                              "` adopts the edit)";
  RLAE_CHECK(have >= payload, path, ": replay shard truncated: ", have, " of its ", payload, " bytes after the frame",
             changed);
  RLAE_CHECK(have == payload, path, ": replay shard has ", have - payload, " bytes beyond its end (", payload,
             " bytes after the frame)", changed);
  const uint32_t got = crc_of(bytes, kShardFrameBytes);
  if (got != crc) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "checksum mismatch (crc32 %08x, the frame says %08x)", static_cast<unsigned>(got), crc);
    RLAE_FAIL(path, ": replay shard ", msg, changed);
  }
}

H5::PredType h5_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return H5::PredType::NATIVE_FLOAT;
    case at::kByte: return H5::PredType::NATIVE_UINT8;
    case at::kLong: return H5::PredType::NATIVE_INT64;
    case at::kInt: return H5::PredType::NATIVE_INT32;
    default: break;
  }
  RLAE_ASSERT(false, "no HDF5 type for ", t);
  return H5::PredType::NATIVE_FLOAT;
}

void write_tensor(H5::Group& g, const char* name, const at::Tensor& t_in) {
  const at::Tensor t = t_in.to(at::kCPU).contiguous();
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
  H5::DSetCreatPropList props;
  if (t.numel() > 0) {
    // Chunks of up to 1024 rows, whole inner dimensions.
    std::vector<hsize_t> chunk = dims;
    chunk[0] = std::min<hsize_t>(dims[0], 1024);
    props.setChunk(static_cast<int>(chunk.size()), chunk.data());
    props.setShuffle();
    props.setDeflate(4);
  }
  H5::DataSet ds = g.createDataSet(name, h5_type(t.scalar_type()), space, props);
  if (t.numel() > 0) ds.write(t.data_ptr(), h5_type(t.scalar_type()));
}

void write_strings(H5::Group& g, const char* name, const std::vector<std::string>& v) {
  hsize_t n = v.size();
  H5::DataSpace space(1, &n);
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  H5::DSetCreatPropList props;
  if (n > 0) {
    hsize_t chunk = std::min<hsize_t>(n, 1024);
    props.setChunk(1, &chunk);
    props.setDeflate(4);
  }
  H5::DataSet ds = g.createDataSet(name, type, space, props);
  std::vector<const char*> ptrs;
  for (const auto& s : v) ptrs.push_back(s.c_str());
  if (n > 0) ds.write(ptrs.data(), type);
}

void write_attr(H5::H5Object& o, const char* name, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, value.empty() ? 1 : value.size());
  type.setCset(H5T_CSET_UTF8);
  H5::Attribute a = o.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
  a.write(type, value.empty() ? std::string(1, '\0') : value);
}

void write_attr(H5::H5Object& o, const char* name, int64_t value) {
  H5::Attribute a = o.createAttribute(name, H5::PredType::NATIVE_INT64, H5::DataSpace(H5S_SCALAR));
  a.write(H5::PredType::NATIVE_INT64, &value);
}

// A dataset's elements must come from its storage in the file: at most what
// deflate (the only filter rlae writes, ratio < 1032) can expand that storage
// to. A damaged or forged header that claims more would have the reader
// allocate it before HDF5 notices (out of memory instead of an error).
// The storage rlae writes, checked before HDF5 reads a byte of the data (libhdf5
// trusts the file's layout messages: a forged compact or contiguous layout made
// it read past its own buffers, found by tests/fuzz/fuzz_replay.cpp): every
// non-empty dataset is chunked, with chunks of whole inner dimensions, filtered
// by nothing but shuffle and deflate, and stored in the element type and size
// rlae writes.
void check_dataset_layout(H5::DataSet& ds, const std::vector<hsize_t>& dims, H5T_class_t type_class,
                          size_t elem_size, const char* name, const std::string& path) {
  hsize_t numel = 1;
  for (hsize_t d : dims) numel *= d;
  if (type_class != H5T_STRING) {
    RLAE_CHECK(ds.getTypeClass() == type_class && ds.getDataType().getSize() == elem_size, path, ": dataset '", name,
               "' holds elements of another type (class ", static_cast<int>(ds.getTypeClass()), ", ",
               ds.getDataType().getSize(), " bytes)");
  } else {
    RLAE_CHECK(ds.getTypeClass() == H5T_STRING && ds.getStrType().isVariableStr(), path, ": dataset '", name,
               "' does not hold variable-length strings");
  }
  if (numel == 0) return;
  const H5::DSetCreatPropList props = ds.getCreatePlist();
  RLAE_CHECK(props.getLayout() == H5D_CHUNKED, path, ": dataset '", name, "' is not chunked (rlae writes chunks)");
  std::vector<hsize_t> chunk(dims.size());
  RLAE_CHECK(props.getChunk(static_cast<int>(chunk.size()), chunk.data()) == static_cast<int>(dims.size()), path,
             ": dataset '", name, "' has chunks of another rank");
  for (size_t i = 0; i < dims.size(); ++i) {
    RLAE_CHECK(chunk[i] >= 1 && chunk[i] <= std::max<hsize_t>(dims[i], 1) && (i == 0 || chunk[i] == dims[i]), path,
               ": dataset '", name, "' has chunks rlae does not write");
  }
  const int nfilters = props.getNfilters();
  for (int i = 0; i < nfilters; ++i) {
    unsigned int flags = 0, config = 0;
    size_t nelmts = 0;
    char fname[64];
    const H5Z_filter_t f = props.getFilter(i, flags, nelmts, nullptr, sizeof(fname), fname, config);
    RLAE_CHECK(f == H5Z_FILTER_SHUFFLE || f == H5Z_FILTER_DEFLATE, path, ": dataset '", name, "' uses filter ", f,
               " (rlae writes shuffle and deflate only)");
  }
}

void check_dataset_extent(H5::DataSet& ds, const std::vector<hsize_t>& dims, size_t elem_size, const char* name,
                          const std::string& path) {
  const hsize_t storage = ds.getStorageSize();
  const long double limit = 1100.0L * static_cast<long double>(storage) + 4096.0L;
  long double bytes = static_cast<long double>(elem_size);
  for (hsize_t d : dims) bytes *= static_cast<long double>(d);
  RLAE_CHECK(bytes <= limit, path, ": dataset '", name, "' claims ", static_cast<double>(bytes),
             " bytes but stores ", storage, " (a damaged shard)");
}

// HDF5's shuffle filter, undone: bytes grouped by their place in the element.
void unshuffle(std::vector<uint8_t>& buf, size_t elem) {
  if (elem <= 1) return;
  const size_t n = buf.size() / elem;
  std::vector<uint8_t> out(buf.size());
  for (size_t j = 0; j < elem; ++j)
    for (size_t i = 0; i < n; ++i) out[i * elem + j] = buf[j * n + i];
  std::copy(buf.begin() + static_cast<std::ptrdiff_t>(n * elem), buf.end(), out.begin() + static_cast<std::ptrdiff_t>(n * elem));
  buf.swap(out);
}

// Reads a numeric dataset chunk by chunk: each chunk's stored bytes with
// H5Dread_chunk (HDF5 reads exactly what the chunk index says from the file),
// inflated and unshuffled here into buffers of the chunk's exact size. HDF5's own
// read path decodes chunks into buffers it sizes from the file's messages and
// overflowed them on forged shards (tests/fuzz/fuzz_replay.cpp); here a chunk
// that does not decode to its size is an error naming the dataset.
void read_chunks(H5::DataSet& ds, const std::vector<hsize_t>& dims, size_t elem, uint8_t* out, const char* name,
                 const std::string& path) {
  const H5::DSetCreatPropList props = ds.getCreatePlist();
  std::vector<hsize_t> chunk(dims.size());
  props.getChunk(static_cast<int>(chunk.size()), chunk.data());
  size_t row_bytes = elem;
  for (size_t i = 1; i < dims.size(); ++i) row_bytes *= dims[i];
  const size_t chunk_bytes = row_bytes * chunk[0];
  std::vector<H5Z_filter_t> filters;
  for (int i = 0; i < props.getNfilters(); ++i) {
    unsigned int flags = 0, config = 0;
    size_t nelmts = 0;
    char fname[64];
    filters.push_back(props.getFilter(i, flags, nelmts, nullptr, sizeof(fname), fname, config));
  }
  const hsize_t expected = (dims[0] + chunk[0] - 1) / chunk[0];
  hsize_t nchunks = 0;
  RLAE_CHECK(H5Dget_num_chunks(ds.getId(), ds.getSpace().getId(), &nchunks) >= 0 && nchunks == expected, path, ": dataset '", name,
             "' has ", nchunks, " chunks, expected ", expected);
  std::vector<bool> seen(expected, false);
  for (hsize_t c = 0; c < nchunks; ++c) {
    std::vector<hsize_t> offset(dims.size());
    unsigned mask = 0;
    haddr_t addr = 0;
    hsize_t stored = 0;
    RLAE_CHECK(H5Dget_chunk_info(ds.getId(), ds.getSpace().getId(), c, offset.data(), &mask, &addr, &stored) >= 0, path,
               ": dataset '", name, "': cannot read its chunk index");
    bool inner_zero = true;
    for (size_t i = 1; i < offset.size(); ++i) inner_zero = inner_zero && offset[i] == 0;
    RLAE_CHECK(inner_zero && offset[0] % chunk[0] == 0 && offset[0] < dims[0] && !seen[offset[0] / chunk[0]] &&
                   stored >= 1 && stored <= chunk_bytes + chunk_bytes / 8 + 4096,
               path, ": dataset '", name, "' has a damaged chunk index");
    seen[offset[0] / chunk[0]] = true;
    std::vector<uint8_t> buf(stored);
    uint32_t skipped = 0;
    RLAE_CHECK(H5Dread_chunk(ds.getId(), H5P_DEFAULT, offset.data(), &skipped, buf.data()) >= 0, path, ": dataset '",
               name, "': cannot read chunk ", c);
    for (size_t f = filters.size(); f-- > 0;) {
      if (skipped & (1u << f)) continue;
      if (filters[f] == H5Z_FILTER_DEFLATE) {
        std::vector<uint8_t> raw(chunk_bytes);
        uLongf got = static_cast<uLongf>(raw.size());
        const int z = ::uncompress(raw.data(), &got, buf.data(), static_cast<uLong>(buf.size()));
        RLAE_CHECK(z == Z_OK && got == chunk_bytes, path, ": dataset '", name, "': chunk ", c,
                   " does not inflate to its ", chunk_bytes, " bytes (a damaged shard)");
        buf.swap(raw);
      } else {
        unshuffle(buf, elem);
      }
    }
    RLAE_CHECK(buf.size() == chunk_bytes, path, ": dataset '", name, "': chunk ", c, " holds ", buf.size(),
               " bytes, not ", chunk_bytes);
    const size_t rows = std::min<hsize_t>(chunk[0], dims[0] - offset[0]);
    std::memcpy(out + offset[0] * row_bytes, buf.data(), rows * row_bytes);
  }
}

at::Tensor read_tensor(H5::Group& g, const char* name, at::ScalarType dtype, int dim, const std::string& path) {
  RLAE_CHECK(g.nameExists(name), path, ": replay shard lacks dataset '", name, "'");
  H5::DataSet ds = g.openDataSet(name);
  H5::DataSpace space = ds.getSpace();
  RLAE_CHECK(space.getSimpleExtentNdims() == dim, path, ": dataset '", name, "' has ",
             space.getSimpleExtentNdims(), " dimensions, expected ", dim);
  std::vector<hsize_t> dims(dim);
  space.getSimpleExtentDims(dims.data());
  check_dataset_extent(ds, dims, at::elementSize(dtype), name, path);
  check_dataset_layout(ds, dims, dtype == at::kFloat ? H5T_FLOAT : H5T_INTEGER, at::elementSize(dtype), name, path);
  RLAE_CHECK(ds.getDataType() == h5_type(dtype), path, ": dataset '", name, "' is not stored as native ",
             at::toString(dtype), " (rlae writes that type)");
  std::vector<int64_t> sizes(dims.begin(), dims.end());
  at::Tensor t = at::empty(sizes, at::TensorOptions().dtype(dtype));
  if (t.numel() > 0) read_chunks(ds, dims, at::elementSize(dtype), static_cast<uint8_t*>(t.data_ptr()), name, path);
  return t;
}

std::vector<std::string> read_strings(H5::Group& g, const char* name, const std::string& path) {
  RLAE_CHECK(g.nameExists(name), path, ": replay shard lacks dataset '", name, "'");
  H5::DataSet ds = g.openDataSet(name);
  hsize_t n = 0;
  RLAE_CHECK(ds.getSpace().getSimpleExtentNdims() == 1, path, ": dataset '", name, "' must be 1-D");
  ds.getSpace().getSimpleExtentDims(&n);
  check_dataset_extent(ds, {n}, 16, name, path);  // a variable-length string: 16 bytes of reference each
  check_dataset_layout(ds, {n}, H5T_STRING, 0, name, path);
  std::vector<std::string> out(n);
  if (n == 0) return out;
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  std::vector<char*> ptrs(n, nullptr);
  ds.read(ptrs.data(), type);
  for (hsize_t i = 0; i < n; ++i) out[i] = ptrs[i] ? ptrs[i] : "";
  H5::DataSet::vlenReclaim(ptrs.data(), type, ds.getSpace());
  return out;
}

std::string read_attr_string(H5::H5Object& o, const char* name, const std::string& path) {
  RLAE_CHECK(o.attrExists(name), path, ": replay shard lacks attribute '", name, "'");
  H5::Attribute a = o.openAttribute(name);
  std::string s;
  a.read(a.getStrType(), s);
  return s;
}

int64_t read_attr_int(H5::H5Object& o, const char* name, const std::string& path) {
  RLAE_CHECK(o.attrExists(name), path, ": replay shard lacks attribute '", name, "'");
  int64_t v = 0;
  o.openAttribute(name).read(H5::PredType::NATIVE_INT64, &v);
  return v;
}

}  // namespace

void write_replay_shard(const std::string& path, const TrajectoryBatch& batch, const ShardInfo& info) {
  batch.validate();
  // The shard is built in memory (HDF5's core driver, no backing store) and
  // written with write_file_atomic: a full disk fails our write() with a clear
  // error, never an HDF5 close, which left a half-closed file that crashed
  // H5close at exit.
  const std::string tmp = path + ".tmp";
  std::string image;
  try {
    H5::Exception::dontPrint();
    {
      H5::FileAccPropList fapl;
      fapl.setCore(1 << 20, /*backing_store=*/false);
      H5::H5File file(tmp, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, fapl);
      write_attr(file, "schema_version", int64_t{kReplaySchemaVersion});
      write_attr(file, "config_hash", info.config_hash);
      write_attr(file, "run_id", info.run_id);
      write_attr(file, "algo", info.algo);
      write_attr(file, "agent_obs", info.agent_obs);
      write_attr(file, "iteration", info.iteration);
      write_attr(file, "rlae_version", std::string(RLAE_VERSION));
      H5::Group steps = file.createGroup("/steps");
      write_tensor(steps, "obs", batch.obs);
      write_tensor(steps, "share_obs", batch.share_obs);
      write_tensor(steps, "actions", batch.actions);
      write_tensor(steps, "logprobs", batch.logprobs);
      write_tensor(steps, "weights", batch.weights);
      write_tensor(steps, "rewards", batch.rewards);
      write_tensor(steps, "dones", batch.dones);
      write_tensor(steps, "values", batch.values);
      write_tensor(steps, "policy_version", batch.policy_version);
      write_tensor(steps, "episode", batch.episode);
      write_tensor(steps, "span_index", batch.span_index);
      H5::Group eps = file.createGroup("/episodes");
      write_strings(eps, "prompt_id", batch.prompt_id);
      write_strings(eps, "task", batch.task);
      write_strings(eps, "text", batch.text);
      write_tensor(eps, "correct",
                   at::from_blob(const_cast<uint8_t*>(batch.correct.data()),
                                 {static_cast<int64_t>(batch.correct.size())}, at::kByte));
      file.flush(H5F_SCOPE_GLOBAL);
      const ssize_t n = H5Fget_file_image(file.getId(), nullptr, 0);
      RLAE_CHECK(n > 0, tmp, ": HDF5 could not size the shard's image");
      image.resize(static_cast<size_t>(n));
      RLAE_CHECK(H5Fget_file_image(file.getId(), image.data(), image.size()) == n, tmp,
                 ": HDF5 could not copy the shard's image");
    }
  } catch (const H5::Exception& e) {
    rethrow_h5(e, tmp, "writing a replay shard");
  }
  write_file_atomic(path, framed(image, tmp));  // only a complete file gets the final name
}

namespace {

// Reads the HDF5 file image `bytes` (the whole file, frame included) with libhdf5.
TrajectoryBatch read_image(const std::string& path, const std::string& bytes, ShardInfo* info) {
  try {
    H5::Exception::dontPrint();
    RLAE_CHECK(bytes.size() >= 8 && has_hdf5_signature(bytes), path, ": not an HDF5 file");
    // The file is opened from memory (HDF5's core driver on the image already
    // read and checked), not from disk a second time.
    H5::FileAccPropList fapl;
    fapl.setCore(1 << 20, /*backing_store=*/false);
    RLAE_CHECK(H5Pset_file_image(fapl.getId(), const_cast<char*>(bytes.data()), bytes.size()) >= 0, path,
               ": HDF5 could not take the file's image");
    // (The core driver refuses an image under the name of a file that exists.)
    H5::H5File file("rlae-image:" + path, H5F_ACC_RDONLY, H5::FileCreatPropList::DEFAULT, fapl);
    const int64_t version = read_attr_int(file, "schema_version", path);
    RLAE_CHECK(version == kReplaySchemaVersion, path, ": replay schema version ", version,
               ", this rlae reads version ", kReplaySchemaVersion);
    if (info != nullptr) {
      info->schema_version = static_cast<int>(version);
      info->config_hash = read_attr_string(file, "config_hash", path);
      info->run_id = read_attr_string(file, "run_id", path);
      info->algo = read_attr_string(file, "algo", path);
      // Optional: shards written before rlae train --agent-obs existed are "own".
      info->agent_obs = file.attrExists("agent_obs") ? read_attr_string(file, "agent_obs", path) : "own";
      info->iteration = read_attr_int(file, "iteration", path);
    }
    RLAE_CHECK(file.nameExists("steps") && file.nameExists("episodes"), path,
               ": replay shard lacks the /steps or /episodes group");
    H5::Group steps = file.openGroup("steps");
    TrajectoryBatch b;
    b.obs = read_tensor(steps, "obs", at::kFloat, 3, path);
    b.share_obs = read_tensor(steps, "share_obs", at::kFloat, 2, path);
    b.actions = read_tensor(steps, "actions", at::kFloat, 3, path);
    b.logprobs = read_tensor(steps, "logprobs", at::kFloat, 2, path);
    b.weights = read_tensor(steps, "weights", at::kFloat, 2, path);
    b.rewards = read_tensor(steps, "rewards", at::kFloat, 1, path);
    b.dones = read_tensor(steps, "dones", at::kByte, 1, path);
    b.values = read_tensor(steps, "values", at::kFloat, 1, path);
    b.policy_version = read_tensor(steps, "policy_version", at::kLong, 1, path);
    b.episode = read_tensor(steps, "episode", at::kLong, 1, path);
    b.span_index = read_tensor(steps, "span_index", at::kInt, 1, path);
    H5::Group eps = file.openGroup("episodes");
    b.prompt_id = read_strings(eps, "prompt_id", path);
    b.task = read_strings(eps, "task", path);
    b.text = read_strings(eps, "text", path);
    const at::Tensor correct = read_tensor(eps, "correct", at::kByte, 1, path);
    b.correct.assign(correct.data_ptr<uint8_t>(), correct.data_ptr<uint8_t>() + correct.numel());
    try {
      b.validate();
    } catch (const Error& e) {
      RLAE_FAIL(path, ": ", e.what());
    }
    return b;
  } catch (const H5::Exception& e) {
    rethrow_h5(e, path, "reading a replay shard");
  }
}

void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out += s;
}

// Reader of the child's reply: [u64 len, bytes] x 4 (config_hash, run_id, algo, agent_obs),
// u64 iteration, u64 schema_version, then the batch as a wire trajectory message.
struct Reply {
  const std::string& b;
  size_t at = 1;
  const std::string& path;
  uint64_t u64() {
    RLAE_CHECK(b.size() - at >= 8, path, ": the shard reader's reply is cut short");
    uint64_t v = 0;
    std::memcpy(&v, b.data() + at, 8);
    at += 8;
    return v;
  }
  std::string str() {
    const uint64_t n = u64();
    RLAE_CHECK(b.size() - at >= n, path, ": the shard reader's reply is cut short");
    at += n;
    return b.substr(at - n, n);
  }
};

// The reader child's time limit: RLAE_SHARD_READ_LIMIT_S (default 20) seconds
// plus 1 s per 4 MiB of shard. Parsing an image already in memory takes
// milliseconds per MiB; libhdf5 spins for ever on some forged files
// (tests/fixtures/fuzz/replay-hdf5-spin.h5).
int64_t shard_read_base_seconds() {
  const char* env = std::getenv("RLAE_SHARD_READ_LIMIT_S");
  if (env == nullptr || *env == '\0') return 20;
  char* end = nullptr;
  const long long v = std::strtoll(env, &end, 10);
  RLAE_CHECK(*end == '\0' && v >= 1 && v <= 86400, "RLAE_SHARD_READ_LIMIT_S='", env,
             "': expected whole seconds, 1 to 86400");
  return v;
}

// libhdf5 parses a shard in a child process (fork), which sends the batch back
// over a pipe: whatever libhdf5 does on a file whose frame matches but whose HDF5
// is forged (1.10.8 reads freed memory in H5Aexists on one the fuzzer made, a frame
// computed for it: tests/fixtures/fuzz/replay-attr-use-after-free.h5), it does it
// in the child, and rlae reports the file. A child that does not finish within
// the limit above is killed: no hang either. The child only reads: its
// tensors are fresh contiguous CPU buffers, no LibTorch thread pool is used.
TrajectoryBatch read_isolated(const std::string& path, const std::string& bytes, ShardInfo* info) {
  int fds[2];
  RLAE_CHECK(::pipe2(fds, O_CLOEXEC) == 0, path, ": cannot start the shard reader (pipe: ", std::strerror(errno), ")");
  std::fflush(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    RLAE_FAIL(path, ": cannot start the shard reader (fork: ", std::strerror(err), ")");
  }
  if (pid == 0) {
    ::close(fds[0]);
    // The reader ends with its parent: a killed rlae (or a fuzzer's timeout) leaves
    // no child spinning in libhdf5.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(4);
    // In a sanitizer build (the fuzz targets) a report in the child is the
    // child's end, which the parent reports: not the fuzzer's finding.
    if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(nullptr);
    std::string out;
    try {
      ShardInfo si;
      const TrajectoryBatch b = read_image(path, bytes, &si);
      out = "B";
      put_str(out, si.config_hash);
      put_str(out, si.run_id);
      put_str(out, si.algo);
      put_str(out, si.agent_obs);
      put_u64(out, static_cast<uint64_t>(si.iteration));
      put_u64(out, static_cast<uint64_t>(si.schema_version));
      const std::vector<uint8_t> msg = wire::encode_trajectory(0, 0, b);
      out.append(reinterpret_cast<const char*>(msg.data()), msg.size());
    } catch (const Error& e) {
      out = std::string("E") + e.what();  // names the file
    } catch (const std::exception& e) {  // LibTorch's own (c10::Error) and the like
      out = "E" + path + ": " + e.what();
    }
    for (size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(3);
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  using Clock = std::chrono::steady_clock;
  const auto limit = std::chrono::seconds(shard_read_base_seconds() + static_cast<int64_t>(bytes.size() >> 22));
  const auto deadline = Clock::now() + limit;
  std::string reply;
  bool timed_out = false;
  char buf[1 << 16];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of the child's reply (or a read error: the status tells)
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  RLAE_CHECK(!timed_out, path, ": libhdf5 did not finish reading it in ", limit.count(),
             " s (a damaged shard?); the reader was stopped");
  RLAE_CHECK(!WIFSIGNALED(status), path, ": libhdf5 crashed reading it (", strsignal(WTERMSIG(status)),
             "): its HDF5 structure is damaged or forged");
  RLAE_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !reply.empty(), path,
             ": the shard reader failed (exit ", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
             ") without a result: its HDF5 structure is damaged or forged");
  if (reply[0] == 'E') throw Error(reply.substr(1));
  RLAE_CHECK(reply[0] == 'B', path, ": the shard reader's reply is malformed");
  Reply r{reply, 1, path};
  ShardInfo si;
  si.config_hash = r.str();
  si.run_id = r.str();
  si.algo = r.str();
  si.agent_obs = r.str();
  si.iteration = static_cast<int64_t>(r.u64());
  si.schema_version = static_cast<int>(r.u64());
  const auto* data = reinterpret_cast<const uint8_t*>(reply.data()) + r.at;
  wire::Limits limits;
  limits.max_payload_bytes = reply.size();  // the default 2 GiB would refuse a big shard
  TrajectoryBatch b = wire::decode_trajectory(wire::decode_message(data, reply.size() - r.at, limits));
  if (info != nullptr) *info = si;
  return b;
}

}  // namespace

TrajectoryBatch read_replay_shard(const std::string& path, ShardInfo* info) {
  const std::string bytes = read_file(path);
  check_frame(bytes, path);
  return read_isolated(path, bytes, info);
}

TrajectoryBatch read_replay_shard_unverified(const std::string& path, ShardInfo* info) {
  const std::string bytes = read_file(path);
  return read_isolated(path, bytes, info);
}

void seal_replay_shard(const std::string& path) {
  ShardInfo info;
  const TrajectoryBatch b = read_replay_shard_unverified(path, &info);
  write_replay_shard(path, b, info);
}

}  // namespace rlae
