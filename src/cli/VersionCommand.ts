import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { GATEWAY_API_BUNDLE_VERSION, PORTICO_VERSION } from "../Version.ts"

export const versionCommand = Command.make("version", {}, () =>
  Console.log(`portico ${PORTICO_VERSION} (Gateway API ${GATEWAY_API_BUNDLE_VERSION}, node ${process.version})`).pipe(
    Effect.asVoid
  )
).pipe(Command.withDescription("Print the Portico version, the Gateway API version it implements, and Node's"))
