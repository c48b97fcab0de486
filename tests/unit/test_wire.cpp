// The actor <-> learner wire format (common/wire.h, common/wire_tensor.h):
// round trips of every message type, and every kind of corrupt frame rejected
// with rlae::Error and a reason, never a crash.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <typeinfo>
#include <vector>

#include "common/check.h"
#include "common/trajectory.h"
#include "common/wire.h"
#include "common/wire_tensor.h"
#include "tests/unit/traj_fixtures.h"

namespace rlae {
namespace {

using wire::Item;
using wire::MsgType;
using wire::WireDType;

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Makes the size and both checksums of a (modified) frame consistent again, so
// that the decoder's structural checks are what is tested.
void fix_frame(std::vector<uint8_t>& f) {
  if (f.size() < wire::kHeaderBytes) return;
  put_u64(f.data() + 24, f.size() - wire::kHeaderBytes);
  put_u32(f.data() + 32, wire::crc32(f.data() + wire::kHeaderBytes, f.size() - wire::kHeaderBytes));
  put_u32(f.data() + 36, wire::crc32(f.data(), 36));
}

// A frame from a hand-written payload: header fields consistent with it.
std::vector<uint8_t> raw_frame(MsgType type, uint32_t count, const std::vector<uint8_t>& payload) {
  wire::Writer w;
  std::vector<uint8_t> f = w.finish(type, 1, 0);
  f.insert(f.end(), payload.begin(), payload.end());
  put_u32(f.data() + 12, count);
  fix_frame(f);
  return f;
}

struct Bytes {
  std::vector<uint8_t> b;
  Bytes& u8(uint8_t v) { b.push_back(v); return *this; }
  Bytes& u16(uint16_t v) { b.push_back(v & 0xFF); b.push_back(v >> 8); return *this; }
  Bytes& u32(uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i))); return *this; }
  Bytes& u64(uint64_t v) { for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i))); return *this; }
  Bytes& str(const std::string& s) { b.insert(b.end(), s.begin(), s.end()); return *this; }
  Bytes& name(const std::string& s) { return u16(static_cast<uint16_t>(s.size())).str(s); }
};

