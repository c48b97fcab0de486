// safetensors reader/writer: round trips, zero-copy views, and one clear rlae::Error
// naming the file for every kind of bad file (truncated, corrupt header, lying offsets,
// unknown dtype, missing tensor, bad shard index).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "common/check.h"
#include "common/safetensors.h"

namespace {

std::string make_temp_dir() {
  std::string tmpl = ::testing::TempDir() + "rlae_st_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  EXPECT_NE(::mkdtemp(buf.data()), nullptr);
  return std::string(buf.data());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A file from a raw JSON header and a data buffer of `data_bytes` bytes.
std::string raw_file(const std::string& header, std::size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\x01');
}

// Expects opening `path` to throw rlae::Error whose message names the file and contains `what`.
void expect_bad_file(const std::string& path, const std::string& what) {
  try {
    rlae::SafetensorsFile::open(path);
    ADD_FAILURE() << "no error for " << path << " (expected: " << what << ")";
  } catch (const rlae::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }
}

class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

TEST_F(Safetensors, RoundTripAllDtypes) {
  at::manual_seed(1);
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", at::randn({3, 4})},
      {"bf16", at::randn({5}).to(at::kBFloat16)},
      {"f16", at::randn({2, 3}).to(at::kHalf)},
      {"f64", at::randn({2}, at::kDouble)},
      {"i64", at::arange(7, at::kLong)},
      {"i32", at::arange(3, at::kInt)},
      {"i16", at::arange(3, at::kShort)},
      {"i8", at::arange(-3, 3, at::kChar)},
      {"u8", at::arange(5, at::kByte)},
      {"bool", at::arange(4) > 1},
      {"empty", at::empty({0, 3})},
      {"scalar", at::scalar_tensor(2.5)},
      {"strided", at::randn({4, 4}).t()},  // non-contiguous input
  };
  rlae::save_safetensors(path("a.safetensors"), tensors, {{"note", "hello"}});
  auto f = rlae::SafetensorsFile::open(path("a.safetensors"));
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().at("note"), "hello");
  EXPECT_EQ(f->names().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    at::Tensor got = f->get(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), t.sizes()) << name;
    EXPECT_TRUE(got.equal(t)) << name;
  }
  // No temporary file left behind.
  std::ifstream tmp(path("a.safetensors.tmp." + std::to_string(::getpid())));
  EXPECT_FALSE(tmp.good());
}

TEST_F(Safetensors, ZeroCopyViewsAndCopyOnWrite) {
  rlae::save_safetensors(path("z.safetensors"), {{"w", at::arange(16, at::kFloat)}});
  const std::string before = read_bytes(path("z.safetensors"));
  {
    auto f = rlae::SafetensorsFile::open(path("z.safetensors"));
    at::Tensor a = f->get("w"), b = f->get("w");
    EXPECT_EQ(a.data_ptr(), b.data_ptr()) << "aligned data should be a view of the mapping";
    a.fill_(-1);  // private mapping: the file must not change
    EXPECT_EQ(b[3].item<float>(), -1.0f);
  }
  EXPECT_EQ(read_bytes(path("z.safetensors")), before);
  // The mapping outlives the file object while tensors use it.
  at::Tensor kept;
  { kept = rlae::SafetensorsFile::open(path("z.safetensors"))->get("w"); }
  EXPECT_EQ(kept[5].item<float>(), 5.0f);
}

TEST_F(Safetensors, MisalignedDataIsCopied) {
  // A 3-byte tensor first puts the float tensor at an odd offset.
  rlae::save_safetensors(path("m.safetensors"),
                         {{"a", at::arange(3, at::kByte)}, {"b", at::arange(5, at::kFloat)}});
  auto f = rlae::SafetensorsFile::open(path("m.safetensors"));
  EXPECT_TRUE(f->get("b").equal(at::arange(5, at::kFloat)));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f->get("b").data_ptr()) % 4, 0u);
}

TEST_F(Safetensors, WriterReplacesExistingFile) {
  rlae::save_safetensors(path("r.safetensors"), {{"x", at::ones({2})}});
  rlae::save_safetensors(path("r.safetensors"), {{"y", at::zeros({3})}});
  auto f = rlae::SafetensorsFile::open(path("r.safetensors"));
  EXPECT_FALSE(f->contains("x"));
  EXPECT_TRUE(f->get("y").equal(at::zeros({3})));
}

