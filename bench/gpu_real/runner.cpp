// Runs one PTX kernel on a real NVIDIA GPU through the CUDA driver API and times it: the host
// side of bench/gpu_real/run.py, which builds it where nvcc and a GPU exist (never part of the
// xpusim build). Arguments as `xpusim run --kernel` takes them:
//
//   runner --ptx F.ptx --entry NAME --grid X,Y,Z --block X,Y,Z [--shared BYTES] [--runs N]
//          [--out DIR] --arg NAME=file:PATH | NAME=zeros:BYTES | NAME=TYPE:VALUE ...
//
// every .param of the entry, in order (TYPE: s32 u32 s64 u64 f32 f64). The launch runs once to
// warm up, then N times (default 20), each timed with CUDA events around the launch alone; the
// buffers are restored from their files before every run, so a kernel that accumulates into its
// output sees the same inputs each time. Prints one line, "us median min max", and writes each
// pointer argument's contents after the last run to DIR/NAME.bin.
#include <cuda.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "runner: %s\n", what.c_str());
  std::exit(1);
}

void check(CUresult r, const char* what) {
  if (r == CUDA_SUCCESS) return;
  const char* name = nullptr;
  cuGetErrorName(r, &name);
  die(std::string(what) + ": " + (name ? name : "unknown CUDA error"));
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot read " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void dims(const std::string& s, unsigned d[3]) {
  d[0] = d[1] = d[2] = 1;
  size_t at = 0;
  for (int i = 0; i < 3 && at <= s.size(); ++i) {
    const size_t comma = s.find(',', at);
    d[i] = unsigned(std::stoul(s.substr(at, comma - at)));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
}

struct Arg {
  std::string name;
  bool pointer = false;
  std::vector<char> init;  // a pointer's initial bytes
  CUdeviceptr dev = 0;
  uint64_t scalar = 0;  // a scalar's bits
};

Arg parse_arg(const std::string& text) {
  Arg a;
  const size_t eq = text.find('='), colon = text.find(':', eq);
  if (eq == std::string::npos || colon == std::string::npos)
    die("--arg " + text + ": expected NAME=file:PATH, NAME=zeros:BYTES or NAME=TYPE:VALUE");
  a.name = text.substr(0, eq);
  const std::string kind = text.substr(eq + 1, colon - eq - 1), v = text.substr(colon + 1);
  if (kind == "file") {
    a.pointer = true;
    a.init = read_file(v);
  } else if (kind == "zeros") {
    a.pointer = true;
    a.init.assign(std::stoull(v), 0);
  } else if (kind == "s32" || kind == "u32") {
    const uint32_t x = uint32_t(std::stoll(v));
    std::memcpy(&a.scalar, &x, 4);
  } else if (kind == "s64" || kind == "u64") {
    a.scalar = uint64_t(std::stoll(v));
  } else if (kind == "f32") {
    const float x = std::stof(v);
    std::memcpy(&a.scalar, &x, 4);
  } else if (kind == "f64") {
    const double x = std::stod(v);
    std::memcpy(&a.scalar, &x, 8);
  } else {
    die("--arg " + text + ": unknown kind '" + kind + "'");
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ptx, entry, out;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  unsigned shared = 0;
  int runs = 20;
  std::vector<Arg> args;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) die(k + " wants a value");
    const std::string v = argv[++i];
    if (k == "--ptx")
      ptx = v;
    else if (k == "--entry")
      entry = v;
    else if (k == "--grid")
      dims(v, grid);
    else if (k == "--block")
      dims(v, block);
    else if (k == "--shared")
      shared = unsigned(std::stoul(v));
    else if (k == "--runs")
      runs = std::max(1, std::stoi(v));
    else if (k == "--out")
      out = v;
    else if (k == "--arg")
      args.push_back(parse_arg(v));
    else
      die("unknown option " + k);
  }
  if (ptx.empty() || entry.empty()) die("--ptx and --entry are required");

  check(cuInit(0), "cuInit");
  CUdevice dev;
  check(cuDeviceGet(&dev, 0), "cuDeviceGet");
  CUcontext ctx;
  check(cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
  check(cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
  std::vector<char> text = read_file(ptx);
  text.push_back('\0');
  CUmodule mod;
  check(cuModuleLoadData(&mod, text.data()), "cuModuleLoadData");
  CUfunction fn;
  check(cuModuleGetFunction(&fn, mod, entry.c_str()), "cuModuleGetFunction");
  if (shared > 48 * 1024)
    check(cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(shared)),
          "cuFuncSetAttribute (dynamic shared memory)");

  std::vector<void*> params;
  for (Arg& a : args) {
    if (a.pointer) {
      check(cuMemAlloc(&a.dev, std::max<size_t>(a.init.size(), 1)), "cuMemAlloc");
      params.push_back(&a.dev);
    } else {
      params.push_back(&a.scalar);
    }
  }
  auto restore = [&] {
    for (Arg& a : args)
      if (a.pointer && !a.init.empty())
        check(cuMemcpyHtoD(a.dev, a.init.data(), a.init.size()), "cuMemcpyHtoD");
  };
  CUevent start, stop;
  check(cuEventCreate(&start, CU_EVENT_DEFAULT), "cuEventCreate");
  check(cuEventCreate(&stop, CU_EVENT_DEFAULT), "cuEventCreate");
  std::vector<float> ms;
  for (int r = 0; r <= runs; ++r) {  // run 0 warms up
    restore();
    check(cuCtxSynchronize(), "cuCtxSynchronize");
    check(cuEventRecord(start, nullptr), "cuEventRecord");
    check(cuLaunchKernel(fn, grid[0], grid[1], grid[2], block[0], block[1], block[2], shared,
                         nullptr, params.data(), nullptr),
          "cuLaunchKernel");
    check(cuEventRecord(stop, nullptr), "cuEventRecord");
    check(cuEventSynchronize(stop), "cuEventSynchronize");
    float t = 0;
    check(cuEventElapsedTime(&t, start, stop), "cuEventElapsedTime");
    if (r > 0) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("us %.3f %.3f %.3f\n", 1e3 * ms[ms.size() / 2], 1e3 * ms.front(), 1e3 * ms.back());
  if (!out.empty())
    for (Arg& a : args) {
      if (!a.pointer) continue;
      std::vector<char> got(a.init.size());
      check(cuMemcpyDtoH(got.data(), a.dev, got.size()), "cuMemcpyDtoH");
      std::ofstream f(out + "/" + a.name + ".bin", std::ios::binary);
      f.write(got.data(), std::streamsize(got.size()));
      if (!f) die("cannot write " + out + "/" + a.name + ".bin");
    }
  return 0;
}
