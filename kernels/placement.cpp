#include "kernels/placement.h"

#include <cstdlib>

#include "common/check.h"
#include "kernels/device.h"

namespace rlae {

DeviceRequest parse_device_request(const std::string& text) {
  DeviceRequest r;
  r.text = text;
  if (text == "auto") {
    r.kind = DeviceRequest::Kind::automatic;
  } else if (text == "cpu") {
    r.kind = DeviceRequest::Kind::cpu;
  } else if (text == "cuda" || text == "gpu") {
    r.kind = DeviceRequest::Kind::cuda;
  } else if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() <= 8 &&
             text.find_first_not_of("0123456789", 5) == std::string::npos) {
    r.kind = DeviceRequest::Kind::cuda;
    r.index = std::atoi(text.c_str() + 5);
  } else {
    RLAE_USAGE_CHECK(false, "--device: expected auto|cpu|cuda[:N], got '", text, "'");
  }
  return r;
}

Placement place_device(const DeviceRequest& request, int local_rank, int visible,
                       const std::string& where, const std::string& why_none) {
  RLAE_CHECK(local_rank >= 0, "place_device: local rank ", local_rank, " < 0");
  Placement p;
  switch (request.kind) {
    case DeviceRequest::Kind::cpu:
      return p;
    case DeviceRequest::Kind::automatic:
      if (visible <= 0) return p;
      p.cuda = true;
      p.index = local_rank % visible;
      return p;
    case DeviceRequest::Kind::cuda:
      RLAE_CHECK(visible > 0, "--device ", request.text, ": no GPU is visible to ", where,
                 why_none.empty() ? "" : " (", why_none, why_none.empty() ? "" : ")",
                 "; use --device cpu or auto");
      p.cuda = true;
      if (request.index < 0) {
        p.index = local_rank % visible;
      } else {
        RLAE_CHECK(request.index < visible, "--device ", request.text, ": ", where, " sees ", visible,
                   " GPU", visible == 1 ? "" : "s", " (cuda:0", visible > 1 ? "..cuda:" : "",
                   visible > 1 ? std::to_string(visible - 1) : std::string(), ")");
        p.index = request.index;
      }
      return p;
  }
  return p;
}

Placement place_device_here(const DeviceRequest& request, int local_rank, const std::string& where) {
  if (request.kind == DeviceRequest::Kind::cpu) return {};
  const CudaStatus s = cuda_status();
  std::string why;
  if (!s.compiled) {
    why = "this rlae was built without CUDA";
  } else if (s.device_count == 0) {
    why = s.driver;
    if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) why += std::string(", CUDA_VISIBLE_DEVICES=") + v;
  }
  return place_device(request, local_rank, s.device_count, where, why);
}

}  // namespace rlae
