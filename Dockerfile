# The da server in one image: Bun, the app, the compiled `da` served at /cli/da.
# Build: docker build -t da .   Run: docker run -p 8000:8000 -v da-data:/data da
FROM oven/bun:1.4-debian AS build
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build:cli

FROM oven/bun:1.4-debian
# bubblewrap: the script sandbox refuses to run scripts without it.
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production DA_DATA_DIR=/data PORT=8000
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production
COPY src ./src
COPY jobs ./jobs
COPY views ./views
COPY fixtures ./fixtures
COPY --from=build /app/dist ./dist
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD bun -e "fetch('http://127.0.0.1:8000/api/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# SIGTERM lets the server checkpoint the state database before it exits.
STOPSIGNAL SIGTERM
CMD ["bun", "src/server.ts"]
