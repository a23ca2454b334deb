/** Commander parsers for the numeric flags of nexfn, with one wording for a bad value. */
import { InvalidArgumentError } from 'commander';

/** A positive number (a whole one when `integer`); otherwise a usage error naming the flag. */
export function positiveNumber(flag: string, integer: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0) || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${flag} must be a positive ${integer ? 'whole ' : ''}number, got "${value}"`);
    }
    return n;
  };
}

/** A positive whole number. */
export function positiveInt(flag: string) {
  return positiveNumber(flag, true);
}
