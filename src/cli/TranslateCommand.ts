import { Console } from "effect"
import { Command } from "effect/cli"

export const translateCommand = Command.make("translate", {}, () => Console.log("not yet")).pipe(
  Command.withDescription("Translate Gateway API YAML offline")
)
