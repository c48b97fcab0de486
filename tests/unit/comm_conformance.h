// One script of collectives for every Communicator backend (in-process, MPI,
// NCCL): the same inputs must give the same bytes everywhere. Inputs are small
// dyadic numbers, so every summation order gives one exact result (NCCL's ring
// order differs from rank order) and the bytes are comparable across backends.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "actors/communicator.h"

namespace rlae::testing_conformance {

inline at::Tensor on(const at::Device& dev, at::Tensor t) { return t.to(dev).contiguous(); }

inline void append(std::vector<uint8_t>& out, const at::Tensor& t) {
  const at::Tensor h = t.cpu().contiguous();
  const auto* p = static_cast<const uint8_t*>(h.data_ptr());
  out.insert(out.end(), p, p + h.numel() * h.element_size());
}

// Rank r's inputs: a function of (r, i) only.
inline at::Tensor input_f32(int r, int64_t n) {
  return at::arange(n, at::kFloat).mul(0.25).add(0.5 * (r + 1));
}
inline at::Tensor input_i64(int r, int64_t n) {
  return at::arange(n, at::kLong).mul(r + 3).sub(1000 * r);
}

// Runs the script on `comm` with buffers on `dev` (the backend's device, or the CPU).
inline std::vector<uint8_t> run_script(Communicator& c, const at::Device& dev) {
  const int r = c.rank(), n = c.size();
  std::vector<uint8_t> out;
  {  // all-reduce, four dtypes, a size that is no multiple of anything
    at::Tensor f = on(dev, input_f32(r, 1001));
    c.all_reduce_sum(f.data_ptr(), 1001, DType::f32);
    append(out, f);
    at::Tensor d = on(dev, input_f32(r, 77).to(at::kDouble).mul(3));
    c.all_reduce_sum(d.data_ptr(), 77, DType::f64);
    append(out, d);
    at::Tensor l = on(dev, input_i64(r, 129));
    c.all_reduce_sum(l.data_ptr(), 129, DType::i64);
    append(out, l);
    at::Tensor i = on(dev, input_i64(r, 33).to(at::kInt));
    c.all_reduce_sum(i.data_ptr(), 33, DType::i32);
    append(out, i);
  }
  {  // all-gather: bytes, ints, floats
    at::Tensor b = on(dev, input_i64(r, 333).remainder(251).to(at::kByte));
    at::Tensor rb = on(dev, at::zeros({333 * n}, at::kByte));
    c.all_gather(b.data_ptr(), rb.data_ptr(), 333, DType::u8);
    append(out, rb);
    at::Tensor f = on(dev, input_f32(r, 17));
    at::Tensor rf = on(dev, at::zeros({17 * n}, at::kFloat));
    c.all_gather(f.data_ptr(), rf.data_ptr(), 17, DType::f32);
    append(out, rf);
  }
  for (int root = 0; root < n; ++root) {  // broadcast from every root
    at::Tensor f = on(dev, input_f32(r, 100));
    c.broadcast(f.data_ptr(), 100, DType::f32, root);
    append(out, f);
    at::Tensor l = on(dev, input_i64(r, 5));
    c.broadcast(l.data_ptr(), 5, DType::i64, root);
    append(out, l);
  }
  c.barrier();
  {  // host values through the backend
    const int64_t mine[2] = {r, 7 * r + 1};
    std::vector<int64_t> all(static_cast<size_t>(2 * n));
    all_gather_host(c, mine, all.data(), 2);
    append(out, at::tensor(all, at::kLong));
    append(out, at::tensor({broadcast_host(c, 40 + r, n - 1)}, at::kLong));
  }
  return out;
}

// The bytes run_script() must give on rank r of n, computed on the host.
inline std::vector<uint8_t> expected_script(int r, int n) {
  std::vector<uint8_t> out;
  auto sum_over = [&](auto make) {
    at::Tensor s = make(0);
    for (int q = 1; q < n; ++q) s = s + make(q);
    return s;
  };
  append(out, sum_over([](int q) { return input_f32(q, 1001); }));
  append(out, sum_over([](int q) { return input_f32(q, 77).to(at::kDouble).mul(3); }));
  append(out, sum_over([](int q) { return input_i64(q, 129); }));
  append(out, sum_over([](int q) { return input_i64(q, 33).to(at::kInt); }));
  std::vector<at::Tensor> bytes, floats;
  for (int q = 0; q < n; ++q) {
    bytes.push_back(input_i64(q, 333).remainder(251).to(at::kByte));
    floats.push_back(input_f32(q, 17));
  }
  append(out, at::cat(bytes));
  append(out, at::cat(floats));
  for (int root = 0; root < n; ++root) {
    append(out, input_f32(root, 100));
    append(out, input_i64(root, 5));
  }
  std::vector<int64_t> all;
  for (int q = 0; q < n; ++q) {
    all.push_back(q);
    all.push_back(7 * q + 1);
  }
  append(out, at::tensor(all, at::kLong));
  append(out, at::tensor({int64_t{40 + n - 1}}, at::kLong));
  (void)r;
  return out;
}

}  // namespace rlae::testing_conformance
