/**
 * The default access log: one JSON object per request (HTTP) or connection / session (TCP, UDP)
 * on the proxy's stdout, with the fields an Envoy Gateway user finds in `kubectl logs`. The
 * values are Envoy command operators (Envoy docs: "Access logging", "Command Operators"). Pure.
 */
import type { MessageInitShape } from "@bufbuild/protobuf"
import type { AccessLogSchema } from "../proto/envoy/config/accesslog/v3/accesslog_pb.ts"
import { FileAccessLogSchema } from "../proto/envoy/extensions/access_loggers/file/v3/file_pb.ts"
import { typedExtension } from "./Extension.ts"

type AccessLogInit = MessageInitShape<typeof AccessLogSchema>

/** Fields every log line carries, whatever the protocol. */
const CONNECTION_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["upstream_transport_failure_reason", "%UPSTREAM_TRANSPORT_FAILURE_REASON%"],
  ["connection_termination_details", "%CONNECTION_TERMINATION_DETAILS%"],
  ["bytes_received", "%BYTES_RECEIVED%"],
  ["bytes_sent", "%BYTES_SENT%"],
  ["duration", "%DURATION%"],
  ["upstream_host", "%UPSTREAM_HOST%"],
  ["upstream_cluster", "%UPSTREAM_CLUSTER%"],
  ["upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%"],
  ["downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%"],
  ["downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%"],
  ["requested_server_name", "%REQUESTED_SERVER_NAME%"]
]

/** HTTP: the request line, response, timings, and the request's identifying headers. */
export const HTTP_LOG_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["start_time", "%START_TIME%"],
  ["method", "%REQ(:METHOD)%"],
  ["x-envoy-origin-path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"],
  ["protocol", "%PROTOCOL%"],
  ["response_code", "%RESPONSE_CODE%"],
  ["response_flags", "%RESPONSE_FLAGS%"],
  ["response_code_details", "%RESPONSE_CODE_DETAILS%"],
  ...CONNECTION_FIELDS.slice(0, 5),
  ["x-envoy-upstream-service-time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"],
  ["x-forwarded-for", "%REQ(X-FORWARDED-FOR)%"],
  ["user-agent", "%REQ(USER-AGENT)%"],
  ["x-request-id", "%REQ(X-REQUEST-ID)%"],
  [":authority", "%REQ(:AUTHORITY)%"],
  ...CONNECTION_FIELDS.slice(5),
  ["route_name", "%ROUTE_NAME%"]
]

/** TCP and UDP: no request, so no headers, method or response code. */
export const L4_LOG_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ["start_time", "%START_TIME%"],
  ["response_flags", "%RESPONSE_FLAGS%"],
  ...CONNECTION_FIELDS
]

const stdoutJson = (fields: ReadonlyArray<readonly [string, string]>): AccessLogInit =>
  typedExtension("envoy.access_loggers.file", FileAccessLogSchema, {
    path: "/dev/stdout",
    accessLogFormat: {
      case: "logFormat",
      value: {
        format: {
          case: "jsonFormat",
          // google.protobuf.Struct: protobuf-es holds it as the plain JSON object.
          value: Object.fromEntries(fields)
        }
      }
    }
  })

/** The HTTP connection manager's access log. */
export const httpAccessLog = (): AccessLogInit => stdoutJson(HTTP_LOG_FIELDS)

/** tcp_proxy's and udp_proxy's access log. */
export const l4AccessLog = (): AccessLogInit => stdoutJson(L4_LOG_FIELDS)
