// The Nex guide's echo function, as a WASI command: the payload arrives on stdin, the trigger
// subject as argv[1], and whatever is written to stdout is the reply. Write the reply in one
// write: a Nex node keeps only the last write to stdout.
use std::env;
use std::io::{self, Read, Write};

fn main() {
    let args: Vec<String> = env::args().collect();
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    let subject = args.get(1).cloned().unwrap_or_default();
    eprintln!("echoing {} bytes", input.len());
    io::stdout().write_all(format!("{}{}", input, subject).as_bytes()).unwrap();
}
