// libFuzzer target for the actor <-> learner wire decoder (common/wire.cpp).
//
// Build and run from the repository root (one command; clang 14+):
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_wire.cpp common/wire.cpp common/check.cpp -o /tmp/fuzz_wire && /tmp/fuzz_wire -max_total_time=300 -max_len=65536 /tmp/fuzz_wire_corpus
//
// The corpus directory is created and seeded with valid frames (control
// messages, a params-like and a trajectory-like message) when it is missing or
// empty. An input is one mode byte followed by a frame. Mode bit 0 set: the
// frame's payload size and both CRC-32s are repaired before decoding, so that
// mutations reach the structural checks behind the checksums (otherwise almost
// every mutation stops at the checksum). A frame must either decode or throw
// rlae::Error; anything else (a crash, a sanitizer report, another exception
// such as rlae::InternalError escaping) is a finding. A frame that decodes is
// re-encoded item by item and must decode to the same items.
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using rlae::wire::Item;

void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void repair(std::vector<uint8_t>& f) {
  if (f.size() < rlae::wire::kHeaderBytes) return;
  const size_t n = f.size() - rlae::wire::kHeaderBytes;
  put_le(f.data() + 24, n, 8);
  put_le(f.data() + 32, rlae::wire::crc32(f.data() + rlae::wire::kHeaderBytes, n), 4);
  put_le(f.data() + 36, rlae::wire::crc32(f.data(), 36), 4);
}

std::vector<std::vector<uint8_t>> seeds() {
  using namespace rlae::wire;
  std::vector<std::vector<uint8_t>> out;
  out.push_back(encode_control(MsgType::heartbeat, 1, 3, {"node-01", "", ""}));
  out.push_back(encode_control(MsgType::shutdown, 0, 9, {"node-00", "rank 2 on node-02 lost", "failure"}));
  out.push_back(encode_control(MsgType::failure, 2, 0, {"node-02", "out of memory", "failure"}));
  {
    Writer w;
    const float wts[6] = {1, 2, 3, 4, 5, 6};
    const int64_t ids[3] = {7, 8, 9};
    w.add_tensor("layer.weight", WireDType::f32, {2, 3}, wts, sizeof(wts));
    w.add_tensor("ids", WireDType::i64, {3}, ids, sizeof(ids));
    w.add_tensor("scalar", WireDType::u8, {}, "x", 1);
    w.add_tensor("empty", WireDType::bf16, {0, 4}, nullptr, 0);
    out.push_back(w.finish(MsgType::params, 0, 5));
  }
  {
    Writer w;
    const float obs[2 * 2 * 3] = {0};
    const uint8_t dones[2] = {0, 1};
    w.add_tensor("obs", WireDType::f32, {2, 2, 3}, obs, sizeof(obs));
    w.add_tensor("dones", WireDType::u8, {2}, dones, sizeof(dones));
    w.add_strings("prompt_id", {"p0"});
    w.add_strings("text", {"r\xC3\xA9ponse", ""});
    out.push_back(w.finish(MsgType::trajectory, 3, 1));
  }
  return out;
}

void seed_corpus(const char* dir) {
  if (!fuzz::empty_corpus_dir(dir)) return;
  int n = 0;
  for (const auto& frame : seeds()) {
    for (char mode : {'\0', '\1'}) {
      std::ofstream out(std::string(dir) + "/seed" + std::to_string(n++), std::ios::binary);
      out.put(mode);
      out.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
    }
  }
}

bool same_items(const std::vector<Item>& a, const std::vector<Item>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].kind != b[i].kind) return false;
    if (a[i].kind == Item::Kind::strings) {
      if (a[i].strings != b[i].strings) return false;
    } else if (a[i].dtype != b[i].dtype || a[i].shape != b[i].shape || a[i].nbytes != b[i].nbytes ||
               (a[i].nbytes > 0 && std::memcmp(a[i].data, b[i].data, a[i].nbytes) != 0)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (const char* dir = fuzz::corpus_dir(*argc, *argv)) seed_corpus(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::vector<uint8_t> frame(data + 1, data + size);  // exact size: ASan sees any over-read
  if (data[0] & 1) repair(frame);
  rlae::wire::Message m;
  try {
    m = rlae::wire::decode_message(frame.data(), frame.size());
    if (m.header.type == rlae::wire::MsgType::heartbeat || m.header.type == rlae::wire::MsgType::shutdown ||
        m.header.type == rlae::wire::MsgType::failure || m.header.type == rlae::wire::MsgType::params_request) {
      (void)rlae::wire::decode_control(m);
    }
  } catch (const rlae::Error&) {
    return 0;  // rejected with a reason: fine
  }
  // Round trip: the same items, re-encoded, decode to the same items.
  rlae::wire::Writer w;
  for (const Item& it : m.items) {
    if (it.kind == Item::Kind::strings) {
      w.add_strings(it.name, it.strings);
    } else {
      w.add_tensor(it.name, it.dtype, it.shape, it.data, it.nbytes);
    }
  }
  const std::vector<uint8_t> again = w.finish(m.header.type, m.header.sender, m.header.policy_version);
  const rlae::wire::Message back = rlae::wire::decode_message(again.data(), again.size());
  if (!same_items(m.items, back.items) || again != frame) std::abort();  // the encoding is canonical
  return 0;
}
