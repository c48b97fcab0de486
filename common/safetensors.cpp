#include "common/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "common/check.h"
#include "common/fs.h"

namespace rlae {

// A whole file mapped private (copy-on-write) and readable; unmapped on destruction.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    RLAE_CHECK(fd >= 0, path, ": cannot open (", std::strerror(errno), ")");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      RLAE_FAIL(path, ": not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      const int err = errno;
      ::close(fd);
      RLAE_CHECK(p != MAP_FAILED, path, ": cannot memory-map (", std::strerror(err), ")");
      data_ = static_cast<uint8_t*>(p);
    } else {
      ::close(fd);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

namespace {

bool to_scalar_type(StDtype d, at::ScalarType* out) {
  switch (d) {
    case StDtype::BOOL: *out = at::kBool; return true;
    case StDtype::U8: *out = at::kByte; return true;
    case StDtype::I8: *out = at::kChar; return true;
    case StDtype::I16: *out = at::kShort; return true;
    case StDtype::F16: *out = at::kHalf; return true;
    case StDtype::BF16: *out = at::kBFloat16; return true;
    case StDtype::I32: *out = at::kInt; return true;
    case StDtype::F32: *out = at::kFloat; return true;
    case StDtype::F64: *out = at::kDouble; return true;
    case StDtype::I64: *out = at::kLong; return true;
    default: return false;
  }
}

bool from_scalar_type(at::ScalarType s, StDtype* out) {
  switch (s) {
    case at::kBool: *out = StDtype::BOOL; return true;
    case at::kByte: *out = StDtype::U8; return true;
    case at::kChar: *out = StDtype::I8; return true;
    case at::kShort: *out = StDtype::I16; return true;
    case at::kHalf: *out = StDtype::F16; return true;
    case at::kBFloat16: *out = StDtype::BF16; return true;
    case at::kInt: *out = StDtype::I32; return true;
    case at::kFloat: *out = StDtype::F32; return true;
    case at::kDouble: *out = StDtype::F64; return true;
    case at::kLong: *out = StDtype::I64; return true;
    default: return false;
  }
}


}  // namespace

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = std::make_shared<MappedFile>(path);
  f->header_ = parse_safetensors_header(f->map_->data(), f->map_->size(), path);
  for (std::size_t i = 0; i < f->header_.tensors.size(); ++i)
    f->index_.emplace(f->header_.tensors[i].name, i);
  return f;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(header_.tensors.size());
  for (const auto& t : header_.tensors) out.push_back(t.name);
  return out;
}

const StTensorEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = index_.find(name);
  RLAE_CHECK(it != index_.end(), path_, ": no tensor named '", name, "'");
  return header_.tensors[it->second];
}

at::Tensor SafetensorsFile::get(const std::string& name) const {
  const StTensorEntry& e = entry(name);
  at::ScalarType st;
  RLAE_CHECK(to_scalar_type(e.dtype, &st), path_, ": tensor '", name, "' has dtype ",
             st_dtype_name(e.dtype), ", which LibTorch 1.13 cannot hold");
  const auto opts = at::TensorOptions().dtype(st).device(at::kCPU);
  if (e.numel() == 0) return at::empty(e.shape, opts);
  uint8_t* ptr = map_->data() + header_.data_start + e.begin;
  const std::size_t elem = st_dtype_size(e.dtype);
  if (reinterpret_cast<uintptr_t>(ptr) % elem == 0) {
    std::shared_ptr<MappedFile> keep = map_;
    return at::from_blob(ptr, e.shape, [keep](void*) mutable { keep.reset(); }, opts);
  }
  at::Tensor t = at::empty(e.shape, opts);
  std::memcpy(t.data_ptr(), ptr, e.end - e.begin);
  return t;
}

std::unordered_map<std::string, at::Tensor> load_safetensors(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  std::unordered_map<std::string, at::Tensor> out;
  for (const auto& n : f->names()) out.emplace(n, f->get(n));
  return out;
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<at::Tensor> data;
  std::vector<StTensorEntry> entries;
  data.reserve(tensors.size());
  entries.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    RLAE_CHECK(tensor.defined(), path, ": cannot write undefined tensor '", name, "'");
    StTensorEntry e;
    e.name = name;
    RLAE_CHECK(from_scalar_type(tensor.scalar_type(), &e.dtype), path, ": tensor '", name,
               "' has dtype ", tensor.scalar_type(), ", which safetensors cannot store");
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    e.shape.assign(t.sizes().begin(), t.sizes().end());
    e.begin = offset;
    offset += static_cast<uint64_t>(t.numel()) * st_dtype_size(e.dtype);
    e.end = offset;
    entries.push_back(std::move(e));
    data.push_back(std::move(t));
  }
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "pt");
  const std::string header = make_safetensors_header(entries, meta);

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  RLAE_CHECK(out != nullptr, tmp, ": cannot open for writing (", std::strerror(errno), ")");
  bool ok = std::fwrite(header.data(), 1, header.size(), out) == header.size();
  for (std::size_t i = 0; ok && i < data.size(); ++i) {
    const std::size_t n = entries[i].end - entries[i].begin;
    if (n) ok = std::fwrite(data[i].data_ptr(), 1, n, out) == n;
  }
  ok = (std::fflush(out) == 0) && ok;
  ok = (::fsync(::fileno(out)) == 0) && ok;
  ok = (std::fclose(out) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    RLAE_FAIL(tmp, ": write failed (", std::strerror(errno), ")");
  }
  rename_file(tmp, path);
}

// ---------------------------------------------------------------------------
// Model checkpoints
// ---------------------------------------------------------------------------

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& dir) {
  SafetensorsCheckpoint ck;
  ck.dir_ = dir;
  const std::string index_path = join_path(dir, "model.safetensors.index.json");
  const std::string single_path = join_path(dir, "model.safetensors");
  if (file_exists(index_path)) {
    ck.source_ = index_path;
    const std::vector<std::pair<std::string, std::string>> listed = parse_shard_index(read_file(index_path), index_path);
    std::map<std::string, std::size_t> shard_index;
    for (const auto& [name, shard] : listed) {
      if (!shard_index.count(shard)) {
        shard_index.emplace(shard, ck.files_.size());
        ck.files_.push_back(SafetensorsFile::open(join_path(dir, shard)));
      }
    }
    for (const auto& [name, shard] : listed) {
      const std::size_t fi = shard_index.at(shard);
      RLAE_CHECK(ck.files_[fi]->contains(name), index_path, ": lists tensor '", name, "' in ",
                 shard, ", but ", ck.files_[fi]->path(), " has no such tensor");
      ck.where_.emplace(name, fi);
    }
  } else if (file_exists(single_path)) {
    ck.source_ = single_path;
    ck.files_.push_back(SafetensorsFile::open(single_path));
    for (const auto& n : ck.files_[0]->names()) ck.where_.emplace(n, 0);
  } else {
    RLAE_FAIL(dir, ": no model.safetensors or model.safetensors.index.json");
  }
  return ck;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& kv : where_) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}

const SafetensorsFile& SafetensorsCheckpoint::file_for(const std::string& name) const {
  auto it = where_.find(name);
  RLAE_CHECK(it != where_.end(), source_, ": missing tensor '", name, "'");
  return *files_[it->second];
}

const std::string& SafetensorsCheckpoint::file_of(const std::string& name) const {
  return file_for(name).path();
}

const StTensorEntry& SafetensorsCheckpoint::entry(const std::string& name) const {
  return file_for(name).entry(name);
}

at::Tensor SafetensorsCheckpoint::get(const std::string& name) const {
  return file_for(name).get(name);
}

}  // namespace rlae
