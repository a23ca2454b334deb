/** Byte helpers shared by the executors, the CLI and the editor. */

const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Decodes UTF-8, or returns undefined when the bytes are not valid UTF-8. */
export function tryDecodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A short, printable rendering of a payload: text as text, binary as hex. */
export function previewBytes(bytes: Uint8Array, maxChars = 2000): string {
  const text = tryDecodeUtf8(bytes);
  if (text !== undefined) {
    return text.length > maxChars ? `${text.slice(0, maxChars)}… (${bytes.length} bytes)` : text;
  }
  const hex = Buffer.from(bytes.subarray(0, Math.ceil(maxChars / 3))).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `<binary, ${bytes.length} bytes> ${hex}${bytes.length * 3 > maxChars ? ' …' : ''}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
