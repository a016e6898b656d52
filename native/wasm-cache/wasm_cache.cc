/*
 * rssplane_wasm_cache: the engine's machine code, kept between runs.
 *
 * V8 compiles a WebAssembly module lazily with its baseline compiler and recompiles the functions
 * that turn out hot with its optimising one, in the background. A run of a few hundred thousand
 * packets spends its first batches in baseline code and pays for the optimising compile (27-45 ms
 * of a second vCPU here) every time. Browsers keep the optimised code between visits; Node does
 * not, and its JavaScript API can neither write a compiled module out nor read one back. V8's C++
 * API can do both: CompiledWasmModule::Serialize writes the optimised functions out, and a
 * streaming compile given those bytes (WasmStreaming::SetCompiledModuleBytes) reads them back, the
 * way Chrome's code cache does. This addon is those two calls (host/node/wasm-cache.ts uses them).
 *
 * V8 checks the bytes it is given: they are taken only when the same V8, on a processor with the
 * same features, under the same flags wrote them. It does not check that they were written for
 * the same module: given another build's code for a module with as many functions, it would run
 * that code. So the bytes written here start with a header of our own, a hash of the module's
 * bytes (64-bit FNV-1a: it tells builds apart, nobody forges it), and a compile given another
 * module's cache refuses it. A refused compile rejects at once, and the caller compiles as it
 * would have without a cache.
 *
 * Called once per engine build that a run compiles, and once at exit when a cache is written;
 * never per packet.
 *
 * One more call of V8's API is here because it is cheaper than Node's: setFlags, which the
 * command's launcher uses to turn relaxed SIMD on (Node 20 keeps it behind a flag). Node's
 * node:v8 does the same, but loading that module loads Node's whole stream library with it,
 * 5 ms of a start, which a run does not otherwise need.
 */
#include <node.h>
#include <v8.h>

#include <cstdint>
#include <cstring>

namespace {

using v8::Array;
using v8::ArrayBuffer;
using v8::Context;
using v8::Exception;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::String;
using v8::Uint8Array;
using v8::Value;
using v8::WasmModuleObject;
using v8::WasmStreaming;

/** The value a refused cache rejects the compile with: the caller compiles without it. */
constexpr const char kRefused[] = "rssplane: compiled module refused";

/** Our header: "rswc", its version, then the hash of the module's bytes; V8's bytes follow. */
constexpr uint8_t kMagic[4] = {'r', 's', 'w', 'c'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 16;

uint64_t Fnv1a(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 0x100000001b3ull;
  return h;
}

/** Our header for a module of these bytes. */
void WriteHeader(uint8_t* out, const uint8_t* wire, size_t size) {
  std::memcpy(out, kMagic, 4);
  std::memcpy(out + 4, &kVersion, 4);
  const uint64_t hash = Fnv1a(wire, size);
  std::memcpy(out + 8, &hash, 8);
}

struct Bytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

bool BytesOf(Local<Value> value, Bytes* out) {
  if (!value->IsUint8Array()) return false;
  Local<Uint8Array> view = value.As<Uint8Array>();
  out->data = static_cast<const uint8_t*>(view->Buffer()->Data()) + view->ByteOffset();
  out->size = view->ByteLength();
  return true;
}

/*
 * V8 calls this for WebAssembly.compileStreaming(value) once `value` has resolved; install() made
 * it the isolate's streaming callback. `value` is [module bytes, cache bytes], both Uint8Arrays,
 * which the caller keeps alive until the compile settles. Everything is handed over here, at
 * once: the bytes are already in memory, nothing streams.
 */
void Compile(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  std::shared_ptr<WasmStreaming> streaming = WasmStreaming::Unpack(isolate, info.Data());
  Local<Context> context = isolate->GetCurrentContext();
  Bytes wire, cache;
  Local<Value> part0, part1;
  if (info.Length() < 1 || !info[0]->IsArray() ||
      !info[0].As<Array>()->Get(context, 0).ToLocal(&part0) || !BytesOf(part0, &wire) ||
      !info[0].As<Array>()->Get(context, 1).ToLocal(&part1) || !BytesOf(part1, &cache)) {
    streaming->Abort(Exception::TypeError(
        String::NewFromUtf8Literal(isolate, "rssplane's compile takes [module bytes, cache bytes]")));
    return;
  }
  uint8_t header[kHeader];
  WriteHeader(header, wire.data, wire.size);
  if (cache.size <= kHeader || std::memcmp(header, cache.data, kHeader) != 0 ||
      !streaming->SetCompiledModuleBytes(cache.data + kHeader, cache.size - kHeader)) {
    streaming->Abort(String::NewFromUtf8Literal(isolate, kRefused));
    return;
  }
  streaming->OnBytesReceived(wire.data, wire.size);
  streaming->Finish();
}

/** install(): makes Compile this thread's streaming callback (WebAssembly.compileStreaming). */
void Install(const FunctionCallbackInfo<Value>& info) {
  info.GetIsolate()->SetWasmStreamingCallback(Compile);
}

/**
 * serialize(module): our header, then the module's compiled code as V8 writes it out (a
 * Uint8Array), or undefined when V8 cannot write it. Only functions the optimising compiler has
 * compiled are in it; the rest compile as usual when first called.
 */
void Serialize(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  if (info.Length() < 1 || !info[0]->IsWasmModuleObject()) {
    isolate->ThrowException(Exception::TypeError(
        String::NewFromUtf8Literal(isolate, "serialize: expected a WebAssembly.Module")));
    return;
  }
  v8::CompiledWasmModule compiled = info[0].As<WasmModuleObject>()->GetCompiledModule();
  v8::OwnedBuffer out = compiled.Serialize();
  if (out.size == 0) return;
  Local<ArrayBuffer> buffer = ArrayBuffer::New(isolate, kHeader + out.size);
  uint8_t* bytes = static_cast<uint8_t*>(buffer->Data());
  v8::MemorySpan<const uint8_t> wire = compiled.GetWireBytesRef();
  WriteHeader(bytes, wire.data(), wire.size());
  std::memcpy(bytes + kHeader, out.buffer.get(), out.size);
  info.GetReturnValue().Set(Uint8Array::New(buffer, 0, kHeader + out.size));
}

/** setFlags(flags): V8's flags, as `node --flag` would set them (V8::SetFlagsFromString). */
void SetFlags(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  if (info.Length() < 1 || !info[0]->IsString()) {
    isolate->ThrowException(Exception::TypeError(String::NewFromUtf8Literal(isolate, "setFlags: expected a string")));
    return;
  }
  String::Utf8Value flags(isolate, info[0]);
  v8::V8::SetFlagsFromString(*flags, static_cast<size_t>(flags.length()));
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  NODE_SET_METHOD(exports, "install", Install);
  NODE_SET_METHOD(exports, "serialize", Serialize);
  NODE_SET_METHOD(exports, "setFlags", SetFlags);
  Isolate* isolate = context->GetIsolate();
  exports
      ->Set(context, String::NewFromUtf8Literal(isolate, "REFUSED"),
            String::NewFromUtf8Literal(isolate, kRefused))
      .Check();
  (void)module;
}
