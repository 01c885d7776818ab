/**
 * One kind's list+watch loop, as a Stream of {@link StoreUpdate}s that never fails.
 *
 * List (all namespaces, paged), emit the kind's full contents, then watch from the list's
 * resourceVersion with bookmarks, following every event's (and bookmark's) resourceVersion:
 * - a watch the server closes (timeout, restart) resumes from the last resourceVersion at once
 *   when it made progress, so no event is lost and none is replayed;
 * - 410 Gone (the refused watch's HTTP status, or an ERROR event with code 410) means that
 *   version is compacted away: relist, and the Replace drops what was deleted in the gap;
 * - any other failure, or a watch closed at once without an event, retries after an exponential
 *   backoff with jitter (base doubling per consecutive failure, capped), reset by progress;
 * - a 404 on list means the kind is not served (its CRD is not installed): emit Missing, log it
 *   once, and list again every `missingRetry` so the kind is picked up when the CRD appears.
 */
import { Clock, Duration, Effect, Queue, Random, Result, Stream } from "effect"
import {
  type ApiStatus,
  isGone,
  isNotFound,
  type KubeError,
  kindId,
  type ResourceType,
  type WatchEvent
} from "./KubeApi.ts"
import { KubeClient } from "./KubeClient.ts"
import type { StoreUpdate } from "./Store.ts"

export interface WatcherOptions {
  /** List page size. Default 500. */
  readonly pageSize?: number
  /** Delay before the first retry after a failure; doubles per consecutive failure. Default 250 ms. */
  readonly backoffBase?: Duration.Input
  /** Longest delay between retries. Default 30 s. */
  readonly backoffCap?: Duration.Input
  /** How often a kind that is not served is listed again. Default 30 s. */
  readonly missingRetry?: Duration.Input
  /** Server-side watch timeout; default a random 5 to 10 minutes per watch, to spread reconnects. */
  readonly watchTimeoutSeconds?: number
}

/** The delay before retry `attempt` (from 1): `base * 2^(attempt-1)` capped, jittered to [d/2, d]. */
export const backoffDelay = (attempt: number, base: Duration.Input, cap: Duration.Input, random: number): number => {
  const delay = Math.min(Duration.toMillis(cap), Duration.toMillis(base) * 2 ** Math.max(0, attempt - 1))
  return delay / 2 + (delay / 2) * random
}

/** A watch closed after this long counts as healthy even if it saw no event. */
const HEALTHY_WATCH_MILLIS = 10_000

/** How a watch ended. */
type WatchEnd =
  | { readonly _tag: "Closed" }
  | { readonly _tag: "Expired" }
  | { readonly _tag: "Failed"; readonly error: KubeError | ApiStatus }

const describe = (error: KubeError | ApiStatus): string =>
  "_tag" in error ? error.message : `watch ERROR ${error.code} ${error.reason}: ${error.message}`

/** The list+watch loop of one kind; runs until interrupted. */
export const watchKind = (
  type: ResourceType,
  options: WatcherOptions = {}
): Stream.Stream<StoreUpdate, never, KubeClient> => {
  const kind = kindId(type)
  return Stream.callback<StoreUpdate, never, KubeClient>(
    (queue) =>
      Effect.gen(function* () {
        const kube = yield* KubeClient
        const base = options.backoffBase ?? "250 millis"
        const cap = options.backoffCap ?? "30 seconds"
        const missingRetry = options.missingRetry ?? "30 seconds"
        const emit = (update: StoreUpdate) => Queue.offer(queue, update)
        let resourceVersion: string | undefined
        let failures = 0
        let missing = false

        const backoff = Effect.gen(function* () {
          failures++
          const delay = backoffDelay(failures, base, cap, yield* Random.next)
          yield* Effect.logDebug(`retrying in ${Math.round(delay)} ms`).pipe(Effect.annotateLogs({ failures }))
          yield* Effect.sleep(delay)
        })

        const list = Effect.gen(function* () {
          const listed = yield* Effect.result(kube.list(type, { limit: options.pageSize ?? 500 }))
          if (Result.isSuccess(listed)) {
            const { items, resourceVersion: version } = listed.success
            if (missing) yield* Effect.logInfo("the API server serves this kind now")
            missing = false
            failures = 0
            resourceVersion = version
            yield* Effect.logDebug("listed").pipe(Effect.annotateLogs({ objects: items.length, resourceVersion }))
            return yield* emit({ _tag: "Replace", kind, objects: items, resourceVersion: version })
          }
          if (isNotFound(listed.failure)) {
            if (!missing) {
              missing = true
              yield* Effect.logInfo(
                `the API server does not serve this kind (CRD not installed?); checking every ${Duration.format(Duration.fromInputUnsafe(missingRetry))}`
              )
              yield* emit({ _tag: "Missing", kind })
            }
            return yield* Effect.sleep(missingRetry)
          }
          yield* Effect.logWarning(`list failed: ${listed.failure.message}`)
          yield* backoff
        })

        const watch = (from: string) =>
          Effect.gen(function* () {
            let progressed = false
            let end: WatchEnd = { _tag: "Closed" }
            const onEvent = (event: WatchEvent): Effect.Effect<boolean> => {
              switch (event.type) {
                case "BOOKMARK":
                  resourceVersion = event.resourceVersion
                  progressed = true
                  return Effect.succeed(true)
                case "ERROR":
                  end = event.status.code === 410 ? { _tag: "Expired" } : { _tag: "Failed", error: event.status }
                  return Effect.succeed(false)
                default: {
                  resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion
                  progressed = true
                  const update: StoreUpdate =
                    event.type === "DELETED"
                      ? { _tag: "Delete", kind, object: event.object }
                      : { _tag: "Upsert", kind, object: event.object }
                  return Effect.as(emit(update), true)
                }
              }
            }
            const timeoutSeconds = options.watchTimeoutSeconds ?? 300 + Math.floor((yield* Random.next) * 300)
            const started = yield* Clock.currentTimeMillis
            const result = yield* Effect.result(
              kube.watch(type, { resourceVersion: from, timeoutSeconds }).pipe(
                // The server ends the watch after timeoutSeconds; silence well past that is a dead connection.
                Stream.timeout(Duration.seconds(timeoutSeconds + 30)),
                Stream.runForEachWhile(onEvent)
              )
            )
            if (Result.isFailure(result)) {
              const error = result.failure
              end = isGone(error) ? { _tag: "Expired" } : { _tag: "Failed", error }
              if (isNotFound(error)) resourceVersion = undefined // the CRD went away: list to learn
            }
            // A watch that ran a while before the server closed it was healthy, even without events.
            if (!progressed && (yield* Clock.currentTimeMillis) - started >= HEALTHY_WATCH_MILLIS) progressed = true
            if (progressed) failures = 0
            switch (end._tag) {
              case "Expired":
                yield* Effect.logInfo(`resourceVersion ${from} is too old; relisting`)
                resourceVersion = undefined
                return
              case "Failed":
                yield* Effect.logWarning(`watch failed: ${describe(end.error)}`)
                return yield* backoff
              case "Closed":
                if (!progressed) yield* backoff
            }
          })

        while (true) {
          if (resourceVersion === undefined) yield* list
          else yield* watch(resourceVersion)
        }
      }).pipe(Effect.annotateLogs({ kind })),
    { bufferSize: 16 }
  )
}