TEST_F(Safetensors, WriterRejectsDuplicateNames) {
  EXPECT_THROW(rlae::save_safetensors(path("d.safetensors"), {{"x", at::ones({2})}, {"x", at::ones({2})}}),
               rlae::Error);
}

TEST_F(Safetensors, ReadsFilesWrittenByThePythonLibrary) {
  // Written with safetensors.torch.save_file({"a": torch.arange(4, dtype=torch.float32)}).
  const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  std::string data;
  for (float v : {0.f, 1.f, 2.f, 3.f}) data.append(reinterpret_cast<const char*>(&v), 4);
  write_bytes(path("py.safetensors"), raw_file(header, 0) + data);
  EXPECT_TRUE(rlae::SafetensorsFile::open(path("py.safetensors"))->get("a").equal(at::arange(4, at::kFloat)));
}

TEST_F(Safetensors, EmptyAndTinyFiles) {
  write_bytes(path("empty.safetensors"), "");
  expect_bad_file(path("empty.safetensors"), "not a safetensors file");
  write_bytes(path("tiny.safetensors"), "abc");
  expect_bad_file(path("tiny.safetensors"), "not a safetensors file");
}

TEST_F(Safetensors, MissingFile) { expect_bad_file(path("nope.safetensors"), "cannot open"); }

TEST_F(Safetensors, TruncatedFile) {
  rlae::save_safetensors(path("t.safetensors"), {{"w", at::randn({64})}});
  const std::string full = read_bytes(path("t.safetensors"));
  write_bytes(path("t1.safetensors"), full.substr(0, full.size() - 10));  // data cut short
  expect_bad_file(path("t1.safetensors"), "truncated");
  write_bytes(path("t2.safetensors"), full.substr(0, 20));  // header cut short
  expect_bad_file(path("t2.safetensors"), "truncated");
}

TEST_F(Safetensors, HeaderLengthLies) {
  std::string bytes = raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  bytes[7] = '\x7f';  // an absurd header length
  write_bytes(path("h.safetensors"), bytes);
  expect_bad_file(path("h.safetensors"), "implausible");
}

TEST_F(Safetensors, CorruptHeader) {
  write_bytes(path("c1.safetensors"), raw_file(R"({"a":{"dtype":"F32",)", 0));
  expect_bad_file(path("c1.safetensors"), "not valid JSON");
  write_bytes(path("c2.safetensors"), raw_file("[1, 2, 3]", 0));
  expect_bad_file(path("c2.safetensors"), "not a JSON object");
  write_bytes(path("c3.safetensors"), raw_file(R"({"a": 5})", 0));
  expect_bad_file(path("c3.safetensors"), "is not a JSON object");
  write_bytes(path("c4.safetensors"), raw_file(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4));
  expect_bad_file(path("c4.safetensors"), "dtype");
  write_bytes(path("c5.safetensors"),
              raw_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
  expect_bad_file(path("c5.safetensors"), "bad dimension");
  write_bytes(path("c6.safetensors"),
              raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4));
  expect_bad_file(path("c6.safetensors"), "data_offsets");
  write_bytes(path("c7.safetensors"), raw_file(R"({"__metadata__": {"k": 1}})", 0));
  expect_bad_file(path("c7.safetensors"), "__metadata__");
  write_bytes(path("c8.safetensors"),
              raw_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4));
  expect_bad_file(path("c8.safetensors"), "too many elements");
}

TEST_F(Safetensors, UnknownDtype) {
  write_bytes(path("u.safetensors"), raw_file(R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})", 1));
  expect_bad_file(path("u.safetensors"), "unknown dtype 'F7'");
}

TEST_F(Safetensors, DtypeLibTorchCannotHold) {
  write_bytes(path("u16.safetensors"),
              raw_file(R"({"a":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})", 4));
  auto f = rlae::SafetensorsFile::open(path("u16.safetensors"));  // the header is valid
  try {
    f->get("a");
    ADD_FAILURE() << "U16 should not load";
  } catch (const rlae::Error& e) {
    EXPECT_NE(std::string(e.what()).find("U16"), std::string::npos) << e.what();
  }
}