// decode_message must throw rlae::Error whose message contains `needle`.
void expect_rejected(const std::vector<uint8_t>& f, const std::string& needle) {
  try {
    wire::decode_message(f.data(), f.size());
    ADD_FAILURE() << "accepted a frame that should fail with '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Wire, Crc32MatchesZlib) {
  EXPECT_EQ(wire::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(wire::crc32("", 0), 0u);
  // Chaining equals one pass, across the 8-byte slicing boundary.
  const std::string s = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(wire::crc32(s.data(), s.size()), 0x414FA339u);
  EXPECT_EQ(wire::crc32(s.data() + 5, s.size() - 5, wire::crc32(s.data(), 5)), 0x414FA339u);
}

TEST(Wire, HeaderLayoutIsFixed) {
  const std::vector<uint8_t> f =
      wire::encode_control(MsgType::heartbeat, 0x01020304u, 0x1122334455667788ull, {"h", "", ""});
  ASSERT_GE(f.size(), wire::kHeaderBytes);
  EXPECT_EQ(std::memcmp(f.data(), "RLAE", 4), 0);
  EXPECT_EQ(f[4], 1);  // version, little-endian
  EXPECT_EQ(f[5], 0);
  EXPECT_EQ(f[6], static_cast<uint8_t>(MsgType::heartbeat));
  EXPECT_EQ(f[8], 0x04);  // sender
  EXPECT_EQ(f[11], 0x01);
  EXPECT_EQ(f[12], 1);  // one item
  EXPECT_EQ(f[16], 0x88);  // policy version
  EXPECT_EQ(f[23], 0x11);
  EXPECT_EQ(f[24], f.size() - wire::kHeaderBytes);
}

TEST(Wire, ControlMessagesRoundTrip) {
  for (MsgType t : {MsgType::heartbeat, MsgType::shutdown, MsgType::failure, MsgType::params_request}) {
    const wire::Control c{"node-07", t == MsgType::heartbeat ? "" : "out of memory on \xE2\x9C\x93", "failure"};
    const std::vector<uint8_t> f = wire::encode_control(t, 5, 42, c);
    const wire::Message m = wire::decode_message(f.data(), f.size());
    EXPECT_EQ(m.header.type, t);
    EXPECT_EQ(m.header.sender, 5u);
    EXPECT_EQ(m.header.policy_version, 42u);
    const wire::Control back = wire::decode_control(m);
    EXPECT_EQ(back.host, c.host);
    EXPECT_EQ(back.reason, c.reason);
    EXPECT_EQ(back.status, c.status);
  }
}

TEST(Wire, ParamsRoundTripEveryDtype) {
  wire::NamedTensors params;
  params.emplace_back("layer.0.weight", at::randn({4, 5}));
  params.emplace_back("layer.0.weight.T", at::randn({5, 4}).t());  // not contiguous
  params.emplace_back("f64", at::randn({3}, at::kDouble));
  params.emplace_back("f16", at::randn({2, 2}).to(at::kHalf));
  params.emplace_back("bf16", at::randn({2, 3}).to(at::kBFloat16));
  params.emplace_back("i64", at::arange(-3, 7, at::kLong));
  params.emplace_back("i32", at::arange(0, 5, at::kInt).reshape({5, 1}));
  params.emplace_back("i16", at::arange(0, 4, at::kShort));
  params.emplace_back("i8", at::arange(-4, 4, at::kChar));
  params.emplace_back("u8", at::arange(0, 255, at::kByte));
  params.emplace_back("bool", at::rand({6}) > 0.5);
  params.emplace_back("scalar", at::scalar_tensor(3.5));
  params.emplace_back("empty", at::empty({0, 7}));
  const std::vector<uint8_t> f = wire::encode_params(0, 17, params);
  const wire::Message m = wire::decode_message(f.data(), f.size());
  EXPECT_EQ(m.header.type, MsgType::params);
  EXPECT_EQ(m.header.policy_version, 17u);
  const wire::NamedTensors back = wire::decode_params(m);
  ASSERT_EQ(back.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(back[i].first, params[i].first);
    EXPECT_EQ(back[i].second.scalar_type(), params[i].second.scalar_type()) << params[i].first;
    EXPECT_EQ(back[i].second.sizes(), params[i].second.sizes()) << params[i].first;
    EXPECT_TRUE(at::equal(back[i].second, params[i].second)) << params[i].first;
  }
}

TEST(Wire, UnsupportedDtypeIsAnError) {
  wire::NamedTensors params{{"c", at::randn({2}, at::kComplexFloat)}};
  EXPECT_THROW(wire::encode_params(0, 0, params), Error);
}

TEST(Wire, TrajectoryRoundTrip) {
  for (int64_t n : {0, 1, 7, 64}) {
    const TrajectoryBatch b = testing::make_batch(static_cast<uint64_t>(n) + 3, n, n == 0 ? 0 : std::min<int64_t>(n, 4));
    const std::vector<uint8_t> f = wire::encode_trajectory(3, 9, b);
    const wire::Message m = wire::decode_message(f.data(), f.size());
    EXPECT_EQ(m.header.type, MsgType::trajectory);
    EXPECT_EQ(m.header.sender, 3u);
    EXPECT_EQ(m.header.policy_version, 9u);
    const TrajectoryBatch back = wire::decode_trajectory(m);
    EXPECT_EQ(testing::batch_checksum(back), testing::batch_checksum(b));
    EXPECT_EQ(back.num_steps(), n);
    EXPECT_EQ(back.text, b.text);
    EXPECT_EQ(back.correct, b.correct);
    EXPECT_TRUE(at::equal(back.obs, b.obs));
    EXPECT_TRUE(at::equal(back.span_index, b.span_index));
  }
}

TEST(Wire, RejectsBrokenHeaders) {
  const std::vector<uint8_t> good = wire::encode_control(MsgType::heartbeat, 1, 0, {"h", "", ""});
  {
    std::vector<uint8_t> f(good.begin(), good.begin() + 39);
    expect_rejected(f, "truncated header");
    expect_rejected({}, "truncated header");
  }
  {
    std::vector<uint8_t> f(good.begin(), good.end() - 1);  // payload short by one byte
    expect_rejected(f, "payload bytes");
  }
  {
    std::vector<uint8_t> f = good;
    f.push_back(0);  // one byte more than announced
    expect_rejected(f, "payload bytes");
  }
  {
    std::vector<uint8_t> f = good;
    f[0] = 'X';
    expect_rejected(f, "bad magic");
  }
  {
    std::vector<uint8_t> f = good;
    f[4] = 2;  // schema version 2
    expect_rejected(f, "schema version 2");
    fix_frame(f);
    expect_rejected(f, "schema version 2");
  }
  {
    std::vector<uint8_t> f = good;
    f[6] = 99;
    expect_rejected(f, "header checksum");  // any header change without a new CRC
    fix_frame(f);
    expect_rejected(f, "unknown message type 99");
  }
  {
    std::vector<uint8_t> f = good;
    const size_t last = f.size() - 1;  // a byte of the payload
    ASSERT_GT(last, wire::kHeaderBytes);
    f[last] = static_cast<uint8_t>(f[last] ^ 0x40);
    expect_rejected(f, "payload checksum mismatch");
  }
  {
    std::vector<uint8_t> f = good;
    put_u32(f.data() + 12, 1000000);  // huge item count
    fix_frame(f);
    expect_rejected(f, "items");
  }
  {
    wire::Limits small;
    small.max_payload_bytes = 4;
    EXPECT_THROW(wire::decode_message(good.data(), good.size(), small), Error);
  }
}

TEST(Wire, RejectsLyingPayloads) {
  // A valid one-tensor payload to start from: "t", f32, [2, 3], 24 bytes.
  auto tensor_item = [](uint8_t dtype, std::vector<uint64_t> dims, uint64_t nbytes, size_t data) {
    Bytes b;
    b.name("t").u8(1).u8(dtype).u8(static_cast<uint8_t>(dims.size()));
    for (uint64_t d : dims) b.u64(d);
    b.u64(nbytes);
    b.b.resize(b.b.size() + data, 0);
    return b.b;
  };
  {
    const auto f = raw_frame(MsgType::params, 1, tensor_item(1, {2, 3}, 24, 24));
    const wire::Message m = wire::decode_message(f.data(), f.size());
    ASSERT_EQ(m.items.size(), 1u);
    EXPECT_EQ(m.items[0].shape, (std::vector<int64_t>{2, 3}));
  }
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {2, 3}, 24, 20)), "truncated payload");
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {2, 3}, 20, 20)), "announces 20 data bytes");
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {2, 3}, 48, 48)), "need 24");
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(2, {2, 3}, 24, 24)), "f64 dtype need 48");
  // A zero dimension makes 0 bytes, but the other dimensions still make the
  // tensor's strides: [0, 2^62, 3] overflowed them inside at::empty (an
  // exception of LibTorch's, found by the wire_tensor fuzz target).
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {0, uint64_t{1} << 62, 3}, 0, 0)),
                  "any tensor with a zero dimension may span");
  {
    const auto f = raw_frame(MsgType::params, 1, tensor_item(1, {0, 3, 132}, 0, 0));  // an empty batch's obs
    const wire::Message m = wire::decode_message(f.data(), f.size());
    EXPECT_EQ(wire::to_tensor(m.items[0]).sizes(), (std::vector<int64_t>{0, 3, 132}));
  }
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(77, {2, 3}, 24, 24)), "unknown dtype code 77");
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {1, 1, 1, 1, 1, 1, 1, 1, 1}, 4, 4)),
                  "9 dimensions");
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {uint64_t{1} << 62, 4}, 0, 0)), "shape needs more");
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {~uint64_t{0}}, 4, 4)), "negative as int64");
  // Products that overflow 64 bits when multiplied naively.
  expect_rejected(raw_frame(MsgType::params, 1, tensor_item(1, {uint64_t{1} << 32, uint64_t{1} << 32, 16}, 0, 0)),
                  "shape needs more");
  // A zero dimension makes the tensor empty whatever the others say.
  {
    const auto f = raw_frame(MsgType::params, 1, tensor_item(1, {0, uint64_t{1} << 40}, 0, 0));
    EXPECT_NO_THROW(wire::decode_message(f.data(), f.size()));
  }
  // Names.
  expect_rejected(raw_frame(MsgType::params, 1, Bytes().u16(0).u8(1).u8(1).u8(0).u64(4).u32(0).b), "name of 0");
  expect_rejected(raw_frame(MsgType::params, 1, Bytes().u16(300).str(std::string(300, 'a')).b), "name of 300");
  expect_rejected(raw_frame(MsgType::params, 1, Bytes().u16(50).str("abc").b), "truncated payload");
  expect_rejected(raw_frame(MsgType::params, 1, Bytes().name(std::string("a\0b", 3)).u8(2).u32(0).b), "NUL");
  // Kinds, strings.
  expect_rejected(raw_frame(MsgType::params, 1, Bytes().name("s").u8(9).u32(0).b), "unknown kind 9");
  expect_rejected(raw_frame(MsgType::params, 1, Bytes().name("s").u8(2).u32(0xFFFFFFFFu).u32(0).b),
                  "announces 4294967295 strings");
  expect_rejected(raw_frame(MsgType::params, 1, Bytes().name("s").u8(2).u32(1).u32(1000).str("short").b),
                  "truncated payload");
  expect_rejected(raw_frame(MsgType::params, 2, Bytes().name("s").u8(2).u32(0).name("s").u8(2).u32(0).b),
                  "appears twice");
  // Counts that do not match the items.
  expect_rejected(raw_frame(MsgType::params, 0, Bytes().name("s").u8(2).u32(0).b), "trailing bytes");
  expect_rejected(raw_frame(MsgType::params, 2, Bytes().name("s").u8(2).u32(0).u16(5).b), "truncated payload");
  expect_rejected(raw_frame(MsgType::params, 3, Bytes().name("s").u8(2).u32(0).b), "cannot fit");
}

