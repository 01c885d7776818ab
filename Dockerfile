# The Portico controller image (`make image`; `make kind-up` and `make deploy` build and load it).
#
# Two stages:
#   build    installs the dependencies from package-lock.json, generates the Envoy protobuf-es code
#            (src/xds/proto/, git-ignored) with `make setup`, then drops the devDependencies.
#   runtime  Node 24 (it runs the .ts sources directly: type stripping, no build step), the production
#            node_modules and src/, owned by root and read-only for the non-root user 65532 that runs it.
# Base images are pinned to a Node release (NODE_VERSION); bump it with the toolchain's Node in the Makefile.
ARG NODE_VERSION=24.21.0

FROM docker.io/library/node:${NODE_VERSION}-slim AS build
# make runs the project's own setup target (npm install from the lockfile + buf generate).
RUN apt-get update \
  && apt-get install -y --no-install-recommends make \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
# Dependencies first (their layer is reused until package.json or the lockfile change).
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --loglevel=error
# Generated code: Envoy v3 messages from the .proto files @grpc/grpc-js-xds ships (make setup).
COPY Makefile buf.yaml buf.gen.yaml ./
COPY proto/ proto/
RUN make setup
COPY src/ src/
COPY crds/ crds/
COPY bin/ bin/
# Only runtime dependencies go on (buf, protoc-gen-es, TypeScript, vitest, biome stay here).
RUN npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM docker.io/library/node:${NODE_VERSION}-slim AS runtime
LABEL org.opencontainers.image.title="portico" \
  org.opencontainers.image.description="Envoy Gateway rebuilt in TypeScript on Effect: a Gateway API controller serving Envoy over xDS" \
  org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/src/ src/
COPY --from=build /app/crds/ crds/
COPY --from=build /app/bin/ bin/
# The uid the install manifest's securityContext names (runAsUser: 65532), with no login or home.
USER 65532:65532
EXPOSE 18000 19000
ENTRYPOINT ["node", "src/main.ts"]
CMD ["serve", "--provider", "kubernetes"]
