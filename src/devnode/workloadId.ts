/**
 * Workload ids in the shape of `rs/xid`, as real nodes make them: 12 bytes (4 of time, 3 of
 * machine, 2 of process, 3 of a counter) in base32hex, lower case, 20 characters.
 */
import { createHash, randomBytes } from 'crypto';
import * as os from 'os';

const ALPHABET = '0123456789abcdefghijklmnopqrstuv';
const machine = createHash('sha256').update(os.hostname()).digest().subarray(0, 3);
let counter = randomBytes(3).readUIntBE(0, 3);

export function newWorkloadId(now: Date = new Date()): string {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.floor(now.getTime() / 1000), 0);
  machine.copy(bytes, 4);
  bytes.writeUInt16BE(process.pid & 0xffff, 7);
  counter = (counter + 1) & 0xffffff;
  bytes.writeUIntBE(counter, 9, 3);
  // 96 bits → 20 base32 characters (5 bits each; the last takes the remaining 1 bit, shifted).
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += ALPHABET[(value << (5 - bits)) & 31];
  }
  return out;
}
