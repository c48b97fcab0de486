// The actor <-> learner wire format: one ZeroMQ frame per message, a fixed
// 40-byte little-endian header followed by a payload of named items.
//
// Header (kWireVersion = 1; offsets in bytes, all integers little-endian):
//    0  char[4]  magic "RLAE"
//    4  u16      schema version (kWireVersion)
//    6  u16      type (MsgType)
//    8  u32      sender rank (MPI rank of the sender)
//   12  u32      item count (number of items in the payload)
//   16  u64      policy version (trajectory: the version that acted; params:
//                the version of the parameters; heartbeat: the sender's newest)
//   24  u64      payload bytes (exactly the frame size - 40)
//   32  u32      payload CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320,
//                init/xorout 0xFFFFFFFF: the value zlib's crc32() gives)
//   36  u32      header CRC-32 over bytes 0..35
//   40  payload
//
// Payload: `item count` items back to back, each
//   u16 name length, name bytes (1..kMaxNameBytes, no NUL), u8 kind, then
//   kind 1 (tensor):  u8 dtype code (WireDType), u8 ndim (0..kMaxDims),
//                     ndim x u64 dims, u64 data bytes (= prod(dims) x dtype size),
//                     raw little-endian element bytes, C-contiguous
//   kind 2 (strings): u32 count, count x (u32 length, UTF-8 bytes)
// Nothing else may follow the last item. decode_message() checks every field
// against the frame's real size before reading it and throws rlae::Error with
// the reason on anything malformed: it never reads out of bounds, never
// allocates more than the frame holds, and never crashes on hostile bytes.
//
// This file is torch-free (tensors are views over the frame) so that the fuzz
// target builds from wire.cpp + check.cpp alone; common/wire_tensor.h converts
// to and from at::Tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rlae::wire {

constexpr uint16_t kWireVersion = 1;
constexpr size_t kHeaderBytes = 40;
constexpr char kMagic[4] = {'R', 'L', 'A', 'E'};
constexpr size_t kMaxNameBytes = 256;
constexpr int kMaxDims = 8;
constexpr uint32_t kMaxItems = 4096;

enum class MsgType : uint16_t {
  trajectory = 1,      // actor -> learner: a TrajectoryBatch
  params = 2,          // learner -> actors: ordered named tensors + version
  heartbeat = 3,       // both ways: "host"; the sender is alive
  shutdown = 4,        // learner -> actors: stop ("host", "reason", "status");
                       // actor -> learner: this actor leaves cleanly
  failure = 5,         // actor -> learner: this actor failed ("host", "reason")
  params_request = 6,  // actor -> learner: please re-publish the current params
};
const char* msg_type_name(MsgType t);

enum class WireDType : uint8_t {
  f32 = 1, f64 = 2, f16 = 3, bf16 = 4, i64 = 5, i32 = 6, i16 = 7, i8 = 8, u8 = 9, boolean = 10,
};
// Bytes per element; 0 for an unknown code.
size_t wire_dtype_size(uint8_t code);
const char* wire_dtype_name(uint8_t code);

struct Header {
  uint16_t version = kWireVersion;
  MsgType type = MsgType::heartbeat;
  uint32_t sender = 0;
  uint32_t count = 0;
  uint64_t policy_version = 0;
  uint64_t payload_bytes = 0;
  uint32_t payload_crc = 0;
};

// A decoded item; `data`/`strings` point into the frame (keep it alive).
struct Item {
  enum class Kind : uint8_t { tensor = 1, strings = 2 };
  std::string name;
  Kind kind = Kind::tensor;
  // tensor
  WireDType dtype = WireDType::f32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  // strings
  std::vector<std::string> strings;
};

struct Message {
  Header header;
  std::vector<Item> items;
  // The item called `name`; rlae::Error naming the message type when absent
  // or of another kind.
  const Item& tensor(const std::string& name) const;
  const Item& strings(const std::string& name) const;
  const Item* find(const std::string& name) const;
};

struct Limits {
  uint64_t max_payload_bytes = uint64_t{1} << 31;  // 2 GiB
  uint32_t max_items = kMaxItems;
};

// CRC-32 (zlib's): crc32(0, "123456789") == 0xCBF43926. Chain with `crc`.
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

// Builds one message: add items, then finish().
class Writer {
 public:
  Writer();
  // Room for `payload_bytes` more bytes (avoids re-allocations for big tensors).
  void reserve(size_t payload_bytes) { buf_.reserve(buf_.size() + payload_bytes); }
  void add_tensor(const std::string& name, WireDType dtype, const std::vector<int64_t>& shape,
                  const void* data, size_t nbytes);
  void add_strings(const std::string& name, const std::vector<std::string>& strings);
  void add_string(const std::string& name, const std::string& s) { add_strings(name, {s}); }
  // Writes the header; the Writer is empty afterwards.
  std::vector<uint8_t> finish(MsgType type, uint32_t sender, uint64_t policy_version);

 private:
  void put_name(const std::string& name, Item::Kind kind);
  std::vector<uint8_t> buf_;  // header space + payload
  uint32_t count_ = 0;
};

// Header only (magic, version, known type, header CRC, payload size = size - 40).
Header decode_header(const uint8_t* data, size_t size, const Limits& limits = {});
// Header, payload CRC and every item; rlae::Error with the reason otherwise.
Message decode_message(const uint8_t* data, size_t size, const Limits& limits = {});

// Control messages (heartbeat, shutdown, failure, params_request): strings
// items "host" and, where given, "reason" and "status".
struct Control {
  std::string host;
  std::string reason;
  std::string status;
};
std::vector<uint8_t> encode_control(MsgType type, uint32_t sender, uint64_t policy_version,
                                    const Control& c);
// Reads the items of a decoded control message ("host" is required).
Control decode_control(const Message& m);

}  // namespace rlae::wire
