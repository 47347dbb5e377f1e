# syntax=docker/dockerfile:1
# confbulk: the `confbulk` command (api, worker, mock, dlq, ...) on Node 24 LTS.
# confbulk runs on Node >= 20.19 too (CI tests both), but Node 20 is past its end of life.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# --ignore-scripts: `prepare` builds, and the sources are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN chmod 0755 bin/confbulk.js && ln -s /app/bin/confbulk.js /usr/local/bin/confbulk
# The image's unprivileged `node` user (uid 1000) runs everything; /app stays root-owned.
USER node
EXPOSE 3000 9464
CMD ["confbulk", "--help"]
