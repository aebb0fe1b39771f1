# syntax=docker/dockerfile:1
# The Cairn image: build everything in one stage, keep only the runtime layout (built JS, production
# dependencies, the console's web/dist) in the second, run as a non-root user. docs/kubernetes.md.
# test/deploy/dockerfile.test.ts parses this file and replays its steps without a container engine.
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm-slim AS build
# Native modules (better-sqlite3, classic-level) build from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV NX_DAEMON=false NX_NO_CLOUD=true
COPY . .
RUN npm ci
RUN npm run build
RUN npm prune --omit=dev
RUN node deploy/stage-runtime.mjs /src /opt/cairn

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production CAIRN_IMAGE=1 CAIRN_LISTEN_METRICS_URLS=http://0.0.0.0:2381
RUN groupadd --system --gid 10001 cairn \
 && useradd --system --uid 10001 --gid cairn --home-dir /var/lib/cairn --shell /usr/sbin/nologin cairn \
 && mkdir -p /var/lib/cairn && chown cairn:cairn /var/lib/cairn
COPY --from=build /opt/cairn /opt/cairn
USER 10001:10001
WORKDIR /var/lib/cairn
VOLUME ["/var/lib/cairn"]
# Client (gRPC, JSON gateway, console), peer, and plain-HTTP metrics and probes.
EXPOSE 2379 2380 2381
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/opt/cairn/deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "/opt/cairn/deploy/entrypoint.mjs"]
