// A Nex WebAssembly function is a WASI command: the payload arrives on stdin, the trigger subject
// as argv[1], and what it writes to stdout is the reply. stdout is fully buffered here, so the
// reply leaves in one write at exit (a Nex node keeps only the last write).
#include <stdio.h>

int main(int argc, char **argv) {
  char buffer[65536];
  size_t n = fread(buffer, 1, sizeof buffer, stdin);
  fprintf(stderr, "{{name}}: %zu bytes on %s\n", n, argc > 1 ? argv[1] : "?");
  fwrite(buffer, 1, n, stdout);
  return 0;
}