TEST_F(Safetensors, LyingOffsets) {
  // Size does not match shape * dtype.
  write_bytes(path("o1.safetensors"), raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4));
  expect_bad_file(path("o1.safetensors"), "needs 8 bytes");
  // Beyond the end of the file.
  write_bytes(path("o2.safetensors"), raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4));
  expect_bad_file(path("o2.safetensors"), "exceed the data buffer");
  // Overlapping tensors.
  write_bytes(path("o3.safetensors"),
              raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
  expect_bad_file(path("o3.safetensors"), "overlap");
  // A gap nobody owns.
  write_bytes(path("o4.safetensors"), raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8));
  expect_bad_file(path("o4.safetensors"), "gap");
  // begin > end.
  write_bytes(path("o5.safetensors"), raw_file(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4));
  expect_bad_file(path("o5.safetensors"), "begin > end");
  // Trailing bytes after the last tensor.
  write_bytes(path("o6.safetensors"), raw_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5));
  expect_bad_file(path("o6.safetensors"), "trailing bytes");
}

TEST_F(Safetensors, MissingTensor) {
  rlae::save_safetensors(path("m.safetensors"), {{"a", at::ones({1})}});
  auto f = rlae::SafetensorsFile::open(path("m.safetensors"));
  try {
    f->get("b");
    ADD_FAILURE();
  } catch (const rlae::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path("m.safetensors")), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos);
  }
}

TEST_F(Safetensors, ShardedCheckpoint) {
  rlae::save_safetensors(path("s-1.safetensors"), {{"a", at::ones({2})}, {"b", at::zeros({1})}});
  rlae::save_safetensors(path("s-2.safetensors"), {{"c", at::arange(3, at::kFloat)}});
  write_bytes(path("model.safetensors.index.json"),
              R"({"metadata": {"total_size": 24}, "weight_map": {"a": "s-1.safetensors",)"
              R"( "b": "s-1.safetensors", "c": "s-2.safetensors"}})");
  auto ck = rlae::SafetensorsCheckpoint::open(dir_);
  EXPECT_EQ(ck.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(ck.get("c").equal(at::arange(3, at::kFloat)));
  EXPECT_EQ(ck.file_of("c"), path("s-2.safetensors"));
  try {
    ck.get("zz");
    ADD_FAILURE();
  } catch (const rlae::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors.index.json: missing tensor 'zz'"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Safetensors, ShardIndexListsATensorTheShardLacks) {
  rlae::save_safetensors(path("s-1.safetensors"), {{"a", at::ones({2})}});
  write_bytes(path("model.safetensors.index.json"),
              R"({"weight_map": {"a": "s-1.safetensors", "b": "s-1.safetensors"}})");
  try {
    rlae::SafetensorsCheckpoint::open(dir_);
    ADD_FAILURE();
  } catch (const rlae::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("index.json"), std::string::npos) << e.what();
  }
}

TEST_F(Safetensors, ShardIndexRejectsPathsAndBadJson) {
  write_bytes(path("model.safetensors.index.json"), R"({"weight_map": {"a": "../x.safetensors"}})");
  EXPECT_THROW(rlae::SafetensorsCheckpoint::open(dir_), rlae::Error);
  write_bytes(path("model.safetensors.index.json"), R"({"weight_map": )");
  EXPECT_THROW(rlae::SafetensorsCheckpoint::open(dir_), rlae::Error);
  write_bytes(path("model.safetensors.index.json"), R"({"weight_map": {"a": "gone.safetensors"}})");
  EXPECT_THROW(rlae::SafetensorsCheckpoint::open(dir_), rlae::Error);
}

TEST_F(Safetensors, CheckpointNeedsWeights) {
  try {
    rlae::SafetensorsCheckpoint::open(dir_);
    ADD_FAILURE();
  } catch (const rlae::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no model.safetensors"), std::string::npos) << e.what();
  }
}

TEST(SafetensorsFormat, HeaderIsPaddedAndParses) {
  rlae::StTensorEntry e;
  e.name = "x";
  e.dtype = rlae::StDtype::F16;
  e.shape = {3};
  e.begin = 0;
  e.end = 6;
  const std::string h = rlae::make_safetensors_header({e}, {{"format", "pt"}});
  EXPECT_EQ(h.size() % 8, 0u);
  const std::string file = h + std::string(6, '\0');
  rlae::StHeader parsed = rlae::parse_safetensors_header(
      reinterpret_cast<const uint8_t*>(file.data()), file.size(), "mem");
  ASSERT_EQ(parsed.tensors.size(), 1u);
  EXPECT_EQ(parsed.tensors[0].dtype, rlae::StDtype::F16);
  EXPECT_EQ(parsed.data_start, h.size());
}

}  // namespace
