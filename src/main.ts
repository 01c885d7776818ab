#!/usr/bin/env node
/**
 * Portico CLI entry: `portico serve | translate | bootstrap | synth | version`.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { bootstrapCommand } from "./cli/BootstrapCommand.ts"
import { serveCommand } from "./cli/ServeCommand.ts"
import { synthCommand } from "./cli/SynthCommand.ts"
import { translateCommand } from "./cli/TranslateCommand.ts"
import { versionCommand } from "./cli/VersionCommand.ts"
import { PORTICO_VERSION } from "./Version.ts"

const portico = Command.make("portico").pipe(
  Command.withDescription(
    "Portico: a Gateway API control plane for Envoy (Envoy Gateway, rebuilt in TypeScript on Effect)"
  ),
  Command.withSubcommands([serveCommand, translateCommand, bootstrapCommand, synthCommand, versionCommand])
)

portico.pipe(Command.run({ version: PORTICO_VERSION }), Effect.provide(NodeServices.layer), NodeRuntime.runMain)
