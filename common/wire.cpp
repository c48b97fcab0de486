#include "common/wire.h"

#include <array>
#include <cstring>
#include <limits>

#include "common/check.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "rlae's wire format writes tensor bytes in host order and needs a little-endian host"
#endif

namespace rlae::wire {
namespace {

// Slicing-by-8 tables for the reflected polynomial 0xEDB88320.
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};
const CrcTables& crc_tables() {
  static const CrcTables tables;
  return tables;
}

void put_u8(std::vector<uint8_t>& b, uint8_t v) { b.push_back(v); }
void put_u16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void store_u16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v); p[1] = static_cast<uint8_t>(v >> 8); }
void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void store_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t load_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t load_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool known_type(uint16_t t) { return t >= 1 && t <= 6; }

// Bounds-checked reader over the payload; every failure names the item.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  size_t left() const { return n_ - pos_; }
  size_t pos() const { return pos_; }
  const uint8_t* take(size_t k, const char* what, uint32_t item) {
    RLAE_CHECK(k <= left(), "wire: truncated payload: item ", item, " needs ", k, " bytes for its ", what,
               " at offset ", pos_, ", ", left(), " left");
    const uint8_t* q = p_ + pos_;
    pos_ += k;
    return q;
  }
  uint8_t u8(const char* what, uint32_t item) { return *take(1, what, item); }
  uint16_t u16(const char* what, uint32_t item) { return load_u16(take(2, what, item)); }
  uint32_t u32(const char* what, uint32_t item) { return load_u32(take(4, what, item)); }
  uint64_t u64(const char* what, uint32_t item) { return load_u64(take(8, what, item)); }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

}  // namespace

const char* msg_type_name(MsgType t) {
  switch (t) {
    case MsgType::trajectory: return "trajectory";
    case MsgType::params: return "params";
    case MsgType::heartbeat: return "heartbeat";
    case MsgType::shutdown: return "shutdown";
    case MsgType::failure: return "failure";
    case MsgType::params_request: return "params_request";
  }
  return "unknown";
}

size_t wire_dtype_size(uint8_t code) {
  switch (static_cast<WireDType>(code)) {
    case WireDType::f32: case WireDType::i32: return 4;
    case WireDType::f64: case WireDType::i64: return 8;
    case WireDType::f16: case WireDType::bf16: case WireDType::i16: return 2;
    case WireDType::i8: case WireDType::u8: case WireDType::boolean: return 1;
  }
  return 0;
}

