#!/usr/bin/env node
import { main } from './nexfn';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
