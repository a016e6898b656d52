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
 * same features, under the same flags wrote them. Otherwise the compile is refused here at once
 * and the caller compiles as it would have without a cache.
 *
 * Called once per engine build that a run compiles, and once at exit when a cache is written;
 * never per packet.
 */
#include <node.h>
#include <v8.h>

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
  if (!streaming->SetCompiledModuleBytes(cache.data, cache.size)) {
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
 * serialize(module): the module's compiled code as V8 writes it out (a Uint8Array), or undefined
 * when V8 cannot write it. Only functions the optimising compiler has compiled are in it; the
 * rest compile as usual when first called.
 */
void Serialize(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  if (info.Length() < 1 || !info[0]->IsWasmModuleObject()) {
    isolate->ThrowException(Exception::TypeError(
        String::NewFromUtf8Literal(isolate, "serialize: expected a WebAssembly.Module")));
    return;
  }
  v8::OwnedBuffer out = info[0].As<WasmModuleObject>()->GetCompiledModule().Serialize();
  if (out.size == 0) return;
  Local<ArrayBuffer> buffer = ArrayBuffer::New(isolate, out.size);
  std::memcpy(buffer->Data(), out.buffer.get(), out.size);
  info.GetReturnValue().Set(Uint8Array::New(buffer, 0, out.size));
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  NODE_SET_METHOD(exports, "install", Install);
  NODE_SET_METHOD(exports, "serialize", Serialize);
  Isolate* isolate = context->GetIsolate();
  exports
      ->Set(context, String::NewFromUtf8Literal(isolate, "REFUSED"),
            String::NewFromUtf8Literal(isolate, kRefused))
      .Check();
  (void)module;
}
