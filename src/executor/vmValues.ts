/** Moving values in and out of QuickJS without compiling code (compiling costs more than a run). */
import { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';

/** new Uint8Array(bytes) inside the VM. */
export function newUint8Array(vm: QuickJSContext, bytes: Uint8Array): QuickJSHandle {
  const buffer = vm.newArrayBuffer(bytes.slice().buffer as ArrayBuffer);
  const args = vm.newArray();
  vm.setProp(args, 0, buffer);
  buffer.dispose();
  const reflect = vm.getProp(vm.global, 'Reflect');
  const construct = vm.getProp(reflect, 'construct');
  const ctor = vm.getProp(vm.global, 'Uint8Array');
  try {
    return vm.unwrapResult(vm.callFunction(construct, reflect, ctor, args));
  } finally {
    [ctor, construct, reflect, args].forEach((h) => h.dispose());
  }
}

/** Calls globalThis[object][method](...args) inside the VM. */
export function callGlobal(vm: QuickJSContext, object: string, method: string, ...args: QuickJSHandle[]) {
  const target = vm.getProp(vm.global, object);
  const fn = vm.getProp(target, method);
  try {
    return vm.callFunction(fn, target, ...args);
  } finally {
    fn.dispose();
    target.dispose();
  }
}

/** Whether the value is a Uint8Array of this context. */
export function isUint8Array(vm: QuickJSContext, value: QuickJSHandle): boolean {
  if (vm.typeof(value) !== 'object' || vm.sameValue(value, vm.null)) {
    return false;
  }
  return vm.getProp(vm.global, 'Uint8Array').consume((ctor) =>
    vm.unwrapResult(callGlobal(vm, 'Object', 'getPrototypeOf', value)).consume((proto) => vm.getProp(ctor, 'prototype').consume((p) => vm.sameValue(p, proto))),
  );
}

/** The bytes of an ArrayBuffer or an ArrayBuffer view (typed array, DataView); undefined for anything else. */
export function viewBytes(vm: QuickJSContext, value: QuickJSHandle): Uint8Array | undefined {
  const isAView = vm.unwrapResult(callGlobal(vm, 'ArrayBuffer', 'isView', value)).consume((h) => vm.dump(h) === true);
  if (isAView) {
    const offset = vm.getProp(value, 'byteOffset').consume((h) => vm.getNumber(h));
    const length = vm.getProp(value, 'byteLength').consume((h) => vm.getNumber(h));
    return vm.getProp(value, 'buffer').consume((buffer) => vm.getArrayBuffer(buffer).consume((view) => view.value.slice(offset, offset + length)));
  }
  const isBuffer = vm.getProp(vm.global, 'ArrayBuffer').consume((ctor) =>
    vm.unwrapResult(callGlobal(vm, 'Object', 'getPrototypeOf', value)).consume((proto) => vm.getProp(ctor, 'prototype').consume((p) => vm.sameValue(p, proto))),
  );
  return isBuffer ? vm.getArrayBuffer(value).consume((view) => view.value.slice()) : undefined;
}
