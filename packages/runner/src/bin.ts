#!/usr/bin/env -S node --import tsx
/** The `rlhf` binary. */
import { main } from "./Cli.ts"

await main(process.argv)