TEST(Wire, RejectsInconsistentMessages) {
  // A params message carrying strings.
  {
    wire::Writer w;
    w.add_string("x", "y");
    const auto f = w.finish(MsgType::params, 0, 1);
    EXPECT_THROW(wire::decode_params(wire::decode_message(f.data(), f.size())), Error);
  }
  // A control message without a host.
  {
    wire::Writer w;
    w.add_string("reason", "y");
    const auto f = w.finish(MsgType::failure, 2, 1);
    EXPECT_THROW(wire::decode_control(wire::decode_message(f.data(), f.size())), Error);
  }
  const TrajectoryBatch good = testing::make_batch(1, 6, 2);
  // A trajectory lacking a field, with a wrong dtype, with an episode out of range.
  auto encode_without = [&](const std::string& skip, const std::string& as_double) {
    wire::Writer w;
    const std::pair<const char*, const at::Tensor*> fields[] = {
        {"obs", &good.obs},       {"share_obs", &good.share_obs}, {"actions", &good.actions},
        {"logprobs", &good.logprobs}, {"weights", &good.weights}, {"rewards", &good.rewards},
        {"dones", &good.dones},   {"values", &good.values},       {"policy_version", &good.policy_version},
        {"episode", &good.episode}, {"span_index", &good.span_index}};
    for (const auto& [name, t] : fields) {
      if (name == skip) continue;
      wire::add_tensor(w, name, name == as_double ? t->to(at::kDouble) : *t);
    }
    w.add_strings("prompt_id", good.prompt_id);
    w.add_strings("task", good.task);
    w.add_strings("text", good.text);
    wire::add_tensor(w, "correct", at::tensor(std::vector<uint8_t>(good.correct)));
    return w.finish(MsgType::trajectory, 1, 0);
  };
  for (const auto& [skip, dbl, needle] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"rewards", "", "items"}, {"", "obs", "obs"}, {"", "", ""}}) {
    const auto f = encode_without(skip, dbl);
    const wire::Message m = wire::decode_message(f.data(), f.size());
    if (needle.empty()) {
      EXPECT_NO_THROW(wire::decode_trajectory(m));
      continue;
    }
    try {
      wire::decode_trajectory(m);
      ADD_FAILURE() << "accepted a trajectory with " << skip << dbl;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  {
    TrajectoryBatch bad = testing::make_batch(1, 6, 2);
    bad.episode[5] = 7;  // only 2 episodes
    EXPECT_THROW(wire::encode_trajectory(0, 0, bad), Error);  // the sender checks too
  }
}

// Every mutation of a valid frame either decodes or throws rlae::Error.
TEST(Wire, RandomCorruptionNeverCrashes) {
  const TrajectoryBatch b = testing::make_batch(5, 9, 3, 2, 4, 5, 2, 2);
  const std::vector<uint8_t> good = wire::encode_trajectory(2, 4, b);
  std::mt19937_64 rng(1234);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> f = good;
    const int mode = iter % 4;
    if (mode == 0 || mode == 2) {  // byte flips
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) f[rng() % f.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    }
    if (mode == 1 || mode == 2) f.resize(rng() % f.size());  // truncation
    if (mode == 3) {  // a run of random bytes inside the payload
      const size_t at = wire::kHeaderBytes + rng() % (f.size() - wire::kHeaderBytes);
      for (size_t k = at; k < std::min(f.size(), at + 1 + rng() % 16); ++k) f[k] = static_cast<uint8_t>(rng());
    }
    // Half the time repair size and checksums, so that the structural checks
    // behind the CRCs get exercised too.
    if (iter % 8 >= 4) fix_frame(f);
    try {
      const wire::Message m = wire::decode_message(f.data(), f.size());
      if (m.header.type == MsgType::trajectory) (void)wire::decode_trajectory(m);
      if (m.header.type == MsgType::params) (void)wire::decode_params(m);
      ++accepted;
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL() << "iteration " << iter << ": " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(rejected, 3000);
  RecordProperty("accepted", accepted);
}

}  // namespace
}  // namespace rlae
