# syntax=docker/dockerfile:1
# The image of any service, the web shop included: SERVICE names its folder under services/ (its workspace is
# @ticketing/<SERVICE>). Build context: the repository root (skaffold.yaml builds every image this way):
#   docker build --build-arg SERVICE=orders -t ticketing/orders .
# prune   → only that service's workspace graph (turbo prune --docker): a change elsewhere leaves the cache alone
# build   → every dependency of that graph, then its build through turbo (the workspace packages first; the
#           shop's is vite, then tsc)
# deps    → production dependencies of that service alone (test-only workspaces and their packages removed)
# runtime → those plus the compiled output, run by the unprivileged `node` user
# tools/infra-check reads this file and runs these RUN steps outside Docker in its test suite.

FROM node:20.20.2-alpine AS base
ENV TURBO_TELEMETRY_DISABLED=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

FROM base AS prune
ARG SERVICE
WORKDIR /repo
COPY . .
# turbo prune leaves out the root tsconfig the packages extend: add it to the pruned sources.
RUN --mount=type=cache,target=/root/.npm test -f "services/${SERVICE}/package.json" \
  || { echo "SERVICE='${SERVICE}': no services/<SERVICE>/package.json; pass --build-arg SERVICE=<folder>" >&2; exit 1; } \
 && npx --yes turbo@2.11.11 prune "@ticketing/${SERVICE}" --docker && cp tsconfig.base.json out/full/

FROM base AS build
ARG SERVICE
WORKDIR /app
COPY --from=prune /repo/out/json/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY --from=prune /repo/out/full/ ./
RUN npx turbo run build "--filter=@ticketing/${SERVICE}"

FROM base AS deps
ARG SERVICE
WORKDIR /app
COPY --from=prune /repo/out/json/ ./
# npm installs the dependencies of every workspace in the graph, also of those the service uses only in its
# tests (@ticketing/testing): keep what `npm ls` lists for the service, remove the rest. What the shop bundles
# for the browser (Preact) and its bundler are devDependencies: they stay in the build stage.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts \
 && npm ls --omit=dev --all --parseable "--workspace=@ticketing/${SERVICE}" | grep /node_modules/ | sort -u > keep.txt \
 && npm ls --omit=dev --all --parseable | grep /node_modules/ | sort -u | comm -23 - keep.txt | xargs -r rm -rf \
 && rm keep.txt

FROM base AS runtime
ARG SERVICE
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/ ./
COPY --from=build /app/packages/common/dist/ ./packages/common/dist/
# dist holds all the service runs: its compiled code (the shop: its server and the pages in dist/public).
COPY --from=build /app/services/${SERVICE}/dist/ ./services/${SERVICE}/dist/
USER 1000:1000
WORKDIR /app/services/${SERVICE}
EXPOSE 3000
# `node .` runs the package's "main" (dist/main.js; the shop's dist/server/main.js): one command for every image.
CMD ["node", "."]
