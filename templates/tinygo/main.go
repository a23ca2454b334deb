// A Nex WebAssembly function is a WASI command: the payload arrives on stdin, the trigger subject
// as argv[1], and what it writes to stdout is the reply. Write the reply in one write: a Nex node
// keeps only the last write to stdout.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	payload, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot read the payload:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "{{name}}: %d bytes\n", len(payload))
	os.Stdout.Write(payload)
}
