# syntax=docker/dockerfile:1
#
# The keyward image: one image runs both `keyward controller` and `keyward verifier`.
#
#   docker build -t ghcr.io/keyward/keyward:0.1.0 .
#
# Stage 1 compiles the TypeScript sources to dist/ with the dev dependencies; stage 2 installs
# the production dependencies alone into a clean directory; the final stage is distroless (no
# shell, no package manager) and runs as the unprivileged user 65532.
# For reproducible builds, pin the two base images by digest (image@sha256:…).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=production-dependencies /app/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY package.json ./
COPY bin/ bin/
COPY crds/ crds/
USER 65532
ENTRYPOINT ["/nodejs/bin/node", "bin/keyward.js"]
CMD ["--help"]
