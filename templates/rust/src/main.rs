// A Nex WebAssembly function is a WASI command: the payload arrives on stdin, the trigger subject
// as argv[1], and what it writes to stdout is the reply. Write the reply at once: a Nex node keeps
// only the last write to stdout.
use std::env;
use std::io::{self, Read, Write};

fn main() {
    let args: Vec<String> = env::args().collect();
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).expect("read the payload from stdin");
    let subject = args.get(1).cloned().unwrap_or_default();
    eprintln!("{{name}}: {} bytes on {}", input.len(), subject);
    io::stdout()
        .write_all(format!("{}{}", input, subject).as_bytes())
        .expect("write the reply to stdout");
}
