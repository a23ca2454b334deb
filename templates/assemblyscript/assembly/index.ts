// A Nex WebAssembly function is a WASI command: the payload arrives on stdin, the trigger subject
// as argv[1], and what it writes to stdout is the reply. With the WASI shim, top-level statements
// run as the command; write the reply in one write (a node keeps only the last).
const buffer = new ArrayBuffer(65536);
const n = process.stdin.read(buffer);
process.stdout.write(String.UTF8.decode(buffer.slice(0, n)));