const char* wire_dtype_name(uint8_t code) {
  switch (static_cast<WireDType>(code)) {
    case WireDType::f32: return "f32";
    case WireDType::f64: return "f64";
    case WireDType::f16: return "f16";
    case WireDType::bf16: return "bf16";
    case WireDType::i64: return "i64";
    case WireDType::i32: return "i32";
    case WireDType::i16: return "i16";
    case WireDType::i8: return "i8";
    case WireDType::u8: return "u8";
    case WireDType::boolean: return "bool";
  }
  return "unknown";
}

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  const auto& T = crc_tables().t;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    const uint32_t lo = c ^ load_u32(p);
    const uint32_t hi = load_u32(p + 4);
    c = T[7][lo & 0xFF] ^ T[6][(lo >> 8) & 0xFF] ^ T[5][(lo >> 16) & 0xFF] ^ T[4][lo >> 24] ^
        T[3][hi & 0xFF] ^ T[2][(hi >> 8) & 0xFF] ^ T[1][(hi >> 16) & 0xFF] ^ T[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = T[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

Writer::Writer() : buf_(kHeaderBytes, 0) {}

void Writer::put_name(const std::string& name, Item::Kind kind) {
  RLAE_CHECK(!name.empty() && name.size() <= kMaxNameBytes && name.find('\0') == std::string::npos,
             "wire: item name '", name, "' must have 1..", kMaxNameBytes, " bytes and no NUL");
  RLAE_CHECK(count_ < kMaxItems, "wire: more than ", kMaxItems, " items in one message");
  put_u16(buf_, static_cast<uint16_t>(name.size()));
  buf_.insert(buf_.end(), name.begin(), name.end());
  put_u8(buf_, static_cast<uint8_t>(kind));
  ++count_;
}

void Writer::add_tensor(const std::string& name, WireDType dtype, const std::vector<int64_t>& shape,
                        const void* data, size_t nbytes) {
  const size_t esize = wire_dtype_size(static_cast<uint8_t>(dtype));
  RLAE_CHECK(esize != 0, "wire: tensor '", name, "': unknown dtype code ", static_cast<int>(dtype));
  RLAE_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "wire: tensor '", name, "' has ", shape.size(),
             " dimensions, at most ", kMaxDims);
  size_t numel = 1;
  for (int64_t d : shape) {
    RLAE_CHECK(d >= 0, "wire: tensor '", name, "' has a negative dimension ", d);
    numel *= static_cast<size_t>(d);
  }
  RLAE_CHECK(numel * esize == nbytes, "wire: tensor '", name, "' has ", nbytes, " bytes, its shape needs ",
             numel * esize);
  put_name(name, Item::Kind::tensor);
  put_u8(buf_, static_cast<uint8_t>(dtype));
  put_u8(buf_, static_cast<uint8_t>(shape.size()));
  for (int64_t d : shape) put_u64(buf_, static_cast<uint64_t>(d));
  put_u64(buf_, nbytes);
  const uint8_t* p = static_cast<const uint8_t*>(data);
  if (nbytes > 0) buf_.insert(buf_.end(), p, p + nbytes);
}

void Writer::add_strings(const std::string& name, const std::vector<std::string>& strings) {
  RLAE_CHECK(strings.size() <= std::numeric_limits<uint32_t>::max(), "wire: too many strings in '", name, "'");
  put_name(name, Item::Kind::strings);
  put_u32(buf_, static_cast<uint32_t>(strings.size()));
  for (const std::string& s : strings) {
    RLAE_CHECK(s.size() <= std::numeric_limits<uint32_t>::max(), "wire: a string of '", name, "' is too long");
    put_u32(buf_, static_cast<uint32_t>(s.size()));
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
}

std::vector<uint8_t> Writer::finish(MsgType type, uint32_t sender, uint64_t policy_version) {
  uint8_t* h = buf_.data();
  const uint64_t payload = buf_.size() - kHeaderBytes;
  std::memcpy(h, kMagic, 4);
  store_u16(h + 4, kWireVersion);
  store_u16(h + 6, static_cast<uint16_t>(type));
  store_u32(h + 8, sender);
  store_u32(h + 12, count_);
  store_u64(h + 16, policy_version);
  store_u64(h + 24, payload);
  store_u32(h + 32, crc32(h + kHeaderBytes, payload));
  store_u32(h + 36, crc32(h, 36));
  std::vector<uint8_t> out;
  out.swap(buf_);
  buf_.assign(kHeaderBytes, 0);
  count_ = 0;
  return out;
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

Header decode_header(const uint8_t* data, size_t size, const Limits& limits) {
  RLAE_CHECK(data != nullptr || size == 0, "wire: no data");
  RLAE_CHECK(size >= kHeaderBytes, "wire: truncated header: ", size, " bytes, a header has ", kHeaderBytes);
  RLAE_CHECK(std::memcmp(data, kMagic, 4) == 0, "wire: bad magic (not an rlae message)");
  Header h;
  h.version = load_u16(data + 4);
  RLAE_CHECK(h.version == kWireVersion, "wire: schema version ", h.version, ", this build speaks version ",
             kWireVersion);
  const uint32_t header_crc = load_u32(data + 36);
  RLAE_CHECK(crc32(data, 36) == header_crc, "wire: header checksum mismatch (corrupted header)");
  const uint16_t type = load_u16(data + 6);
  RLAE_CHECK(known_type(type), "wire: unknown message type ", type);
  h.type = static_cast<MsgType>(type);
  h.sender = load_u32(data + 8);
  h.count = load_u32(data + 12);
  h.policy_version = load_u64(data + 16);
  h.payload_bytes = load_u64(data + 24);
  h.payload_crc = load_u32(data + 32);
  RLAE_CHECK(h.payload_bytes <= limits.max_payload_bytes, "wire: ", msg_type_name(h.type), " payload of ",
             h.payload_bytes, " bytes exceeds the limit of ", limits.max_payload_bytes);
  RLAE_CHECK(h.payload_bytes == size - kHeaderBytes, "wire: ", msg_type_name(h.type), " header announces ",
             h.payload_bytes, " payload bytes, the frame holds ", size - kHeaderBytes);
  RLAE_CHECK(h.count <= limits.max_items, "wire: ", msg_type_name(h.type), " announces ", h.count,
             " items, at most ", limits.max_items);
  return h;
}

Message decode_message(const uint8_t* data, size_t size, const Limits& limits) {
  Message m;
  m.header = decode_header(data, size, limits);
  const uint8_t* payload = data + kHeaderBytes;
  const size_t n = static_cast<size_t>(m.header.payload_bytes);
  RLAE_CHECK(crc32(payload, n) == m.header.payload_crc, "wire: ", msg_type_name(m.header.type),
             " payload checksum mismatch (corrupted payload of ", n, " bytes)");
  Reader r(payload, n);
  // Every item needs at least 2 + 1 + 1 bytes: a count beyond that is a lie.
  RLAE_CHECK(m.header.count <= n / 4, "wire: ", m.header.count, " items cannot fit in ", n, " payload bytes");
  m.items.reserve(m.header.count);
  for (uint32_t i = 0; i < m.header.count; ++i) {
    Item it;
    const uint16_t name_len = r.u16("name length", i);
    RLAE_CHECK(name_len >= 1 && name_len <= kMaxNameBytes, "wire: item ", i, " has a name of ", name_len,
               " bytes, expected 1..", kMaxNameBytes);
    const uint8_t* name = r.take(name_len, "name", i);
    it.name.assign(reinterpret_cast<const char*>(name), name_len);
    RLAE_CHECK(it.name.find('\0') == std::string::npos, "wire: item ", i, " name contains a NUL byte");
    for (const Item& prev : m.items) {
      RLAE_CHECK(prev.name != it.name, "wire: item name '", it.name, "' appears twice");
    }
    const uint8_t kind = r.u8("kind", i);
    if (kind == static_cast<uint8_t>(Item::Kind::tensor)) {
      it.kind = Item::Kind::tensor;
      const uint8_t code = r.u8("dtype", i);
      const size_t esize = wire_dtype_size(code);
      RLAE_CHECK(esize != 0, "wire: tensor '", it.name, "' has an unknown dtype code ", static_cast<int>(code));
      it.dtype = static_cast<WireDType>(code);
      const uint8_t ndim = r.u8("ndim", i);
      RLAE_CHECK(ndim <= kMaxDims, "wire: tensor '", it.name, "' has ", static_cast<int>(ndim),
                 " dimensions, at most ", kMaxDims);
      // numel x esize must fit in the payload: bound every partial product by it.
      // In a tensor with a zero dimension the others still make its strides:
      // their product (x the element size) is bounded by kMaxEmptyExtent, 2^62
      // (LibTorch refuses strides that overflow int64 with an exception of its
      // own, which the wire_tensor fuzz target found).
      constexpr uint64_t kMaxEmptyExtent = uint64_t{1} << 62;
      uint64_t bytes = esize;
      bool zero = false;
      for (int d = 0; d < ndim; ++d) {
        const uint64_t dim = r.u64("shape", i);
        RLAE_CHECK(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "wire: tensor '", it.name,
                   "' has dimension ", d, " = ", dim, " (negative as int64)");
        it.shape.push_back(static_cast<int64_t>(dim));
        if (dim == 0) {
          zero = true;
          continue;
        }
        const uint64_t bound = zero ? std::max<uint64_t>(n, kMaxEmptyExtent) : n;
        RLAE_CHECK(dim <= bound / bytes, "wire: tensor '", it.name, "' shape needs more bytes than the payload of ", n,
                   " holds", zero ? " (or than any tensor with a zero dimension may span)" : "");
        bytes *= dim;
      }
      if (zero) bytes = 0;
      const uint64_t nbytes = r.u64("data size", i);
      RLAE_CHECK(nbytes == bytes, "wire: tensor '", it.name, "' announces ", nbytes, " data bytes, its shape and ",
                 wire_dtype_name(code), " dtype need ", bytes);
      it.data = r.take(static_cast<size_t>(nbytes), "data", i);
      it.nbytes = static_cast<size_t>(nbytes);
    } else if (kind == static_cast<uint8_t>(Item::Kind::strings)) {
      it.kind = Item::Kind::strings;
      const uint32_t count = r.u32("string count", i);
      RLAE_CHECK(count <= r.left() / 4, "wire: strings '", it.name, "' announces ", count, " strings, only ",
                 r.left(), " bytes left");
      it.strings.reserve(count);
      for (uint32_t s = 0; s < count; ++s) {
        const uint32_t len = r.u32("string length", i);
        const uint8_t* p = r.take(len, "string bytes", i);
        it.strings.emplace_back(reinterpret_cast<const char*>(p), len);
      }
    } else {
      RLAE_FAIL("wire: item '", it.name, "' has an unknown kind ", static_cast<int>(kind));
    }
    m.items.push_back(std::move(it));
  }
  RLAE_CHECK(r.left() == 0, "wire: ", r.left(), " trailing bytes after the last of ", m.header.count, " items");
  return m;
}

const Item* Message::find(const std::string& name) const {
  for (const Item& it : items) {
    if (it.name == name) return &it;
  }
  return nullptr;
}

const Item& Message::tensor(const std::string& name) const {
  const Item* it = find(name);
  RLAE_CHECK(it != nullptr, "wire: ", msg_type_name(header.type), " message lacks tensor '", name, "'");
  RLAE_CHECK(it->kind == Item::Kind::tensor, "wire: ", msg_type_name(header.type), " item '", name,
             "' must be a tensor");
  return *it;
}

const Item& Message::strings(const std::string& name) const {
  const Item* it = find(name);
  RLAE_CHECK(it != nullptr, "wire: ", msg_type_name(header.type), " message lacks strings '", name, "'");
  RLAE_CHECK(it->kind == Item::Kind::strings, "wire: ", msg_type_name(header.type), " item '", name,
             "' must be strings");
  return *it;
}

std::vector<uint8_t> encode_control(MsgType type, uint32_t sender, uint64_t policy_version, const Control& c) {
  Writer w;
  w.add_string("host", c.host);
  if (!c.reason.empty()) w.add_string("reason", c.reason);
  if (!c.status.empty()) w.add_string("status", c.status);
  return w.finish(type, sender, policy_version);
}

Control decode_control(const Message& m) {
  Control c;
  auto one = [&](const char* name, std::string* out, bool required) {
    const Item* it = m.find(name);
    if (it == nullptr) {
      RLAE_CHECK(!required, "wire: ", msg_type_name(m.header.type), " message lacks '", name, "'");
      return;
    }
    RLAE_CHECK(it->kind == Item::Kind::strings && it->strings.size() == 1, "wire: ",
               msg_type_name(m.header.type), " item '", name, "' must be one string");
    *out = it->strings[0];
  };
  one("host", &c.host, true);
  one("reason", &c.reason, false);
  one("status", &c.status, false);
  return c;
}

}  // namespace rlae::wire
