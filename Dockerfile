# syntax=docker/dockerfile:1
# Conveyor: build with tsc, run as a non-root user on the current LTS Node with git and kustomize.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM debian:bookworm-slim AS kustomize
ARG KUSTOMIZE_VERSION=5.5.0
ARG TARGETARCH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
 && curl -fsSL "https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv${KUSTOMIZE_VERSION}/kustomize_v${KUSTOMIZE_VERSION}_linux_${TARGETARCH:-amd64}.tar.gz" \
    | tar -xz -C /usr/local/bin kustomize \
 && /usr/local/bin/kustomize version

FROM node:${NODE_VERSION}-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=kustomize /usr/local/bin/kustomize /usr/local/bin/kustomize
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json app.yml ./
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    CONVEYOR_WORKSPACE_DIR=/var/lib/conveyor/workspaces \
    KUSTOMIZE_BIN=/usr/local/bin/kustomize
RUN mkdir -p /var/lib/conveyor/workspaces && chown -R node:node /var/lib/conveyor
# The image's `node` user, numerically, so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 3000
CMD ["node", "dist/server.js"]
