import { Console, Effect, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { stringify } from "yaml"
import { fleetNameOf } from "../reconcilers/Gateway.ts"
import { bootstrapJson, DEFAULT_XDS_ADDRESS, parseHostPort } from "../xds/Bootstrap.ts"

const NamespacedName = Schema.String.pipe(
  Schema.check(
    Schema.isPattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
      message: "expected NAMESPACE/NAME of a Gateway, e.g. default/eg"
    })
  )
)

const HostPort = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((s: string) => parseHostPort(s) !== undefined || "expected host:port, e.g. 127.0.0.1:18000")
  )
)

export const bootstrapCommand = Command.make(
  "bootstrap",
  {
    gateway: Flag.String("gateway").pipe(
      Flag.withAlias("g"),
      Flag.withDescription("The Gateway whose fleet this Envoy joins, as NAMESPACE/NAME"),
      Flag.withSchema(NamespacedName)
    ),
    xdsAddress: Flag.String("xds-address").pipe(
      Flag.withDescription(`host:port of Portico's ADS server (default ${DEFAULT_XDS_ADDRESS}, standalone serve)`),
      Flag.withSchema(HostPort),
      Flag.withDefault(DEFAULT_XDS_ADDRESS)
    ),
    nodeId: Flag.String("node-id").pipe(
      Flag.withDescription("node.id of this Envoy; unique per Envoy (default <fleet>-0)"),
      Flag.optional
    ),
    output: Flag.Literals("output", ["yaml", "json"]).pipe(
      Flag.withAlias("o"),
      Flag.withDescription("yaml (default) or json"),
      Flag.withDefault("yaml")
    )
  },
  Effect.fnUntraced(function* ({ gateway, xdsAddress, nodeId, output }) {
    const [namespace, name] = gateway.split("/") as [string, string]
    const address = parseHostPort(xdsAddress)!
    const json = bootstrapJson({
      fleet: fleetNameOf(namespace, name),
      host: address.host,
      port: address.port,
      ...(Option.isSome(nodeId) ? { nodeId: nodeId.value } : {})
    })
    yield* Console.log(
      output === "json" ? JSON.stringify(json, null, 2) : stringify(json, { lineWidth: 0, version: "1.1" }).trimEnd()
    )
  })
).pipe(
  Command.withDescription(
    "Print the Envoy bootstrap for a Gateway's fleet: ADS over delta gRPC to Portico, admin on 127.0.0.1:19000, readiness on :19003/ready"
  ),
  Command.withExamples([
    {
      command: "portico bootstrap --gateway default/eg > bootstrap.yaml && envoy -c bootstrap.yaml",
      description: "Start a local Envoy for Gateway default/eg against `portico serve`"
    },
    {
      command: "portico bootstrap -g default/eg --xds-address portico.envoy-gateway-system:18000 -o json",
      description: "Point the Envoy at a control plane elsewhere, as JSON"
    }
  ])
)
