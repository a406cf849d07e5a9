# syntax=docker/dockerfile:1
#
# vip-router image: one image, two processes.
#   API (default):  node dist/src/api/server.js
#   worker:         node dist/src/worker.js   (docker-compose.yml overrides the command)
#
# `npm run build` must produce dist/src/api/server.js, dist/src/worker.js, the prebuilt workflow bundle
# dist/workflow-bundle.js (so the worker never runs webpack at start-up) and copy the SQL migrations to
# dist/src/db/migrations/ (tsc does not copy .sql files); the build stage fails early if one is missing.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first: this layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund

COPY . .
RUN npm run build \
 && test -f dist/src/api/server.js \
 && test -f dist/src/worker.js \
 && test -f dist/workflow-bundle.js \
 && ls dist/src/db/migrations/*.sql > /dev/null \
 && npm prune --omit=dev --no-audit --no-fund

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Owned by root, read-only for the `node` user that runs the process.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config

USER node
EXPOSE 3000
CMD ["node", "dist/src/api/server.js"]
