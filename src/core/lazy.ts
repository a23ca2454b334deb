/** A value made on first use and kept: for work a module would otherwise do as it loads (compiling a JSON Schema). */
export function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
